"""A child run's name, its run.json, the cost cap, and its comparison with the parent."""

from __future__ import annotations

from shared.improvement.lineage import (
    child_name,
    child_run_json,
    comparison,
    comparison_line,
    over_cap,
)
from shared.improvement.requests import parse_improve_request
from shared.runs.config import RunDefaults, parse_run_config
from shared.runs.curves import Verdict

DEFAULTS = RunDefaults(model="gpt-4o-mini-2024-07-18")


def test_a_child_takes_the_next_free_generation_of_its_parents_name():
    assert child_name("kitsune", lambda name: False) == "kitsune-r2"
    assert child_name("kitsune", lambda name: name == "kitsune-r2") == "kitsune-r3"
    assert child_name("kitsune-r2", lambda name: False) == "kitsune-r3"
    long = "a" * 63
    assert child_name(long, lambda name: False) == "a" * 60 + "-r2"


def test_the_child_keeps_the_parents_settings_but_not_its_deployment_name_or_auto():
    config = parse_run_config(
        b'{"hyperparameters": {"n_epochs": 3}, "seed": 7, "suffix": "s",'
        b' "deploy": {"name": "mine", "ttl_hours": 2}, "improve": {"auto": true, "max_usd": 5}}',
        DEFAULTS,
    )
    data, changes = child_run_json(config, None, 3)
    assert data["hyperparameters"] == {"n_epochs": 3} and data["seed"] == 7
    assert "name" not in data["deploy"] and data["deploy"]["ttl_hours"] == 2
    assert data["improve"] == {"auto": False} and changes == []
    assert parse_run_config(str(data).replace("'", '"').replace("True", "true").replace(
        "False", "false").encode(), DEFAULTS).improve.auto is False  # fmt: skip


def test_an_overfitting_parent_gets_a_child_with_fewer_epochs_or_the_best_checkpoint():
    config = parse_run_config(b'{"hyperparameters": {"n_epochs": 5}}', DEFAULTS)
    fewer = Verdict(True, "", level="overfitting", action="train again with fewer epochs "
                    "(n_epochs 2 instead of 5), or add more varied examples")  # fmt: skip
    data, changes = child_run_json(config, fewer, 5)
    assert data["hyperparameters"]["n_epochs"] == 2
    assert changes == ["n_epochs 2 instead of 5: the parent overfitted"]
    advice = 'deploy the kept checkpoint (run.json "deploy": {"checkpoint": "best"}), or fewer'
    best = Verdict(True, "", level="overfitting", action=advice)
    data, changes = child_run_json(config, best, 5)
    assert data["deploy"]["checkpoint"] == "best" and data["hyperparameters"]["n_epochs"] == 5
    healthy = Verdict(False, "", level="healthy", action="none needed")
    assert child_run_json(config, healthy, 5)[1] == []


def test_a_child_over_the_cap_is_refused_with_both_amounts():
    assert over_cap(0.04, 5, "IMPROVE_MAX_USD") == ""
    assert over_cap(0.0412, 0.01, 'run.json "improve.max_usd"') == (
        'its training is estimated at $0.0412, over the cap of $0.01 (run.json "improve.max_usd")'
    )
    assert "could not be estimated" in over_cap(None, 5, "IMPROVE_MAX_USD")


def _item(set_: str, question: str, outcome: str) -> dict:
    return {"set": set_, "messages": [{"role": "user", "content": question}],
            "outcomes": {"tuned": outcome}}  # fmt: skip


def test_the_comparison_shows_pass_rates_before_and_after_and_the_flipped_items():
    parent = {
        "verdict": {"verdict": "learned the trained phrasings only"},
        "scores": [
            {"set": "paraphrased", "model": "tuned", "passed": 1, "judged": 4, "pass_rate": 0.25},
            {"set": "paraphrased", "model": "base", "passed": 0, "judged": 4, "pass_rate": 0.0},
        ],
        "items": [_item("paraphrased", "香坂さんの好物は？", "fail"),
                  _item("paraphrased", "ヨシの好物は？", "pass"),
                  _item("paraphrased", "彼の好物は？", "fail")],
    }  # fmt: skip
    child = {
        "verdict": {"verdict": "generalizes"},
        "scores": [
            {"set": "paraphrased", "model": "tuned", "passed": 3, "judged": 4, "pass_rate": 0.75},
        ],
        "items": [_item("paraphrased", "香坂さんの好物は?", "pass"),
                  _item("paraphrased", "ヨシの好物は？", "fail"),
                  _item("trained", "彼の好物は？", "pass")],
    }  # fmt: skip
    found = comparison(parent, child)
    assert found["sets"] == [
        {"set": "paraphrased", "before": 0.25, "after": 0.75,
         "before_text": "1/4", "after_text": "3/4"},
    ]  # fmt: skip
    # Matched by the question as a reader compares it (punctuation aside), within one set.
    assert [i["question"] for i in found["failed_to_passed"]] == ["香坂さんの好物は?"]
    assert [i["question"] for i in found["passed_to_failed"]] == ["ヨシの好物は？"]
    assert comparison_line(found) == "paraphrased 1/4 -> 3/4 (1 flipped to pass, 1 to fail)"


def test_run_json_improve_and_the_request_body_name_every_bad_field():
    import pytest

    from shared.errors import InvalidInput, InvalidRunConfig

    with pytest.raises(InvalidRunConfig) as raised:
        parse_run_config(b'{"improve": {"auto": "yes", "max_usd": -1, "subject": "", "x": 1}}',
                         DEFAULTS)  # fmt: skip
    assert raised.value.problems == [
        'run.json: "improve.x" is not a run.json field (allowed: auto, max_usd, subject)',
        'run.json: "improve.auto" must be true or false',
        'run.json: "improve.max_usd" must be a number of US dollars from 0 to 100000',
        'run.json: "improve.subject" must be a non-empty text of at most 100 characters',
    ]
    assert parse_improve_request({"start": True, "max_usd": 2}).max_usd == 2.0
    with pytest.raises(InvalidInput) as bad:
        parse_improve_request({"start": "yes", "cap": 1})
    assert str(bad.value) == (
        '"cap" is not a field (allowed: start, max_usd); "start" must be true or false'
    )
