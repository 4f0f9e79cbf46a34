"""The lineage on the run page: the parent and the comparison with it, or the children. Pure;
every value is escaped."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from shared.improvement.lineage import comparison_line


def _t(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def _percent(rate: Any) -> str:
    return f"{rate * 100:.0f}%" if isinstance(rate, int | float) else "-"


def lineage_html(lineage: Mapping[str, Any] | None) -> str:
    """The section's body; empty when the run has no parent and no children."""
    if not lineage:
        return ""
    parts = []
    if lineage.get("parent"):
        parts.append(
            f'<p id="lineage-parent">Improved from run <strong>{_t(lineage["parent"])}</strong>.'
            "</p>"
        )
        found = lineage.get("comparison")
        if found:
            parts.append(_comparison(found))
        else:
            parts.append(
                '<p id="improvement-comparison">The comparison with the parent appears once '
                "this run is evaluated.</p>"
            )
    children = lineage.get("children") or []
    if children:
        rows = "".join(
            f"<tr><td>{_t(c['run'])}</td><td>{_t(c['status'])}</td>"
            f"<td>{_t(c.get('new_phrasings'))}</td>"
            f"<td>{_t(c.get('estimated_training_cost_usd'))}</td><td>{_t(_child_note(c))}</td></tr>"
            for c in children
        )
        parts.append(
            '<table id="lineage-children"><thead><tr><th>child run</th><th>status</th>'
            "<th>new phrasings</th><th>estimated USD</th><th>note</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )
    return "<h3>Improvement</h3>" + "".join(parts)


def _child_note(child: Mapping[str, Any]) -> str:
    if child.get("refused"):
        return str(child["refused"])
    return "" if child["status"] == "started" else f"to start it: {child.get('how_to_start')}"


def _comparison(found: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{_t(row['set'])}</td><td>{_t(row['before_text'])} "
        f"({_percent(row['before'])})</td><td>{_t(row['after_text'])} "
        f"({_percent(row['after'])})</td></tr>"
        for row in found["sets"]
    )
    flips = ""
    for key, title in (
        ("failed_to_passed", "failed → passed"),
        ("passed_to_failed", "passed → failed"),
    ):
        items = found.get(key) or []
        listed = "".join(f"<li>{_t(item['question'])}</li>" for item in items)
        flips += f'<h4>{title} ({len(items)})</h4><ul id="flipped-{key}" lang="ja">{listed}</ul>'
    return (
        '<div id="improvement-comparison">'
        f"<p><strong>{_t(found.get('parent_verdict'))} → {_t(found.get('child_verdict'))}"
        f"</strong>: {_t(comparison_line(found))}</p>"
        '<table id="comparison-table"><thead><tr><th>set</th><th>parent (tuned)</th>'
        f"<th>this run (tuned)</th></tr></thead><tbody>{rows}</tbody></table>{flips}</div>"
    )
