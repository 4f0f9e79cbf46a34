"""Exact token counts of batches of texts, counted in worker threads while parsing goes on.

tiktoken's Rust core releases the GIL while it encodes, so two workers use both cores while the
main thread parses the next lines, provided each batch is one encode call (`joined_counts`).
At most `max_in_flight` batches wait, which bounds memory.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Generic, TypeVar

from shared.validation.joined_counts import MARK, count_each

Payload = TypeVar("Payload")
Encode = Callable[[str], Sequence[int]]


def _count_one_by_one(encode: Encode, texts: list[str]) -> list[int]:
    return [len(encode(text)) for text in texts]


class TokenPipeline(Generic[Payload]):
    """Counts batches in order: `submit` and `drain` give back `(payload, counts)` oldest first."""

    def __init__(self, encode: Encode, workers: int = 2, max_in_flight: int = 6) -> None:
        mark = encode(MARK)
        # An encoding where the mark is not one token cannot be joined: count text by text.
        self._count: Callable[[list[str]], list[int]] = (
            partial(count_each, encode, mark[0])
            if len(mark) == 1
            else partial(_count_one_by_one, encode)
        )
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tokens")
        self._in_flight: deque[tuple[Payload, Future[list[int]]]] = deque()
        self._max_in_flight = max_in_flight

    def submit(self, texts: list[str], payload: Payload) -> list[tuple[Payload, list[int]]]:
        """Queues a batch; returns the oldest finished batches while too many are waiting."""
        self._in_flight.append((payload, self._pool.submit(self._count, texts)))
        done = []
        while len(self._in_flight) > self._max_in_flight:
            done.append(self._pop())
        return done

    def drain(self) -> Iterator[tuple[Payload, list[int]]]:
        """Yields every batch still waiting, in order."""
        while self._in_flight:
            yield self._pop()

    def _pop(self) -> tuple[Payload, list[int]]:
        payload, future = self._in_flight.popleft()
        return payload, future.result()

    def close(self) -> None:
        for _, future in self._in_flight:
            future.cancel()
        self._in_flight.clear()
        self._pool.shutdown(wait=True)

    def __enter__(self) -> TokenPipeline[Payload]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
