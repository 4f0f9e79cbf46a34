"""Secrets that slipped into a message are masked: the last guard before text leaves the API
(`shared.api.views`), and before an event is stored and sent (`shared.notifications.events`).

Run records hold messages written by services and adapters (a failed upload, an ARM error),
and those may quote a URL or a connection string. Masked: SAS signatures (`sig=`), whole SAS
query strings in connection strings, account keys, `api-key` / bearer values.
"""

from __future__ import annotations

import re
from typing import Any

MASK = "***"
_PATTERNS = (
    re.compile(r"(?i)\b(sig=)[^&\s\"'<>]+"),
    re.compile(r"(?i)\b(AccountKey=)[^;\s\"'<>]+"),
    re.compile(r"(?i)\b(SharedAccessSignature=)[^;\s\"'<>]+"),
    re.compile(r"(?i)\b(api[-_]key[\"']?\s*[:=]\s*[\"']?)[^\s\"',;<>]+"),
    re.compile(r"(?i)\b(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
)


def redact_text(text: str) -> str:
    """`text` with every secret-looking value replaced by ***."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda match: match.group(1) + MASK, text)
    return text


def redact(value: Any) -> Any:
    """Redacts every string inside a JSON-ready value (dicts, lists, strings)."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: redact(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value
