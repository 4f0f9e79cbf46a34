"""The evaluation report for people: Markdown for the reports container, views for the API.

Works on the JSON report (`Evaluation.to_dict()`), so the API and the page read what was saved.
Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.evaluation.flag import EvaluationFlag

SETS = ("trained", "paraphrased", "validation")


def table_rows(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per probe set: tuned and base counts side by side."""
    by_key = {(s["set"], s["model"]): s for s in report.get("scores", [])}
    rows = []
    for name in SETS:
        tuned = by_key.get((name, "tuned"))
        if tuned is None:
            continue
        rows.append({"set": name, "tuned": tuned, "base": by_key.get((name, "base"))})
    return rows


def failed_items(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Items the tuned model did not pass (fail or error), in report order."""
    return [
        item
        for item in report.get("items", [])
        if item.get("outcomes", {}).get("tuned") in ("fail", "error")
    ]


def score_text(score: Mapping[str, Any] | None) -> str:
    if not score:
        return "-"
    if score.get("judged") or score.get("errors"):
        text = f"{score['passed']}/{score['judged']} passed"
        if score.get("errors"):
            text += f", {score['errors']} errors"
    else:
        text = f"{score['items']} not judged"
    if score.get("skipped"):
        text += f", {score['skipped']} skipped"
    chrf = score.get("chrf_mean")
    text += f", chrF {chrf:.1f}" if isinstance(chrf, int | float) else ""
    if score.get("verbatim"):
        text += f", {score['verbatim']} verbatim"
    return text


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def missing_text(item: Mapping[str, Any]) -> str:
    judge = item.get("results", {}).get("judge_tuned") or {}
    if judge.get("outcome") == "error":
        return f"judge error: {judge.get('error', '')}"
    answer = item.get("results", {}).get("tuned") or {}
    if "error" in answer:
        return f"no reply: {answer['error']}"
    parts = []
    if judge.get("missing"):
        parts.append("missing: " + "; ".join(judge["missing"]))
    if judge.get("contradicted"):
        parts.append("contradicted: " + "; ".join(judge["contradicted"]))
    return " / ".join(parts)


def question_of(item: Mapping[str, Any]) -> str:
    users = [m["content"] for m in item.get("messages", []) if m.get("role") == "user"]
    return " → ".join(users)


def report_markdown(report: Mapping[str, Any]) -> str:
    verdict = report.get("verdict") or {}
    lines = [f"# Evaluation of run {report['run']} (attempt {report['attempt']})", ""]
    if verdict:
        lines += [f"**{verdict['headline']}**", "", f"Action: {verdict['action']}", ""]
    setup = report.get("setup", {})
    lines += [
        f"- tuned deployment: `{setup.get('deployment')}`; base: "
        f"`{setup.get('base_deployment') or 'none'}`; judge: "
        f"`{setup.get('grader_deployment') or 'none configured'}`",
        f"- paraphrases from: {report.get('probe_source')}; calls made: {report.get('calls')} "
        f"(cap {setup.get('call_cap')}); tokens used: {report.get('usage')}, estimated at most "
        f"{report.get('estimated_tokens')}",
    ]
    if report.get("stopped"):
        lines.append(f"- stopped early: {report['stopped']}")
    lines += [f"- note: {note}" for note in report.get("notes", [])]
    lines += ["", "| set | tuned | base |", "| --- | --- | --- |"]
    for row in table_rows(report):
        lines.append(f"| {row['set']} | {score_text(row['tuned'])} | {score_text(row['base'])} |")
    lines += ["", "## Items", "", "| id | set | question | tuned | base | chrF | missing |"]
    lines.append("| --- | --- | --- | --- | --- | --- | --- |")
    for item in report.get("items", []):
        outcomes = item.get("outcomes", {})
        tuned = item.get("results", {}).get("tuned") or {}
        lines.append(
            f"| {item['id']} | {item['set']} | {_cell(question_of(item))} | "
            f"{outcomes.get('tuned', '-')} | {outcomes.get('base', '-')} | "
            f"{tuned.get('chrf', '-')} | {_cell(missing_text(item))} |"
        )
    failed = failed_items(report)
    if failed:
        lines += ["", "## Failed items", ""]
        for item in failed:
            tuned = item.get("results", {}).get("tuned") or {}
            lines += [
                f"### {item['id']} ({item['set']}, {item.get('variation') or 'verbatim'})",
                f"- question: {question_of(item)}",
                f"- reference: {item['reference']}",
                f"- tuned reply: {tuned.get('reply', '')}",
                f"- {missing_text(item)}",
                "",
            ]
    dropped = report.get("dropped_paraphrases") or []
    if dropped:
        lines += ["", "## Generated paraphrases dropped", ""]
        lines += [f"- {d['origin']}: {d['question']} ({d['reason']})" for d in dropped]
    return "\n".join(lines) + "\n"


def summary_view(flag: EvaluationFlag | None, links: Mapping[str, str]) -> dict[str, Any] | None:
    """The evaluation summary inside GET /api/runs/<run>."""
    if flag is None:
        return None
    return {
        "status": flag.status.value,
        "attempt": flag.attempt,
        "changed_at": flag.changed_at.isoformat(),
        "verdict": flag.verdict or None,
        "headline": flag.headline or None,
        "action": flag.action or None,
        "scores": list(flag.scores),
        "progress": flag.progress,
        "estimated_tokens": flag.estimated_tokens,
        "estimated_cost_usd": flag.estimated_usd,
        "reason": flag.reason,
        "report": links.get("evaluation"),
    }
