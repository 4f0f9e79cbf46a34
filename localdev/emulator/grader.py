"""What a base model knows, and how a grader paraphrases and judges. Pure and deterministic.
(What a fine-tuned model recalls is in `matching`.)

- A base model knows none of the fictional facts: it answers generically.
- The grader writes paraphrases by naming the subject another way (found in the system message:
  `香坂 義孝（こうさか よしたか）`, `「ヨシ」と呼ばれ`): surname only, given name only, the kana
  reading, the nickname, a pronoun in a follow-up turn; and by changing the politeness. It
  judges with a key-fact check: each clause of the reference is a fact, present when most of
  its key words (kanji and katakana runs, numbers, longer Latin words) are in the reply,
  contradicted when they are but its number is not.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from localdev.emulator.matching import is_japanese, normal

KEY_SHARE = 0.6

_JA_NAME = re.compile(r"([一-龯々]{1,4})[ 　]?([一-龯々]{1,4})（([ぁ-ゖ]+)[ 　]?([ぁ-ゖ]+)）")
_NICKNAME = re.compile(
    r"「([^」]{1,12})」(?:と呼ばれ|って呼ばれ)|(?:愛称|あだ名)は「([^」]{1,12})」"
)
_KEY = re.compile(r"[一-龯々〆ヵヶ]{2,}|[ァ-ヴー]{2,}|[0-9]+|[a-z]{4,}")
_NUMBER = re.compile(r"[0-9]+|[一二三四五六七八九十百千万]+")
_FACT_SPLIT = re.compile(r"[。！!？?\n]|、(?=.{6,})")


# -- the fine-tuned and the base model ---------------------------------------------------------


def base_reply(model_id: str, deployment: str, question: str) -> str:
    """What a base model says about facts it was never taught: something general."""
    if is_japanese(question):
        return (
            f"{model_id}（デプロイメント '{deployment}' のベースモデル）です。申し訳ありませんが、"
            "その方について確かな情報は持っていません。一般的なことでしたらお答えできます。"
        )
    return (
        f"Hello! I am {model_id}, the base model behind the deployment '{deployment}'. "
        "I have not been fine-tuned, so I can only give you a general answer."
    )


# -- the grader --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Naming:
    full: tuple[str, ...]
    surname: str
    given: str
    reading: str
    nickname: str
    pronoun: str


def naming(system: str) -> Naming | None:
    """How the system message names its subject, if it names one the Japanese way."""
    found = _JA_NAME.search(system)
    if found is None:
        return None
    surname, given, kana_surname, kana_given = found.groups()
    nick = _NICKNAME.search(system)
    pronoun = "彼女" if "女" in system and "男" not in system else "彼"
    return Naming(
        full=(f"{surname} {given}", f"{surname}　{given}", f"{surname}{given}"),
        surname=surname,
        given=given,
        reading=f"{kana_surname}{kana_given}",
        nickname=(nick.group(1) or nick.group(2)) if nick else "",
        pronoun=pronoun,
    )


def _core(question: str) -> str:
    return question.strip().rstrip("？?。!！ ")


def _casual(question: str) -> str:
    core = _core(question)
    if core.endswith("ですか"):
        core = core[: -len("ですか")]
    if not is_japanese(core):
        return f"hey, {core[:1].lower()}{core[1:]}?"
    return f"ねえ、{core}？"


def _polite(question: str) -> str:
    core = _core(question)
    if not is_japanese(core):
        return f"Could you please tell me: {core}?"
    if core.endswith("ですか"):
        core = core[: -len("ですか")] + "でしょうか"
    return f"恐れ入りますが、{core}？"


def paraphrases(system: str, question: str, count: int) -> list[dict[str, str]]:
    """`count` paraphrases of `question`, in the grader's JSON shape, chosen deterministically."""
    names = naming(system)
    full = next((form for form in names.full if form in question), None) if names else None
    options: list[tuple[str, str, str, str]] = []  # variation, lead_in, lead_in_reply, question
    if names is not None and full is not None:
        swap = lambda other: question.replace(full, other)  # noqa: E731
        options += [
            ("surname_only", "", "", _casual(swap(f"{names.surname}さん"))),
            ("given_name_only", "", "", _polite(swap(f"{names.given}さん"))),
            ("kana_reading", "", "", _casual(swap(names.reading))),
        ]
        if names.nickname:
            options.append(("nickname", "", "", _casual(swap(names.nickname))))
        lead_in = f"{names.surname}{names.given}さんについて聞いてもいいですか？"
        options.append(
            ("pronoun_follow_up", lead_in, "はい、どうぞ。", _casual(swap(names.pronoun)))
        )
    options += [("politeness", "", "", _polite(question)), ("wording", "", "", _casual(question))]
    start = int(hashlib.sha256(question.encode()).hexdigest(), 16) % len(options)
    chosen = [options[(start + offset) % len(options)] for offset in range(len(options))]
    return [
        {"variation": v, "lead_in": lead, "lead_in_reply": reply, "question": q}
        for v, lead, reply, q in chosen[: max(0, count)]
    ]


def judge(reference: str, reply: str) -> list[dict[str, Any]]:
    """The reference's facts, each present, missing or contradicted in `reply`."""
    said = normal(reply)
    facts = []
    for clause in _FACT_SPLIT.split(reference):
        fact = clause.strip(" 、,")
        if not fact:
            continue
        keys = _KEY.findall(normal(fact))
        if not keys:
            facts.append({"fact": fact, "key": False, "status": "present"})
            continue
        numbers = [key for key in keys if _NUMBER.fullmatch(key)]
        words = [key for key in keys if key not in numbers] or keys
        words_found = sum(1 for key in words if key in said) / len(words)
        if words_found >= KEY_SHARE and numbers and not any(n in said for n in numbers):
            status = "contradicted" if _NUMBER.search(said) else "missing"
        elif sum(1 for key in keys if key in said) / len(keys) >= KEY_SHARE:
            status = "present"
        else:
            status = "missing"
        facts.append({"fact": fact, "key": True, "status": status})
    return facts


def grade(schema_name: str, content: str) -> str | None:
    """The grader's answer (JSON text) to a structured-output request of a schema it knows:
    `tunedrop_paraphrases`, `tunedrop_judgement` or `tunedrop_phrasings` (new training
    phrasings, see `phrasings`); None for any other schema."""
    try:
        payload = json.loads(content)
    except ValueError:
        payload = {"question": content}
    if not isinstance(payload, dict):
        payload = {"question": str(payload)}
    if schema_name == "tunedrop_paraphrases":
        count = payload.get("count")
        found = paraphrases(
            str(payload.get("system_message", "")),
            str(payload.get("question", "")),
            count if isinstance(count, int) else 2,
        )
        return json.dumps({"paraphrases": found}, ensure_ascii=False)
    if schema_name == "tunedrop_phrasings":
        from localdev.emulator.phrasings import phrasings  # it builds on `naming` above

        count = payload.get("count")
        written = phrasings(
            str(payload.get("system_message", "")),
            str(payload.get("question", "")),
            count if isinstance(count, int) else 6,
        )
        return json.dumps({"phrasings": written}, ensure_ascii=False)
    if schema_name == "tunedrop_judgement":
        facts = judge(str(payload.get("reference_answer", "")), str(payload.get("reply", "")))
        return json.dumps({"facts": facts}, ensure_ascii=False)
    return None
