"""The cost of one timer tick: wall time, storage calls and Azure calls, by runs recorded.

    python benchmarks/tick.py            # 10, 100, 1,000, 10,000 runs (10 active); 1,000 active;
                                         # 10, 100, 1,000 runs waiting for room on the account
    python benchmarks/tick.py --quick    # 10, 100, 1,000 runs; 100 active; 10, 100 waiting
    python benchmarks/tick.py --pool     # only part 4: 5,000 active runs over 50 accounts, each
                                         # Azure call answered in 100 ms (--pool-workers 8,64,256)

Real parts: an Azurite on free ports, the real `TableRunStore`, the real Azure OpenAI adapter
talking to the emulator over loopback (jobs that stay `running`, so every active run polls its
job on every tick: the busiest steady state). Storage calls are counted by an azure-core
per-call policy on the table and blob clients; Azure calls are the emulator's request log.

`stor ms` is the part of a tick spent waiting for storage (the mean over the measured ticks);
`list ms` times the tick's one query alone (the active runs): Azurite answers a RowKey range
by filtering every entity of the table (LokiJS `where`), so it grows with the table there;
Azure Table Storage serves a PartitionKey + RowKey range from its index.

Runs are seeded straight into the store's table layout (its own entity builders, 100 rows per
entity-group transaction): 10,000 runs one `add` at a time would take longer than the bench.
"""

from __future__ import annotations

import argparse
import json
import socketserver
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere: import the project's packages

import openai  # noqa: E402
from azure.core.pipeline.policies import SansIOHTTPPolicy  # noqa: E402
from azure.data.tables import TableClient, TableServiceClient  # noqa: E402
from azure.storage.blob import BlobServiceClient  # noqa: E402

from localdev.azurite import free_ports, running_azurite  # noqa: E402
from localdev.config import load_local_settings  # noqa: E402
from localdev.emulator import Emulator, Timings, running_emulator  # noqa: E402
from localdev.emulator.limits import Limits  # noqa: E402
from localdev.stack import emulator_settings  # noqa: E402
from shared.adapters.blob_files import BlobInboxFiles, BlobReportStore  # noqa: E402
from shared.adapters.table_store import (  # noqa: E402
    TableRunStore,
    _active_key,
    _listing,
    _record,
    _run_key,
)
from shared.bootstrap import build_services  # noqa: E402
from shared.credentials import app_credential  # noqa: E402
from shared.pipeline import advance_runs  # noqa: E402
from shared.pipeline.services import Services  # noqa: E402
from shared.runs.config import RunDefaults, default_config  # noqa: E402
from shared.runs.facts import FileVerdict, UploadedFile  # noqa: E402
from shared.runs.names import FileKind  # noqa: E402
from shared.runs.record import Run  # noqa: E402
from shared.settings import Settings  # noqa: E402

MODEL = "gpt-4o-mini-2024-07-18"
SCHEDULE_SECONDS = 30.0  # the default RUN_TIMER_SCHEDULE, every 30 s
# Jobs stay "running" for hours: each active run polls its job on every tick.
TIMINGS = Timings(0.05, 0.05, 3600.0, 0.3, 0.3)
# The bench's account holds a thousand running jobs: far past the documented limits, which
# Tunedrop still plans with (so every waiting run of part 3 waits for a job slot).
ROOMY = Limits(running_jobs=10**6, queued_jobs=10**6, total_jobs=10**6, files=10**6)


