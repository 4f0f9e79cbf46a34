"""Where an evaluation's probes come from: the run's files in the inbox, a dropped probes.jsonl,
the previous evaluation's report; and where its documents go in the reports container."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from shared.errors import ConcurrentUpdate, NotFound
from shared.evaluation.ports import EvaluationKit
from shared.evaluation.probes import (
    Example,
    Probe,
    ProbeSet,
    dropped_probes,
    examples_from_lines,
)
from shared.pipeline.probes_file import PROBES_FILE, check_probes
from shared.runs.names import FileKind
from shared.runs.record import Run

if TYPE_CHECKING:  # the pipeline's steps import the evaluation's service
    from shared.pipeline.services import Services

MAX_EXAMPLES_READ = 2000
"""Probes are drawn from the first examples of a file: enough to sample, never a whole 500 MB."""


def report_path(run: str) -> str:
    return f"{run}/evaluation.json"


def markdown_path(run: str) -> str:
    return f"{run}/evaluation.md"


def probes_path(run: str) -> str:
    """Where generated probes are saved, in the chat format a probes.jsonl takes."""
    return f"{run}/evaluation.probes.jsonl"


def examples_of(run: Run, services: Services, kind: FileKind, notes: list[str]) -> list[Example]:
    verdict = run.files.get(kind)
    if verdict is None or not verdict.valid:
        return []
    try:
        lines = _lines(services.inbox.chunks(f"{run.name}/{kind.value}", verdict.blob_etag))
        return examples_from_lines(_first(lines, MAX_EXAMPLES_READ))
    except (ConcurrentUpdate, NotFound):
        notes.append(f"{kind.value} changed or was deleted since it was trained on: not probed")
        return []


def dropped_probes_of(run: Run, services: Services, notes: list[str]) -> list[Probe]:
    """The probes.jsonl the user dropped in the run folder, validated again (it may have
    changed since it was dropped)."""
    blob = f"{run.name}/{PROBES_FILE}"
    checked = check_probes(services, blob, run.config.model if run.config else None)
    if checked is None:
        return []
    data, content = checked
    if not data["valid"]:
        notes.append(f"{PROBES_FILE} is not valid (see {blob}.report.json): not used")
        return []
    probes = dropped_probes(examples_from_lines(content.splitlines()))
    notes.append(f"paraphrases from {PROBES_FILE} ({len(probes)} probes)")
    return probes


def previous_paraphrases(run: Run, kit: EvaluationKit, attempt: int) -> list[Probe]:
    """The generated paraphrases of the previous evaluation, so a rerun asks the same ones."""
    if attempt <= 1:
        return []
    data = kit.reports.read_json(report_path(run.name))
    if not data or data.get("probe_source") != "generated" or data.get("paraphrase_pending"):
        return []
    return [
        Probe.from_dict(item)
        for item in data.get("items", [])
        if item.get("set") == ProbeSet.PARAPHRASED.value
    ]


def _lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    pending = b""
    for chunk in chunks:
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from complete
    if pending:
        yield pending


def _first(lines: Iterator[bytes], count: int) -> Iterator[bytes]:
    for number, line in enumerate(lines):
        if number >= count:
            return
        yield line
