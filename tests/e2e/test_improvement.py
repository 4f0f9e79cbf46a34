"""Closing the loop on the local stack: a one-phrasing run is found to have "learned the trained
phrasings only", improves itself with no hands (run.json "improve": {"auto": true}), and its
child, trained on the grader's new phrasings, "generalizes" on the very same probes. The
lineage shows in the API and on the page (checked in Chromium); a child over the cost cap is
refused, its files written and the way to start it named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.evaluation.probes import question_key
from shared.evaluation.similarity import similarity
from tests.e2e.fault_helpers import unique
from tests.e2e.pipeline_helpers import Drops, timeline_text
from tests.e2e.stack import FUNCTION_KEY, Stack
from tests.e2e.test_evaluation import FAST, ONE, evaluated, wait_for
from tests.e2e.test_http_page import chromium, needs_chromium

pytestmark = pytest.mark.e2e

SETTINGS = {**FAST, "SETTLE_SECONDS": "2"}
LEARNED_ONLY = "learned the trained phrasings only"


def user_turns(jsonl: str) -> list[str]:
    turns = []
    for line in jsonl.splitlines():
        messages = json.loads(line)["messages"]
        turns += [m["content"] for m in messages if m["role"] == "user"]
    return turns


def drop_one_phrasing(drops: Drops, stack: Stack, run: str, improve: dict[str, Any]) -> None:
    config = {**json.loads((ONE / "run.json").read_text()), "improve": improve}
    drops.drop(stack, run, "run.json", json.dumps(config).encode())
    drops.drop(stack, run, "train.jsonl", (ONE / "train.jsonl").read_bytes())


@needs_chromium
def test_a_one_phrasing_run_improves_itself_and_its_child_generalizes_on_the_same_probes(
    make_stack: Any, tmp_path: Path
) -> None:
    stack = make_stack(**SETTINGS)
    drops = Drops()
    parent, capped = unique("one"), unique("capped")
    child = f"{parent}-r2"
    drop_one_phrasing(drops, stack, parent, {"auto": True, "max_usd": 5})
    drop_one_phrasing(drops, stack, capped, {"auto": False})

    parent_view = wait_for(stack, parent, evaluated)
    assert parent_view["evaluation"]["verdict"] == LEARNED_ONLY
    _, parent_report, _ = stack.call("GET", f"/api/runs/{parent}/evaluation")
    probes = [i for i in parent_report["items"] if i["set"] == "paraphrased"]

    # With no hands: the child is written, dropped into the inbox, trained, deployed, evaluated.
    child_view = wait_for(stack, child, evaluated)
    assert child_view["evaluation"]["verdict"] == "generalizes", child_view["evaluation"]
    _, child_report, _ = stack.call("GET", f"/api/runs/{child}/evaluation")
    assert child_report["probe_source"] == "probes.jsonl"
    asked = [
        i["messages"][-1]["content"] for i in child_report["items"] if i["set"] == "paraphrased"
    ]
    assert sorted(asked) == sorted(i["messages"][-1]["content"] for i in probes)

    # The augmented file holds the original examples and new phrasings, and none of the probes.
    train = stack.inbox.download_blob(f"{child}/train.jsonl").readall().decode()
    original = (ONE / "train.jsonl").read_text()
    assert train.startswith(original.rstrip("\n")) and len(train.splitlines()) > 12
    probe_turns = [m["content"] for i in probes for m in i["messages"] if m["role"] == "user"]
    for turn in user_turns(train):
        for probe in probe_turns:
            assert question_key(turn) != question_key(probe), turn
            assert similarity(turn, probe) < 0.9, (turn, probe)
    history = json.loads(stack.reports.download_blob(f"{parent}/improvement.json").readall())
    reasons = [d["reason"] for d in history["children"][0]["dropped_phrasings"]]
    assert history["children"][0]["notes"][0] == "subject: '香坂義孝'"  # from the validator
    assert any(r.startswith("too close to a probe of the evaluation") for r in reasons), reasons
    child_config = json.loads(stack.inbox.download_blob(f"{child}/run.json").readall())
    assert child_config["improve"] == {"auto": False} and child_config["seed"] == 7

    # Lineage in the API: the parent names its child, the child its parent and the comparison.
    parent_view = wait_for(stack, parent, lambda view: bool(view.get("lineage")))
    assert parent_view["lineage"]["children"][0]["run"] == child
    assert parent_view["lineage"]["children"][0]["status"] == "started"
    text = timeline_text(parent_view)
    assert "improvement written: " in text and f"improvement started: child run {child}" in text
    lineage = stack.call("GET", f"/api/runs/{child}")[1]["lineage"]
    assert lineage["parent"] == parent
    rows = {row["set"]: row for row in lineage["comparison"]["sets"]}
    assert rows["paraphrased"]["before"] < 0.7 <= rows["paraphrased"]["after"]
    assert lineage["comparison"]["parent_verdict"] == LEARNED_ONLY
    assert lineage["comparison"]["child_verdict"] == "generalizes"
    gained = lineage["comparison"]["failed_to_passed"]
    assert gained and not lineage["comparison"]["passed_to_failed"]
    assert child_report["lineage"]["comparison"] == lineage["comparison"]
    # The child's evaluation report carries the comparison too, in JSON and in Markdown.
    assert child_report["comparison"]["parent"] == parent
    markdown = stack.reports.download_blob(f"{child}/evaluation.md").readall().decode()
    assert f"## Compared with the parent run {parent}" in markdown
    assert f"{LEARNED_ONLY} -> generalizes: " in markdown

    # The child's page, in a browser: the comparison section with the flipped items.
    url = f"{stack.host.url}/api/runs/{child}/view?code={FUNCTION_KEY}"
    dom = chromium(tmp_path / "profile", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    section = dom.stdout[dom.stdout.index('id="improvement-comparison"') :]
    assert f"Improved from run <strong>{parent}</strong>" in dom.stdout
    assert 'id="comparison-table"' in section and "paraphrased" in section
    assert f"{LEARNED_ONLY} → generalizes" in section
    assert (
        gained[0]["question"].split(" → ")[-1] in section.split('id="flipped-passed_to_failed"')[0]
    )

    # A child over the cost cap is refused: its files are written, the inbox gets nothing.
    wait_for(stack, capped, evaluated)
    status, written, _ = stack.call("POST", f"/api/runs/{capped}/improve")
    assert status == 200, written
    entry = written["improvement"]
    assert entry["status"] == "written" and entry["run"] == f"{capped}-r2"
    assert entry["new_phrasings"] > 0 and entry["estimated_training_cost_usd"] > 0
    assert '{"start": true}' in entry["how_to_start"]
    status, problem, _ = stack.call(
        "POST", f"/api/runs/{capped}/improve", body={"start": True, "max_usd": 0.001}
    )
    assert status == 409, problem
    assert f"child run {capped}-r2 not started: its training is estimated at $" in problem["detail"]
    assert "over the cap of $0.001" in problem["detail"]
    assert not list(stack.inbox.list_blobs(name_starts_with=f"{capped}-r2/"))
    names = {b.name for b in stack.reports.list_blobs(name_starts_with=f"{capped}/improvement/")}
    assert f"{capped}/improvement/{capped}-r2/train.jsonl" in names

    # The inbox: every dropped blob as it was; the only blobs added are the child's new folder.
    now = drops.current()
    assert all(now.get(key) == version for key, version in drops.dropped.items())
    added = sorted(name for _, name in now.keys() - drops.dropped.keys())
    assert added == sorted(f"{child}/{n}" for n in ("run.json", "probes.jsonl", "train.jsonl"))
