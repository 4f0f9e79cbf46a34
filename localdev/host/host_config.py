"""The parts of `host.json` the local host honours."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class HostConfig:
    route_prefix: str = "api"
    blob_max_dequeue_count: int = 5
    queue_max_dequeue_count: int = 5
    queue_visibility_seconds: float = 0.0
    """How long a message whose function failed stays invisible before its next try."""

    @classmethod
    def load(cls, path: Path) -> HostConfig:
        if not path.exists():
            return cls()
        extensions = json.loads(path.read_text(encoding="utf-8")).get("extensions", {})
        return cls(
            route_prefix=extensions.get("http", {}).get("routePrefix", "api"),
            # The blob extension 5.x's key: it ignores a `maxDequeueCount` under "blobs".
            blob_max_dequeue_count=int(extensions.get("blobs", {}).get("poisonBlobThreshold", 5)),
            queue_max_dequeue_count=int(extensions.get("queues", {}).get("maxDequeueCount", 5)),
            queue_visibility_seconds=_seconds(
                extensions.get("queues", {}).get("visibilityTimeout", "00:00:00")
            ),
        )


def _seconds(timespan: str) -> float:
    """A host.json timespan, `hh:mm:ss`, in seconds."""
    hours, minutes, seconds = (float(part) for part in timespan.split(":"))
    return hours * 3600 + minutes * 60 + seconds
