"""`python -m localdev up|host|emulator|demo`: Tunedrop on this machine, no Azure needed."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import threading
from collections.abc import Callable

from localdev.config import LocalPorts, load_local_settings
from localdev.stack import STATE_DIR, running_stack, start_host
from shared.errors import SettingsError
from shared.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localdev", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="Azurite + emulator + Functions host, until Ctrl-C")
    up.add_argument("--timings", choices=["fast", "realistic"], default=None)
    commands.add_parser("host", help="only the Functions host, on the current settings")
    emulator = commands.add_parser(
        "emulator", help="only the Azure OpenAI/ARM emulator, on the ports in the settings"
    )
    emulator.add_argument("--timings", choices=["fast", "realistic"], default=None)
    demo = commands.add_parser("demo", help="the stack, a sample run to a deployed model, a chat")
    demo.add_argument("--timings", choices=["fast", "realistic"], default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("azure", "urllib3", "httpx", "httpx2", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    values = load_local_settings()
    if args.command == "host":
        return _serve_host(values)
    timings = args.timings or values.get("LOCALDEV_EMULATOR_TIMINGS", "fast")
    if args.command == "emulator":
        return _serve_emulator(values, timings)
    if args.command == "demo":
        from localdev.demo import run_demo

        return run_demo(values, timings=timings)
    return _up(values, timings)


def _checked(environ: dict[str, str]) -> bool:
    try:
        Settings.from_env(environ)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return False
    return True


def _serve_host(values: dict[str, str]) -> int:
    os.environ.update(values)
    if not _checked(dict(os.environ)):
        return 2
    host = start_host(os.environ, LocalPorts.from_settings(values).host)
    print(f"Functions host: {host.url}/api", flush=True)
    return _wait_for_interrupt(host.stop)


def _serve_emulator(values: dict[str, str], timings: str) -> int:
    """The emulator alone, for `func start`: its CA goes where local.settings expects it."""
    from localdev.emulator import Timings, running_emulator

    ports = LocalPorts.from_settings(values)
    with running_emulator(
        port=ports.emulator, arm_port=ports.emulator_arm, timings=Timings.named(timings)
    ) as emulator:
        STATE_DIR.mkdir(exist_ok=True)
        shutil.copyfile(emulator.ca_cert_path, STATE_DIR / "emulator-ca.pem")
        print(f"Azure OpenAI emulator: {emulator.url}  ARM: {emulator.arm_url}")
        print(f"ARM CA certificate:    {STATE_DIR / 'emulator-ca.pem'}", flush=True)
        return _wait_for_interrupt(lambda: None)


def _up(values: dict[str, str], timings: str) -> int:
    with running_stack(values, timings=timings) as stack:
        if not _checked(dict(os.environ)):
            return 2
        print(f"Azurite blob:   {stack.azurite.blob_endpoint}")
        print(f"Azurite table:  {stack.azurite.table_endpoint}")
        print(f"Azure OpenAI:   {stack.settings['AZURE_OPENAI_ENDPOINT']} (emulator)")
        print(f"ARM:            {stack.settings['ARM_ENDPOINT']} (emulator)")
        print(f"Functions host: {stack.host.url}/api  (try: curl {stack.host.url}/api/health)")
        print("Press Ctrl-C to stop.", flush=True)
        return _wait_for_interrupt(lambda: None)


def _wait_for_interrupt(stop: Callable[[], None]) -> int:
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("stopping", file=sys.stderr)
    finally:
        stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
