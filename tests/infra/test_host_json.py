"""host.json uses the keys the Functions host reads: a key it does not know is silently ignored.

The blob extension 5.x takes its retry limit from `extensions.blobs.poisonBlobThreshold` (default
5, "the number of times to try processing a message before moving it to the poison queue":
learn.microsoft.com, Azure Blob storage bindings for Azure Functions, host.json settings);
`maxDequeueCount` belongs to the queues extension only.
"""

from __future__ import annotations

import json
from pathlib import Path

from localdev.azurite import REPO_ROOT
from localdev.host.host_config import HostConfig

HOST_JSON = REPO_ROOT / "host.json"


def test_the_blob_poison_threshold_is_set_with_the_key_the_blob_extension_reads() -> None:
    blobs = json.loads(HOST_JSON.read_text(encoding="utf-8"))["extensions"]["blobs"]
    assert blobs["poisonBlobThreshold"] == 5, "5 tries in all, then the poison queue"
    assert "maxDequeueCount" not in blobs, "the blob extension ignores maxDequeueCount"


def test_the_local_host_takes_its_blob_retries_from_poison_blob_threshold(tmp_path: Path) -> None:
    host_json = tmp_path / "host.json"
    host_json.write_text(json.dumps({"extensions": {"blobs": {"poisonBlobThreshold": 2}}}))
    assert HostConfig.load(host_json).blob_max_dequeue_count == 2
    host_json.write_text(json.dumps({"extensions": {"blobs": {"maxDequeueCount": 2}}}))
    assert HostConfig.load(host_json).blob_max_dequeue_count == 5, "an ignored key changes nothing"
    assert HostConfig.load(HOST_JSON).blob_max_dequeue_count == 5
