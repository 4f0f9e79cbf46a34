"""The timer at scale, fanned out: one tick puts every due run of a pool on the runs queue, then
1, 2, 4 ... consumer processes (standing in for Function instances) drain it.

    python benchmarks/fan_out.py                         # 5,000 runs, 50 accounts, 1,2,4
    python benchmarks/fan_out.py --runs 500 --instances 1,2

The same set-up as `benchmarks/tick.py --pool` (part 4, the in-process baseline): running jobs on
the emulator, every Azure call answered after 100 ms, Azurite for the table and the queue. Each
consumer is its own process, as each Function instance is, and runs `advance_queued` with the
default 8 workers on each message it receives. The timer's part is timed alone (list, place,
admit, send); each drain is timed from the moment every consumer is ready to the moment the queue
is empty, and is compared with one in-process tick of the same runs.

On this machine every process shares 2 cores with Azurite and the emulator (which answers every
call of every consumer in the parent process): the figures show where a tick's time goes and how
the work spreads, not the speed-up of a platform whose instances each have their own cores.
"""

from __future__ import annotations

import argparse
import base64
import multiprocessing
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere: import the project's packages

from azure.storage.queue import QueueClient  # noqa: E402

from benchmarks.tick import (  # noqa: E402
    ROOMY,
    SCHEDULE_SECONDS,
    TIMINGS,
    Bench,
    CallCounter,
    answer_without_nagle_delay,
    pool_environ,
    pool_services,
    seed_pool,
)
from localdev.azurite import free_ports, running_azurite  # noqa: E402
from localdev.emulator import running_emulator  # noqa: E402
from shared.adapters.run_queue import StorageRunQueue  # noqa: E402
from shared.bootstrap import host_queue  # noqa: E402
from shared.credentials import app_credential  # noqa: E402
from shared.errors import TunedropError  # noqa: E402
from shared.pipeline import advance_queued, advance_runs  # noqa: E402
from shared.pipeline.fan_out import FanOut  # noqa: E402
from shared.settings import Settings  # noqa: E402

TABLE = "fanout"
QUEUE = "bench-runs"
WORKERS = 8


def consume(environ: dict[str, str], accounts: int, ready: Any, go: Any, done: Any) -> None:
    """One instance: receives the runs queue's messages and advances their runs until the
    queue is empty; puts (runs advanced, stale, failed messages) on `done`."""
    bench = Bench(environ["AzureWebJobsStorage"], None, environ, CallCounter())  # type: ignore[arg-type]
    services = pool_services(bench, TABLE, accounts, WORKERS)
    queue = QueueClient.from_connection_string(environ["AzureWebJobsStorage"], QUEUE)
    ready.put(True)
    go.wait()
    advanced = stale = failed = 0
    while True:
        received = list(queue.receive_messages(max_messages=1, visibility_timeout=600))
        if not received:
            break
        for message in received:
            body = base64.b64decode(message.content)
            try:
                summary = advance_queued(services, body, datetime.now(UTC))
            except TunedropError:
                # As the host does with a failed function: the message is tried again (here at
                # once; the host waits its visibilityTimeout), its runs that moved on are stale.
                failed += 1
                queue.update_message(message, visibility_timeout=0)
                continue
            queue.delete_message(message)
            advanced, stale = advanced + summary.runs, stale + summary.stale
    done.put((advanced, stale, failed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5_000)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--instances", default="1,2,4", help="consumer processes per drain")
    args = parser.parse_args()
    counts = [int(n) for n in args.instances.split(",")]
    answer_without_nagle_delay()
    with (
        tempfile.TemporaryDirectory() as workdir,
        running_azurite(Path(workdir), free_ports()) as azurite,
        running_emulator(timings=TIMINGS, limits=ROOMY) as emulator,
    ):
        environ = pool_environ(azurite.connection_string, emulator)
        bench = Bench(azurite.connection_string, emulator, environ, CallCounter())
        seed_pool(bench, TABLE, args.runs, args.accounts)
        services = pool_services(bench, TABLE, args.accounts, WORKERS)
        settings = Settings.from_env(environ)
        runs_queue = host_queue(settings, app_credential(settings), QUEUE)
        timer = FanOut(StorageRunQueue(runs_queue), 0)
        print(f"\n{args.runs:,} active runs (running jobs) over {args.accounts} accounts, "
              f"100 ms per Azure call, {WORKERS} workers per process")  # fmt: skip
        started = time.perf_counter()
        summary = advance_runs(services, datetime.now(UTC))
        baseline = time.perf_counter() - started
        print(f"baseline: one in-process tick, {sum(summary.steps.values()):,} runs advanced "
              f"in {baseline:.1f} s")  # fmt: skip
        print(f"{'instances':>9} {'timer s':>8} {'messages':>9} {'drain s':>8} {'x base':>7} "
              f"{'advanced':>9} {'stale':>6} {'retried':>8}  "
              f"timer fits {SCHEDULE_SECONDS:.0f} s?")  # fmt: skip
        for instances in counts:
            started = time.perf_counter()
            summary = advance_runs(replace(services, fan_out=timer), datetime.now(UTC))
            timer_seconds = time.perf_counter() - started
            drained, advanced, stale, retried = drain(environ, args.accounts, instances)
            fits = "yes" if timer_seconds <= SCHEDULE_SECONDS else "no"
            print(f"{instances:>9} {timer_seconds:>8.1f} {summary.messages:>9,} {drained:>8.1f} "
                  f"{drained / baseline:>7.2f} {advanced:>9,} {stale:>6,} {retried:>8,}  {fits}",
                  flush=True)  # fmt: skip


def drain(environ: dict[str, str], accounts: int, instances: int) -> tuple[float, int, int, int]:
    """Starts `instances` consumers, times them from all ready to the queue drained."""
    context = multiprocessing.get_context("spawn")
    ready, done, go = context.Queue(), context.Queue(), context.Event()
    processes = [
        context.Process(target=consume, args=(environ, accounts, ready, go, done))
        for _ in range(instances)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.get(timeout=120)
    started = time.perf_counter()
    go.set()
    results = [done.get(timeout=3600) for _ in processes]
    seconds = time.perf_counter() - started
    for process in processes:
        process.join()
    return seconds, *(sum(r[column] for r in results) for column in range(3))  # type: ignore[return-value]


if __name__ == "__main__":
    main()
