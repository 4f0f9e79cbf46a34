"""Calls a user function the way the Python worker does: sync in a thread, async on a loop."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from typing import Any


def call_handler(handler: Callable[..., Any], arguments: Mapping[str, Any]) -> Any:
    if inspect.iscoroutinefunction(handler):
        return asyncio.run(handler(**arguments))
    return handler(**arguments)
