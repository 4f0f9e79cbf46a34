"""What the HTTP API calls: reading runs, deploy, tear down, cancel, chat."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.errors import Conflict, IllegalTransition, InvalidInput, InvalidRunConfig, NotFound
from shared.pipeline import (
    cancel_run,
    chat,
    get_run,
    list_runs,
    request_deploy,
    request_teardown,
    run_points,
)
from shared.pipeline.protocols import RemoteDeployment
from shared.runs.states import RunState
from tests.pipeline.data import TRAIN, VALIDATION
from tests.pipeline.fakes import fake_services
from tests.pipeline.helpers import drop, tick, tick_until

S = RunState
NO_DEPLOY = b'{"deploy": {"enabled": false}}'


def trained_run(name: str = "minato", config: bytes = NO_DEPLOY):
    """A run trained with deploying turned off in its run.json."""
    services = fake_services()
    drop(services, f"{name}/run.json", config)
    drop(services, f"{name}/train.jsonl", TRAIN)
    drop(services, f"{name}/validation.jsonl", VALIDATION)
    tick_until(services, name, S.SUCCEEDED)
    return services


def test_get_run_refuses_bad_names_and_says_when_there_is_no_such_run():
    services = fake_services()
    with pytest.raises(InvalidInput, match="may only hold lowercase letters"):
        get_run(services.runs, "../etc")
    with pytest.raises(NotFound, match="there is no run named 'ghost'"):
        get_run(services.runs, "ghost")


def test_runs_are_listed_newest_first_filtered_by_state_and_paged():
    services = fake_services()
    for name in ("one", "two", "three"):
        drop(services, f"{name}/train.jsonl", TRAIN)
        services.clock.advance(1)
    page = list_runs(services.runs, page_size=2)
    assert [s.name for s in page.runs] == ["three", "two"]
    rest = list_runs(services.runs, page_size=2, continuation=page.continuation)
    assert [s.name for s in rest.runs] == ["one"] and rest.continuation is None
    assert list_runs(services.runs, state=S.FAILED).runs == []


def test_a_trained_run_is_deployed_on_request_once_however_often_asked():
    services = trained_run()
    now = services.clock()
    run = request_deploy(services, "minato", now, {"ttl_hours": 2, "name": "minato-chat"})
    assert run.state is S.DEPLOYING and run.deployment.ttl_hours == 2
    again = request_deploy(services, "minato", now)
    assert again.deployment.name == "minato-chat"
    tick_until(services, "minato", S.DEPLOYED)
    assert services.deployments.creates == {"minato-chat": 1}


def test_deploy_options_are_checked_like_run_json():
    services = trained_run()
    with pytest.raises(InvalidRunConfig, match=r'"deploy\.capacity" must be an integer'):
        request_deploy(services, "minato", services.clock(), {"capacity": -1})


def test_a_run_without_a_model_cannot_be_deployed():
    services = fake_services()
    drop(services, "minato/train.jsonl", TRAIN)
    with pytest.raises(Conflict, match="has no fine-tuned model to deploy; it is waiting"):
        request_deploy(services, "minato", services.clock())


def test_a_teardown_deletes_the_deployment_and_a_redeploy_brings_it_back():
    services = trained_run()
    request_deploy(services, "minato", services.clock())
    tick_until(services, "minato", S.DEPLOYED)
    request_teardown(services, "minato", services.clock())
    request_teardown(services, "minato", services.clock())
    tick_until(services, "minato", S.EXPIRED)
    assert services.deployments.deletes == ["tunedrop-minato"]
    assert request_teardown(services, "minato", services.clock()).state is S.EXPIRED

    request_deploy(services, "minato", services.clock())
    tick_until(services, "minato", S.DEPLOYED)
    assert services.deployments.creates == {"tunedrop-minato": 2}
    assert services.deployments.deletes == ["tunedrop-minato"]


def test_a_deployment_tunedrop_did_not_create_cannot_be_torn_down():
    services = fake_services()
    services.fine_tuning.job_statuses = ["running", "running", "running", "succeeded"]
    drop(services, "minato/train.jsonl", TRAIN)
    drop(services, "minato/validation.jsonl", VALIDATION)
    tick_until(services, "minato", S.RUNNING)
    job_id = services.runs.get("minato").job.id
    services.deployments.deployments["tunedrop-minato"] = RemoteDeployment(
        "tunedrop-minato", f"gpt-4o-mini-2024-07-18.ft-{job_id}", "Succeeded", {}
    )
    tick_until(services, "minato", S.DEPLOYED)
    with pytest.raises(Conflict, match="was not created by Tunedrop; Tunedrop never deletes it"):
        request_teardown(services, "minato", services.clock())


def test_cancelling_a_running_run_cancels_its_azure_job():
    services = fake_services()
    services.fine_tuning.job_statuses = ["running"]
    drop(services, "minato/train.jsonl", TRAIN)
    drop(services, "minato/validation.jsonl", VALIDATION)
    tick_until(services, "minato", S.RUNNING)

    run = cancel_run(services, "minato", services.clock())

    assert run.state is S.CANCELLED
    assert services.fine_tuning.faults.calls["cancel_job"] == 1
    assert cancel_run(services, "minato", services.clock()).state is S.CANCELLED
    assert tick(services).steps == {"CleanUpFiles": 1}  # its files leave the service
    assert tick(services).runs == 0


def test_cancelling_while_another_tick_creates_the_job_cancels_that_job_too():
    services = fake_services()
    services.fine_tuning.faults.add("after_create_job", RuntimeError("host killed"))
    drop(services, "minato/train.jsonl", TRAIN)
    drop(services, "minato/validation.jsonl", VALIDATION)
    with pytest.raises(RuntimeError):
        tick(services)
    run = cancel_run(services, "minato", services.clock())
    assert run.state is S.PROCESSING_FILES and run.cancel_requested  # the claim is still fresh
    tick(services, seconds=301)
    assert services.runs.get("minato").state is S.CANCELLED
    assert services.fine_tuning.faults.calls["cancel_job"] == 1


def test_a_finished_run_cannot_be_cancelled():
    services = trained_run()
    with pytest.raises(IllegalTransition, match="cannot become cancelled from succeeded"):
        cancel_run(services, "minato", services.clock())


def test_chat_needs_a_serving_deployment_and_caps_max_tokens():
    services = trained_run()
    with pytest.raises(Conflict, match="has no serving deployment; it is succeeded"):
        chat(services, "minato", [{"role": "user", "content": "hi"}])
    request_deploy(services, "minato", services.clock())
    tick_until(services, "minato", S.DEPLOYED)
    services.chat.not_ready_calls = 0

    answer = chat(services, "minato", [{"role": "user", "content": "hi"}], 5000, compare=True)

    assert answer.reply == "[tunedrop-minato] hi (100)"
    assert (
        answer.base_reply.startswith("[gpt-4o-mini] hi") and answer.deployment == "tunedrop-minato"
    )


def test_chat_is_refused_once_a_teardown_is_requested_even_before_the_tick_deletes_it():
    services = trained_run()
    request_deploy(services, "minato", services.clock())
    tick_until(services, "minato", S.DEPLOYED)
    services.chat.not_ready_calls = 0
    chat(services, "minato", [{"role": "user", "content": "hi"}])
    calls = sum(services.chat.calls.values())

    request_teardown(services, "minato", services.clock())

    assert "tunedrop-minato" in services.deployments.deployments  # not deleted yet
    with pytest.raises(Conflict) as refused:
        chat(services, "minato", [{"role": "user", "content": "hi"}])
    assert str(refused.value) == (
        "the deployment 'tunedrop-minato' of run 'minato' is being torn down on request, so it "
        "takes no more chat; POST /api/runs/minato/deploy deploys the model again once it is gone."
    )
    assert sum(services.chat.calls.values()) == calls


def test_compare_without_a_base_deployment_is_refused_before_any_model_is_called():
    services = trained_run()
    request_deploy(services, "minato", services.clock())
    tick_until(services, "minato", S.DEPLOYED)
    services.chat.not_ready_calls = 0
    services = replace(services, base_deployment="")
    calls = sum(services.chat.calls.values())
    with pytest.raises(Conflict, match=r"none is configured \(BASE_DEPLOYMENT\)"):
        chat(services, "minato", [{"role": "user", "content": "hi"}], compare=True)
    assert sum(services.chat.calls.values()) == calls
    assert chat(services, "minato", [{"role": "user", "content": "hi"}]).reply


def test_the_loss_curve_of_a_run_is_returned_by_step():
    services = trained_run()
    assert [point.step for point in run_points(services.runs, "minato")] == [1, 2, 3, 4]


def test_a_teardown_before_the_deployment_is_created_creates_nothing():
    services = trained_run()
    request_deploy(services, "minato", services.clock())
    request_teardown(services, "minato", services.clock())
    tick_until(services, "minato", S.EXPIRED)
    assert services.deployments.creates == {} and services.deployments.deletes == []
