"""ArmDeployments through the real management client, over HTTPS, to the emulator."""

from __future__ import annotations

import time

import pytest

from localdev.emulator import Fault
from shared.errors import PermanentServiceError, TransientServiceError
from shared.pipeline.protocols import JobSpec
from tests.adapters.test_azure_openai import source, wait_for
from tests.pipeline.data import TRAIN


def fine_tuned_model(services) -> str:
    fine_tuning = services.fine_tuning
    train = fine_tuning.upload_file(source(f"arm-{time.time_ns()}.jsonl", TRAIN))
    wait_for(lambda: fine_tuning.get_file(train.id).status == "processed")
    job = fine_tuning.create_job(JobSpec("gpt-4o-mini-2024-07-18", train.id, suffix="arm"))
    done = wait_for(lambda: (j := fine_tuning.get_job(job.id)).status == "succeeded" and j)
    return done.fine_tuned_model


def test_a_base_deployment_is_read_and_an_absent_one_is_none(real_services):
    deployments = real_services.deployments
    base = deployments.get("gpt-4o-mini")
    assert base is not None and base.state == "Succeeded" and base.model
    assert deployments.get("nobody-here") is None


def test_a_fine_tuned_model_is_deployed_followed_and_deleted_once(real_services, emulator):
    deployments = real_services.deployments
    model = fine_tuned_model(real_services)
    name = f"tunedrop-arm-{time.time_ns() % 10**8}"

    created = deployments.create(name, model, "Standard", 1, {"tunedrop-run": "minato"})

    assert created.name == name and created.model == model
    current = wait_for(lambda: (d := deployments.get(name)).state == "Succeeded" and d)
    assert current.model == model
    deployments.delete(name)
    deployments.delete(name)  # already gone: not an error
    wait_for(lambda: deployments.get(name) is None)
    assert emulator.count("PUT", f"/deployments/{name}") == 1


def test_a_deployment_of_an_unknown_model_is_refused_for_good(real_services):
    with pytest.raises(PermanentServiceError, match="not supported"):
        real_services.deployments.create("tunedrop-bad", "no-such-model", "Standard", 1, {})


def test_arm_throttling_is_a_transient_error(real_services, emulator):
    emulator.inject(Fault("throttle", path_contains="/deployments/", times=1, retry_after=3))
    with pytest.raises(TransientServiceError) as caught:
        real_services.deployments.get("gpt-4o-mini")
    assert caught.value.retry_after == 3
