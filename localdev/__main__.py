"""`python -m localdev up|host|emulator|demo`: Tunedrop on this machine, no Azure needed."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

from localdev.azurite import AzuriteNotInstalled
from localdev.config import LocalPorts, load_local_settings
from localdev.processes import ChildExited, PortsTaken, check_ports_free
from localdev.stack import StackInUse, running_stack, start_host, state_dir_of
from shared.errors import SettingsError
from shared.settings import Settings

TIMINGS = ("fast", "realistic")
DEMO_LOG = "demo-host.log"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m localdev", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="Azurite + emulator + Functions host, until Ctrl-C")
    up.add_argument("--timings", choices=TIMINGS, default=None)
    commands.add_parser("host", help="only the Functions host, on the current settings")
    emulator = commands.add_parser(
        "emulator", help="only the Azure OpenAI/ARM emulator, on the ports in the settings"
    )
    emulator.add_argument(
        "--port", type=int, default=None, help="data-plane HTTP port (LOCALDEV_EMULATOR_PORT)"
    )
    emulator.add_argument(
        "--arm-port", type=int, default=None, help="ARM HTTPS port (LOCALDEV_EMULATOR_ARM_PORT)"
    )
    emulator.add_argument("--timings", choices=TIMINGS, default=None)
    demo = commands.add_parser("demo", help="the stack, a sample run to a deployed model, a chat")
    demo.add_argument("--timings", choices=TIMINGS, default=None)
    demo.add_argument(
        "--verbose", action="store_true", help="show the host's log here, not in a file"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stop_on_termination()
    values = load_local_settings()
    # The demo's story is its output: the host's log goes to a file unless --verbose.
    log_path = None
    if args.command == "demo" and not args.verbose:
        log_path = (state_dir_of(values) / DEMO_LOG).resolve()
        log_path.parent.mkdir(parents=True, exist_ok=True)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        filename=log_path,
        filemode="w",
    )
    for noisy in ("azure", "urllib3", "httpx", "httpx2", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    timings = getattr(args, "timings", None) or values.get("LOCALDEV_EMULATOR_TIMINGS", "fast")
    try:
        if args.command == "host":
            return _serve_host(values)
        if args.command == "emulator":
            return _serve_emulator(values, timings, args.port, args.arm_port)
        if args.command == "demo":
            from localdev.demo import run_demo

            return run_demo(values, timings=timings, log_path=log_path)
        return _up(values, timings)
    except (PortsTaken, StackInUse, ChildExited, AzuriteNotInstalled) as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # stopped while starting, or during the demo: all is shut down
        print("stopped", file=sys.stderr)
        return 130 if args.command == "demo" else 0


def stop_on_termination() -> None:
    """SIGTERM (CI runners, `timeout`, process managers, containers) and SIGHUP (a closed
    terminal) stop the stack exactly as Ctrl-C does: the clean-up of every `with` runs."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        # Once: a second signal must not cut the clean-up short and leave a child behind.
        for name in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(name, signal.SIG_IGN)
        raise KeyboardInterrupt

    for name in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(name, interrupt)


def _checked(environ: dict[str, str]) -> bool:
    try:
        Settings.from_env(environ)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return False
    return True


def _serve_host(values: dict[str, str]) -> int:
    os.environ.update(values)
    if not _checked(dict(os.environ)):
        return 2
    port = LocalPorts.from_settings(values).host
    check_ports_free({"Functions host, LOCALDEV_HOST_PORT": port})
    host = start_host(os.environ, port)
    print(f"Functions host: {host.url}/api", flush=True)
    return _wait_for_interrupt(host.stop)


def _serve_emulator(
    values: dict[str, str], timings: str, port: int | None, arm_port: int | None
) -> int:
    """The emulator alone, for `func start`: its CA goes where local.settings expects it."""
    from localdev.emulator import Timings, running_emulator
    from localdev.emulator.limits import ENVIRONMENT_VARIABLE, Limits

    limits = Limits.from_environment(os.environ.get(ENVIRONMENT_VARIABLE))
    ports = LocalPorts.from_settings(values)
    port = ports.emulator if port is None else port
    arm_port = ports.emulator_arm if arm_port is None else arm_port
    check_ports_free({"Azure OpenAI emulator, --port": port, "ARM emulator, --arm-port": arm_port})
    state_dir = state_dir_of(values)
    with running_emulator(
        port=port, arm_port=arm_port, timings=Timings.named(timings), limits=limits
    ) as emulator:
        state_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(emulator.ca_cert_path, state_dir / "emulator-ca.pem")
        print(f"Azure OpenAI emulator: {emulator.url}  ARM: {emulator.arm_url}")
        print(f"ARM CA certificate:    {state_dir / 'emulator-ca.pem'}", flush=True)
        return _wait_for_interrupt(lambda: None)


def _up(values: dict[str, str], timings: str) -> int:
    with running_stack(values, timings=timings) as stack:
        if not _checked(dict(os.environ)):
            return 2
        print(f"Azurite blob:   {stack.azurite.blob_endpoint}")
        print(f"Azurite table:  {stack.azurite.table_endpoint}")
        print(f"Azure OpenAI:   {stack.settings['AZURE_OPENAI_ENDPOINT']} (emulator)")
        print(f"ARM:            {stack.settings['ARM_ENDPOINT']} (emulator)")
        if len(stack.accounts) > 1:
            print(f"Accounts:       {len(stack.accounts)} emulated (AZURE_OPENAI_ACCOUNTS)")
            for account in stack.accounts:
                print(f"  {account.account_name}: {account.url}  ARM: {account.arm_url}")
        print(f"Functions host: {stack.host.url}/api  (try: curl {stack.host.url}/api/health)")
        print(f"Logs:           {stack.state_dir}/azurite.log, {stack.state_dir}/emulator.log")
        print("Press Ctrl-C to stop.", flush=True)
        return _wait_for_interrupt(lambda: None, stack.failed)


def _wait_for_interrupt(stop: Callable[[], None], failed: threading.Event | None = None) -> int:
    """Waits for Ctrl-C or SIGTERM (exit 0), or for a child to exit under the stack (exit 1)."""
    try:
        (failed or threading.Event()).wait()
    except KeyboardInterrupt:
        print("stopping", file=sys.stderr)
        return 0
    finally:
        stop()
    return 1


if __name__ == "__main__":
    sys.exit(main())
