"""The evaluation on the run page: the verdict first, a tuned-vs-base table per probe set, and
the items the tuned model failed, in the language of the data. Pure; every value is escaped."""

from __future__ import annotations

import re
from collections.abc import Mapping
from html import escape
from typing import Any

from shared.evaluation.report import failed_items, missing_text, question_of, score_text, table_rows

_JAPANESE = re.compile(r"[ぁ-ゖァ-ヺ一-龯]")


def _t(value: Any) -> str:
    return escape("" if value is None else str(value), quote=True)


def evaluation_html(summary: Mapping[str, Any] | None, report: Mapping[str, Any] | None) -> str:
    """The page section's body; empty when the run has no evaluation."""
    if not summary:
        return ""
    status = summary.get("status", "")
    if summary.get("headline"):
        top = (
            f'<p class="verdict" id="evaluation-verdict"><strong>{_t(summary["headline"])}'
            f'</strong></p><p id="evaluation-action">{_t(summary.get("action"))}</p>'
        )
    else:
        top = (
            f'<p class="warning" id="evaluation-verdict">Evaluation {_t(status)}: '
            f"{_t(summary.get('reason'))} {_t(summary.get('progress'))}</p>"
        )
    cost = summary.get("estimated_cost_usd")
    if summary.get("estimated_tokens"):
        shown = f" (about ${cost:.4f})" if isinstance(cost, int | float) else ""
        top += f"<p>Estimated at most {summary['estimated_tokens']:,} tokens{shown}.</p>"
    if not report:
        return top
    rows = "".join(
        f"<tr><td>{_t(row['set'])}</td><td>{_t(score_text(row['tuned']))}</td>"
        f"<td>{_t(score_text(row['base']))}</td></tr>"
        for row in table_rows(report)
    )
    table = (
        '<table id="evaluation-table"><thead><tr><th>set</th><th>tuned</th><th>base</th></tr>'
        f"</thead><tbody>{rows}</tbody></table>"
    )
    notes = "".join(f"<li>{_t(note)}</li>" for note in report.get("notes", []))
    failed = failed_items(report)
    items = "".join(
        f"<tr><td>{_t(item['id'])}</td><td>{_t(item['set'])}</td>"
        f"<td>{_t(question_of(item))}</td><td>{_t(item['reference'])}</td>"
        f"<td>{_t((item.get('results', {}).get('tuned') or {}).get('reply', ''))}</td>"
        f"<td>{_t(missing_text(item))}</td></tr>"
        for item in failed
    )
    sample = " ".join(str(item.get("reference", "")) for item in report.get("items", [])[:5])
    lang = "ja" if _JAPANESE.search(sample) else "en"
    failed_table = (
        f'<h3>Failed items ({len(failed)})</h3><table id="evaluation-failed" lang="{lang}">'
        "<thead><tr><th>id</th><th>set</th><th>question</th><th>reference</th>"
        f"<th>tuned reply</th><th>why</th></tr></thead><tbody>{items}</tbody></table>"
        if failed
        else '<p id="evaluation-failed">No failed items.</p>'
    )
    return top + table + (f"<ul>{notes}</ul>" if notes else "") + failed_table
