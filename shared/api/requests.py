"""Reading what an HTTP caller sent: bodies under the size cap, run names, listing and deploy
options. Pure: takes bytes and strings, returns values or raises `InvalidInput` (400) or
`PayloadTooLarge` (413) with a sentence naming the field."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.errors import InvalidInput, PayloadTooLarge
from shared.runs.names import check_run_name
from shared.runs.states import RunState

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 100
DEPLOY_FIELDS = ("name", "sku", "capacity", "ttl_hours")


def run_name_from_route(value: str | None) -> str:
    """The `{run}` route value as a run name. The host hands it over percent-decoded, so `%2F`
    arrives as `/` and `..` as itself; both break the run name rules and get a 400."""
    return check_run_name(value or "")


def read_json_object(body: bytes, max_bytes: int, *, required: bool = True) -> dict[str, Any]:
    """The request body as a JSON object. An empty body is `{}` unless `required`."""
    if len(body) > max_bytes:
        raise PayloadTooLarge(
            f"the request body is {len(body)} bytes; the limit is {max_bytes} bytes "
            "(MAX_REQUEST_BYTES)"
        )
    if not body.strip():
        if required:
            raise InvalidInput("the request body is empty; send a JSON object")
        return {}
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"the request body is not UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(
            f"the request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except ValueError:
        # json.loads refuses integers of more than sys.get_int_max_str_digits() digits.
        raise InvalidInput("the request body holds a number with too many digits") from None
    except RecursionError:
        raise InvalidInput("the request body is nested too deeply") from None
    _check_encodable(data)
    if not isinstance(data, dict):
        raise InvalidInput(f"the request body must be a JSON object, not {_json_type(data)}")
    return data


def _check_encodable(data: object) -> None:
    """Refuses a `\\ud800`-style escape of an unpaired surrogate: valid JSON, but no UTF-8 text
    holds it, so it could be neither answered, stored nor sent on to Azure OpenAI."""
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(exc.object[exc.start])
        raise InvalidInput(
            f"the request body escapes an unpaired surrogate (\\u{code:04x}); send UTF-8 text"
        ) from None
    except RecursionError:
        raise InvalidInput("the request body is nested too deeply") from None


def reject_unknown_fields(data: Mapping[str, Any], known: tuple[str, ...], where: str) -> None:
    """Raises `InvalidInput` naming every field of `data` that is not in `known`."""
    unknown = [key for key in data if key not in known]
    if unknown:
        names = ", ".join(f'"{key}"' for key in unknown)
        allowed = ", ".join(known)
        raise InvalidInput(f"{where}: unknown field(s) {names} (allowed: {allowed})")


@dataclass(frozen=True)
class ListQuery:
    """`GET /api/runs?state=&page_size=&continuation=`."""

    state: RunState | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    continuation: str | None = None


def parse_list_query(params: Mapping[str, str]) -> ListQuery:
    """Reads the listing's query parameters; `code` (the function key) is ignored."""
    problems = []
    state = None
    raw_state = (params.get("state") or "").strip()
    if raw_state:
        try:
            state = RunState(raw_state)
        except ValueError:
            known = ", ".join(item.value for item in RunState)
            problems.append(f'query "state": {raw_state!r} is not a run state (one of {known})')
    page_size = DEFAULT_PAGE_SIZE
    raw_size = (params.get("page_size") or "").strip()
    if raw_size:
        if raw_size.isascii() and raw_size.isdigit() and 1 <= int(raw_size) <= MAX_PAGE_SIZE:
            page_size = int(raw_size)
        else:
            problems.append(
                f'query "page_size": {raw_size!r} must be a whole number from 1 to {MAX_PAGE_SIZE}'
            )
    if problems:
        raise InvalidInput("; ".join(problems))
    # Only an absent or empty parameter means "the first page": anything else, whitespace too,
    # must be a token this API gave out (`decode_token` refuses the rest with a 400).
    return ListQuery(state, page_size, params.get("continuation") or None)


def parse_deploy_request(data: Mapping[str, Any]) -> dict[str, Any]:
    """The deploy options of `POST /runs/{run}/deploy` (all optional). Their values are checked
    by the pipeline against the run's own deploy settings."""
    reject_unknown_fields(data, DEPLOY_FIELDS, "deploy request")
    return {key: value for key, value in data.items() if value is not None}


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"
