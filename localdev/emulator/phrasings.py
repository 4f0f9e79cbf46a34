"""How the emulator's grader writes new training phrasings (Tunedrop's `tunedrop_phrasings`
schema). Pure and deterministic.

It recognises the naming forms it can read in the system message (see `grader.naming`) and
writes the question again with the subject named each other way: surname and given name alone,
with and without an honorific, the kana reading, its romaji, the nickname, a pronoun in a
follow-up turn, and a politer form. A model trained on them answers those namings
(`matching.recall`), as a real one does.
"""

from __future__ import annotations

from localdev.emulator.grader import Naming, _casual, naming

_KANA = (
    "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん"
    "がぎぐげござじずぜぞだぢづでどばびぶべぼぱぴぷぺぽ"
)
_SOUNDS = (
    "a i u e o ka ki ku ke ko sa shi su se so ta chi tsu te to na ni nu ne no ha hi fu he ho "
    "ma mi mu me mo ya yu yo ra ri ru re ro wa wo n ga gi gu ge go za ji zu ze zo da ji zu de "
    "do ba bi bu be bo pa pi pu pe po"
)
_ROMAJI = dict(zip(_KANA, _SOUNDS.split(), strict=True))


def romaji(kana: str) -> str:
    """Hepburn-ish romaji of hiragana (enough for names), capitalised."""
    return "".join(_ROMAJI.get(char, char) for char in kana).capitalize()


def _forms(names: Naming, surname_kana: str, given_kana: str) -> list[tuple[str, str]]:
    forms = [
        ("surname_only", f"{names.surname}さん"),
        ("given_name_only", f"{names.given}さん"),
        ("no_honorific", names.surname),
        ("kana_reading", names.reading),
        ("romaji", f"{romaji(surname_kana)} {romaji(given_kana)}"),
    ]
    if names.nickname:
        forms.append(("nickname", names.nickname))
    return forms


def phrasings(system: str, question: str, count: int) -> list[dict[str, str]]:
    """Up to `count` new phrasings of `question`, in the grader's JSON shape."""
    names = naming(system)
    full = next((form for form in names.full if form in question), None) if names else None
    found: list[tuple[str, str, str, str]] = []  # variation, lead_in, lead_in_reply, question
    if names is not None and full is not None:
        kana = names.reading
        split = len(kana) // 2
        for variation, form in _forms(names, kana[:split], kana[split:]):
            found.append((variation, "", "", question.replace(full, form)))
        lead_in = f"{names.surname}さんのことを教えてください。"
        found.append(
            (
                "pronoun_follow_up",
                lead_in,
                "はい、何でも聞いてください。",
                question.replace(full, names.pronoun),
            )
        )
        # Casual forms as people type them; the same words as some evaluation probes, so
        # Tunedrop's filter has something to drop.
        for form in (f"{names.surname}さん", full):
            found.append(("politeness", "", "", _casual(question.replace(full, form))))
        for form in (f"{names.given}さん", f"{names.surname}さん", full):
            core = question.replace(full, form).rstrip("？?")
            if core.endswith("ですか"):
                found.append(("politeness", "", "", core[: -len("ですか")] + "でしょうか？"))
        honorific = f"{names.surname}{names.given}さん"
        found.append(("honorific", "", "", question.replace(full, honorific)))
    return [
        {"variation": v, "lead_in": lead, "lead_in_reply": reply, "question": q}
        for v, lead, reply, q in found[: max(0, count)]
    ]
