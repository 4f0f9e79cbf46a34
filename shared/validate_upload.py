"""`POST /api/validate`: checks a JSONL body with the same rules as a dropped file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.errors import InvalidInput, PayloadTooLarge
from shared.models import base_model
from shared.validation import validate_dataset

MAX_EPOCHS = 50


def validate_upload(
    body: bytes, query: Mapping[str, str], *, default_model: str, max_bytes: int
) -> dict[str, Any]:
    """The validation report of `body`, with `model` and `epochs` taken from the query."""
    if len(body) > max_bytes:
        raise PayloadTooLarge(
            f"the body has {len(body)} bytes; this endpoint takes at most {max_bytes} "
            "(drop larger files into the inbox container instead)"
        )
    model = base_model(query.get("model") or default_model).name
    report = validate_dataset([body], model=model, epochs=_epochs(query.get("epochs")))
    return report.to_dict()


def _epochs(raw: str | None) -> int | None:
    if raw is None or raw in ("", "auto"):
        return None
    # isdigit() alone accepts "²" and other digits int() refuses.
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_EPOCHS:
        raise InvalidInput(
            f'query "epochs" must be "auto" or a whole number from 1 to {MAX_EPOCHS}, not {raw!r}'
        )
    return int(raw)
