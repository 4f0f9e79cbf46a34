"""`AzureOpenAIModelCatalog`: the account's models from `GET /openai/models`, cached.

One call answers for every run of a tick: the answer is kept for `ttl` (the MODEL_CATALOG_TTL
setting, an hour by default), so the 30 s timer asks the account about once an hour, and a
retirement the account announces is seen within that hour.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

import openai

from shared.adapters.openai_errors import openai_errors
from shared.errors import TransientServiceError
from shared.model_catalog import CatalogModel


class AzureOpenAIModelCatalog:
    """`ModelCatalog` on Azure OpenAI, through the `openai` client's `models.list()`."""

    def __init__(
        self,
        client: openai.AzureOpenAI,
        ttl: timedelta = timedelta(hours=1),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._ttl = ttl.total_seconds()
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, tuple[CatalogModel, ...]] | None = None
        self._looked_for: set[str] = set()

    def models(self, expecting: str | None = None) -> Sequence[CatalogModel]:
        with self._lock:
            cached = self._cached
            if cached is None or self._clock() - cached[0] >= self._ttl:
                return self._refresh()
            if expecting is None or expecting in self._looked_for:
                return cached[1]
            if any(model.id == expecting for model in cached[1]):
                return cached[1]
            # Not listed when the list was read: perhaps fine-tuned since. Ask once; a model
            # that is still missing (a checkpoint, a typo) is not asked about again until the
            # next read, so a tick of many runs never turns into many calls.
            self._looked_for.add(expecting)
            return self._refresh(keep_looked_for=True)

    def _refresh(self, keep_looked_for: bool = False) -> tuple[CatalogModel, ...]:
        answer = self._read()
        self._cached = (self._clock(), answer)
        if not keep_looked_for:
            self._looked_for = set()
        return answer

    def _read(self) -> tuple[CatalogModel, ...]:
        with openai_errors("listing the account's models"):
            # The SDK's `Model` keeps the Azure fields it does not declare (capabilities,
            # lifecycle_status, deprecation); `to_dict` hands them all back.
            items = [item.to_dict() for item in self._client.models.list()]
        try:
            return tuple(CatalogModel.from_api(item) for item in items if item.get("id"))
        except (TypeError, ValueError, AttributeError) as exc:
            raise TransientServiceError(
                f"the account's model list could not be read: {exc}"
            ) from exc
