"""Other emulated accounts this one can deploy fine-tuned models from (cross-region deployment).

Azure OpenAI deploys a model fine-tuned on account A on account B when B's deployment PUT
names A as `properties.model.source` (its ARM id). Each emulated account is its own server
(often its own process), so B asks A over HTTP what the model learnt:

    state.peers                    ARM id of an account (lower case) -> its data-plane URL
    GET  /_emulator/fine-tuned/M   on A: what model M answers as and what it learnt (404: none)
    PUT  /_emulator/peers          on B: {"<ARM id>": "<data-plane URL>", ...} (localdev.pool)

An unknown source, or a model the source does not hold, is refused as an unknown model is
(400 `DeploymentModelNotSupported`, the spec's ErrorResponse shape; the real status and code
for these two cases are not documented, so both are a guess).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING, Any

from localdev.emulator.datasets import Dataset, Example
from localdev.emulator.wire import ApiError

if TYPE_CHECKING:
    from localdev.emulator.store import State

PEER_TIMEOUT_SECONDS = 10.0
NOT_SUPPORTED = "DeploymentModelNotSupported"


def fetch(state: State, source: str, name: str, shown: str) -> str:
    """The id model `name` of account `source` answers as, its training copied here; raises
    the service's refusal when the source or the model there is unknown."""
    url = state.peers.get(source.lower())
    if url is None:
        raise ApiError(
            400,
            NOT_SUPPORTED,
            f"The model '{shown}' is not supported or does not exist in this account, and its "
            f"source '{source}' is not an account this one can deploy from.",
        )
    address = f"{url}/_emulator/fine-tuned/{urllib.parse.quote(name, safe='')}"
    try:
        with urllib.request.urlopen(address, timeout=PEER_TIMEOUT_SECONDS) as answer:
            payload = json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise ApiError(500, "InternalServerError", f"The source account failed: {exc}") from exc
        raise ApiError(
            400,
            NOT_SUPPORTED,
            f"The model '{shown}' does not exist in the source account '{source}'.",
        ) from exc
    served = str(payload["served"])
    examples = tuple(Example(str(u), str(a), int(t)) for u, a, t in payload["examples"])
    with state.lock:
        state.trained[served] = Dataset(examples, str(payload["fingerprint"]))
    return served


def describe(served: str, dataset: Dataset | None) -> dict[str, Any]:
    """The answer of `GET /_emulator/fine-tuned/M`: what M answers as and what it learnt."""
    examples = dataset.examples if dataset is not None else ()
    return {
        "served": served,
        "examples": [[e.user, e.assistant, e.tokens] for e in examples],
        "fingerprint": dataset.fingerprint if dataset is not None else "",
    }


def set_peers(state: State, peers: Any) -> None:
    """Replaces the accounts this one deploys from (`PUT /_emulator/peers`)."""
    if not isinstance(peers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in peers.items()
    ):
        raise ApiError(400, "invalidPeers", "Peers must be an object of ARM id -> URL.")
    with state.lock:
        state.peers = {key.lower(): value.rstrip("/") for key, value in peers.items()}
