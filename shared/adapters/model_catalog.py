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

    def models(self) -> Sequence[CatalogModel]:
        with self._lock:
            if self._cached is not None and self._clock() - self._cached[0] < self._ttl:
                return self._cached[1]
            answer = self._read()
            self._cached = (self._clock(), answer)
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
