"""Reads what each function of a `FunctionApp` declares, the way the Functions host indexes it."""

from __future__ import annotations

import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import azure.functions as func

SETTING_REFERENCE = re.compile(r"%([^%]+)%")
EVENT_GRID = "EventGrid"


class BindingError(ValueError):
    """A function declares something the local host cannot honour; the message says what."""


@dataclass(frozen=True)
class HttpFunction:
    name: str
    handler: Callable[..., Any]
    arg_name: str
    route: str
    methods: frozenset[str]
    auth_level: str  # "anonymous", "function" or "admin"


@dataclass(frozen=True)
class TimerFunction:
    name: str
    handler: Callable[..., Any]
    arg_name: str
    schedule: str
    run_on_startup: bool


@dataclass(frozen=True)
class BlobFunction:
    name: str
    handler: Callable[..., Any]
    arg_name: str
    container: str
    blob_pattern: str  # the part of the path after the container, e.g. "{name}"
    connection: str
    parameter_type: Any
    source: str = EVENT_GRID  # "EventGrid" or "LogsAndContainerScan" (the host's default)


@dataclass(frozen=True)
class QueueFunction:
    name: str
    handler: Callable[..., Any]
    arg_name: str
    queue: str
    connection: str


Function = HttpFunction | TimerFunction | BlobFunction | QueueFunction


def resolve_settings(text: str, environ: Mapping[str, str], where: str) -> str:
    """Replaces `%NAME%` with the app setting NAME, as the host does for binding expressions."""

    def lookup(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in environ:
            raise BindingError(f"{where} refers to app setting %{name}%, which is not set")
        return environ[name]

    return SETTING_REFERENCE.sub(lookup, text)


def _value(raw: Any) -> str:
    return str(getattr(raw, "value", raw))


def discover(app: func.FunctionApp, environ: Mapping[str, str]) -> list[Function]:
    """Every function of `app`, with `%SETTING%` references resolved from `environ`."""
    return [_describe(function, environ) for function in app.get_functions()]


def _describe(function: Any, environ: Mapping[str, str]) -> Function:
    name = function.get_function_name()
    handler = function.get_user_function()
    trigger = function.get_trigger().get_dict_repr()
    kind = _value(trigger["type"])
    arg_name = trigger["name"]
    where = f"function {name!r}"
    if kind == "httpTrigger":
        methods = trigger.get("methods") or list(func.HttpMethod)
        return HttpFunction(
            name=name,
            handler=handler,
            arg_name=arg_name,
            route=trigger.get("route") or name,
            methods=frozenset(_value(m).upper() for m in methods),
            auth_level=_value(trigger.get("authLevel", "function")).lower(),
        )
    if kind == "timerTrigger":
        return TimerFunction(
            name=name,
            handler=handler,
            arg_name=arg_name,
            schedule=resolve_settings(trigger["schedule"], environ, where),
            run_on_startup=bool(trigger.get("runOnStartup", False)),
        )
    if kind == "blobTrigger":
        path = resolve_settings(trigger["path"], environ, where)
        container, _, pattern = path.partition("/")
        return BlobFunction(
            name=name,
            handler=handler,
            arg_name=arg_name,
            container=container,
            blob_pattern=pattern or "{name}",
            connection=trigger.get("connection") or "AzureWebJobsStorage",
            parameter_type=typing.get_type_hints(handler).get(arg_name),
            source=_value(trigger.get("source") or "LogsAndContainerScan"),
        )
    if kind == "queueTrigger":
        return QueueFunction(
            name=name,
            handler=handler,
            arg_name=arg_name,
            queue=resolve_settings(trigger["queueName"], environ, where),
            connection=trigger.get("connection") or "AzureWebJobsStorage",
        )
    raise BindingError(f"{where} has a {kind} trigger, which the local host does not run")
