"""Lines out of a byte stream whose chunks split anywhere, with caps on line and file size."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

UTF8_BOM = b"\xef\xbb\xbf"


def read_chunks(fileobj: BinaryIO, size: int = 1 << 20) -> Iterator[bytes]:
    """The bytes of `fileobj` in chunks of at most `size` bytes, until end of file."""
    while chunk := fileobj.read(size):
        yield chunk


class LineReader:
    """Splits byte chunks into numbered lines without ever holding more than one capped line.

    Iterating yields `(line_number, content)`, 1-based, with the line end (`\\n` or `\\r\\n`)
    removed and a UTF-8 byte-order mark dropped from the start of the file. `content` is None for
    a line longer than `max_line_bytes`: its bytes are skipped up to the next newline instead of
    being buffered. Reading stops once more than `max_file_bytes` have been seen;
    `over_size_limit` then says so. `bytes_read` counts every byte consumed.
    """

    def __init__(self, chunks: Iterable[bytes], max_line_bytes: int, max_file_bytes: int) -> None:
        self._chunks = chunks
        self._max_line_bytes = max_line_bytes
        self._max_file_bytes = max_file_bytes
        self.bytes_read = 0
        self.over_size_limit = False

    def __iter__(self) -> Iterator[tuple[int, bytes | None]]:
        cap = self._max_line_bytes
        pending: list[bytes] = []  # pieces of the current line, from earlier chunks
        pending_size = 0
        overflowing = False  # the current line passed the cap: drop bytes until the newline
        line_number = 0
        at_start = True
        for chunk in self._chunks:
            if not chunk:
                continue
            self.bytes_read += len(chunk)
            excess = self.bytes_read - self._max_file_bytes
            if excess > 0:
                # Cut at the limit itself, so the lines seen never depend on where chunks end.
                self.over_size_limit = True
                chunk = chunk[: len(chunk) - excess]
            if at_start:
                # The BOM may itself be split across the first chunks.
                head = b"".join(pending) + chunk
                if len(head) < len(UTF8_BOM) and UTF8_BOM.startswith(head):
                    pending, pending_size = [head], len(head)
                    continue
                at_start = False
                pending, pending_size = [], 0
                chunk = head[len(UTF8_BOM) :] if head.startswith(UTF8_BOM) else head
            pieces = chunk.split(b"\n")
            last = pieces.pop()
            for piece in pieces:
                line_number += 1
                if overflowing or pending_size + len(piece) > cap:
                    yield line_number, None
                elif pending:
                    pending.append(piece)
                    yield line_number, _strip_cr(b"".join(pending))
                else:
                    yield line_number, _strip_cr(piece)
                pending, pending_size, overflowing = [], 0, False
            if not overflowing:
                if pending_size + len(last) > cap:
                    overflowing, pending, pending_size = True, [], 0
                elif last:
                    pending.append(last)
                    pending_size += len(last)
            if self.over_size_limit:
                return  # the line cut at the limit is incomplete: not yielded
        if at_start and pending:
            # A file shorter than a BOM: whatever it holds is its only line.
            pending = [b"".join(pending)]
        if overflowing:
            yield line_number + 1, None
        elif pending:
            yield line_number + 1, _strip_cr(b"".join(pending))


def _strip_cr(line: bytes) -> bytes:
    return line[:-1] if line.endswith(b"\r") else line
