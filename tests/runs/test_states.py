"""The run state machine: every move allowed by the table works, every other one is refused
with a message for the state the run is in."""

from __future__ import annotations

import itertools

import pytest

from shared.errors import Conflict, IllegalTransition
from shared.runs.states import TRANSITIONS, RunState, check_transition

S = RunState
ILLEGAL = [(a, b) for a in RunState for b in RunState if b not in TRANSITIONS[a]]


def test_the_happy_path_is_a_chain_of_allowed_moves():
    path = [S.WAITING_FOR_FILES, S.UPLOADING, S.PROCESSING_FILES, S.QUEUED, S.RUNNING,
            S.SUCCEEDED, S.DEPLOYING, S.DEPLOYED, S.EXPIRED, S.DEPLOYING]  # fmt: skip
    for current, target in itertools.pairwise(path):
        check_transition("minato", current, target)


def test_only_failed_and_cancelled_are_terminal():
    assert {state for state in RunState if state.terminal} == {S.FAILED, S.CANCELLED}


def test_a_run_can_fail_or_be_cancelled_before_success_but_not_after():
    before = [S.WAITING_FOR_FILES, S.UPLOADING, S.PROCESSING_FILES, S.QUEUED, S.RUNNING]
    for state in before:
        assert {S.FAILED, S.CANCELLED} <= TRANSITIONS[state]
    for state in (S.SUCCEEDED, S.DEPLOYED, S.EXPIRED):
        assert S.FAILED not in TRANSITIONS[state] and S.CANCELLED not in TRANSITIONS[state]


# What a person asking for a move the run cannot make reads, per state the run is in.
REFUSALS = {
    S.WAITING_FOR_FILES: "it is still waiting for its files to pass validation",
    S.UPLOADING: "its files are being uploaded to Azure OpenAI",
    S.PROCESSING_FILES: "Azure OpenAI is still processing its files",
    S.QUEUED: "its fine-tuning job is queued and has not finished",
    S.RUNNING: "its fine-tuning job is running and has not finished",
    S.SUCCEEDED: "training has finished; it can only be deployed now",
    S.DEPLOYING: "its deployment is being created",
    S.DEPLOYED: "its model is deployed; it can only be torn down now",
    S.EXPIRED: "its model is not deployed (the deployment was deleted, failed or vanished); "
    "it can only be deployed again",
    S.FAILED: "it has failed; a failed run never moves again (drop the files in a new folder)",
    S.CANCELLED: "it was cancelled; a cancelled run never moves again",
}


@pytest.mark.parametrize(("current", "target"), ILLEGAL, ids=lambda s: s.value)
def test_every_illegal_move_raises_with_the_reason_of_the_current_state(current, target):
    with pytest.raises(IllegalTransition) as caught:
        check_transition("minato", current, target)
    assert str(caught.value) == (
        f"run 'minato' cannot become {target.value} from {current.value}: {REFUSALS[current]}."
    )
    assert isinstance(caught.value, Conflict)


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        (S.WAITING_FOR_FILES, "it is still waiting for its files to pass validation"),
        (S.RUNNING, "its fine-tuning job is running and has not finished"),
        (S.SUCCEEDED, "training has finished; it can only be deployed now"),
        (S.DEPLOYED, "its model is deployed; it can only be torn down now"),
        (S.FAILED, "it has failed; a failed run never moves again (drop the files in a new "
                   "folder)"),
        (S.CANCELLED, "it was cancelled; a cancelled run never moves again"),
    ],
)  # fmt: skip
def test_each_state_explains_itself(state, reason):
    target = next(t for t in RunState if t not in TRANSITIONS[state])
    with pytest.raises(IllegalTransition, match=reason.replace("(", r"\(").replace(")", r"\)")):
        check_transition("minato", state, target)
