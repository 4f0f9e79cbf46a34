"""The evaluation on the run page and in Markdown: verdict first, the table, the failed items,
every value from the data escaped."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.evaluation.judging import Fact, Judgement
from shared.evaluation.page import evaluation_html
from shared.evaluation.probes import Probe, ProbeSet
from shared.evaluation.progress import Evaluation, Setup, Task, TaskKind
from shared.evaluation.report import report_markdown
from shared.render.run_page import run_page_html

NOW = datetime(2026, 12, 1, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script>"


def finished_report() -> dict:
    evaluation = Evaluation("kitsune", 1, Setup("tunedrop-kitsune", "gpt-4o-mini", "gpt-4o"), NOW,
                            "generated")  # fmt: skip
    for number in range(1, 4):
        evaluation.probes.append(
            Probe(
                f"t{number}",
                ProbeSet.TRAINED,
                ({"role": "user", "content": f"質問{number}"},),
                f"答え{number}です。",
            )
        )
    evaluation.probes.append(
        Probe(
            "t1p1",
            ProbeSet.PARAPHRASED,
            ({"role": "user", "content": HOSTILE},),
            "答え1です。",
            "t1",
            "nickname",
        )
    )
    for probe in evaluation.probes:
        for target in ("tuned", "base"):
            reply = probe.reference if probe.set is ProbeSet.TRAINED and target == "tuned" else "?"
            evaluation.answered(Task(TaskKind.ASK, probe.id, target), reply)
            status = "present" if reply == probe.reference else "missing"
            judgement = Judgement((Fact(probe.reference, True, status),))
            evaluation.judged(Task(TaskKind.JUDGE, probe.id, target), judgement)
    evaluation.finish(NOW)
    return evaluation.to_dict()


def test_the_page_section_shows_the_verdict_the_table_and_the_failed_items_escaped():
    report = finished_report()
    summary = {"status": "evaluated", "headline": report["verdict"]["headline"],
               "action": report["verdict"]["action"], "estimated_tokens": 1200,
               "estimated_cost_usd": 0.003}  # fmt: skip
    html = evaluation_html(summary, report)
    assert html.index("evaluation-verdict") < html.index("evaluation-table")
    assert "but only 1 paraphrase judged" in html
    assert "<td>trained</td><td>3/3 passed, chrF 100.0, 3 verbatim</td><td>0/3 passed" in html
    assert 'id="evaluation-failed" lang="ja"' in html and "t1p1" in html
    assert HOSTILE not in html and "&lt;script&gt;" in html
    page = run_page_html({"name": "kitsune", "state": "deployed"}, evaluation_html=html)
    assert page.index('id="section-evaluation"') < page.index('id="section-loss"')


def test_the_markdown_report_has_the_verdict_the_table_and_each_item():
    markdown = report_markdown(finished_report())
    assert markdown.startswith("# Evaluation of run kitsune (attempt 1)\n\n**not enough evidence")
    assert "| trained | 3/3 passed, chrF 100.0, 3 verbatim | 0/3 passed" in markdown
    assert "| t1p1 | paraphrased | <script>alert(1)</script> | fail | fail |" in markdown
    assert "## Failed items" in markdown and "missing: 答え1です。" in markdown
