"""Where an improvement is recorded, and how it is read back: the parent's children
(`<run>/improvement.json`), the child's parent (`<child>/lineage.json`), both in the reports
container, and the comparison of a child's evaluation with its parent's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.evaluation.report import report_markdown
from shared.evaluation.sources import markdown_path, report_path
from shared.improvement.lineage import FLIPS, comparison, comparison_line
from shared.runs.record import Run

if TYPE_CHECKING:
    from shared.pipeline.services import Services


def improvement_path(run: str) -> str:
    return f"{run}/improvement.json"


def lineage_path(run: str) -> str:
    return f"{run}/lineage.json"


def files_folder(parent: str, child: str) -> str:
    return f"{parent}/improvement/{child}"


def lineage_view(services: Services, run: Run) -> dict[str, Any] | None:
    """The run's parent (with the comparison, once both are evaluated) and its children, for
    GET /api/runs/<run>, the evaluation report and the run page; None when it has neither."""
    kit = services.evaluation
    if kit is None:
        return None
    view: dict[str, Any] = {}
    parent = kit.reports.read_json(lineage_path(run.name))
    if parent and parent.get("parent"):
        view["parent"] = parent["parent"]
        mine = kit.reports.read_json(report_path(run.name)) if run.evaluation else None
        theirs = kit.reports.read_json(report_path(parent["parent"]))
        if mine and theirs and mine.get("verdict") and theirs.get("verdict"):
            view["comparison"] = comparison(theirs, mine)
    history = kit.reports.read_json(improvement_path(run.name))
    if history and history.get("children"):
        view["children"] = [child_summary(c) for c in history["children"]]
    return view or None


def record_comparison(services: Services, run: Run) -> None:
    """Adds the comparison with the parent to a child's evaluation report (JSON and Markdown)."""
    evaluation = services.evaluation
    lineage = lineage_view(services, run) if evaluation is not None else None
    if evaluation is None or not lineage or "comparison" not in lineage:
        return
    found = lineage["comparison"]
    report = evaluation.reports.read_json(report_path(run.name))
    if report is not None:
        report["comparison"] = {"parent": lineage["parent"], **found}
        evaluation.reports.write_json(report_path(run.name), report)
        lines = [
            "",
            f"## Compared with the parent run {lineage['parent']}",
            "",
            f"{found['parent_verdict']} -> {found['child_verdict']}: {comparison_line(found)}",
            "",
            "| set | parent (tuned) | this run (tuned) |",
            "| --- | --- | --- |",
            *(f"| {r['set']} | {r['before_text']} | {r['after_text']} |" for r in found["sets"]),
            "",
        ]
        for key, title in FLIPS:
            lines += [f"### {title} ({len(found[key])})", ""]
            lines += [f"- {item['question']}" for item in found[key]] + [""]
        markdown = report_markdown(report) + "\n".join(lines)
        evaluation.reports.write_text(
            markdown_path(run.name), markdown, "text/markdown; charset=utf-8"
        )


def child_summary(entry: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "run",
        "status",
        "parent_attempt",
        "new_phrasings",
        "estimated_training_cost_usd",
        "billable_training_tokens",
        "changes",
        "refused",
        "how_to_start",
        "files",
    )
    return {key: entry[key] for key in keys if key in entry}
