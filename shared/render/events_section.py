"""The run page's compact Events section: each event of the run with its delivery to each
endpoint (state, attempts, last status, next attempt). Every value is escaped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any


def events_table(events: Sequence[Mapping[str, Any]]) -> str:
    """The section's body for the events of `GET /api/runs/{run}/events`."""
    if not events:
        return "<p>No events yet.</p>"
    rows = []
    for event in events:
        deliveries = event.get("deliveries") or []
        shown = (
            " ".join(_delivery(item) for item in deliveries)
            if deliveries
            else '<span class="delivery">not sent (no endpoint wants it, or waiting)</span>'
        )
        rows.append(
            f'<tr class="event"><td>{_text(event.get("sequence"))}</td>'
            f"<td><code>{_text(event.get('type'))}</code></td>"
            f"<td>{_text((event.get('time') or '')[:19].replace('T', ' '))}</td>"
            f"<td>{shown}</td></tr>"
        )
    return (
        '<table id="events"><thead><tr><th>#</th><th>event</th><th>time (UTC)</th>'
        f"<th>deliveries</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _delivery(item: Mapping[str, Any]) -> str:
    state = _text(item.get("state"))
    details = [f"{_text(item.get('attempts'))} attempt(s)"]
    if item.get("last_status") is not None:
        details.append(f"last HTTP {_text(item.get('last_status'))}")
    if item.get("next_attempt_at") and state == "retrying":
        details.append(f"next {_text(str(item['next_attempt_at'])[11:19])}")
    title = f' title="{_text(item.get("last_error"))}"' if item.get("last_error") else ""
    return (
        f'<span class="delivery delivery-{state}"{title}>{_text(item.get("endpoint"))}: '
        f"<strong>{state}</strong> ({', '.join(details)})</span>"
    )


def _text(value: Any) -> str:
    return "" if value is None else escape(str(value), quote=True)