class CallCounter(SansIOHTTPPolicy):  # type: ignore[type-arg]
    """Counts a storage client's HTTP calls by method, and the entities its GETs return."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.rows_read = 0
        self.seconds = 0.0  # time spent waiting for storage: the calls are sequential

    def on_request(self, request: Any) -> None:
        self.calls[request.http_request.method] += 1
        request.context["started"] = time.perf_counter()

    def on_response(self, request: Any, response: Any) -> None:
        self.seconds += time.perf_counter() - request.context["started"]
        if request.http_request.method != "GET" or "/devstoreaccount1/" not in str(
            request.http_request.url
        ):
            return
        try:
            body = json.loads(response.http_response.text() or "{}")
        except ValueError:
            return  # a blob, not a table answer
        if isinstance(body, dict):
            self.rows_read += len(body["value"]) if "value" in body else 1


@dataclass
class Bench:
    azurite_connection: str
    emulator: Emulator
    environ: dict[str, str]
    counter: CallCounter

    def services(self, table: str) -> Services:
        """The real services on this table, with counting storage clients."""
        settings = Settings.from_env({**self.environ, "RUNS_TABLE": table})
        built = build_services(settings, app_credential(settings))
        options = {"per_call_policies": [self.counter]}
        # TableServiceClient.get_table_client() drops per-call policies: build the table client.
        runs = TableClient.from_connection_string(self.azurite_connection, table, **options)
        blobs = BlobServiceClient.from_connection_string(self.azurite_connection, **options)
        return replace(
            built,
            fan_out=None,  # every tick here is measured in one process (fan_out.py: the queue)
            runs=TableRunStore(runs),
            inbox=BlobInboxFiles(blobs, settings.inbox_container),
            reports=BlobReportStore(blobs, settings.reports_container),
        )

    def table(self, name: str) -> TableClient:
        service = TableServiceClient.from_connection_string(self.azurite_connection)
        client = service.get_table_client(name)
        client.create_table()
        return client


def running_jobs(emulator: Emulator, count: int) -> tuple[str, list[str]]:
    """One processed training file and `count` jobs on it that stay running."""
    client = openai.AzureOpenAI(
        azure_endpoint=emulator.url, api_key=emulator.api_key, api_version="2024-10-21"
    )
    data = (REPO / "samples" / "kitsune-shopkeeper" / "train.jsonl").read_bytes()
    file_id = client.files.create(file=("train.jsonl", data), purpose="fine-tune").id
    while client.files.retrieve(file_id).status != "processed":
        time.sleep(0.05)
    jobs = [
        client.fine_tuning.jobs.create(model=MODEL, training_file=file_id).id for _ in range(count)
    ]
    return file_id, jobs


def running_run(name: str, file_id: str, job_id: str, at: datetime) -> Run:
    run = Run.new(name, at)
    verdict = FileVerdict('"0x1"', True, f"{name}/train.jsonl.report.json", "valid", at)
    run.file_validated(FileKind.TRAIN, verdict)
    run.start(at, default_config(RunDefaults(MODEL)), "benchmark")
    run.file_uploaded(FileKind.TRAIN, UploadedFile(file_id, f"{name}.jsonl", "processed"), at)
    run.job_created(job_id, "running", at)
    run.job_observed("running", at)
    return run


def waiting_run(name: str, at: datetime) -> Run:
    """Validated and due to start, on an account with no job slot free: it waits."""
    run = Run.new(name, at)
    stats = {"bytes": 50_000}
    for kind in (FileKind.TRAIN, FileKind.VALIDATION):
        report = f"{name}/{kind.value}.report.json"
        run.file_validated(kind, FileVerdict('"0x1"', True, report, "valid", at, stats))
    return run


def finished_run(name: str, at: datetime) -> Run:
    run = Run.new(name, at)
    verdict = FileVerdict('"0x1"', False, f"{name}/train.jsonl.report.json", "1 error", at)
    run.file_validated(FileKind.TRAIN, verdict)
    run.fail("train.jsonl is not valid: 1 error(s); first: line 3: is blank", at)
    return run


def seed(table: TableClient, runs: list[Run]) -> None:
    """Writes the runs in the store's layout, 100 rows per transaction."""
    rows: list[dict[str, Any]] = []
    for run in runs:
        rows.append(_record(run, _run_key(run.name)))
        if run.is_active:
            rows.append(_record(run, _active_key(run.name)))
        rows.append(_listing(run))
    for start in range(0, len(rows), 100):
        table.submit_transaction([("upsert", row) for row in rows[start : start + 100]])


