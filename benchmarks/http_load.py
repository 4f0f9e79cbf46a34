"""Bounded HTTP load on loopback against the local Functions host: latency and throughput.

    python benchmarks/http_load.py                     # 200 requests per endpoint and concurrency
    python benchmarks/http_load.py --requests 50       # quicker
    python benchmarks/http_load.py --concurrency 1,4

Starts its own stack, as the end-to-end tests do: an Azurite on free ports, the Azure OpenAI
emulator in this process, and the host as its own process (`python -m localdev host`), so the
load generator does not share the host's interpreter. A sample run is dropped and followed to
`deployed` first. Then, at each concurrency, a fixed number of requests (it stops by itself):

    GET  /api/health        the host's own baseline (it probes storage and Azure OpenAI)
    GET  /api/runs/{run}    one table read and the run's JSON view
    POST /api/validate      the sample's train.jsonl (14 KB, 30 examples), validated in full

Each request opens its own connection (`Connection: close`), as a browser's first request
would; loopback only.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere: import the project's packages

from localdev.azurite import free_ports, running_azurite  # noqa: E402
from localdev.emulator import Timings, running_emulator  # noqa: E402
from tests.e2e.stack import FUNCTION_KEY, HostProcess, Stack, stack_environ  # noqa: E402

SAMPLE = REPO / "samples" / "kitsune-shopkeeper"
RUN = "bench-kitsune"


@dataclass
class Load:
    endpoint: str
    concurrency: int
    latencies: list[float]
    errors: int
    seconds: float

    def show(self) -> str:
        ordered = sorted(self.latencies)
        p50 = statistics.median(ordered) * 1000
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
        rate = len(ordered) / self.seconds
        return (f"{self.endpoint:<22} {self.concurrency:>3} {len(ordered):>6} {self.errors:>4} "
                f"{p50:>8.1f} {p99:>8.1f} {rate:>8.1f}")  # fmt: skip


def request(port: int, method: str, path: str, body: bytes | None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        headers = {"x-functions-key": FUNCTION_KEY, "Connection": "close"}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def load(port: int, method: str, path: str, body: bytes | None, concurrency: int,
         total: int) -> Load:  # fmt: skip
    """`total` requests from `concurrency` threads, each taking the next until none is left."""
    remaining = iter(range(total))
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]

    def worker() -> None:
        while True:
            with lock:
                if next(remaining, None) is None:
                    return
            started = time.perf_counter()
            status = request(port, method, path, body)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                errors[0] += status >= 400

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Load(f"{method} {path}", concurrency, latencies, errors[0],
                time.perf_counter() - started)  # fmt: skip


def deployed_run(stack: Stack, timeout: float = 120) -> None:
    """Drops the sample run and waits until it is deployed, so GET returns a full record."""
    for name in ("train.jsonl", "validation.jsonl"):
        stack.inbox.upload_blob(f"{RUN}/{name}", (SAMPLE / name).read_bytes(), overwrite=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body, _ = stack.call("GET", f"/api/runs/{RUN}")
        if status == 200 and body["state"] == "deployed":
            return
        time.sleep(0.5)
    raise TimeoutError(f"the sample run did not deploy:\n{stack.host.log()[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="per endpoint and concurrency")
    parser.add_argument("--concurrency", default="1,4,16", help="comma-separated levels")
    args = parser.parse_args()
    levels = [int(level) for level in args.concurrency.split(",")]
    train = (SAMPLE / "train.jsonl").read_bytes()
    targets = [
        ("GET", "/api/health", None),
        ("GET", f"/api/runs/{RUN}", None),
        ("POST", "/api/validate", train),
    ]
    with (
        tempfile.TemporaryDirectory() as workdir,
        running_azurite(Path(workdir) / "azurite", free_ports()) as azurite,
        running_emulator(timings=Timings.fast()) as emulator,
    ):
        environ = stack_environ(azurite, emulator, RUN_TIMER_SCHEDULE="*/5 * * * * *")
        host = HostProcess(environ, Path(workdir) / "host.log")
        host.start()
        try:
            stack = Stack(azurite=azurite, emulator=emulator, environ=environ, host=host)
            deployed_run(stack)
            port = int(environ["LOCALDEV_HOST_PORT"])
            for method, path, body in targets:  # warm up: first calls build clients, tokenizer
                for _ in range(5):
                    request(port, method, path, body)
            print(f"{'endpoint':<22} {'c':>3} {'reqs':>6} {'errs':>4} {'p50 ms':>8} "
                  f"{'p99 ms':>8} {'req/s':>8}")  # fmt: skip
            for method, path, body in targets:
                for level in levels:
                    print(load(port, method, path, body, level, args.requests).show(), flush=True)
        finally:
            host.stop()


if __name__ == "__main__":
    main()
