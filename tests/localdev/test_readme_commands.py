"""Every command line the README shows works: each `python -m localdev ...`, `./dev ...` and
`python -m shared.validation ...` is read from the README, its synopsis expanded (optional parts
in and out, each alternative of `a|b`, placeholders filled), then parsed by the real command's
parser; the long-running ones are also started on free ports and stopped, and the validator is
run on the sample. The README is the test's input: a command added there is checked too."""

from __future__ import annotations

import itertools
import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from localdev.__main__ import build_parser
from localdev.azurite import REPO_ROOT, AzuritePorts, free_port
from localdev.emulator import running_emulator
from localdev.stack import emulator_settings
from tests.localdev.up_process import UpProcess, free_stack_ports, wait_until

README = REPO_ROOT / "README.md"
SAMPLE = REPO_ROOT / "samples" / "kitsune-shopkeeper"
CHECKED = ("python -m localdev", "./dev", "python -m shared.validation", "npx azurite")
OPTION_VALUES = {  # what a placeholder after this option stands for
    "--port": lambda: str(free_port()),
    "--arm-port": lambda: str(free_port()),
    "--validation": lambda: str(SAMPLE / "validation.jsonl"),
    "--model": lambda: "gpt-4o-mini-2024-07-18",
    "--epochs": lambda: "3",
}
POSITIONAL_VALUES = {"TRAIN": lambda: str(SAMPLE / "train.jsonl")}
# Modules run with extra arguments that make them touch nothing (they would call a fixed port).
DRY_RUNS = {"localdev.blob_created": ["--print"]}


def readme_command_lines(text: str) -> list[str]:
    """The command lines of the README: lines of fenced code blocks, and inline code spans
    (which may wrap across lines), each split at `&&`, without comments and a trailing `&`."""
    found: list[str] = []
    fenced = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
    for block in fenced.findall(text):
        found.extend(block.splitlines())
    for span in re.findall(r"`([^`]+)`", fenced.sub("", text)):
        found.append(" ".join(span.replace("\\|", "|").split()))
    commands = []
    for line in found:
        for part in line.split("#", 1)[0].split("&&"):
            command = part.strip().removesuffix("&").strip()
            # A bare prefix (`python -m localdev` in a heading) names the tool; it is no command.
            if command.startswith(CHECKED) and command not in CHECKED:
                commands.append(command)
    return sorted(set(commands))


def expand(synopsis: str) -> list[list[str]]:
    """The argument lists a synopsis stands for: each `[...]` part left out and put in, each
    alternative of `a|b` taken. Placeholders (upper case) stay, for `fill`; `[options]` means
    the options shown elsewhere, so it only stays out."""
    tokens = [t for t in re.findall(r"\[|\]|[^\s\[\]]+", synopsis) if t != "options"]
    plain = [t for t in tokens if t not in "[]"]
    minimal, depth = [], 0
    for token in tokens:
        depth += {"[": 1, "]": -1}.get(token, 0)
        if depth == 0 and token not in "[]":
            minimal.append(token)
    variants = []
    for form in (minimal, plain):
        choices = [token.split("|") if "|" in token else [token] for token in form]
        for picked in itertools.product(*choices):
            variants.append(list(picked))
    unique = []
    for variant in variants:
        if variant not in unique:
            unique.append(variant)
    return unique


def fill(tokens: list[str]) -> list[str]:
    """The arguments with each placeholder replaced by a working value (free ports, the sample)."""
    filled = []
    for index, token in enumerate(tokens):
        if re.fullmatch(r"[A-Z][A-Z_]*", token):
            before = tokens[index - 1] if index else ""
            value = OPTION_VALUES.get(before) or POSITIONAL_VALUES.get(token)
            assert value, f"no value known for placeholder {token} after {before!r}"
            filled.append(value())
        else:
            filled.append(token)
    return filled


def dev_commands() -> set[str]:
    """The commands `./dev` dispatches (the labels of its `case`)."""
    labels = re.findall(r"^\s+([a-z|]+)\)", (REPO_ROOT / "dev").read_text(), re.M)
    return {name for label in labels for name in label.split("|")}


COMMANDS = readme_command_lines(README.read_text(encoding="utf-8"))
CASES: list[tuple[str, list[str]]] = []
for _line in COMMANDS:
    for _args in expand(_line):
        if _args not in [args for _, args in CASES]:
            CASES.append((_line, _args))


