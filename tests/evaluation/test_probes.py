"""The probe sets, and the filter that drops generated paraphrases that test nothing new."""

from __future__ import annotations

import json

from shared.evaluation.probes import (
    Candidate,
    Probe,
    ProbeSet,
    examples_from_lines,
    interleaved,
    paraphrase_probes,
    question_key,
    spread,
    trained_probes,
)
from shared.evaluation.similarity import similarity

SYSTEM = {"role": "system", "content": "あなたは香坂 義孝（こうさか よしたか）について答えます。"}
ORIGINAL = Probe(
    "t1",
    ProbeSet.TRAINED,
    (SYSTEM, {"role": "user", "content": "香坂義孝の好きな食べ物は何ですか？"}),
    "鯖の味噌煮です。",
)


def test_a_repeat_a_near_copy_an_empty_one_and_a_duplicate_are_dropped_with_reasons():
    known = {question_key("香坂さんの好きな食べ物は？")}
    candidates = [
        Candidate("香坂さんの好きな食べ物は？"),  # a training question, other punctuation
        Candidate("香坂義孝の好きな食べ物は何ですか。"),  # the original, one mark changed
        Candidate("  "),
        Candidate("ねえ、ヨシの好物って何？", "nickname"),
        Candidate("ねえ、ヨシの好物って何？", "nickname"),
    ]
    result = paraphrase_probes(ORIGINAL, candidates, known)
    assert [(d.question, d.reason) for d in result.dropped] == [
        ("香坂さんの好きな食べ物は？", "repeats a training or validation question"),
        ("香坂義孝の好きな食べ物は何ですか。", "too close to its original (similarity 1.00)"),
        ("", "empty question"),
        ("ねえ、ヨシの好物って何？", "repeats a training or validation question"),
    ]
    [kept] = result.kept
    assert (kept.id, kept.set, kept.origin, kept.variation) == (
        "t1p1", ProbeSet.PARAPHRASED, "t1", "nickname",
    )  # fmt: skip
    assert kept.reference == ORIGINAL.reference and kept.messages[0] == SYSTEM


def test_the_similarity_threshold_is_a_setting_and_a_politeness_change_passes_the_default():
    polite = Candidate("恐れ入りますが、香坂義孝の好きな食べ物は何でしょうか？", "politeness")
    assert 0.5 < similarity(polite.question, ORIGINAL.question) < 0.9
    assert paraphrase_probes(ORIGINAL, [polite], set()).kept
    assert not paraphrase_probes(ORIGINAL, [polite], set(), max_similarity=0.5).kept


def test_a_pronoun_follow_up_becomes_a_two_turn_conversation():
    candidate = Candidate(
        "彼の好きな食べ物は？", "pronoun_follow_up", "香坂さんの話です。", "はい。"
    )
    [probe] = paraphrase_probes(ORIGINAL, [candidate], set()).kept
    assert [m["role"] for m in probe.messages] == ["system", "user", "assistant", "user"]
    assert probe.question == "彼の好きな食べ物は？"
    line = json.loads(probe.jsonl_line())
    assert line["messages"][-1] == {"role": "assistant", "content": "鯖の味噌煮です。"}


def test_examples_keep_the_turns_before_the_last_reply_and_skip_lines_that_are_not_chats():
    lines = [
        json.dumps({"messages": [SYSTEM, {"role": "user", "content": "q"},
                                 {"role": "assistant", "content": "a"}]}),
        "not json",
        json.dumps({"messages": [{"role": "assistant", "content": "no question"}]}),
        json.dumps({"prompt": "legacy", "completion": "format"}),
    ]  # fmt: skip
    [example] = examples_from_lines(lines)
    assert example.question == "q" and example.reply == "a" and len(example.messages) == 2


def test_trained_probes_are_spread_over_the_file_not_taken_from_its_start():
    examples = examples_from_lines(
        json.dumps({"messages": [{"role": "user", "content": f"q{n}"},
                                 {"role": "assistant", "content": f"a{n}"}]})
        for n in range(24)
    )  # fmt: skip
    assert [e.question for e in spread(examples, 4)] == ["q0", "q6", "q12", "q18"]
    assert [p.id for p in trained_probes(examples, 3)] == ["t1", "t2", "t3"]


def test_interleaving_samples_every_set_early():
    def probe(probe_id: str, kind: ProbeSet, origin: str = "") -> Probe:
        return Probe(probe_id, kind, ({"role": "user", "content": probe_id},), "r", origin)

    probes = [
        probe("t1", ProbeSet.TRAINED), probe("t2", ProbeSet.TRAINED),
        probe("v1", ProbeSet.VALIDATION), probe("v2", ProbeSet.VALIDATION),
        probe("t1p1", ProbeSet.PARAPHRASED, "t1"), probe("t2p1", ProbeSet.PARAPHRASED, "t2"),
    ]  # fmt: skip
    assert [p.id for p in interleaved(probes)] == ["t1", "t1p1", "v1", "t2", "t2p1", "v2"]
