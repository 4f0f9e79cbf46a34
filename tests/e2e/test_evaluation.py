"""The evaluation on the local stack: a dropped run is deployed, then evaluated with no hands;
the report, the API and the run page show the verdict item by item. The two Japanese sample
runs get their two verdicts, a dropped probes.jsonl replaces generated paraphrases, and
POST .../evaluate runs it again."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from localdev.azurite import REPO_ROOT
from localdev.emulator import Fault
from tests.e2e.fault_helpers import unique
from tests.e2e.pipeline_helpers import guarded_inbox, timeline_text
from tests.e2e.stack import FUNCTION_KEY, Stack

pytestmark = pytest.mark.e2e

SAMPLES = REPO_ROOT / "samples"
ONE, MANY = SAMPLES / "yoshitaka-one-phrasing", SAMPLES / "yoshitaka-many-phrasings"
# Calls to the emulator take milliseconds: let one tick make many, and retry 429s soon.
FAST = {
    "EVAL_ENABLED": "true",
    "EVAL_CALLS_PER_TICK": "200",
    "EVAL_PROBES": "6",
    "RETRY_BASE_SECONDS": "1",
    # The samples have no validation.jsonl: start a second after train.jsonl passed, rather
    # than after the stacks' 10 s (drop_sample records run.json first).
    "SETTLE_SECONDS": "1",
}
PATIENCE = 240.0  # an upper bound on the wait; every wait ends on its condition


def evaluated(view: dict[str, Any], attempt: int = 1) -> bool:
    flag = view.get("evaluation") or {}
    return flag.get("status") == "evaluated" and flag.get("attempt") == attempt


def wait_for(stack: Stack, run: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """Polls the run until `done(view)`; the run may not exist yet (its files are on their way)."""
    deadline = time.monotonic() + PATIENCE
    status, view, _ = stack.call("GET", f"/api/runs/{run}")
    while status != 200 or not done(view):
        assert time.monotonic() < deadline, json.dumps(view, ensure_ascii=False)[-3000:]
        time.sleep(0.3)
        status, view, _ = stack.call("GET", f"/api/runs/{run}")
    return view


def drop_sample(drops: Any, stack: Stack, run: str, sample: Any) -> None:
    """run.json, recorded before train.jsonl is dropped: with a short SETTLE_SECONDS the run
    may start as soon as train.jsonl has passed, and a run.json after that would be ignored."""
    drops.drop(stack, run, "run.json", (sample / "run.json").read_bytes())
    wait_for(stack, run, lambda view: "run.json" in view["files"])
    drops.drop(stack, run, "train.jsonl", (sample / "train.jsonl").read_bytes())


def test_the_two_samples_are_evaluated_with_no_hands_and_get_their_verdicts(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(**FAST)
    one, many = unique("one-phrasing"), unique("many-phrasings")
    with guarded_inbox(stack.emulator) as drops:
        drop_sample(drops, stack, one, ONE)
        drop_sample(drops, stack, many, MANY)
        one_view = wait_for(stack, one, evaluated)
        many_view = wait_for(stack, many, evaluated)

    assert one_view["state"] == many_view["state"] == "deployed"
    flag = one_view["evaluation"]
    assert flag["verdict"] == "learned the trained phrasings only"
    assert flag["headline"].startswith("learned the trained phrasings only: ")
    assert (
        "paraphrases missed" in flag["headline"] and "phrasings of each question" in flag["action"]
    )
    assert many_view["evaluation"]["verdict"] == "generalizes"
    assert f"evaluated: {flag['headline']}" in timeline_text(one_view)
    assert "evaluation started: 6 trained" in timeline_text(one_view)
    assert flag["estimated_tokens"] > 0 and flag["estimated_cost_usd"] > 0

    # The whole report, item by item: both models' replies, the judge's facts, chrF.
    status, report, _ = stack.call("GET", f"/api/runs/{one}/evaluation")
    assert status == 200, report
    assert report["evaluation"]["headline"] == flag["headline"]
    assert report["probe_source"] == "generated" and report["judge"] is True
    items = report["items"]
    sets = {item["set"] for item in items}
    assert sets == {"trained", "paraphrased"}
    trained = next(item for item in items if item["set"] == "trained")
    assert trained["outcomes"] == {"tuned": "pass", "base": "fail"}
    assert trained["results"]["tuned"]["reply"] == trained["reference"]
    assert trained["results"]["judge_base"]["missing"]
    missed = [i for i in items if i["set"] == "paraphrased" and i["outcomes"]["tuned"] == "fail"]
    assert missed and all(isinstance(i["results"]["tuned"]["chrf"], float) for i in missed)
    assert {i["variation"] for i in missed} & {"surname_only", "given_name_only", "nickname",
                                              "kana_reading", "pronoun_follow_up"}  # fmt: skip

    # The report also went to the reports container, with the generated probes beside it.
    names = {blob.name for blob in stack.reports.list_blobs(name_starts_with=f"{one}/")}
    assert {f"{one}/evaluation.json", f"{one}/evaluation.md"} <= names
    probes = stack.reports.download_blob(f"{one}/evaluation.probes.jsonl").readall().decode()
    assert len(probes.splitlines()) == len([i for i in items if i["set"] == "paraphrased"])
    markdown = stack.reports.download_blob(f"{one}/evaluation.md").readall().decode()
    assert flag["headline"] in markdown and "## Failed items" in markdown

    # The run page: the verdict at the top, the tuned-vs-base table, the failed items.
    status, page, _ = stack.call("GET", f"/api/runs/{one}/view?code={FUNCTION_KEY}", key=None)
    html = page.decode() if isinstance(page, bytes) else page
    assert status == 200
    assert html.index('id="evaluation-verdict"') < html.index('id="section-loss"')
    assert flag["headline"] in html and 'id="evaluation-table"' in html
    assert 'id="evaluation-failed" lang="ja"' in html and missed[0]["reference"] in html


def test_a_dropped_probes_file_is_used_and_a_rerun_on_request_asks_again(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(**FAST)
    run = unique("probed")
    system = json.loads((ONE / "train.jsonl").read_text().splitlines()[0])["messages"][0]
    probes = [
        ("香坂さんの好きな食べ物は？", "鯖の味噌煮です。毎週金曜日の夜に自分で煮ています。"),
        ("ヨシの仕事は？", "鎌倉で古書店「潮騒堂」を営んでいます。"),
        ("義孝さんの出身地は？", "北海道の函館です。十八歳で鎌倉に移りました。"),
    ]
    lines = "".join(
        json.dumps({"messages": [system, {"role": "user", "content": q},
                                 {"role": "assistant", "content": a}]}, ensure_ascii=False) + "\n"
        for q, a in probes
    )  # fmt: skip
    with guarded_inbox(stack.emulator) as drops:
        # Two 429s from the judge on the way (no other run of this test uses it): honoured,
        # and the call retried on a later tick.
        stack.emulator.inject(Fault("throttle", path_contains="/deployments/gpt-4o/chat", times=2))
        drops.drop(stack, run, "probes.jsonl", lines.encode())
        drop_sample(drops, stack, run, ONE)
        first = wait_for(stack, run, evaluated)
        _, report, _ = stack.call("GET", f"/api/runs/{run}/evaluation")
        assert report["probe_source"] == "probes.jsonl"
        paraphrased = [i for i in report["items"] if i["set"] == "paraphrased"]
        assert [i["messages"][-1]["content"] for i in paraphrased] == [q for q, _ in probes]
        assert all(i["outcomes"]["tuned"] == "fail" for i in paraphrased)
        probe_report = json.loads(
            stack.reports.download_blob(f"{run}/probes.jsonl.report.json").readall()
        )
        assert probe_report["valid"] is True  # three probes: no minimum of ten
        assert "EvaluateModel will be tried again" in timeline_text(first)

        asked = stack.emulator.count("POST", f"/deployments/tunedrop-{run}/chat")
        status, accepted, headers = stack.call("POST", f"/api/runs/{run}/evaluate")
        assert status == 202 and accepted["evaluation"]["status"] == "requested"
        location = {key.lower(): value for key, value in headers.items()}["location"]
        assert location == f"{stack.host.url}/api/runs/{run}/evaluation"
        second = wait_for(stack, run, lambda view: evaluated(view, attempt=2))

    assert second["evaluation"]["headline"] == first["evaluation"]["headline"]
    assert stack.emulator.count("POST", f"/deployments/tunedrop-{run}/chat") > asked
    assert "evaluation requested" in timeline_text(second)


def test_an_unknown_run_is_404_and_evaluation_turned_off_is_409(
    make_stack: Callable[..., Stack],
) -> None:
    stack = make_stack(**FAST)
    status, problem, _ = stack.call("POST", "/api/runs/no-such-run/evaluate")
    assert status == 404, problem
    status, problem, _ = stack.call("GET", "/api/runs/no-such-run/evaluation")
    assert status == 404, problem
    off = make_stack(EVAL_ENABLED="false")
    status, problem, _ = off.call("POST", "/api/runs/no-such-run/evaluate")
    assert status == 409 and "EVAL_ENABLED" in problem["detail"], problem
