"""The fictional lighthouse keeper's dataset passes with exactly the warnings it deserves."""

from __future__ import annotations

from pathlib import Path

from shared.validation import read_chunks, validate_dataset

DATA = Path(__file__).resolve().parents[1] / "data" / "character"
SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "kitsune-shopkeeper"


def validate_files(folder: Path):
    with (
        (folder / "train.jsonl").open("rb") as train,
        (folder / "validation.jsonl").open("rb") as validation,
    ):
        return validate_dataset(read_chunks(train), read_chunks(validation))


def test_the_character_dataset_has_exactly_its_duplicate_and_overlap_warnings():
    report = validate_files(DATA)
    assert report.valid, report.errors
    found = {(w.file, w.code): w.lines for w in report.warnings}
    assert found == {
        # line 8 is a copy of line 3
        ("train.jsonl", "duplicate_example"): (3, 8),
        # line 12 asks line 5's question with another answer; line 20 is line 10 in \u escapes
        ("train.jsonl", "duplicate_prompt"): (5, 10, 12, 20),
        ("train.jsonl", "small_dataset"): (),
        # validation lines 2 and 6 ask training lines 7 and 15
        ("validation.jsonl", "train_validation_overlap"): (2, 6),
    }
    by_code = {w.code: w.message for w in report.warnings}
    assert "1 with a different answer, 1 with the same answer" in by_code["duplicate_prompt"]
    assert "line 2 here and line 7 of train.jsonl" in by_code["train_validation_overlap"]
    stats = report.to_dict()["stats"]["files"]
    assert (stats["train.jsonl"]["examples"], stats["validation.jsonl"]["examples"]) == (24, 9)


def test_the_demo_sample_is_clean():
    report = validate_files(SAMPLE)
    assert report.valid, report.errors
    assert [w.code for w in report.warnings] == ["small_dataset"]
    stats = report.to_dict()["stats"]["files"]
    assert (stats["train.jsonl"]["examples"], stats["validation.jsonl"]["examples"]) == (30, 10)
