"""`python -m localdev demo`: Tunedrop's main job, start to finish, on this machine.

Starts the local stack, drops the sample run that ships in `samples/`, prints a line for each
transition the run records, chats once with the deployed model next to the base model, prints
the verdict of the evaluation that follows, and exits 0 when the fine-tuned model answered.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob import BlobServiceClient

from localdev.azurite import REPO_ROOT
from localdev.stack import running_stack
from shared.api.views import hyperparameters_view
from shared.bootstrap import services
from shared.pipeline import chat
from shared.runs.record import Run
from shared.runs.states import RunState

SAMPLES = REPO_ROOT / "samples"
RUN_FILES = ("run.json", "train.jsonl", "validation.jsonl")
FAST_TIMER = "* * * * * *"
# On the emulator calls take milliseconds: a fast demo lets a tick make many evaluation calls.
FAST_EVAL_CALLS_PER_TICK = "250"
EVALUATION_TIMEOUT = 60.0
FINAL_STATES = {RunState.DEPLOYED, RunState.FAILED, RunState.CANCELLED, RunState.EXPIRED}


def sample_dir() -> Path:
    return next(path for path in sorted(SAMPLES.iterdir()) if (path / "train.jsonl").exists())


def run_demo(values: Mapping[str, str], *, timings: str = "fast", timeout: float = 110.0) -> int:
    sample = sample_dir()
    question = json.loads((sample / "demo.json").read_text(encoding="utf-8"))
    if timings == "fast":
        values = {
            **values,
            "RUN_TIMER_SCHEDULE": FAST_TIMER,
            "SETTLE_SECONDS": "2",
            "EVAL_CALLS_PER_TICK": FAST_EVAL_CALLS_PER_TICK,
        }
    with running_stack(values, timings=timings) as stack:
        run_name = f"{sample.name}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
        print(f"Functions host {stack.host.url}/api, Azurite, Azure OpenAI emulator: up")
        drop_run(stack.settings, sample, run_name)
        print(f"Dropped {sample.relative_to(REPO_ROOT)}/ as run {run_name!r}; following it:")
        try:
            state = follow(run_name, timeout, stack.failed)
        except Exception:
            if stack.failed.is_set():  # storage went with a child: the stack said which and how
                return 1
            raise
        if stack.failed.is_set():
            return 1
        if state is not RunState.DEPLOYED:
            print(f"The run ended {state.value}, not deployed.", file=sys.stderr)
            return 1
        status = talk(run_name, question)
        print_evaluation(run_name, EVALUATION_TIMEOUT if timings == "fast" else timeout)
        return status


def drop_run(settings: Mapping[str, str], sample: Path, run_name: str) -> None:
    blobs = BlobServiceClient.from_connection_string(settings["AzureWebJobsStorage"])
    inbox = blobs.get_container_client(settings["INBOX_CONTAINER"])
    with contextlib.suppress(ResourceExistsError):
        inbox.create_container()
    for file_name in RUN_FILES:
        path = sample / file_name
        if path.exists():
            with path.open("rb") as content:
                inbox.upload_blob(f"{run_name}/{file_name}", content)


def follow(run_name: str, timeout: float, stack_failed: threading.Event) -> RunState:
    """Prints each new timeline entry of the run until it settles, `timeout` passes or the stack
    fails."""
    app = services()
    printed, deadline, state = 0, time.monotonic() + timeout, RunState.WAITING_FOR_FILES
    while time.monotonic() < deadline and not stack_failed.is_set():
        run = app.runs.find(run_name)
        if run is not None:
            for entry in run.timeline[printed:]:
                print(
                    f"  {entry.at:%H:%M:%S}  {entry.to_state.value:<18} {entry.reason}", flush=True
                )
            printed, state = len(run.timeline), run.state
            if state in FINAL_STATES:
                print_outcome(run)
                return state
        stack_failed.wait(0.5)
    if stack_failed.is_set():
        return state
    print(f"The run did not settle within {timeout:.0f} s.", file=sys.stderr)
    return state


def print_outcome(run: Run) -> None:
    if run.job is not None and run.job.trained_tokens:
        print(f"  trained tokens: {run.job.trained_tokens}")
    if run.cost_estimate_usd is not None:
        print(f"  estimated training cost: ${run.cost_estimate_usd:.4f}")
    if run.job is not None and run.job.hyperparameters:
        chosen = hyperparameters_view(run.config, run.job).items()
        shown = ", ".join(
            f"{key} {pair['used']} ({pair['requested'] or 'auto'})" for key, pair in chosen
        )
        print(f"  hyperparameters used (asked): {shown}")
    if run.overfitting is not None:
        verdict = run.overfitting
        print(f"  overfitting check: {verdict.level}: {verdict.reason}")
        print(f"  what helps: {verdict.action}")
    if run.deployment is not None and run.deployment.model:
        why = run.deployment.chosen_because or "the final model"
        print(f"  deployed model: {run.deployment.model} ({why})")
    if run.failure_reason:
        print(f"  failure: {run.failure_reason}")


def print_evaluation(run_name: str, timeout: float) -> None:
    """Waits for the run's evaluation and prints its verdict line (or where it stands)."""
    app = services()
    deadline = time.monotonic() + timeout
    while True:
        run = app.runs.find(run_name)
        flag = run.evaluation if run is not None else None
        if flag is not None and flag.headline:
            print(f"\nevaluation: {flag.headline}")
            print(f"  {flag.action}")
            return
        if flag is not None and flag.status.value == "skipped":
            print(f"\nevaluation skipped: {flag.reason}")
            return
        if time.monotonic() >= deadline:
            shown = f"{flag.status.value}, {flag.progress}" if flag else "not started"
            print(f"\nevaluation still running ({shown}); see GET /api/runs/{run_name}/evaluation")
            return
        time.sleep(0.5)


def talk(run_name: str, question: Mapping[str, str]) -> int:
    """Asks the demo question (with the training system message) and prints both replies."""
    app = services()
    messages = [{"role": "user", "content": question["question"]}]
    if question.get("system"):
        messages.insert(0, {"role": "system", "content": question["system"]})
    answer = chat(app, run_name, messages, compare=bool(app.base_deployment))
    print(f"\nQ: {question['question']}")
    print(f"fine-tuned ({answer.model}):\n  {answer.reply}")
    if answer.base_reply is not None:
        print(f"base ({answer.base_model}):\n  {answer.base_reply}")
    return 0 if answer.reply else 1
