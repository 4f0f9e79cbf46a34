"""Reading the grader's answers: code decides pass; what cannot be read is an error."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.evaluation.judging import (
    JUDGE_SCHEMA,
    PARAPHRASE_SCHEMA,
    UnreadableAnswer,
    parse_judgement,
    parse_paraphrases,
)
from tests.fuzzing import examples


def facts(*items: tuple[str, bool, str]) -> str:
    return json.dumps({"facts": [{"fact": f, "key": k, "status": s} for f, k, s in items]})


def test_a_reply_passes_only_with_every_key_fact_present_and_none_contradicted():
    assert parse_judgement(facts(("鯖", True, "present"), ("挨拶", False, "missing"))).passed
    missing = parse_judgement(facts(("鯖", True, "present"), ("金曜日", True, "missing")))
    assert not missing.passed and missing.missing == ["金曜日"]
    contradicted = parse_judgement(facts(("鯖", True, "present"), ("口調", False, "contradicted")))
    assert not contradicted.passed and contradicted.contradicted == ["口調"]


def test_when_the_judge_marks_no_fact_key_every_fact_counts():
    judgement = parse_judgement(facts(("鯖", False, "present"), ("金曜日", False, "missing")))
    assert not judgement.passed and judgement.missing == ["金曜日"]


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("", "the grader answered nothing"),
        ("Mostly correct.", "the grader's answer is not JSON"),
        ('{"verdict": "pass"}', 'has no "facts" list'),
        ('{"facts": []}', "the judge listed no facts"),
        ('{"facts": ["鯖"]}', "fact 1 is not an object"),
        ('{"facts": [{"fact": "鯖", "key": true, "status": "right"}]}', "has status 'right'"),
        ('{"facts": [{"fact": 1, "key": true, "status": "present"}]}', 'needs a "fact" text'),
    ],
)
def test_an_answer_that_cannot_be_read_raises_saying_why(answer: str, message: str):
    with pytest.raises(UnreadableAnswer, match=message):
        parse_judgement(answer)


def test_paraphrases_are_read_and_a_malformed_list_is_refused():
    answer = {
        "paraphrases": [
            {"variation": "nickname", "lead_in": "", "lead_in_reply": "", "question": "ヨシは？"}
        ]
    }
    [candidate] = parse_paraphrases(json.dumps(answer, ensure_ascii=False))
    assert (candidate.question, candidate.variation) == ("ヨシは？", "nickname")
    with pytest.raises(UnreadableAnswer, match='paraphrase 1 has no "question" text'):
        parse_paraphrases('{"paraphrases": [{"variation": "nickname"}]}')


def test_both_requests_ask_for_strict_structured_output():
    for schema in (JUDGE_SCHEMA, PARAPHRASE_SCHEMA):
        assert schema["type"] == "json_schema" and schema["json_schema"]["strict"] is True


KEYS = st.sampled_from(["facts", "fact", "key", "status", "x"])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=examples(300), deadline=None)
@given(JSON)
def test_any_json_answer_is_read_or_refused_as_unreadable_never_a_crash(value: object):
    for answer in (json.dumps(value), json.dumps(value)[:-1]):
        try:
            judgement = parse_judgement(answer)
        except UnreadableAnswer:
            continue
        assert judgement.facts and isinstance(judgement.passed, bool)
