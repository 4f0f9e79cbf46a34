"""The one in-memory state both listeners share, behind one lock."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from localdev.emulator.catalog import DEFAULT_CATALOG, Catalog
from localdev.emulator.faults import FaultBook
from localdev.emulator.limits import Limits
from localdev.emulator.requestlog import RequestLog
from localdev.emulator.timings import Timings

if TYPE_CHECKING:
    from localdev.emulator.arm import Deployment, Operation
    from localdev.emulator.datasets import Dataset
    from localdev.emulator.files import StoredFile
    from localdev.emulator.jobs import Job


class State:
    """Files, jobs, deployments, faults and the request log of one emulated account.

    States that move with time (file processing, job progress, provisioning) are not advanced
    by threads: each read derives them from the elapsed time, so they are exact and repeatable.
    """

    def __init__(
        self,
        timings: Timings,
        *,
        subscription_id: str,
        resource_group: str,
        account_name: str,
        api_key: str,
        location: str = "eastus",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.lock = threading.RLock()
        self.timings = timings
        self.clock = clock
        self.subscription_id = subscription_id
        self.resource_group = resource_group
        self.account_name = account_name
        self.api_key = api_key
        self.location = location
        self.files: dict[str, StoredFile] = {}
        self.jobs: dict[str, Job] = {}
        self.deployments: dict[str, Deployment] = {}  # by lower-cased name
        self.operations: dict[str, Operation] = {}
        self.trained: dict[str, Dataset] = {}  # fine-tuned model id -> what it learned
        self.chat_calls: dict[str, list[float]] = {}  # deployment -> recent chat request times
        self.faults = FaultBook()
        self.log = RequestLog()
        self.catalog: Catalog = DEFAULT_CATALOG
        """The models this account offers (`catalog.json`, or a test's own file)."""
        self.limits = Limits()
        self.peaks: dict[str, int] = {}  # the highest use seen of each limit
        self.peers: dict[str, str] = {}
        """Accounts whose fine-tuned models this one deploys: ARM id (lower) -> data-plane URL."""

    def now(self) -> float:
        return self.clock()


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def derived_id(prefix: str, *parts: object) -> str:
    """A stable id derived from its parts, so lazily derived records keep their ids."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:32]
    return f"{prefix}-{digest}"
