"""The running emulator: two listeners over one state, and the context manager that runs it."""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from localdev.emulator import admin, catalog, peers, planes
from localdev.emulator import limits as account_limits
from localdev.emulator.arm import Deployment, account_path
from localdev.emulator.faults import Fault
from localdev.emulator.requestlog import RequestRecord
from localdev.emulator.server import Listener
from localdev.emulator.store import State
from localdev.emulator.timings import Timings
from localdev.emulator.tls import make_loopback_certificate

logger = logging.getLogger(__name__)

# Fixed, public values: nothing here is a secret, and a stable key keeps local settings simple.
DEFAULT_API_KEY = "tunedrop-emulator-key"
DEFAULT_SUBSCRIPTION_ID = "00000000-0000-0000-0000-000000000000"
DEFAULT_RESOURCE_GROUP = "tunedrop-local"
DEFAULT_ACCOUNT_NAME = "tunedrop-aoai-local"
HOST = "127.0.0.1"


class Emulator:
    """Azure OpenAI (data plane, HTTP) and ARM deployments (HTTPS) for one account, on loopback.

    Use `running_emulator()`; `url`, `arm_url` and `ca_cert_path` are set once started.
    """

    def __init__(
        self,
        *,
        port: int = 0,
        arm_port: int = 0,
        timings: Timings | None = None,
        base_deployments: Mapping[str, str] | None = None,
        api_key: str = DEFAULT_API_KEY,
        subscription_id: str = DEFAULT_SUBSCRIPTION_ID,
        resource_group: str = DEFAULT_RESOURCE_GROUP,
        account_name: str = DEFAULT_ACCOUNT_NAME,
        clock: Callable[[], float] = time.time,
        catalog_file: Path | None = None,
        limits: account_limits.Limits | None = None,
    ) -> None:
        self.timings = timings or Timings.fast()
        self.api_key = api_key
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.account_name = account_name
        self._ports = (port, arm_port)
        self._base_deployments = dict(
            catalog.DEFAULT_BASE_DEPLOYMENTS if base_deployments is None else base_deployments
        )
        self._state = State(
            self.timings,
            subscription_id=subscription_id,
            resource_group=resource_group,
            account_name=account_name,
            api_key=api_key,
            clock=clock,
        )
        if catalog_file is not None:
            self._state.catalog = catalog.Catalog.load(catalog_file)
        if limits is not None:
            self._state.limits = limits
        self._stopping = threading.Event()
        self._listeners: list[Listener] = []
        self._cert_dir: Path | None = None
        self.url = ""
        self.arm_url = ""
        self.ca_cert_path = Path()

    @property
    def catalog(self) -> catalog.Catalog:
        """The account's models, with their dates as it shows them (`Catalog.day`)."""
        return self._state.catalog

    @property
    def account_id(self) -> str:
        """The ARM id of the emulated account."""
        return account_path(self._state)

    def start(self) -> None:
        """Binds both ports and serves; on any failure closes what it opened and re-raises."""
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        self._add_base_deployments()
        self._cert_dir = Path(tempfile.mkdtemp(prefix="tunedrop-emulator-"))
        certificate = make_loopback_certificate(self._cert_dir)
        self.ca_cert_path = certificate.ca_cert_path
        info: dict[str, str] = {}
        data = Listener(
            planes.data_plane_app(self._state, info), host=HOST, port=self._ports[0],
            stopping=self._stopping,
        )  # fmt: skip
        self._listeners.append(data)
        arm = Listener(
            planes.arm_app(self._state), host=HOST, port=self._ports[1],
            ssl_context=certificate.server_context(), stopping=self._stopping,
        )  # fmt: skip
        self._listeners.append(arm)
        self.url = f"http://{HOST}:{data.port}"
        self.arm_url = f"https://{HOST}:{arm.port}"
        info.update(
            url=self.url, arm_url=self.arm_url, ca_cert_path=str(self.ca_cert_path),
            api_key=self.api_key, subscription_id=self.subscription_id,
            resource_group=self.resource_group, account_name=self.account_name,
        )  # fmt: skip
        for listener in self._listeners:
            listener.start()
        logger.info("emulator started: data plane %s, ARM %s", self.url, self.arm_url)

    def stop(self) -> None:
        self._stopping.set()
        for listener in self._listeners:
            listener.stop()
        if self._cert_dir is not None:
            shutil.rmtree(self._cert_dir, ignore_errors=True)

    def requests(self) -> list[RequestRecord]:
        """Every request served so far (admin endpoints excepted), oldest first."""
        return self._state.log.records()

    def count(self, method: str, path_contains: str) -> int:
        """How many requests had this method and a path containing `path_contains`."""
        return self._state.log.count(method, path_contains)

    def inject(self, fault: Fault) -> None:
        """Arms a fault; the same book the POST /_emulator/faults endpoint fills."""
        self._state.faults.add(fault)

    def clear_faults(self) -> None:
        self._state.faults.clear()

    def release_holds(self) -> None:
        """Ends every `timeout` or `lost_answer` hold in progress now (the connection closes)."""
        self._state.faults.release_holds()

    def set_limits(self, **changes: object) -> account_limits.Limits:
        """Changes some limits (the keys of `PUT /_emulator/limits`); returns them all."""
        admin.set_limits(self._state, self._state.limits.changed(changes))
        return self._state.limits

    def limits_report(self) -> dict[str, object]:
        """Limits, use now and the highest use seen (`GET /_emulator/limits`)."""
        return account_limits.report(self._state)

    def set_peers(self, accounts: Mapping[str, str]) -> None:
        """The accounts (ARM id -> data-plane URL) whose fine-tuned models this one deploys
        when a deployment names them as its model's `source` (`PUT /_emulator/peers`)."""
        peers.set_peers(self._state, dict(accounts))

    def reset_high_water(self) -> None:
        """Forgets the highest use seen, so a test measures only its own."""
        with self._state.lock:
            self._state.peaks.clear()

    def _add_base_deployments(self) -> None:
        now = self._state.now()
        for name, model_id in self._base_deployments.items():
            model = self._state.catalog.base_model(model_id)
            if model is None:
                raise ValueError(
                    f'base deployment "{name}": "{model_id}" is not a known base model'
                )
            self._state.deployments[name.lower()] = Deployment(
                name=name, model_name=model.arm_name, model_version=model.version,
                serves=model.id, sku_name="GlobalStandard", capacity=10,
                succeeded_at=now, ready_at=now,
            )  # fmt: skip


@contextmanager
def running_emulator(
    *,
    port: int = 0,
    arm_port: int = 0,
    timings: Timings | None = None,
    base_deployments: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.time,
    catalog_file: Path | None = None,
    limits: account_limits.Limits | None = None,
    account_name: str = DEFAULT_ACCOUNT_NAME,
) -> Iterator[Emulator]:
    """Runs an emulator for the `with` block. Port 0 picks a free port.

    `base_deployments` maps deployment name -> base model id, deployed and ready at start
    (default: gpt-4o-mini and gpt-4o). `clock` (seconds) is what files, jobs and deployments
    age by: a test can stop it to look at a job in a state it would otherwise pass in a blink.
    `catalog_file` replaces the dated `catalog.json` (the models and their retirement dates).
    `limits`: the account's count limits (default: the documented ones).
    """
    emulator = Emulator(
        port=port, arm_port=arm_port, timings=timings, base_deployments=base_deployments,
        clock=clock, catalog_file=catalog_file, limits=limits, account_name=account_name,
    )  # fmt: skip
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()