@dataclass
class TickCost:
    runs: int
    active: int
    seconds: float
    storage_calls: dict[str, int]
    rows_read: int
    azure_calls: int
    listing_seconds: float
    storage_seconds: float

    @property
    def storage_total(self) -> int:
        return sum(self.storage_calls.values())


def measure(bench: Bench, services: Services, runs: int, active: int, ticks: int) -> TickCost:
    """The median tick of `ticks`, after one warm-up tick (first reads of job events)."""
    advance_runs(services, datetime.now(UTC))
    walls, storage, rows, azure, storage_seconds = [], Counter[str](), 0, 0, 0.0
    for _ in range(ticks):
        bench.counter.calls.clear()
        bench.counter.rows_read = 0
        bench.counter.seconds = 0.0
        before = len(bench.emulator.requests())
        started = time.perf_counter()
        summary = advance_runs(services, datetime.now(UTC))
        walls.append(time.perf_counter() - started)
        azure += len(bench.emulator.requests()) - before
        storage.update(bench.counter.calls)
        rows += bench.counter.rows_read
        storage_seconds += bench.counter.seconds
        if summary.runs != active:
            raise RuntimeError(f"the tick saw {summary.runs} active runs, not {active}")
    per_tick = {method: count // ticks for method, count in storage.items()}
    listing = []
    for _ in range(ticks):  # the tick's one query, alone: reading the active runs
        started = time.perf_counter()
        sum(1 for _ in services.runs.active())
        listing.append(time.perf_counter() - started)
    return TickCost(
        runs=runs, active=active, seconds=statistics.median(walls), storage_calls=per_tick,
        rows_read=rows // ticks, azure_calls=azure // ticks,
        listing_seconds=statistics.median(listing), storage_seconds=storage_seconds / ticks,
    )  # fmt: skip


def show(costs: list[TickCost]) -> None:
    base = costs[0]
    print(f"{'runs':>7} {'active':>6} {'tick ms':>9} {'x':>6} {'list ms':>8} {'stor ms':>8} "
          f"{'storage':>8} {'rows':>6} {'azure':>6}  storage calls by method")  # fmt: skip
    for cost in costs:
        ratio = cost.seconds / base.seconds
        methods = ", ".join(f"{m} {n}" for m, n in sorted(cost.storage_calls.items()))
        figures = f"{cost.storage_total:>8} {cost.rows_read:>6} {cost.azure_calls:>6}"
        times = f"{cost.listing_seconds * 1000:>8.1f} {cost.storage_seconds * 1000:>8.1f}"
        print(f"{cost.runs:>7,} {cost.active:>6,} {cost.seconds * 1000:>9.1f} {ratio:>6.2f} "
              f"{times} {figures}  {methods}")  # fmt: skip


def answer_without_nagle_delay() -> None:
    """The emulator's handler writes headers and body in two sends; on a kept-alive connection
    Nagle's algorithm holds the body until the client's delayed ACK, about 40 ms per call,
    which no Azure endpoint adds. TCP_NODELAY on this process's servers removes the artefact."""
    socketserver.StreamRequestHandler.disable_nagle_algorithm = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--ticks", type=int, default=3, help="ticks measured per size")
    parser.add_argument("--pool", action="store_true", help="only part 4: a pool of accounts")
    parser.add_argument("--pool-runs", type=int, default=5_000)
    parser.add_argument("--pool-accounts", type=int, default=50)
    parser.add_argument("--pool-workers", default="8,64,256", help="TICK_WORKERS to measure")
    args = parser.parse_args()
    if args.pool:
        pool_part(
            args.pool_runs, args.pool_accounts, [int(n) for n in args.pool_workers.split(",")]
        )
        return
    sizes = [10, 100, 1_000] if args.quick else [10, 100, 1_000, 10_000]
    active, many_active = 10, (100 if args.quick else 1_000)
    answer_without_nagle_delay()

    with (
        tempfile.TemporaryDirectory() as workdir,
        running_azurite(Path(workdir), free_ports()) as azurite,
        running_emulator(timings=TIMINGS, limits=ROOMY) as emulator,
    ):
        environ = {**load_local_settings(), **emulator_settings(emulator)}
        environ |= {"AzureWebJobsStorage": azurite.connection_string,
                    "TUNEDROP_LOCAL_BEARER_TOKEN": "benchmark-token"}  # fmt: skip
        bench = Bench(azurite.connection_string, emulator, environ, CallCounter())
        started = time.perf_counter()
        file_id, jobs = running_jobs(emulator, many_active)
        print(f"{len(jobs)} running jobs on the emulator in {time.perf_counter() - started:.1f} s")
        now = datetime.now(UTC)

        print(f"\n1. Runs recorded, {active} active (running jobs), the rest finished")
        table = bench.table("tickmostlyfinished")
        seed(table, [running_run(f"active-{i}", file_id, jobs[i], now) for i in range(active)])
        services = bench.services("tickmostlyfinished")
        costs, recorded = [], active
        for size in sizes:
            started = time.perf_counter()
            old = now - timedelta(days=30)
            seed(table, [finished_run(f"done-{i:05d}", old) for i in range(recorded, size)])
            seeded = time.perf_counter() - started
            recorded = size
            costs.append(measure(bench, services, size, active, args.ticks))
            print(f"   seeded {size:,} runs ({seeded:.1f} s)")
        show(costs)
        largest, smallest = costs[-1], costs[0]
        print(f"   {largest.runs // smallest.runs}x the runs: tick wall x"
              f"{largest.seconds / smallest.seconds:.2f}, storage calls x"
              f"{largest.storage_total / smallest.storage_total:.2f}, rows read x"
              f"{largest.rows_read / max(smallest.rows_read, 1):.2f}, Azure calls x"
              f"{largest.azure_calls / max(smallest.azure_calls, 1):.2f}")  # fmt: skip

        print(f"\n2. {many_active:,} active runs (running jobs), nothing finished")
        table = bench.table("tickallactive")
        seed(table, [running_run(f"busy-{i:04d}", file_id, job, now) for i, job in enumerate(jobs)])
        services = bench.services("tickallactive")
        busy = measure(bench, services, many_active, many_active, max(1, args.ticks - 1))
        show([busy])
        share = busy.seconds / SCHEDULE_SECONDS
        workers = services.policy.tick_workers
        print(f"   one tick takes {busy.seconds:.1f} s = {share:.0%} of the {SCHEDULE_SECONDS:g} s "
              f"schedule on loopback; {busy.azure_calls / many_active:.1f} Azure calls and "
              f"{busy.storage_total / many_active:.1f} storage calls per active run, "
              f"{workers} runs at a time (TICK_WORKERS)")  # fmt: skip
        calls = busy.azure_calls + busy.storage_total
        print(f"   at 50 ms per call, as from an Azure region, the same tick would take about "
              f"{calls * 0.05 / workers:.0f} s with {workers} workers "
              f"({calls * 0.05:.0f} s one run at a time)")  # fmt: skip

        waiting_sizes = [10, 100] if args.quick else [10, 100, 1_000]
        print(f"\n3. Runs waiting for a job slot ({many_active:,} jobs on the account), "
              "no other active run")  # fmt: skip
        table = bench.table("tickwaiting")
        services = bench.services("tickwaiting")
        waiting_costs, seeded_waiting = [], 0
        for size in waiting_sizes:
            seed(table, [waiting_run(f"wait-{i:04d}", now) for i in range(seeded_waiting, size)])
            seeded_waiting = size
            waiting_costs.append(measure(bench, services, size, size, args.ticks))
        show(waiting_costs)
        last = waiting_costs[-1]
        view = services.runs.find("wait-0001")
        said = view.capacity_wait.reason if view and view.capacity_wait else "not waiting"
        print(f"   the account is counted once per tick ({last.azure_calls} Azure calls with "
              f"{last.active:,} waiting: the list calls, by pages); a waiting run is read, not "
              f"written, once it has said why it waits: \"{said}\"")  # fmt: skip


class Slow:
    """An adapter whose every call first waits `seconds`: a service answering from afar."""

    def __init__(self, inner: Any, seconds: float) -> None:
        self._inner, self._seconds = inner, seconds

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            time.sleep(self._seconds)
            return method(*args, **kwargs)

        return call


def seed_pool(bench: Bench, table: str, runs: int, accounts: int) -> None:
    """`runs` runs with running jobs on the emulator, spread over `accounts` accounts."""
    started = time.perf_counter()
    file_id, jobs = running_jobs(bench.emulator, runs)
    print(f"{len(jobs):,} running jobs on the emulator in {time.perf_counter() - started:.0f} s")
    now = datetime.now(UTC)
    seeded = []
    for i, job in enumerate(jobs):
        run = running_run(f"pool-{i:05d}", file_id, job, now)
        run.account = f"account-{i % accounts:02d}"
        seeded.append(run)
    seed(bench.table(table), seeded)


def pool_services(bench: Bench, table: str, accounts: int, workers: int) -> Services:
    """The services of a pool of `accounts` accounts, every Azure call answered after 100 ms.

    Every account is the emulator behind 100 ms: what differs per account is only where calls
    go, and the tick's work is the same whichever endpoint answers."""
    from shared.accounts import AccountSpec
    from shared.pipeline.pool import AccountPool

    base = bench.services(table)
    slow = replace(
        base,
        fine_tuning=Slow(base.fine_tuning, 0.1),
        deployments=Slow(base.deployments, 0.1),
        policy=replace(base.policy, tick_workers=workers),
    )
    url = bench.environ["AZURE_OPENAI_ENDPOINT"]
    specs = [
        AccountSpec(f"account-{n:02d}", url, "sub", "rg", f"account-{n:02d}")
        for n in range(accounts)
    ]
    return replace(slow, accounts=AccountPool(specs, lambda spec: slow))


def pool_environ(azurite_connection: str, emulator: Emulator) -> dict[str, str]:
    environ = {**load_local_settings(), **emulator_settings(emulator)}
    environ |= {"AzureWebJobsStorage": azurite_connection,
                "TUNEDROP_LOCAL_BEARER_TOKEN": "benchmark-token"}  # fmt: skip
    return environ


def pool_part(runs: int, accounts: int, worker_counts: list[int]) -> None:
    """Part 4: `runs` active runs (running jobs) placed over `accounts` accounts of a pool, each
    Azure call answered in 100 ms; one tick per TICK_WORKERS value."""
    answer_without_nagle_delay()
    with (
        tempfile.TemporaryDirectory() as workdir,
        running_azurite(Path(workdir), free_ports()) as azurite,
        running_emulator(timings=TIMINGS, limits=ROOMY) as emulator,
    ):
        environ = pool_environ(azurite.connection_string, emulator)
        bench = Bench(azurite.connection_string, emulator, environ, CallCounter())
        seed_pool(bench, "tickpool", runs, accounts)
        print(f"\n4. {runs:,} active runs (running jobs) over {accounts} accounts, "
              "100 ms per Azure call")  # fmt: skip
        print(f"{'workers':>8} {'tick s':>8} {'runs advanced':>14} {'azure':>7}  fits 30 s?")
        for workers in worker_counts:
            services = pool_services(bench, "tickpool", accounts, workers)
            before = len(emulator.requests())
            started = time.perf_counter()
            summary = advance_runs(services, datetime.now(UTC))
            seconds = time.perf_counter() - started
            azure = len(emulator.requests()) - before
            advanced = sum(summary.steps.values())
            fits = "yes" if seconds <= SCHEDULE_SECONDS else "no"
            print(f"{workers:>8} {seconds:>8.1f} {advanced:>14,} {azure:>7,}  {fits}", flush=True)


if __name__ == "__main__":
    main()
