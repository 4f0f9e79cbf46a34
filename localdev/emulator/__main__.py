"""`python -m localdev.emulator --port N --arm-port M [--timings fast|realistic] [--catalog F]`."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from localdev.emulator.emulator import DEFAULT_ACCOUNT_NAME, running_emulator
from localdev.emulator.limits import ENVIRONMENT_VARIABLE, Limits
from localdev.emulator.timings import Timings


def main(argv: list[str] | None = None) -> int:
    """Runs the emulator in the foreground until Ctrl-C (or SIGTERM); prints its URLs."""
    parser = argparse.ArgumentParser(
        prog="python -m localdev.emulator",
        description="Azure OpenAI + ARM deployments emulator on loopback.",
    )
    parser.add_argument("--port", type=int, default=0, help="data-plane HTTP port (0: any free)")
    parser.add_argument("--arm-port", type=int, default=0, help="ARM HTTPS port (0: any free)")
    parser.add_argument("--timings", choices=("fast", "realistic"), default="fast")
    parser.add_argument(
        "--catalog", type=Path, help="a catalog file of models and dates (default: catalog.json)"
    )
    parser.add_argument(
        "--account-name", default=DEFAULT_ACCOUNT_NAME, help="the emulated account's name"
    )
    args = parser.parse_args(argv)
    try:
        limits = Limits.from_environment(os.environ.get(ENVIRONMENT_VARIABLE))
    except ValueError as exc:
        parser.error(str(exc))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if threading.current_thread() is threading.main_thread():
        # SIGINT too, explicitly: a process started with SIGINT ignored (a background job of a
        # script or of a non-interactive shell, and everything such a job starts) inherits that,
        # and Python then installs no Ctrl-C handler of its own, so the emulator never stopped.
        signal.signal(signal.SIGINT, _interrupt)
        signal.signal(signal.SIGTERM, _interrupt)
    # Ctrl-C may come at any moment once the handler is set, even while the URLs are printed:
    # it must end the emulator cleanly (exit 0) wherever it lands, not only while it waits.
    try:
        with running_emulator(
            port=args.port,
            arm_port=args.arm_port,
            timings=Timings.named(args.timings),
            catalog_file=args.catalog,
            limits=limits,
            account_name=args.account_name,
        ) as emulator:
            print(f"Tunedrop emulator running (timings: {args.timings}); Ctrl-C stops it.")
            print(f"  data plane: {emulator.url}  (api-key: {emulator.api_key})")
            print(f"  ARM:        {emulator.arm_url}  (trust CA: {emulator.ca_cert_path})")
            print(f"  account:    {emulator.account_id}")
            print(f"  limits:     {emulator.url}/_emulator/limits ({ENVIRONMENT_VARIABLE})")
            print(f"  admin:      {emulator.url}/_emulator/info", flush=True)
            threading.Event().wait()
    except KeyboardInterrupt:
        print("Stopping the emulator.", flush=True)
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
