"""`GET /api/runs`: a page of runs, newest first, optionally in one state.

A filtered table query may return short (even empty) pages with a continuation, so the listing
asks the store again for the rest until the page is full or the runs run out, within a few calls.
"""

from __future__ import annotations

from typing import Any

from shared.api.paging import decode_token, encode_token
from shared.api.requests import ListQuery
from shared.api.views import page_view
from shared.pipeline import list_runs
from shared.pipeline.protocols import RunPage, RunStore, RunSummary

MAX_STORE_CALLS = 5


def runs_listing(store: RunStore, query: ListQuery) -> dict[str, Any]:
    """The JSON answer of the listing: `{"runs": [...], "continuation": token or null}`."""
    state = query.state
    continuation = None
    if query.continuation:
        continuation, state = decode_token(query.continuation, query.state)
    runs: list[RunSummary] = []
    for _ in range(MAX_STORE_CALLS):
        page = list_runs(store, state, query.page_size - len(runs), continuation)
        runs.extend(page.runs)
        continuation = page.continuation
        if continuation is None or len(runs) >= query.page_size:
            break
    return page_view(RunPage(runs, continuation), encode_token(continuation, state))
