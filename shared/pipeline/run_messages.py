"""What the timer puts on RUNS_QUEUE when it fans out: due runs of one account, each with the
version of its record the tick read and the tick's admission decision for it.

    to_messages(queued, tick)     the JSON texts for a list of `QueuedRun`, at most
                                  RUNS_PER_MESSAGE runs and MAX_MESSAGE_BYTES each
    from_message(text)            the `QueuedRun`s of one message; raises `InvalidInput`

The version is what keeps a run advanced once per tick: a message delivered twice, or a run
that someone else moved on since, finds a newer version and leaves the run to a later tick.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.errors import InvalidInput
from shared.runs.admission import Admitted, Decision, Need, Waiting

FORMAT = "tunedrop.runs/1"
# A consumer advances the runs of one message with the tick's workers: 50 runs at ~100 ms per
# Azure call is a few seconds' work, and many messages spread over many instances.
RUNS_PER_MESSAGE = 50
# A queue message holds 64 KiB, and the host's base64 encoding takes a third of that.
MAX_MESSAGE_BYTES = 45_000


@dataclass(frozen=True)
class QueuedRun:
    name: str
    version: str
    """The record's version when the tick read it (`Run.version`)."""
    account: str | None
    decision: Decision | None


def to_messages(
    queued: Sequence[QueuedRun], tick: datetime, per_message: int = RUNS_PER_MESSAGE
) -> list[str]:
    return [
        json.dumps({"format": FORMAT, "tick": tick.isoformat(), "runs": chunk})
        for chunk in _chunks([_encoded(item) for item in queued], per_message)
    ]


def from_message(text: str | bytes) -> list[QueuedRun]:
    try:
        body = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"a runs message must be JSON: {exc}") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise InvalidInput(f"a runs message is a JSON object with format {FORMAT!r}")
    entries = body.get("runs")
    if not isinstance(entries, list):
        raise InvalidInput("a runs message lists its runs under 'runs'")
    return [_decoded(entry, index) for index, entry in enumerate(entries)]


def _chunks(encoded: list[dict[str, Any]], per_message: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    size = 0
    for entry in encoded:
        entry_size = len(json.dumps(entry)) + 2
        if chunk and (len(chunk) >= per_message or size + entry_size > MAX_MESSAGE_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(entry)
        size += entry_size
    if chunk:
        yield chunk


def _encoded(item: QueuedRun) -> dict[str, Any]:
    decision: dict[str, Any] | None = None
    if isinstance(item.decision, Admitted):
        decision = {"admitted": True}
    elif isinstance(item.decision, Waiting):
        waiting = item.decision
        decision = {
            "admitted": False,
            "need": waiting.need.value,
            "what": waiting.what,
            "in_use": waiting.in_use,
            "limit": waiting.limit,
            "ahead": waiting.ahead,
            "unit": waiting.unit,
        }
    return {
        "run": item.name,
        "version": item.version,
        "account": item.account,
        "decision": decision,
    }


def _decoded(entry: Any, index: int) -> QueuedRun:
    where = f"runs[{index}]"
    if not isinstance(entry, dict):
        raise InvalidInput(f"{where} must be an object")
    name, version, account = entry.get("run"), entry.get("version"), entry.get("account")
    if not isinstance(name, str) or not name or not isinstance(version, str):
        raise InvalidInput(f"{where} needs 'run' and 'version' strings")
    if account is not None and not isinstance(account, str):
        raise InvalidInput(f"{where}.account must be a string or null")
    return QueuedRun(name, version, account, _decision(entry.get("decision"), where))


def _decision(raw: Any, where: str) -> Decision | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("admitted"), bool):
        raise InvalidInput(f"{where}.decision must be null or an object with 'admitted'")
    if raw["admitted"]:
        return Admitted()
    try:
        return Waiting(
            Need(raw["need"]),
            str(raw["what"]),
            int(raw["in_use"]),
            int(raw["limit"]),
            int(raw.get("ahead", 0)),
            str(raw.get("unit", "in use")),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise InvalidInput(f"{where}.decision is not a waiting decision: {exc}") from None
