"""`uniform_subject_naming`: a subject named one way in (nearly) every training prompt is found,
in Japanese (no spaces) and English, and varied naming or shared question stems are not."""

from __future__ import annotations

import pytest

from shared.validation import validate_dataset
from tests.validation.helpers import jsonl, message

JA_QUESTIONS = [
    "{n}の職業は何ですか？", "{n}は何歳ですか？", "毎朝、{n}が欠かさないことは？",
    "{n}の出身地はどこですか？", "どうして{n}は時計職人になったのですか？", "{n}の師匠は誰？",
    "物語の最後に{n}はどうなりますか？", "{n}の好きな食べ物を教えて。", "作中で{n}のライバルは？",
    "{n}が恐れていることは何ですか？", "若い頃の{n}の夢は？", "{n}がよく行く店は？",
    "{n}の口癖を教えてください。", "{n}はペットを飼っていますか？", "{n}の趣味は何ですか？",
    "小説の中で{n}が大切にしている物は？", "{n}と娘の関係は？", "{n}の店はどこにありますか？",
    "{n}の性格を一言で言うと？", "{n}の作った時計の特徴は？",
]  # fmt: skip
EN_QUESTIONS = [
    "What does {n} do for a living?", "How old is {n}?", "Where was {n} born?",
    "Why did {n} become a pilot?", "Who trained {n}?", "What does {n} eat for breakfast?",
    "Is {n} afraid of anything?", "Tell me about the ship {n} flies.", "What is {n}'s motto?",
    "Does {n} have a pet?", "Which city does {n} live in?", "How did {n} lose her first ship?",
    "What music does {n} like?", "Who is the rival of {n}?", "What did {n} dream of as a child?",
    "Where does {n} go on leave?", "What is {n} most proud of?", "Has {n} ever been married?",
    "What does {n} carry in her pocket?", "How does the story end for {n}?",
]  # fmt: skip
JA_STEMS = [f"{topic}について教えてください。" for topic in (
    "時計塔", "潮見坂", "白鷺村", "かもめ亭", "三毛猫", "懐中時計", "航海日誌", "大嵐", "郵便局",
    "石段", "天文時計", "銀の腕時計", "灯台", "柱時計", "港町", "電子時計", "梅煮", "小夜",
    "澄江", "歯車",
)]  # fmt: skip
EN_STEMS = [f"What is the {topic} like in the story?" for topic in (
    "harbour", "clock tower", "village", "diner", "cat", "pocket watch", "logbook", "storm",
    "post office", "staircase", "astronomical clock", "wristwatch", "lighthouse", "market",
    "station", "festival", "bakery", "school", "river", "bridge",
)]  # fmt: skip


def naming(questions: list[str], *names: str) -> list[str]:
    """Each question with the next name of `names`, in turn."""
    return [q.format(n=names[i % len(names)]) for i, q in enumerate(questions)]


def report_for(prompts: list[str], validation: list[str] | None = None):
    def data(texts: list[str]) -> bytes:
        return jsonl(
            *(
                {"messages": [message("user", text), message("assistant", f"答え{i}です。")]}
                for i, text in enumerate(texts)
            )
        )

    return validate_dataset([data(prompts)], None if validation is None else [data(validation)])


def subject_warning(report):
    found = [w for w in report.warnings if w.code == "uniform_subject_naming"]
    assert len(found) <= 1
    return found[0] if found else None


@pytest.mark.parametrize(
    ("prompts", "span", "count"),
    [
        pytest.param(naming(JA_QUESTIONS, "香坂 義孝"), "香坂 義孝", 20, id="ja-full-name"),
        pytest.param(naming(JA_QUESTIONS, "香坂義孝"), "香坂義孝", 20, id="ja-no-space"),
        pytest.param(naming(JA_QUESTIONS, "ゼンマイ"), "ゼンマイ", 20, id="ja-katakana"),
        pytest.param(
            naming(JA_QUESTIONS[:18], "香坂 義孝") + naming(JA_QUESTIONS[18:], "彼"),
            "香坂 義孝",
            18,
            id="ja-90-percent",
        ),
        pytest.param(
            naming(EN_QUESTIONS, "Captain Mira Vance"), "Captain Mira Vance", 20, id="en-name"
        ),
        pytest.param(naming(EN_QUESTIONS, "Tunedrop"), "Tunedrop", 20, id="en-one-word"),
    ],
)
def test_one_subject_named_the_same_way_in_nine_prompts_of_ten_is_a_warning(
    prompts: list[str], span: str, count: int
) -> None:
    warning = subject_warning(report_for(prompts))
    assert warning is not None
    assert warning.message.startswith(
        f'{count} of 20 training prompts name their subject as "{span}" (e.g. line 1); the '
        "model may learn to answer only when it is named exactly so"
    )
    assert "a pronoun in a follow-up turn" in warning.message
    assert len(warning.lines) == count and warning.lines[0] == 1


def test_the_warning_suggests_the_variants_the_story_lacked() -> None:
    ja = subject_warning(report_for(naming(JA_QUESTIONS, "香坂 義孝"))).message
    assert 'the surname alone ("香坂"), the given name alone ("義孝"), the reading in kana' in ja
    en = subject_warning(report_for(naming(EN_QUESTIONS, "Captain Mira Vance"))).message
    assert '"Captain" alone, "Mira" alone, "Vance" alone, a nickname or title' in en


@pytest.mark.parametrize(
    "prompts",
    [
        pytest.param(
            naming(JA_QUESTIONS, "香坂 義孝", "香坂さん", "義孝", "彼", "こうさか"), id="ja-varied"
        ),
        pytest.param(
            naming(EN_QUESTIONS, "Captain Mira Vance", "Vance", "Mira", "the captain", "she"),
            id="en-varied",
        ),
        pytest.param(
            naming(JA_QUESTIONS[:17], "香坂 義孝") + naming(JA_QUESTIONS[17:], "彼"),
            id="ja-85-percent",
        ),
        pytest.param(JA_STEMS, id="ja-shared-question-stem"),
        pytest.param(EN_STEMS, id="en-shared-question-stem"),
        pytest.param(naming(JA_QUESTIONS[:9], "香坂 義孝"), id="too-few-prompts"),
    ],
)
def test_varied_naming_or_shared_question_stems_give_no_warning(prompts: list[str]) -> None:
    assert subject_warning(report_for(prompts)) is None


def test_only_the_training_file_is_judged() -> None:
    report = report_for(naming(JA_QUESTIONS, "香坂", "義孝"), naming(JA_QUESTIONS, "香坂 義孝"))
    assert subject_warning(report) is None
