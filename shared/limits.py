"""Text from outside cut to fit Azure Table Storage's limits, with the cut marked. No I/O.

Reasons, failure reasons, problem lists, event data and upstream messages come from files,
receivers and services Tunedrop does not control. Stored as they come, one long enough (a
`run.json` key of 40 KB quoted in a reason) makes a row the service refuses, and a run whose
save is refused can never move again. The service's documented limits
(learn.microsoft.com, "Understanding the Table service data model"):

    a string property     64 KiB, counted in UTF-16 (a character outside the BMP takes 4 bytes)
    an entity             1 MiB, property names and values together
    a batch transaction   100 entities and a 4 MiB request; the SDK sends JSON with \\u escapes,
                          so a non-ASCII character costs up to 6 bytes there

`stored_size` counts the larger of the two measures, and `fit_json` cuts a value's longest texts
step by step until its JSON is within a budget. Azurite enforces the property limit but neither
the entity nor the transaction limit (see the README's Guarantees).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

PROPERTY_LIMIT_BYTES = 64 * 1024
ENTITY_LIMIT_BYTES = 1024 * 1024
TRANSACTION_LIMIT_BYTES = 4 * 1024 * 1024
# No cut first; then every text to at most this many characters, until the JSON fits.
CUT_STEPS: tuple[int | None, ...] = (None, 8000, 2000, 500, 120)


def stored_size(text: str) -> int:
    """Bytes `text` counts for: UTF-16 in the service, escaped JSON in a request."""
    return max(len(text.encode("utf-16-le", "surrogatepass")), len(json.dumps(text)))


def cut(text: str, limit: int) -> str:
    """`text`, or its first characters with a mark saying how many were cut."""
    if len(text) <= limit:
        return text
    mark = f" …[cut {len(text) - limit:,} characters]"
    return text[: max(limit - len(mark), 0)] + mark


def cut_texts(value: Any, limit: int | None, max_items: int | None = None) -> Any:
    """`value` (JSON-ready) with every string (keys too) cut to `limit` characters and, when
    `max_items` is given, every list and object cut to that many items, the cut marked."""
    if isinstance(value, str):
        return value if limit is None else cut(value, limit)
    if isinstance(value, dict):
        items = list(value.items())
        kept = items if max_items is None else items[:max_items]
        result = {cut_texts(k, limit): cut_texts(v, limit, max_items) for k, v in kept}
        if len(kept) < len(items):
            result["…"] = f"cut {len(items) - len(kept)} more fields"
        return result
    if isinstance(value, list | tuple):
        kept_items = value if max_items is None else value[:max_items]
        result_list = [cut_texts(item, limit, max_items) for item in kept_items]
        if len(kept_items) < len(value):
            result_list.append(f"…[cut {len(value) - len(kept_items)} more items]")
        return result_list
    return value


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def fit_json(
    value: Any,
    budget: int,
    steps: Sequence[int | None] = CUT_STEPS,
    max_items: int | None = None,
) -> str | None:
    """The compact JSON of `value` with its texts cut as little as `steps` allow for it to be
    within `budget` bytes (`stored_size`); None when even the last step is too big."""
    for limit in steps:
        text = compact_json(cut_texts(value, limit, max_items))
        if stored_size(text) <= budget:
            return text
    return None


def parts(text: str, characters: int) -> list[str]:
    """`text` in pieces of `characters` (never splitting a character: Python strings hold code
    points), at least one."""
    return [text[i : i + characters] for i in range(0, len(text), characters)] or [""]


def storable_text(text: str) -> str:
    """`text` with every unpaired UTF-16 surrogate replaced by U+FFFD.

    Such a half character arrives in upstream error messages (a service's text decoded with
    `surrogateescape`, or JSON carrying a lone `\\ud83d`). Stored as is, the record reads back
    with text that cannot be encoded as UTF-8 again, so every answer, log line or later save of
    the run would fail; a replacement character keeps the rest of the message readable.
    """
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
