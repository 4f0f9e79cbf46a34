"""The improvement's request to the grader, the reading of its answer, and the filter that keeps
the evaluation honest: no new phrasing is a probe, close to one, or a training question."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.evaluation.judging import UnreadableAnswer
from shared.evaluation.probes import Candidate, Example, question_key
from shared.improvement.phrasings import (
    INSTRUCTIONS,
    PHRASINGS_SCHEMA,
    VARIATIONS,
    kept_phrasings,
    parse_phrasings,
    phrasing_messages,
    subject_of,
)
from shared.validation import validate_dataset

SYSTEM = {"role": "system", "content": "あなたは香坂 義孝（こうさか よしたか）について答えます。"}
QUESTION = "香坂義孝の好きな食べ物は何ですか？"
ANSWER = "鯖の味噌煮です。"
EXAMPLE = Example((SYSTEM, {"role": "user", "content": QUESTION}), ANSWER)
TRAINING = {question_key(QUESTION): "a training question"}


def test_the_request_sends_the_question_its_answer_the_subject_and_how_many():
    messages = phrasing_messages(EXAMPLE, "香坂義孝", 5)
    assert messages[0] == {"role": "system", "content": INSTRUCTIONS.format(count=5)}
    assert "write 5 new questions" in messages[0]["content"]
    for way in ("surname only", "given name only", "kana", "romaji", "nickname", "honorific"):
        assert way in messages[0]["content"]
    payload = json.loads(messages[1]["content"])
    assert payload == {
        "system_message": SYSTEM["content"],
        "question": QUESTION,
        "answer": ANSWER,
        "subject": "香坂義孝",
        "count": 5,
    }


def test_the_schema_is_strict_so_the_service_holds_the_grader_to_it():
    spec = PHRASINGS_SCHEMA["json_schema"]
    assert PHRASINGS_SCHEMA["type"] == "json_schema" and spec["strict"] is True
    item = spec["schema"]["properties"]["phrasings"]["items"]
    assert item["additionalProperties"] is False
    assert sorted(item["required"]) == sorted(item["properties"])
    assert item["properties"]["variation"]["enum"] == list(VARIATIONS)
    assert {"surname_only", "kana_reading", "romaji", "pronoun_follow_up"} <= set(VARIATIONS)


def test_an_answer_is_read_phrasing_by_phrasing_with_its_lead_in():
    surname = {"variation": "surname_only", "lead_in": "", "lead_in_reply": ""}
    follow_up = {"variation": "pronoun_follow_up", "lead_in": "香坂さん", "lead_in_reply": "はい"}
    answer = {
        "phrasings": [
            {**surname, "question": "香坂さんの好物は？"},
            {**follow_up, "question": "彼の好物は？"},
        ]
    }
    found = parse_phrasings(json.dumps(answer, ensure_ascii=False))
    assert [c.question for c in found] == ["香坂さんの好物は？", "彼の好物は？"]
    assert found[1] == Candidate("彼の好物は？", "pronoun_follow_up", "香坂さん", "はい")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "the grader answered nothing"),
        ("  ", "the grader answered nothing"),
        ("Sure! Here are", "the grader's answer is not JSON: 'Sure! Here are'"),
        ('{"paraphrases": []}', 'the grader\'s answer has no "phrasings" list'),
        ('{"phrasings": [{"variation": "x"}]}', 'phrasing 1 has no "question" text'),
    ],
)
def test_an_answer_that_cannot_be_read_says_what_is_wrong(content, message):
    with pytest.raises(UnreadableAnswer) as raised:
        parse_phrasings(content)
    assert str(raised.value) == message


def test_a_phrasing_that_is_a_probe_or_close_to_one_is_dropped_with_the_reason():
    probes = ["ねえ、香坂さんの好きな食べ物は何？"]
    candidates = [
        Candidate("ねえ、香坂さんの好きな食べ物は何？"),  # a probe, word for word
        Candidate("ねえ 香坂さんの好きな食べ物は何!"),  # the probe with other punctuation
        Candidate("義孝さんの好きな食べ物は何ですか？", "given_name_only"),
    ]
    result = kept_phrasings(EXAMPLE, candidates, probes, dict(TRAINING))
    assert [k.question for k in result.kept] == ["義孝さんの好きな食べ物は何ですか？"]
    assert [d.reason for d in result.dropped] == [
        "too close to a probe of the evaluation (similarity 1.00)",
        "too close to a probe of the evaluation (similarity 1.00)",
    ]


def test_a_training_question_an_empty_one_and_a_repeat_are_dropped():
    other = Example((SYSTEM, {"role": "user", "content": "香坂義孝の仕事は何ですか？"}), "古書店")
    known = {**TRAINING, question_key(other.question): "a training question"}
    candidates = [
        Candidate("香坂義孝の仕事は何ですか"),
        Candidate(" 。"),
        Candidate("ヨシの好きな食べ物は何ですか？", "nickname"),
        Candidate("ヨシの好きな食べ物は何ですか!", "nickname"),
    ]
    result = kept_phrasings(EXAMPLE, candidates, [], known)
    assert [k.question for k in result.kept] == ["ヨシの好きな食べ物は何ですか？"]
    assert [d.reason for d in result.dropped] == [
        "repeats a training question",
        "empty question",
        "repeats another new phrasing",
    ]
    # A later example's phrasings are checked against the ones kept here too.
    assert kept_phrasings(other, [Candidate("ヨシの好きな食べ物は何ですか")], [], known).kept == []


def test_a_near_copy_of_its_own_question_teaches_nothing_and_is_dropped():
    result = kept_phrasings(EXAMPLE, [Candidate("香坂義孝の好きな食べ物は何ですか!!")], [], {})
    assert result.dropped[0].reason.startswith("too close to its original (similarity ")


def test_a_kept_phrasing_keeps_the_answer_and_a_follow_up_keeps_its_first_turn():
    follow_up = Candidate(
        "彼の好きな食べ物は何ですか？", "pronoun_follow_up", "香坂さんについて", "どうぞ"
    )
    kept = kept_phrasings(EXAMPLE, [follow_up], [], dict(TRAINING)).kept[0]
    assert json.loads(kept.jsonl_line())["messages"] == [
        SYSTEM,
        {"role": "user", "content": "香坂さんについて"},
        {"role": "assistant", "content": "どうぞ"},
        {"role": "user", "content": "彼の好きな食べ物は何ですか？"},
        {"role": "assistant", "content": ANSWER},
    ]
    assert kept.question == "彼の好きな食べ物は何ですか？"


def test_a_follow_up_whose_first_turn_is_a_probe_is_dropped():
    probe = "ねえ、香坂さんの好きな食べ物は何？"
    follow_up = Candidate("それは何ですか？", "pronoun_follow_up", probe, "はい")
    result = kept_phrasings(EXAMPLE, [follow_up], [probe], {})
    assert result.kept == [] and "a probe of the evaluation" in result.dropped[0].reason


def test_the_subject_is_the_one_the_validator_found_named_one_way():
    lines = [
        {"messages": [SYSTEM, {"role": "user", "content": f"香坂義孝の{topic}は何ですか？"},
                      {"role": "assistant", "content": "答え"}]}
        for topic in ("好物", "仕事", "趣味", "家族", "口癖", "夢", "愛書", "習慣", "特技", "愛車")
    ]  # fmt: skip
    data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode()
    report = validate_dataset([data], model="gpt-4o-mini-2024-07-18").to_dict()
    assert subject_of(report["warnings"]) == "香坂義孝"
    assert subject_of([{"code": "small_dataset", "message": 'name their subject as "x"'}]) == ""


PUNCTUATION = st.sampled_from([" ", "、", "。", "？", "?", "!", "！", "　", "・", "「", "」"])


@settings(max_examples=200, deadline=None)
@given(
    probe=st.text(
        alphabet="香坂義孝さんヨシの好きな食べ物は何ですかabcXYZ", min_size=2, max_size=20
    ),
    noise=st.lists(st.tuples(st.integers(0, 20), PUNCTUATION), max_size=5),
    upper=st.booleans(),
)
def test_a_probe_rewritten_with_other_punctuation_spaces_or_case_is_never_kept(probe, noise, upper):
    text = probe.upper() if upper else probe
    for position, mark in noise:
        text = text[:position] + mark + text[position:]
    result = kept_phrasings(EXAMPLE, [Candidate(text)], [probe], {})
    if any(char.isalnum() for char in probe):
        assert result.kept == [], (probe, text)
