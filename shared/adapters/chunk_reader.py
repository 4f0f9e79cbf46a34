"""A read-only file object over an iterator of byte chunks, for streaming uploads."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator


class ChunkReader(io.RawIOBase):
    """Reads from byte chunks as they come, holding at most one chunk in memory.

    It knows its total `size`, so HTTP clients that measure a file by seeking to its end (httpx
    multipart does) send a Content-Length instead of reading the whole file first; any other seek
    is refused.
    """

    def __init__(self, chunks: Iterator[bytes], size: int) -> None:
        super().__init__()
        self._chunks = chunks
        self._size = size
        self._buffer = b""
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_END and offset == 0:
            return self._size  # a measurement: the position does not move
        if whence == os.SEEK_SET and offset == self._position:
            return self._position
        raise io.UnsupportedOperation("a streamed blob can only be read forward")

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._buffer:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._buffer = chunk
        count = min(len(buffer), len(self._buffer))
        buffer[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        self._position += count
        return count
