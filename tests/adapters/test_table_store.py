"""TableRunStore on Azurite: records round-trip, saves are conditional, ticks read active runs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from shared.api.views import run_view
from shared.errors import ConcurrentUpdate, InvalidInput
from shared.runs.config import RunDefaults, default_config
from shared.runs.curves import LossPoint
from shared.runs.facts import FileVerdict
from shared.runs.names import FileKind
from shared.runs.record import Run
from shared.runs.states import RunState
from tests.pipeline.fakes import T0


def new_run(name: str, minutes: int = 0) -> Run:
    run = Run.new(name, T0 + timedelta(minutes=minutes))
    verdict = FileVerdict('"0x1"', True, f"{name}/train.jsonl.report.json", "valid", T0)
    run.file_validated(FileKind.TRAIN, verdict)
    return run


def test_a_saved_run_reads_back_equal_with_a_version(table_store):
    run = new_run("minato")
    table_store.add(run)
    loaded = table_store.find("minato")
    assert loaded == run
    assert loaded.version and loaded.version == run.version
    assert table_store.find("nobody") is None


def test_a_big_record_is_split_over_several_properties_and_reads_back(table_store):
    run = new_run("minato")
    for index in range(300):
        run.change_ignored(FileKind.TRAIN, f'"0x{index}"', T0)  # long timeline notes
    run.failure_reason = "あ" * 40_000
    table_store.add(run)
    assert table_store.find("minato") == run


def test_adding_a_run_that_exists_conflicts(table_store):
    table_store.add(new_run("minato"))
    with pytest.raises(ConcurrentUpdate):
        table_store.add(new_run("minato"))


def test_a_save_from_a_stale_copy_conflicts_and_changes_nothing(table_store):
    table_store.add(new_run("minato"))
    first, second = table_store.find("minato"), table_store.find("minato")
    first.start(T0, default_config(RunDefaults("gpt-4o-mini-2024-07-18")), "go")
    table_store.save(first)
    second.fail("too late", T0)
    with pytest.raises(ConcurrentUpdate):
        table_store.save(second)
    assert table_store.find("minato").state is RunState.UPLOADING


def test_a_save_from_a_stale_active_copy_conflicts(table_store):
    table_store.add(new_run("minato"))
    [from_tick] = list(table_store.active())
    from_api = table_store.find("minato")
    from_api.cancel(T0, "cancelled by a person")
    table_store.save(from_api)
    from_tick.start(T0, default_config(RunDefaults("gpt-4o-mini-2024-07-18")), "go")
    with pytest.raises(ConcurrentUpdate):
        table_store.save(from_tick)
    assert table_store.find("minato").state is RunState.CANCELLED


def test_a_run_read_by_a_tick_is_unchanged_until_either_copy_is_saved(table_store):
    table_store.add(new_run("minato"))
    [from_tick] = list(table_store.active())
    from_api = table_store.find("minato")
    assert table_store.unchanged("minato", from_tick.version) == from_tick
    assert table_store.unchanged("minato", from_api.version) == from_api

    from_api.start(T0, default_config(RunDefaults("gpt-4o-mini-2024-07-18")), "go")
    table_store.save(from_api)

    assert table_store.unchanged("minato", from_tick.version) is None
    assert table_store.unchanged("minato", from_api.version).state is RunState.UPLOADING
    [again] = list(table_store.active())
    from_api.fail("stopped", T0)
    table_store.save(from_api)  # no longer active: its active copy is gone
    assert table_store.unchanged("minato", again.version) is None
    assert table_store.unchanged("nobody", again.version) is None
    assert table_store.unchanged("minato", "not a version") is None


def test_only_active_runs_are_listed_for_the_timer(table_store):
    for name in ("one", "two", "three"):
        table_store.add(new_run(name))
    done = table_store.find("two")
    done.fail("broken", T0)
    table_store.save(done)
    [tick_copy] = [run for run in table_store.active() if run.name == "three"]
    tick_copy.cancel(T0, "stop")
    table_store.save(tick_copy)

    assert sorted(run.name for run in table_store.active()) == ["one"]
    # Saved again from the timer's copy, the record stays consistent.
    [one] = list(table_store.active())
    one.fail("later", T0)
    table_store.save(one)
    assert list(table_store.active()) == []
    assert table_store.find("one").state is RunState.FAILED


def test_runs_are_listed_newest_first_by_state_in_pages(table_store):
    for minutes, name in enumerate(["a", "b", "c", "d", "e"]):
        table_store.add(new_run(name, minutes))
    failed = table_store.find("c")
    failed.fail("x", T0)
    table_store.save(failed)

    first = table_store.page(None, 2, None)
    assert [s.name for s in first.runs] == ["e", "d"] and first.continuation
    second = table_store.page(None, 2, first.continuation)
    third = table_store.page(None, 2, second.continuation)
    assert [s.name for s in second.runs + third.runs] == ["c", "b", "a"]
    assert third.continuation is None
    only_failed = table_store.page(RunState.FAILED, 10, None)
    assert [(s.name, s.state) for s in only_failed.runs] == [("c", RunState.FAILED)]
    with pytest.raises(InvalidInput):
        table_store.page(None, 2, "not-a-token!")


def test_loss_points_are_kept_outside_the_record_and_read_back_in_order(table_store):
    points = [LossPoint(step, train_loss=1 / step, valid_loss=None) for step in range(1, 451)]
    table_store.save_points("minato", points)
    assert table_store.points("minato") == points
    table_store.save_points("minato", points[:10])
    assert table_store.points("minato") == points[:10]
    assert table_store.points("nobody") == []


def test_an_unpaired_surrogate_from_an_upstream_message_cannot_make_a_record_unsavable(
    table_store,
):
    run = new_run("minato")
    table_store.add(run)
    run = table_store.find("minato")
    # A service's error text decoded leniently can carry half of a UTF-16 pair.
    run.fail("the fine-tuning job failed: bad byte \ud83d here; emoji \U0001f98a stays", T0)
    table_store.save(run)
    loaded = table_store.find("minato")
    assert loaded.failure_reason == (
        "the fine-tuning job failed: bad byte \ufffd here; emoji \U0001f98a stays"
    )
    assert loaded.timeline[-1].reason == loaded.failure_reason
    # What was read encodes as UTF-8 again: a view, a log line, the next save.
    json.dumps(run_view(loaded), ensure_ascii=False).encode("utf-8")
    table_store.save(loaded)
