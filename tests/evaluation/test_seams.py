"""Where the evaluation plugs into the run: run.json's "evaluate", the EVAL_* settings, the
flag stored with the run record, and the step the plan gives a deployed run."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import InvalidRunConfig, SettingsError
from shared.evaluation.flag import EvaluationStatus, moved
from shared.runs.codec import run_from_dict, run_to_dict
from shared.runs.config import RunDefaults, parse_run_config
from shared.runs.facts import DeploymentInfo
from shared.runs.plan import EvaluateModel, Nothing, RunPolicy, next_step
from shared.runs.record import Run
from shared.runs.states import RunState
from shared.settings import Settings

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
DEFAULTS = RunDefaults("gpt-4o-mini-2024-07-18")
MINIMAL = {
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    "AZURE_OPENAI_ENDPOINT": "https://example.openai.azure.com",
    "AZURE_SUBSCRIPTION_ID": "sub",
    "AZURE_RESOURCE_GROUP": "rg",
    "AZURE_OPENAI_ACCOUNT": "acct",
}


def test_run_json_may_turn_the_evaluation_off_and_must_say_it_with_a_boolean():
    assert parse_run_config(b'{"evaluate": false}', DEFAULTS).evaluate is False
    assert parse_run_config(b"{}", DEFAULTS).evaluate is True
    with pytest.raises(InvalidRunConfig) as refused:
        parse_run_config(b'{"evaluate": "no"}', DEFAULTS)
    assert refused.value.problems == ['run.json: "evaluate" must be true or false']


def test_the_eval_settings_have_defaults_and_a_bad_one_is_named():
    settings = Settings.from_env(MINIMAL)
    assert (settings.eval_enabled, settings.eval_grader_deployment) == (True, "")
    assert (settings.eval_max_calls, settings.eval_calls_per_tick) == (400, 4)
    assert Settings.from_env({**MINIMAL, "EVAL_ENABLED": "false"}).eval_enabled is False
    with pytest.raises(SettingsError, match="EVAL_ENABLED must be true or false, not 'maybe'"):
        Settings.from_env({**MINIMAL, "EVAL_ENABLED": "maybe"})
    with pytest.raises(SettingsError, match="EVAL_MAX_CALLS must be greater than 0"):
        Settings.from_env({**MINIMAL, "EVAL_MAX_CALLS": "0"})


def deployed() -> Run:
    run = Run.new("kitsune", NOW)
    run.state = RunState.DEPLOYED
    run.deployment = DeploymentInfo("tunedrop-kitsune", "Standard", 1, 24.0, NOW)
    run.deployment.expires_at = NOW + timedelta(hours=24)
    return run


def test_the_flag_is_stored_with_the_run_record():
    run = deployed()
    flag = moved(None, EvaluationStatus.EVALUATING, NOW, "started")
    flag.scores = [{"set": "trained", "model": "tuned", "passed": 3}]
    run.evaluation_changed(flag, NOW, "evaluation started: 3 trained")
    again = run_from_dict(run_to_dict(run))
    assert again.evaluation == run.evaluation
    assert again.timeline[-1].reason == "evaluation started: 3 trained"


def test_a_deployed_run_is_evaluated_only_when_the_app_evaluates_and_until_it_is_done():
    run = deployed()
    policy = RunPolicy(DEFAULTS)
    assert next_step(run, NOW, policy) == Nothing("deployed")
    evaluating = dataclasses.replace(policy, evaluate=True)
    assert next_step(run, NOW, evaluating) == EvaluateModel()
    run.evaluation = moved(None, EvaluationStatus.EVALUATING, NOW, "started")
    run.evaluation = moved(run.evaluation, EvaluationStatus.EVALUATED, NOW, "done")
    assert next_step(run, NOW, evaluating) == Nothing("deployed")
    run.deployment.teardown_requested = True  # tearing down comes first
    run.evaluation = moved(run.evaluation, EvaluationStatus.REQUESTED, NOW, "asked")
    assert next_step(run, NOW, evaluating).name == "DeleteDeployment"
