"""Runs a command while every core is kept busy, as on a shared CI machine:

    .venv/bin/python -m tests.cpu_burn -- ./dev test
    .venv/bin/python -m tests.cpu_burn --burners 4 -- ./dev test tests/e2e -q

One busy-looping process per core (or `--burners N`) runs for as long as the command does; the
exit status is the command's. The tests must pass like this: they wait for conditions, never for
timings, so a slow machine makes them slower, not red.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections.abc import Sequence

BURN = "while True: pass"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.cpu_burn", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--burners", type=int, default=os.cpu_count() or 2, help="busy processes (default: cores)"
    )
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command to run")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command or args.burners < 1:
        parser.error("give at least one burner and a command after --, e.g. -- ./dev test")
    burners = [subprocess.Popen([sys.executable, "-c", BURN]) for _ in range(args.burners)]
    print(f"cpu_burn: {len(burners)} busy processes while running: {' '.join(command)}")
    try:
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    finally:
        for burner in burners:
            burner.kill()
        for burner in burners:
            burner.wait()


if __name__ == "__main__":
    sys.exit(main())
