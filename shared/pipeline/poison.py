"""What happens to an inbox blob the host gave up on: the run it belongs to fails, with the reason.

When validating a blob fails on every attempt (host.json `poisonBlobThreshold`), the Functions host
stops retrying and writes a message to the `webjobs-blobtrigger-poison` queue:
`{"Type": "BlobTrigger", "FunctionId": "Host.Functions.<function>", "BlobType", "ContainerName",
"BlobName", "ETag"}`. Without this, the run would wait for that file forever. Idempotent: a
second message for the same blob version changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.errors import ConcurrentUpdate, InvalidInput
from shared.pipeline.services import Services
from shared.runs.facts import FileVerdict
from shared.runs.names import InboxPath, parse_inbox_path
from shared.runs.record import Run

logger = logging.getLogger(__name__)

POISON_QUEUE = "webjobs-blobtrigger-poison"
VALIDATING_FUNCTION = "validate_dropped_file"
SAVE_ATTEMPTS = 5


@dataclass(frozen=True)
class PoisonOutcome:
    """What a poison message did.

    `action` is one of: "failed" (the run failed with the reason), "noted" (the run no longer
    depends on that blob version; its timeline says so), "duplicate" (already recorded),
    "ignored" (not a message about an inbox run file).
    """

    action: str
    detail: str
    run: str | None = None


def record_poisoned_blob(
    services: Services, message: Mapping[str, Any], now: datetime, inbox_container: str
) -> PoisonOutcome:
    """Records that validating the blob named in a host poison `message` kept crashing.

    A run still waiting for its files fails with a reason naming the file; a run that has moved
    on (or whose blob has been replaced by a newer version) keeps its state and gets a note.
    Messages about other functions, containers or non-run blobs are ignored. Safe to repeat.
    """
    target = _inbox_blob(message, inbox_container)
    if isinstance(target, str):
        logger.info("Poison message ignored: %s", target)
        return PoisonOutcome("ignored", target)
    path, etag = target
    current = services.inbox.info(path.blob_name)
    replaced = current is not None and current.etag != etag
    for _ in range(SAVE_ATTEMPTS):
        run = services.runs.find(path.run)
        is_new = run is None
        if run is None:
            run = Run.new(path.run, now)
        if run.knows_blob(path.kind, etag):
            return PoisonOutcome("duplicate", "this blob version is already recorded", path.run)
        outcome = _apply(services, run, path, etag, replaced, now)
        try:
            services.runs.add(run) if is_new else services.runs.save(run)
        except ConcurrentUpdate:
            logger.info("Run %s changed while recording a poisoned blob; again", path.run)
            continue
        logger.warning("Run %s: %s (%s)", path.run, outcome.action, outcome.detail)
        return outcome
    raise ConcurrentUpdate(
        f"run {path.run!r}: could not record the poisoned {path.kind.value} after "
        f"{SAVE_ATTEMPTS} attempts because other writers kept changing the run."
    )


def _apply(
    services: Services, run: Run, path: InboxPath, etag: str, replaced: bool, now: datetime
) -> PoisonOutcome:
    crashed = (
        f"validating {path.blob_name} crashed on every attempt the host made, so the file was "
        f"never checked; the host moved it to the {POISON_QUEUE} queue"
    )
    if run.state.training_started:
        note = f"{crashed}; the run ({run.state.value}) keeps the version it started with."
        run.change_ignored(path.kind, etag, now, note)
        return PoisonOutcome("noted", note, path.run)
    if replaced:
        note = f"{crashed}; a newer version of the file is validated on its own."
        run.change_ignored(path.kind, etag, now, note)
        return PoisonOutcome("noted", note, path.run)
    reason = (
        f"{crashed}. The function log has the error (a blob in the Archive tier, for one, "
        "cannot be read). Fix the file and drop the files in a new folder."
    )
    report = {
        "valid": False,
        "errors": [{"file": path.blob_name, "code": "validation_crashed", "message": reason}],
        "warnings": [],
    }
    services.reports.write(path.report_name, report)
    run.file_validated(path.kind, FileVerdict(etag, False, path.report_name, reason, now))
    run.fail(reason, now)
    return PoisonOutcome("failed", reason, path.run)


def _inbox_blob(message: Mapping[str, Any], inbox_container: str) -> tuple[InboxPath, str] | str:
    """The run file and ETag the message names, or why it names none of ours."""
    function = str(message.get("FunctionId", ""))
    if message.get("Type") != "BlobTrigger" or not function.endswith(f".{VALIDATING_FUNCTION}"):
        return f"not a blob trigger message of {VALIDATING_FUNCTION} ({function or 'no function'})"
    container = message.get("ContainerName")
    if container != inbox_container:
        return f"container {container!r} is not the inbox {inbox_container!r}"
    blob_name, etag = message.get("BlobName"), message.get("ETag")
    if not isinstance(blob_name, str) or not isinstance(etag, str) or not etag:
        return "the message names no blob or no ETag"
    try:
        path = parse_inbox_path(blob_name)
    except InvalidInput as exc:
        return str(exc)
    # The storage SDK reports ETags in quotes; the host may write them bare.
    return path, etag if etag.startswith('"') else f'"{etag}"'
