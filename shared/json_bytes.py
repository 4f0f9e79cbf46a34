"""JSON as UTF-8 bytes that can always be written, whatever text the data carried."""

from __future__ import annotations

import json
from typing import Any


def json_utf8(value: Any, *, indent: int | None = None) -> bytes:
    """Readable UTF-8 JSON (Japanese stays Japanese); escaped ASCII JSON when the value holds
    text UTF-8 cannot encode (an unpaired surrogate a hostile file or body smuggled in)."""
    try:
        return json.dumps(value, ensure_ascii=False, indent=indent).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, ensure_ascii=True, indent=indent).encode("ascii")
