"""Cold start: importing `function_app` and registering every function, in fresh processes.

    python benchmarks/cold_start.py              # 7 fresh processes, medians
    python benchmarks/cold_start.py --runs 3

Each run is a new interpreter (no settings in its environment, as a worker before the app
settings matter) that imports `function_app` and calls `app.get_functions()`, as the Python
worker does when it indexes the app. Inside it, a guard on `socket` records every connection or
name lookup attempted during the import (and refuses it), and afterwards the child reports
whether the o200k tokenizer was built and which heavy SDKs were imported.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, socket, sys, time
attempts = []

def refuse(name):
    def guard(*args, **kwargs):
        attempts.append(f"{name}{args[1:] if name.startswith('socket.') else args}")
        raise OSError(f"benchmark guard: no network at import ({name})")
    return guard

socket.socket.connect = refuse("socket.connect")
socket.socket.connect_ex = refuse("socket.connect_ex")
socket.create_connection = refuse("create_connection")
socket.getaddrinfo = refuse("getaddrinfo")
started = time.perf_counter()
import azure.functions
sdk_ready = time.perf_counter()
import function_app
imported = time.perf_counter()
functions = function_app.app.get_functions()
registered = time.perf_counter()
import shared.tokens
heavy = ["tiktoken", "openai", "azure.data.tables", "azure.storage.blob",
         "azure.mgmt.cognitiveservices", "azure.identity", "httpx"]
print(json.dumps({
    "azure_functions_s": sdk_ready - started,
    "import_s": imported - sdk_ready,
    "register_s": registered - imported,
    "total_s": registered - started,
    "functions": sorted(f.get_function_name() for f in functions),
    "network_attempts": attempts,
    "tokenizer_built": shared.tokens._encoding is not None,
    "heavy_modules_loaded": [name for name in heavy if name in sys.modules],
}))
"""


def one_run() -> tuple[float, dict[str, object]]:
    environ = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO),
               "HOME": os.environ.get("HOME", "/tmp")}  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD], cwd=REPO, env=environ, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"the import failed:\n{done.stderr[-3000:]}")
    return wall, json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    one_run()  # the first run fills the OS file cache and writes .pyc files
    runs = [one_run() for _ in range(args.runs)]
    reports = [report for _, report in runs]

    def median_ms(key: str) -> float:
        return statistics.median(float(report[key]) for report in reports) * 1000  # type: ignore[arg-type]

    first = reports[0]
    wall_ms = statistics.median(wall for wall, _ in runs) * 1000
    names: list[str] = first["functions"]  # type: ignore[assignment]
    heavy: list[str] = first["heavy_modules_loaded"]  # type: ignore[assignment]
    attempts = sorted({str(a) for report in reports for a in report["network_attempts"]})  # type: ignore[attr-defined]
    rows = [
        ("process start to functions registered", wall_ms),
        ("import azure.functions", median_ms("azure_functions_s")),
        ("import function_app", median_ms("import_s")),
        ("app.get_functions()", median_ms("register_s")),
    ]
    print(f"{args.runs} fresh processes, medians:")
    for label, value in rows:
        print(f"  {label:<40} {value:7.0f} ms")
    print(f"  functions registered: {len(names)}: {', '.join(names)}")
    print(f"  network calls attempted at import: {len(attempts)} {attempts or ''}".rstrip())
    built = any(report["tokenizer_built"] for report in reports)
    print(f"  o200k tokenizer built at import: {'yes' if built else 'no'}")
    print(f"  heavy modules imported: {', '.join(heavy) or 'none'}")


if __name__ == "__main__":
    main()
