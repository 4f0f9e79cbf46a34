"""What the inbox blob trigger does with each blob: validate it, report it, record the verdict.

Idempotent: a blob version (ETag) the run already knows is not validated again, so a duplicate
or retried trigger does the work once. Inbox blobs are only ever read.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.errors import ConcurrentUpdate, InvalidInput, InvalidRunConfig
from shared.pipeline.probes_file import check_probes, is_probes_blob
from shared.pipeline.protocols import BlobInfo
from shared.pipeline.services import Services
from shared.runs.config import MAX_CONFIG_BYTES, RunConfig, config_warnings, parse_run_config
from shared.runs.facts import FileVerdict
from shared.runs.names import (
    FileKind,
    InboxPath,
    parse_inbox_path,
    run_name_problem,
    split_inbox_path,
)
from shared.runs.record import Run
from shared.validation import validate_dataset

logger = logging.getLogger(__name__)

SAVE_ATTEMPTS = 5


@dataclass(frozen=True)
class DropOutcome:
    """What happened to a dropped blob.

    `action` is one of: "validated" (verdict recorded), "duplicate" (this blob version was already
    handled), "ignored" (not a run file, or changed after its run started), "rejected" (a run file
    in a folder whose name breaks the run name rules; a report says why).
    """

    blob_name: str
    action: str
    detail: str
    run: str | None = None
    valid: bool | None = None


def handle_dropped_blob(services: Services, blob_name: str, now: datetime) -> DropOutcome:
    """Validates one inbox blob and records its verdict on its run. Safe to call twice."""
    if is_probes_blob(blob_name):  # the evaluation's probes: validated and reported, no verdict
        return _probes_checked(services, blob_name)
    try:
        path = parse_inbox_path(blob_name)
    except InvalidInput as exc:
        return _not_a_run_file(services, blob_name, str(exc))
    info = services.inbox.info(blob_name)
    if info is None:
        logger.info("Blob %s is gone; nothing to validate", blob_name)
        return DropOutcome(blob_name, "ignored", "the blob no longer exists", path.run)
    run = services.runs.find(path.run)
    if run is not None and run.knows_blob(path.kind, info.etag):
        return DropOutcome(blob_name, "duplicate", "this version was already handled", path.run)
    if run is not None and run.state.training_started:
        return _record(services, path, info, None, None, now)
    config = run.config if run is not None else None
    report, verdict, parsed = _check(services, path, info, config, now)
    services.reports.write(path.report_name, report)
    return _record(services, path, info, verdict, parsed, now)


def _check(
    services: Services, path: InboxPath, info: BlobInfo, config: RunConfig | None, now: datetime
) -> tuple[dict[str, Any], FileVerdict, RunConfig | None]:
    if path.kind is FileKind.CONFIG:
        return _check_config(services, path, info, now)
    model = config.model if config else services.policy.defaults.model
    epochs = config.n_epochs if config and isinstance(config.n_epochs, int) else None
    train_name = f"{path.run}/{FileKind.TRAIN.value}"
    validation_name = f"{path.run}/{FileKind.VALIDATION.value}"
    # Each file is checked together with its partner when it is there, so both reports show
    # prompts present in both files.
    if path.kind is FileKind.TRAIN:
        partner = services.inbox.info(validation_name)
        training = services.inbox.chunks(train_name, info.etag)
        validation = services.inbox.chunks(validation_name, partner.etag) if partner else None
    else:
        partner = services.inbox.info(train_name)
        # Without its training file the validation file is checked on its own; the training
        # file's "empty" finding that comes with it is not this file's and is filtered out.
        training = services.inbox.chunks(train_name, partner.etag) if partner else iter(())
        validation = services.inbox.chunks(validation_name, info.etag)
    report = validate_dataset(
        training,
        validation,
        model=model,
        epochs=epochs,
        training_name=train_name,
        validation_name=validation_name,
    ).to_dict()
    mine = [error for error in report["errors"] if error["file"] == path.blob_name]
    stats = report.get("stats", {})
    file_stats = stats.get("files", {}).get(path.blob_name, {})
    if mine:
        first = mine[0]
        where = f"line {first['line']}: " if first.get("line") else ""
        summary = f"{len(mine)} error(s); first: {where}{first['message']}"
    else:
        warnings = [item for item in report["warnings"] if item["file"] == path.blob_name]
        summary = (
            f"valid: {file_stats.get('examples', 0)} examples, "
            f"{file_stats.get('tokens', 0)} tokens, {len(warnings)} warning(s)"
        )
    compact = {
        "examples": file_stats.get("examples"),
        "tokens": file_stats.get("tokens"),
        "billable_training_tokens": stats.get("billable_training_tokens"),
        "estimated_training_cost_usd": stats.get("estimated_training_cost_usd"),
        "bytes": info.size,  # the room it takes on the account (shared.runs.admission)
    }
    verdict = FileVerdict(info.etag, not mine, path.report_name, summary, now, compact)
    return report, verdict, None


def _check_config(
    services: Services, path: InboxPath, info: BlobInfo, now: datetime
) -> tuple[dict[str, Any], FileVerdict, RunConfig | None]:
    raw = _head(services.inbox.chunks(path.blob_name, info.etag), MAX_CONFIG_BYTES + 1)
    try:
        config = parse_run_config(raw, services.policy.defaults)
    except InvalidRunConfig as exc:
        errors = [_finding(path.blob_name, "invalid_run_config", text) for text in exc.problems]
        report = {"valid": False, "errors": errors, "warnings": []}
        summary = exc.problems[0] if len(exc.problems) == 1 else f"{exc.problems[0]} (+more)"
        return report, FileVerdict(info.etag, False, path.report_name, summary, now), None
    warnings = [
        _finding(path.blob_name, "run_config_warning", text) for text in config_warnings(config)
    ]
    report = {"valid": True, "errors": [], "warnings": warnings, "config": config.to_dict()}
    verdict = FileVerdict(info.etag, True, path.report_name, "valid run.json", now)
    return report, verdict, config


def _record(
    services: Services,
    path: InboxPath,
    info: BlobInfo,
    verdict: FileVerdict | None,
    config: RunConfig | None,
    now: datetime,
) -> DropOutcome:
    """Applies the verdict to the run, reloading and reapplying when another writer won."""
    for _ in range(SAVE_ATTEMPTS):
        run = services.runs.find(path.run)
        is_new = run is None
        if run is None:
            run = Run.new(path.run, now)
        if run.knows_blob(path.kind, info.etag):
            return DropOutcome(path.blob_name, "duplicate", "already handled", path.run)
        if run.state.training_started or verdict is None:
            run.change_ignored(path.kind, info.etag, now)
            outcome = DropOutcome(
                path.blob_name, "ignored", run.ignored[-1].reason, path.run, valid=None
            )
        else:
            run.file_validated(path.kind, verdict, config)
            outcome = DropOutcome(
                path.blob_name, "validated", verdict.summary, path.run, verdict.valid
            )
        try:
            services.runs.add(run) if is_new else services.runs.save(run)
        except ConcurrentUpdate:
            logger.info("Run %s changed while recording %s; trying again", path.run, path.kind)
            continue
        logger.info("Blob %s: %s (%s)", path.blob_name, outcome.action, outcome.detail)
        return outcome
    raise ConcurrentUpdate(
        f"run {path.run!r}: could not record {path.kind.value} after {SAVE_ATTEMPTS} attempts "
        "because other writers kept changing the run."
    )


def _probes_checked(services: Services, blob_name: str) -> DropOutcome:
    checked = check_probes(services, blob_name)
    if checked is None:
        return DropOutcome(blob_name, "ignored", "the blob no longer exists")
    valid = bool(checked[0]["valid"])
    detail = "probes for the evaluation of the deployed model: " + ("valid" if valid else "invalid")
    return DropOutcome(blob_name, "validated", detail, blob_name.split("/")[0], valid)


def _not_a_run_file(services: Services, blob_name: str, reason: str) -> DropOutcome:
    try:
        folder, _ = split_inbox_path(blob_name)
    except InvalidInput:
        logger.warning("Ignoring inbox blob %r: %s", blob_name, reason)
        return DropOutcome(blob_name, "ignored", reason)
    # A run file in a folder with a bad name: no run can be recorded under that name, so the
    # reason goes where the user looks for the verdict, next to the file in the reports.
    problem = run_name_problem(folder) or reason
    report = {"valid": False, "errors": [_finding(blob_name, "invalid_run_name", problem)]}
    report["warnings"] = []
    services.reports.write(f"{blob_name}.report.json", report)
    logger.warning("Rejecting inbox blob %r: %s", blob_name, problem)
    return DropOutcome(blob_name, "rejected", problem)


def _head(chunks: Iterator[bytes], limit: int) -> bytes:
    """The first `limit` bytes of a stream: enough to judge a run.json, never a whole big blob."""
    kept = bytearray()
    for chunk in chunks:
        kept += chunk[: limit - len(kept)]
        if len(kept) >= limit:
            break
    return bytes(kept)


def _finding(file: str, code: str, message: str) -> dict[str, Any]:
    return {"file": file, "line": None, "code": code, "message": message}
