"""What a deployed Tunedrop costs at rest: one idle timer tick, and a month of them.

    python benchmarks/idle_tick.py [--ticks 30]

An idle tick (no active run; 100 finished runs recorded) on an Azurite on free ports through the
real `TableRunStore`, with storage calls counted by an azure-core policy (as benchmarks/tick.py).
The wall time is then priced as Flex Consumption bills it: every execution is billed at least
1,000 ms of the instance's memory (learn.microsoft.com, "Flex Consumption plan", Billing), so an
idle tick costs the minimum whatever its own time. The prices below are assumptions: Azure
Functions pricing page, Flex Consumption "On Demand" meters, pay-as-you-go USD; check yours at
https://azure.microsoft.com/pricing/details/functions/ (they vary by region and currency).
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

from benchmarks.tick import Bench, CallCounter, finished_run, seed  # noqa: E402
from localdev.azurite import free_ports, running_azurite  # noqa: E402
from localdev.config import load_local_settings  # noqa: E402
from localdev.emulator import running_emulator  # noqa: E402
from localdev.stack import emulator_settings  # noqa: E402
from shared.pipeline import advance_runs  # noqa: E402

TICKS_PER_MONTH = 2 * 60 * 24 * 30  # RUN_TIMER_SCHEDULE every 30 s, a 30-day month
MINIMUM_BILLED_SECONDS = 1.0  # Flex Consumption: minimum billable execution period
PRICE_PER_GB_SECOND = 0.000026  # On Demand execution time, USD (assumption, see above)
PRICE_PER_MILLION_EXECUTIONS = 0.40  # On Demand total executions, USD (assumption)
FREE_GB_SECONDS = 100_000  # monthly free grant per subscription, On Demand
FREE_EXECUTIONS = 250_000
INSTANCE_MEMORY_GB = (0.5, 2.0, 4.0)  # the instance sizes Flex Consumption offers


def monthly_cost(memory_gb: float, billed_seconds: float) -> tuple[float, float]:
    """(GB-s billed per month, USD after the free grant) for the idle ticks alone."""
    gb_seconds = TICKS_PER_MONTH * billed_seconds * memory_gb
    compute = max(0.0, gb_seconds - FREE_GB_SECONDS) * PRICE_PER_GB_SECOND
    executions = max(0, TICKS_PER_MONTH - FREE_EXECUTIONS) / 1e6 * PRICE_PER_MILLION_EXECUTIONS
    return gb_seconds, compute + executions


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
        advance_runs(services, datetime.now(UTC))  # warm-up: clients and connections
        walls, calls = [], []
        for _ in range(args.ticks):
            bench.counter.calls.clear()
            started = time.perf_counter()
            summary = advance_runs(services, datetime.now(UTC))
            walls.append(time.perf_counter() - started)
            calls.append(dict(bench.counter.calls))
            if summary.runs:
                raise RuntimeError(f"the tick saw {summary.runs} active runs, not 0")

    wall = statistics.median(walls)
    alike = all(c == calls[0] for c in calls)
    billed = max(MINIMUM_BILLED_SECONDS, math.ceil(wall * 10) / 10)
    print(f"idle tick ({args.ticks} ticks, 100 finished runs recorded, Azurite on loopback):")
    print(f"  wall time median {wall * 1000:.1f} ms, max {max(walls) * 1000:.1f} ms")
    print(f"  storage calls per tick: {calls[0]} (every tick alike: {alike})")
    print(f"  billed per tick: {billed:.1f} s (the Flex Consumption minimum is 1 s)")
    print(
        f"\n{TICKS_PER_MONTH:,} idle ticks a month (every 30 s); free grant "
        f"{FREE_GB_SECONDS:,} GB-s and {FREE_EXECUTIONS:,} executions:"
    )
    for memory in INSTANCE_MEMORY_GB:
        gb_seconds, usd = monthly_cost(memory, billed)
        mb = memory * 1024
        print(f"  instance memory {mb:>5.0f} MB: {gb_seconds:>9,.0f} GB-s, ${usd:.2f} a month")


if __name__ == "__main__":
    main()
