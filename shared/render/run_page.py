"""The run page: one self-contained HTML document for a person looking at a run.

It shows the run view of `shared.api.views.run_view` (state, timeline, validation findings, job,
deployment), the loss chart inline, and a chat box that posts to the run's chat endpoint with
`fetch()`. Every value from the run is escaped; the only script is the static chat code below,
allowed by the page's nonce (the answer's Content-Security-Policy names it), so markup that slips
into the data could not run even if escaping failed.

The API needs the function key: the page reads it from its own URL's `code` query parameter
(`/api/runs/<run>/view?code=<key>`, which is also how the host accepts the page request) and sends
it to the chat endpoint in the `x-functions-key` header.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any

from shared.render.events_section import events_table
from shared.render.page_assets import CHAT_SCRIPT, PAGE_STYLE


def content_security_policy(nonce: str) -> str:
    """The policy the page is served with: nothing external, only its own script and styles."""
    return (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'nonce-{nonce}'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )


def run_page_html(
    view: Mapping[str, Any], *, chart_svg: str = "", nonce: str = "", evaluation_html: str = ""
) -> str:
    """The page for one run. `view` is a run view; `chart_svg` the loss chart made by
    `loss_chart_svg` and `evaluation_html` the evaluation section made by
    `shared.evaluation.page` (trusted markup, inserted as is); `nonce` the script nonce of the
    CSP."""
    name = _text(view.get("name"))
    state = _text(view.get("state"))
    sections = [
        _header(view),
        _section("Evaluation", evaluation_html) if evaluation_html else "",
        _section("Loss", f'<div class="chart" id="chart">{chart_svg}</div>' + _verdict(view)),
        _section("Timeline", _timeline(view.get("timeline") or [])),
        _section("Validation", _files(view.get("files") or {}, view.get("ignored_changes") or [])),
        _section("Training job", _job(view)),
        _section("Deployment", _deployment(view.get("deployment"))),
        *([_section("Events", events_table(view["events"]))] if "events" in view else []),
        _section("Chat", _chat(view)),
    ]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>Tunedrop run {name}: {state}</title>"
        f"<style>{PAGE_STYLE}</style></head><body>"
        + "".join(sections)
        + f'<script nonce="{escape(nonce)}">{CHAT_SCRIPT}</script></body></html>'
    )


def _header(view: Mapping[str, Any]) -> str:
    state = _text(view.get("state"))
    notes = []
    if view.get("stalled"):
        notes.append('<p class="warning" id="stalled">No progress for a long time: stalled.</p>')
    if view.get("failure_reason"):
        notes.append(f'<p class="error" id="failure">{_text(view["failure_reason"])}</p>')
    for warning in view.get("model_warnings") or ():
        notes.append(f'<p class="warning" id="model-warning">{_text(warning)}</p>')
    if view.get("waiting"):
        waiting = view["waiting"]
        notes.append(f'<p class="warning" id="waiting">{_text(waiting.get("reason"))}</p>')
    if view.get("retry"):
        retry = view["retry"]
        notes.append(
            f'<p class="warning" id="retry">{_text(retry.get("step"))} will be tried again at '
            f"{_when(retry.get('next_attempt_at'))}: {_text(retry.get('last_error'))}</p>"
        )
    facts = _facts(
        [
            ("Account", view.get("account")),
            ("Created", view.get("created_at")),
            ("Updated", view.get("updated_at")),
            ("Estimated training cost (USD)", view.get("cost_estimate_usd")),
            ("Trained tokens", view.get("trained_tokens")),
        ]
    )
    return (
        f'<header><h1>Run <span id="run-name">{_text(view.get("name"))}</span> '
        f'<span class="state state-{state}" id="run-state">{state}</span></h1>'
        + "".join(notes)
        + facts
        + "</header>"
    )


def _verdict(view: Mapping[str, Any]) -> str:
    verdict = view.get("overfitting")
    if not verdict:
        return ""
    level = str(verdict.get("level") or ("overfitting" if verdict.get("overfitting") else ""))
    label = {"healthy": "Healthy", "watch": "Watch", "overfitting": "Overfitting"}.get(
        level, "Not judged"
    )
    action = verdict.get("action")
    return (
        f'<p class="verdict verdict-{_text(level)}" id="overfitting"><strong>{label}</strong>: '
        f"{_text(verdict.get('reason'))}"
        + (f'. <span id="overfitting-action">Action: {_text(action)}</span>' if action else "")
        + "</p>"
    )


def _timeline(entries: list[Mapping[str, Any]]) -> str:
    if not entries:
        return "<p>No transitions yet.</p>"
    rows = []
    for entry in entries:
        moved = entry.get("from") != entry.get("to")
        change = (
            f"{_text(entry.get('from') or 'new')} → {_text(entry.get('to'))}"
            if moved
            else f"{_text(entry.get('to'))} (note)"
        )
        rows.append(
            f'<li class="timeline-entry{"" if moved else " note"}">'
            f'<time>{_when(entry.get("at"))}</time> <span class="move">{change}</span> '
            f'<span class="reason">{_text(entry.get("reason"))}</span></li>'
        )
    return f'<ol id="timeline">{"".join(rows)}</ol>'


def _files(files: Mapping[str, Mapping[str, Any]], ignored: list[Mapping[str, Any]]) -> str:
    if not files:
        return "<p>No file has been validated yet.</p>"
    rows = []
    for file_name, verdict in files.items():
        valid = bool(verdict.get("valid"))
        report = _text(verdict.get("report"))
        rows.append(
            f'<tr class="{"valid" if valid else "invalid"}"><td>{_text(file_name)}</td>'
            f"<td>{'valid' if valid else 'invalid'}</td><td>{_text(verdict.get('summary'))}</td>"
            f"<td><code>{report}</code></td></tr>"
        )
    table = (
        '<table id="validation"><thead><tr><th>File</th><th>Verdict</th><th>Findings</th>'
        f"<th>Report (reports container)</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    if ignored:
        items = "".join(
            f"<li>{_when(item.get('at'))} {_text(item.get('file'))}: {_text(item.get('reason'))}"
            "</li>"
            for item in ignored
        )
        table += f'<h3>Ignored changes</h3><ul id="ignored">{items}</ul>'
    return table


def _job(view: Mapping[str, Any]) -> str:
    job = view.get("job")
    config = view.get("config") or {}
    facts = [("Base model", config.get("model")), ("Suffix", config.get("suffix"))]
    for name, pair in (view.get("hyperparameters") or {}).items():
        asked, used = pair.get("requested"), pair.get("used")
        shown = f"{used} (asked: {asked if asked is not None else 'auto'})"
        facts.append((name.replace("_", " "), shown if used is not None else asked))
    if not job:
        return _facts(facts) + "<p>No fine-tuning job yet.</p>"
    facts = [
        ("Job", job.get("id")),
        ("Status", job.get("status")),
        ("Fine-tuned model", job.get("fine_tuned_model")),
        ("Error", job.get("error")),
        *facts,
    ]
    events = "".join(
        f'<li><time>{_when(e.get("at"))}</time> <span class="level">{_text(e.get("level"))}</span>'
        f" {_text(e.get('message'))}</li>"
        for e in (job.get("events") or [])[-10:]
    )
    return _facts(facts) + (
        f'<h3>Latest events</h3><ul id="events">{events}</ul>' if events else ""
    )


def _deployment(deployment: Mapping[str, Any] | None) -> str:
    if not deployment:
        return '<p id="deployment">Not deployed.</p>'
    return (
        '<div id="deployment">'
        + _facts(
            [
                ("Name", deployment.get("name")),
                ("Account", deployment.get("account")),
                ("State", deployment.get("state")),
                ("Model", deployment.get("model")),
                (
                    f"Why this model ({deployment.get('checkpoint')})",
                    deployment.get("chosen_because"),
                ),
                ("SKU", deployment.get("sku")),
                ("Capacity", deployment.get("capacity")),
                ("Serving since", deployment.get("serving_at")),
                ("Expires", deployment.get("expires_at")),
                ("Deleted", deployment.get("deleted_at")),
                ("Teardown requested", deployment.get("teardown_requested") or None),
            ]
        )
        + "</div>"
    )


def _chat(view: Mapping[str, Any]) -> str:
    deployment = view.get("deployment") or {}
    tearing_down = bool(deployment.get("teardown_requested"))
    serving = view.get("state") == "deployed" and not tearing_down
    note = (
        "Ask the fine-tuned model; tick compare to see the base model's answer too."
        if serving
        else "Chat is closed: the deployment is being torn down on request."
        if tearing_down
        else f"Chat opens once the run is deployed; it is {_text(view.get('state'))}."
    )
    disabled = "" if serving else " disabled"
    return (
        f'<form id="chat-form"><p>{note}</p>'
        f'<textarea id="chat-message" rows="3" required{disabled}></textarea>'
        f'<label><input type="checkbox" id="chat-compare"{disabled}> compare with the base model'
        f'</label> <button type="submit" id="chat-send"{disabled}>Send</button></form>'
        '<div id="chat-answer" aria-live="polite"></div>'
        '<p class="hint">The page calls the API with the function key from its address '
        "(<code>?code=…</code>).</p>"
    )


def _section(title: str, body: str) -> str:
    anchor = title.lower().replace(" ", "-")
    return f'<section id="section-{anchor}"><h2>{escape(title)}</h2>{body}</section>'


def _facts(pairs: list[tuple[str, Any]]) -> str:
    rows = "".join(
        f"<dt>{escape(label)}</dt><dd>{_when(value)}</dd>"
        for label, value in pairs
        if value is not None and value != ""
    )
    return f'<dl class="facts">{rows}</dl>' if rows else ""


def _when(value: Any) -> str:
    """An ISO time from the view as `2026-05-04 12:00:07 UTC` (escaped text)."""
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return _text(value)
        if moment.utcoffset() is not None:
            moment = moment.astimezone(UTC)
        return f"{moment:%Y-%m-%d %H:%M:%S} UTC"
    return _text(value)


def _text(value: Any) -> str:
    """Any value from the data, as escaped text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return escape(str(value), quote=True)