def test_the_readme_shows_the_commands_this_test_is_meant_to_check() -> None:
    assert "python -m localdev emulator [--port N --arm-port M --timings fast|realistic]" in (
        COMMANDS
    )
    assert any(line.startswith("python -m shared.validation TRAIN") for line in COMMANDS)
    assert {"./dev demo", "./dev test", "./dev up"} <= set(COMMANDS)


@pytest.mark.parametrize(("line", "args"), CASES, ids=[" ".join(a) for _, a in CASES])
def test_every_documented_command_line_is_accepted_by_its_command(
    line: str, args: list[str]
) -> None:
    args = fill(args)
    if args[:3] == ["python", "-m", "localdev"]:
        build_parser().parse_args(args[3:])  # exits 2, failing the test, on what it rejects
    elif args[0] == "./dev":
        assert args[1] in dev_commands(), f"{line}: ./dev has no command {args[1]!r}"
        if args[1] in {"up", "demo", "host", "emulator"}:
            build_parser().parse_args(args[1:])
        elif args[1] in {"test", "fuzz"}:  # both take pytest's arguments
            for path in (arg for arg in args[2:] if not arg.startswith("-")):
                assert (REPO_ROOT / path).exists(), f"{line}: {path} does not exist"
        else:
            assert args[2:] == [], line
    elif args[:3] == ["python", "-m", "shared.validation"]:
        result = subprocess.run(
            [sys.executable, *args[1:]], cwd=REPO_ROOT, capture_output=True, text=True,
            timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, f"{line}\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        if "json" in args:
            assert json.loads(result.stdout)["valid"] is True
    elif args[:2] == ["python", "-m"]:  # another module: run it in its documented dry form
        assert args[2] in DRY_RUNS, f"{line}: say in DRY_RUNS how to check {args[2]} safely"
        result = subprocess.run(
            [sys.executable, *args[1:], *DRY_RUNS[args[2]]], cwd=REPO_ROOT,
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, f"{line}\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
    else:  # npx azurite: every option it is given is one the pinned Azurite knows
        usage = subprocess.run(
            [str(REPO_ROOT / "node_modules/.bin/azurite"), "--help"],
            capture_output=True, text=True, timeout=60,
        ).stdout  # fmt: skip
        for option in (arg for arg in args if arg.startswith("--")):
            assert f" {option} " in usage, f"{line}: the pinned Azurite has no {option}"


@pytest.fixture
def isolated_settings(azurite: AzuritePorts, tmp_path: Path) -> Iterator[dict[str, str]]:
    """Settings that keep a started host off everybody else's storage and emulator."""
    with running_emulator() as emulator:
        yield {
            "AzureWebJobsStorage": azurite.connection_string,
            **emulator_settings(emulator),
            "INBOX_CONTAINER": "readme-inbox",
            "REPORTS_CONTAINER": "readme-reports",
            "RUNS_TABLE": "readmeruns",
        }


LONG_RUNNING = sorted(
    {
        (line, tuple(args))
        for line, args in CASES
        if args[:3] == ["python", "-m", "localdev"]
        and args[3:4] in (["up"], ["host"], ["emulator"])
    }
)


@pytest.mark.e2e
@pytest.mark.parametrize(("line", "args"), LONG_RUNNING, ids=[" ".join(a) for _, a in LONG_RUNNING])
def test_every_documented_long_running_command_starts_on_free_ports_and_stops_on_sigterm(
    line: str, args: tuple[str, ...], tmp_path: Path, isolated_settings: dict[str, str]
) -> None:
    ports = free_stack_ports()
    command = args[3]
    process = UpProcess.start(
        tmp_path, ports=ports, env=isolated_settings if command == "host" else {},
        command=tuple(fill(list(args[3:]))),
    )  # fmt: skip
    try:
        ready = {
            "up": "Press Ctrl-C to stop.",
            "host": "Functions host: http://",
            "emulator": "ARM CA certificate:",
        }[command]
        wait_until(lambda: process.process.poll() is not None or ready in process.stdout(), 180,
                   f"{line!r} to start")  # fmt: skip
        assert process.process.poll() is None, f"{line}\n{process.output()}"
        process.process.send_signal(signal.SIGTERM)
        assert process.wait_exit() == 0, f"{line}\n{process.output()}"
    finally:
        process.cleanup()
