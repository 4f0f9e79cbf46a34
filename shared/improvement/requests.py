"""The body of POST /api/runs/<run>/improve, checked with every problem named. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.errors import InvalidInput

KNOWN = ("start", "max_usd")


@dataclass(frozen=True)
class ImproveRequest:
    start: bool = False
    max_usd: float | None = None


def parse_improve_request(body: Mapping[str, Any]) -> ImproveRequest:
    problems = [
        f'"{key}" is not a field (allowed: start, max_usd)' for key in body if key not in KNOWN
    ]
    start = body.get("start", False)
    if not isinstance(start, bool):
        problems.append('"start" must be true or false')
    cap = body.get("max_usd")
    if cap is not None and (
        isinstance(cap, bool) or not isinstance(cap, int | float) or not 0 <= cap <= 100_000
    ):
        problems.append('"max_usd" must be a number of US dollars from 0 to 100000')
    if problems:
        raise InvalidInput("; ".join(problems))
    return ImproveRequest(bool(start), float(cap) if cap is not None else None)
