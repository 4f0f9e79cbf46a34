"""Continuation tokens of `GET /api/runs`: opaque to clients, checked when they come back.

A token wraps the store's own continuation together with the state filter it belongs to, as
base64url JSON, so a client pages on with the token alone, and a token used with another filter
or edited by hand is refused with a 400 instead of reaching the store.
"""

from __future__ import annotations

import base64
import binascii
import json

from shared.errors import InvalidInput
from shared.runs.states import RunState

TOKEN_VERSION = 1
MAX_TOKEN_CHARS = 4096


def encode_token(store_continuation: str | None, state: RunState | None) -> str | None:
    """The client's token for the next page; None when there is no next page."""
    if store_continuation is None:
        return None
    payload = {
        "v": TOKEN_VERSION,
        "state": state.value if state else None,
        "next": store_continuation,
    }
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, state: RunState | None) -> tuple[str, RunState | None]:
    """The store continuation and the state filter a token was made for.

    `state` is the filter of the request carrying the token; None means "the token's own".
    """
    refused = InvalidInput(
        'query "continuation" is not a token this API gave out; start again without it'
    )
    if len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise refused
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        raise refused from None
    if (
        not isinstance(payload, dict)
        or payload.get("v") != TOKEN_VERSION
        or not isinstance(payload.get("next"), str)
    ):
        raise refused
    try:
        token_state = RunState(payload["state"]) if payload.get("state") is not None else None
    except ValueError:
        raise refused from None
    if state is not None and state is not token_state:
        shown = token_state.value if token_state else "all states"
        raise InvalidInput(
            f'query "continuation" belongs to a listing of {shown}, not of state {state.value}'
        )
    return payload["next"], token_state
