"""Runs every function of a FunctionApp: HTTP on loopback, timers on schedule, blobs on change.

Blob triggers run as on Flex Consumption: only with `source: EventGrid`, fired by `BlobCreated`
events POSTed to the blobs webhook. Azurite publishes no events, so unless told otherwise
(`blob_events=False`) the host also runs a stand-in for the storage account's Event Grid system
topic (`localdev.host.event_grid`) that delivers them to its own webhook.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import azure.functions as func

from localdev.host.background import BackgroundLoop
from localdev.host.blob_webhook import FUNCTION_ID_PREFIX, PATH, BlobWebhook
from localdev.host.blobs import BlobTriggerRunner
from localdev.host.discovery import (
    EVENT_GRID,
    BindingError,
    BlobFunction,
    Function,
    HttpFunction,
    QueueFunction,
    TimerFunction,
    discover,
)
from localdev.host.event_grid import BlobCreatedPublisher
from localdev.host.host_config import HostConfig
from localdev.host.http_server import HttpFunctionServer
from localdev.host.queues import QueueTriggerRunner
from localdev.host.timers import TimerRunner

logger = logging.getLogger(__name__)


class LocalHost:
    """Hosts `app` the way `func start` would, with settings from `environ`.

    Binding expressions (`%SETTING%`) and blob connections are read from `environ`; the blob
    SDK-type converters read connections from the process environment, as in the real worker,
    so `environ` should be that environment.
    """

    def __init__(
        self,
        app: func.FunctionApp,
        environ: Mapping[str, str],
        *,
        port: int = 7071,
        config: HostConfig | None = None,
        function_key: str = "",
        poll_seconds: float = 1.0,
        blob_events: bool = True,
    ) -> None:
        self.config = config or HostConfig()
        functions = discover(app, environ)
        blob_functions = [f for f in functions if isinstance(f, BlobFunction)]
        for function in blob_functions:
            _refuse_polling(function)  # before the port is taken
        self.function_key = function_key
        self.http = HttpFunctionServer(
            ("127.0.0.1", port),
            [f for f in functions if isinstance(f, HttpFunction)],
            route_prefix=self.config.route_prefix,
            function_key=function_key,
        )
        # Each host is its own Event Grid subscription, named by its port, which a restart keeps.
        subscription = f"port{self.http.server_address[1]}"
        blob_runners = {
            f.name: BlobTriggerRunner(
                f,
                environ[f.connection],
                max_dequeue_count=self.config.blob_max_dequeue_count,
                poll_seconds=poll_seconds,
                subscription=subscription,
            )
            for f in blob_functions
        }
        self.http.blob_webhook = BlobWebhook(blob_runners, function_key)
        self.loops: list[BackgroundLoop] = list(blob_runners.values())
        for function in functions:
            if isinstance(function, TimerFunction):
                self.loops.append(TimerRunner(function))
            elif isinstance(function, BlobFunction) and blob_events:
                self.loops.append(
                    BlobCreatedPublisher(
                        environ[function.connection],
                        function.container,
                        self.blob_webhook_url(function.name),
                        subscription=f"{function.name}-{subscription}",
                        poll_seconds=poll_seconds,
                    )
                )
            elif isinstance(function, QueueFunction):
                self.loops.append(
                    QueueTriggerRunner(
                        function,
                        environ[function.connection],
                        max_dequeue_count=self.config.queue_max_dequeue_count,
                        poll_seconds=poll_seconds,
                        retry_visibility_seconds=self.config.queue_visibility_seconds,
                    )
                )
        self.functions = functions

    @property
    def url(self) -> str:
        return self.http.url

    def blob_webhook_url(self, function_name: str) -> str:
        """Where Event Grid delivers the blob events of one function (the key, if enforced)."""
        code = f"&code={self.function_key}" if self.function_key else ""
        return f"{self.url}{PATH}?functionName={FUNCTION_ID_PREFIX}{function_name}{code}"

    def start(self) -> None:
        self.http.start()
        for loop in self.loops:
            loop.start()
        for function in self.functions:
            logger.info(
                "function %s: %s",
                function.name,
                describe(function, self.url, self.config.route_prefix),
            )

    def stop(self) -> None:
        for loop in reversed(self.loops):
            loop.stop()
        self.http.stop()

    def __enter__(self) -> LocalHost:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def _refuse_polling(function: BlobFunction) -> None:
    if function.source != EVENT_GRID:
        raise BindingError(
            f"function {function.name!r} is a blob trigger with source {function.source}, which "
            "polls the container; Flex Consumption runs only source=func.BlobSource.EVENT_GRID, "
            "and so does this host"
        )


def describe(function: Function, url: str, prefix: str) -> str:
    if isinstance(function, HttpFunction):
        methods = ",".join(sorted(function.methods))
        return f"[{methods}] {url}/{prefix}/{function.route}"
    if isinstance(function, TimerFunction):
        return f"timer {function.schedule!r}"
    if isinstance(function, QueueFunction):
        return f"queue {function.queue}"
    return (
        f"blob {function.container}/{function.blob_pattern} (Event Grid: "
        f"POST {url}{PATH}?functionName={FUNCTION_ID_PREFIX}{function.name})"
    )
