"""`python -m localdev demo`: Tunedrop's main job, start to finish, on this machine.

Starts the local stack and tells the story of `samples/yoshitaka-one-phrasing`: a run whose
questions all name their subject one way is dropped (with run.json `"improve": {"auto": true}`),
trained and deployed; asked with the subject's nickname it has no answer, and its evaluation
says it "learned the trained phrasings only". Tunedrop then improves it with no hands: the
grader writes new phrasings, a child run `<run>-r2` is dropped, trained and deployed, answers the
same question, and "generalizes" on the same probes; the before/after line closes the story.
Prints a line for each transition the runs record, and exits 0 when the child generalizes.
The host's log goes to a file (its path is printed first); `--verbose` shows it instead.
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
from shared.improvement.lineage import comparison_line
from shared.improvement.records import lineage_view
from shared.pipeline import chat
from shared.runs.record import Run
from shared.runs.states import RunState

SAMPLES = REPO_ROOT / "samples"
STORY = SAMPLES / "yoshitaka-one-phrasing"
IMPROVE = {"auto": True, "max_usd": 5}
RUN_FILES = ("run.json", "train.jsonl", "validation.jsonl")
FAST_TIMER = "* * * * * *"
# On the emulator calls take milliseconds: a fast demo lets a tick make many evaluation calls.
FAST_EVAL_CALLS_PER_TICK = "250"
EVALUATION_TIMEOUT = 60.0
FINAL_STATES = {RunState.DEPLOYED, RunState.FAILED, RunState.CANCELLED, RunState.EXPIRED}


def run_demo(
    values: Mapping[str, str],
    *,
    timings: str = "fast",
    timeout: float = 110.0,
    log_path: Path | None = None,
) -> int:
    """The story (see the module docstring); 0 when the improved child generalizes.
    `log_path`: where the host's log goes (None: it is shown on stderr)."""
    sample = STORY
    question = json.loads((sample / "demo.json").read_text(encoding="utf-8"))
    if timings == "fast":
        values = {
            **values,
            "RUN_TIMER_SCHEDULE": FAST_TIMER,
            "SETTLE_SECONDS": "2",
            "EVAL_CALLS_PER_TICK": FAST_EVAL_CALLS_PER_TICK,
        }
    with running_stack(values, timings=timings) as stack:
        run_name = f"yoshitaka-{datetime.now(UTC):%Y%m%d-%H%M%S}"
        print(f"Functions host {stack.host.url}/api, Azurite, Azure OpenAI emulator: up")
        if log_path is not None:
            print(f"The host's log: {log_path} (--verbose shows it here)")
        drop_run(stack.settings, sample, run_name, improve=IMPROVE)
        print(
            f"Dropped {sample.relative_to(REPO_ROOT)}/ as run {run_name!r} (one phrasing per "
            'question; run.json "improve": {"auto": true}); following it:'
        )
        evaluation_wait = EVALUATION_TIMEOUT if timings == "fast" else timeout
        try:
            if not _deployed(run_name, timeout, stack.failed):
                return 1
            talk(run_name, question)
            print_evaluation(run_name, evaluation_wait)
            child = follow_improvement(run_name, evaluation_wait, stack.failed)
            if child is None:
                return 1
            print(f"\nFollowing the child run {child!r}:")
            if not _deployed(child, timeout, stack.failed):
                return 1
            status = talk(child, question)
            print_evaluation(child, evaluation_wait)
            return status if print_comparison(child) else 1
        except Exception:
            if stack.failed.is_set():  # storage went with a child: the stack said which and how
                return 1
            raise


def _deployed(run_name: str, timeout: float, failed: threading.Event) -> bool:
    state = follow(run_name, timeout, failed)
    if failed.is_set():
        return False
    if state is not RunState.DEPLOYED:
        print(f"The run ended {state.value}, not deployed.", file=sys.stderr)
        return False
    return True


def drop_run(
    settings: Mapping[str, str],
    sample: Path,
    run_name: str,
    improve: Mapping[str, object] | None = None,
) -> None:
    """Uploads the sample's run files as `run_name`; `improve` goes into its run.json."""
    blobs = BlobServiceClient.from_connection_string(settings["AzureWebJobsStorage"])
    inbox = blobs.get_container_client(settings["INBOX_CONTAINER"])
    with contextlib.suppress(ResourceExistsError):
        inbox.create_container()
    for file_name in RUN_FILES:
        path = sample / file_name
        if not path.exists():
            continue
        content = path.read_bytes()
        if file_name == "run.json" and improve is not None:
            config = {**json.loads(content), "improve": dict(improve)}
            content = json.dumps(config, ensure_ascii=False, indent=2).encode("utf-8")
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


def follow_improvement(run_name: str, timeout: float, failed: threading.Event) -> str | None:
    """Waits for the improvement the evaluation called for; prints it and returns the child's
    name, or None (saying why) when none was started."""
    app = services()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not failed.is_set():
        run = app.runs.find(run_name)
        notes = [e.reason for e in run.timeline] if run is not None else []
        written = next((n for n in notes if n.startswith("improvement written: ")), None)
        started = next((n for n in notes if n.startswith("improvement started: ")), None)
        refused = next((n for n in notes if n.startswith("improvement not started: ")), None)
        if refused:
            print(f"\n{refused}", file=sys.stderr)
            return None
        if written and started:
            print(f"\n{written.split('; to start it')[0]}")
            print(started)
            lineage = lineage_view(app, run) if run is not None else None
            children = (lineage or {}).get("children") or []
            return str(children[-1]["run"]) if children else None
        failed.wait(0.5)
    print(f"No improvement of {run_name} started within {timeout:.0f} s.", file=sys.stderr)
    return None


def print_comparison(child: str) -> bool:
    """Prints the child's before/after line; True when the child generalizes."""
    app = services()
    run = app.runs.find(child)
    lineage = lineage_view(app, run) if run is not None else None
    found = (lineage or {}).get("comparison")
    if not found:
        print("\nno comparison yet: the child's evaluation has not finished", file=sys.stderr)
        return False
    print(f"\nbefore/after ({found['parent_verdict']} -> {found['child_verdict']}):")
    print(f"  {comparison_line(found)}")
    return found["child_verdict"] == "generalizes"
