"""What a deployed Tunedrop costs at rest: the idle timer ticks, and a month of them.

    python benchmarks/idle_tick.py [--ticks 30]

Two timers run at rest, at the same seconds: the run timer (`advance_runs`) and the events
sweeper (`sweep`, which hands pending run events to the delivery queue). Each is measured idle
(no active run and no pending event; 100 finished runs recorded) on an Azurite on free ports
through the real `TableRunStore` and `TableEventStore`, with storage calls counted by an
azure-core policy (as benchmarks/tick.py).
The wall time is then priced as Flex Consumption bills it: every execution is billed at least
1,000 ms of the instance's memory (learn.microsoft.com, "Flex Consumption plan", Billing), so an
idle tick costs the minimum whatever its own time. Flex Consumption scales each non-HTTP function
on its own instances (per-function scaling: learn.microsoft.com, "Event-driven scaling in Azure
Functions"), so the two timers never share an activity period: each is billed apart.
The prices below are assumptions: Azure Functions pricing page, Flex Consumption "On Demand"
meters, pay-as-you-go USD; check yours at https://azure.microsoft.com/pricing/details/functions/
(they vary by region and currency).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere: import the project's packages

from dataclasses import replace  # noqa: E402

from azure.data.tables import TableClient  # noqa: E402

from benchmarks.tick import Bench, CallCounter, finished_run, seed  # noqa: E402
from localdev.azurite import free_ports, running_azurite  # noqa: E402
from localdev.config import load_local_settings  # noqa: E402
from localdev.emulator import running_emulator  # noqa: E402
from localdev.stack import emulator_settings  # noqa: E402
from shared.adapters.event_table import TableEventStore  # noqa: E402
from shared.bootstrap import build_notifier  # noqa: E402
from shared.credentials import app_credential  # noqa: E402
from shared.notifications.service import sweep  # noqa: E402
from shared.pipeline import advance_runs  # noqa: E402
from shared.settings import Settings  # noqa: E402

TICKS_PER_MONTH = 2 * 60 * 24 * 30  # RUN_TIMER_SCHEDULE every 30 s, a 30-day month
MINIMUM_BILLED_SECONDS = 1.0  # Flex Consumption: minimum billable execution period
PRICE_PER_GB_SECOND = 0.000026  # On Demand execution time, USD (assumption, see above)
PRICE_PER_MILLION_EXECUTIONS = 0.40  # On Demand total executions, USD (assumption)
FREE_GB_SECONDS = 100_000  # monthly free grant per subscription, On Demand
FREE_EXECUTIONS = 250_000
INSTANCE_MEMORY_GB = (0.5, 2.0, 4.0)  # the instance sizes Flex Consumption offers


TIMERS = 2  # the run timer and the events sweeper, each on its own instances


def billed_seconds(wall: float) -> float:
    """One execution as billed: its time rounded up to 0.1 s, at least the 1 s minimum."""
    return max(MINIMUM_BILLED_SECONDS, math.ceil(wall * 10) / 10)


def monthly_cost(memory_gb: float, billed: tuple[float, ...]) -> tuple[float, float]:
    """(GB-s billed per month, USD after the free grant) for the idle timers alone: each timer
    billed its own execution every tick (`billed` holds one billed time per timer)."""
    gb_seconds = TICKS_PER_MONTH * sum(billed) * memory_gb
    compute = max(0.0, gb_seconds - FREE_GB_SECONDS) * PRICE_PER_GB_SECOND
    executions = TICKS_PER_MONTH * len(billed)
    invocations = max(0, executions - FREE_EXECUTIONS) / 1e6 * PRICE_PER_MILLION_EXECUTIONS
    return gb_seconds, compute + invocations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=30, help="idle ticks measured")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as workdir,
        running_azurite(Path(workdir), free_ports()) as azurite,
        running_emulator() as emulator,
    ):
        environ = {**load_local_settings(), **emulator_settings(emulator)}
        environ |= {"AzureWebJobsStorage": azurite.connection_string,
                    "TUNEDROP_LOCAL_BEARER_TOKEN": "benchmark-token"}  # fmt: skip
        bench = Bench(azurite.connection_string, emulator, environ, CallCounter())
        table = bench.table("idletick")
        old = datetime.now(UTC) - timedelta(days=30)
        seed(table, [finished_run(f"done-{i:03d}", old) for i in range(100)])
        services = bench.services("idletick")
        settings = Settings.from_env({**environ, "RUNS_TABLE": "idletick"})
        counted = TableClient.from_connection_string(
            azurite.connection_string, "idletick", per_call_policies=[bench.counter]
        )
        notifier = replace(
            build_notifier(settings, app_credential(settings)), events=TableEventStore(counted)
        )
        advance_runs(services, datetime.now(UTC))  # warm-up: clients and connections
        sweep(notifier)
        walls, calls, sweep_walls, sweep_calls = [], [], [], []
        for _ in range(args.ticks):
            bench.counter.calls.clear()
            started = time.perf_counter()
            summary = advance_runs(services, datetime.now(UTC))
            walls.append(time.perf_counter() - started)
            calls.append(dict(bench.counter.calls))
            if summary.runs:
                raise RuntimeError(f"the tick saw {summary.runs} active runs, not 0")
            bench.counter.calls.clear()
            started = time.perf_counter()
            if sweep(notifier):
                raise RuntimeError("the sweep found pending events")
            sweep_walls.append(time.perf_counter() - started)
            sweep_calls.append(dict(bench.counter.calls))

    wall = statistics.median(walls)
    alike = all(c == calls[0] for c in calls)
    billed = billed_seconds(wall)
    print(f"idle tick ({args.ticks} ticks, 100 finished runs recorded, Azurite on loopback):")
    print(f"  wall time median {wall * 1000:.1f} ms, max {max(walls) * 1000:.1f} ms")
    print(f"  storage calls per tick: {calls[0]} (every tick alike: {alike})")
    print(f"  billed per tick: {billed:.1f} s (the Flex Consumption minimum is 1 s)")
    sweep_wall = statistics.median(sweep_walls)
    print(f"idle event sweep ({args.ticks} sweeps, no pending event):")
    print(f"  wall time median {sweep_wall * 1000:.1f} ms, max {max(sweep_walls) * 1000:.1f} ms")
    print(f"  storage calls per sweep: {sweep_calls[0]}")
    sweep_billed = billed_seconds(sweep_wall)
    print(f"  billed per sweep: {sweep_billed:.1f} s")
    print(
        f"\n{TICKS_PER_MONTH:,} ticks a month of each timer (every 30 s, "
        f"{TICKS_PER_MONTH * TIMERS:,} executions); free grant {FREE_GB_SECONDS:,} GB-s and "
        f"{FREE_EXECUTIONS:,} executions:"
    )
    print("  each timer billed apart (per-function scaling):")
    for memory in INSTANCE_MEMORY_GB:
        gb_seconds, usd = monthly_cost(memory, (billed, sweep_billed))
        mb = memory * 1024
        print(f"    instance memory {mb:>5.0f} MB: {gb_seconds:>9,.0f} GB-s, ${usd:.2f} a month")


if __name__ == "__main__":
    main()
