"""A compact set of 64-bit digests remembering the first line of each, for duplicate detection.

A dict of Python ints costs about 100 bytes an entry; this open-addressing table over typed
arrays costs 16-36 bytes, which keeps duplicate detection of a 500 MB file within tens of MB.
"""

from __future__ import annotations

from array import array

_EMPTY = 0
_INITIAL_SLOTS = 1 << 10


_UNSIGNED_64 = (1 << 64) - 1


def digest(data: bytes | str) -> int:
    """A 64-bit digest of `data`, never zero (zero marks an empty slot).

    Python's own hash of str and bytes (SipHash, keyed per process) is a good 64-bit digest and
    several times faster than hashlib; digests are only compared within one validation run.
    """
    return (hash(data) & _UNSIGNED_64) or 1


class DigestIndex:
    """Maps digests to the first line they were seen on, plus one 64-bit tag per digest."""

    def __init__(self, *, with_tags: bool = False) -> None:
        self._with_tags = with_tags
        self._allocate(_INITIAL_SLOTS)
        self.size = 0

    def _allocate(self, slots: int) -> None:
        self._keys = array("Q", bytes(8 * slots))
        self._lines = array("I", bytes(4 * slots))
        self._tags = array("Q", bytes(8 * slots if self._with_tags else 0))
        self._mask = slots - 1

    def _slot(self, key: int) -> int:
        keys, mask = self._keys, self._mask
        slot = key & mask
        while True:
            found = keys[slot]
            if found in (key, _EMPTY):
                return slot
            slot = (slot + 1) & mask

    def find(self, key: int) -> tuple[int, int] | None:
        """`(first_line, tag)` of `key`, or None if it was never added."""
        slot = self._slot(key)
        if self._keys[slot] == _EMPTY:
            return None
        return self._lines[slot], self._tag(slot)

    def _tag(self, slot: int) -> int:
        return self._tags[slot] if self._with_tags else 0

    def add(self, key: int, line: int, tag: int = 0) -> tuple[int, int] | None:
        """Adds `key` first seen on `line`; returns `(first_line, tag)` if it was already there."""
        keys, mask = self._keys, self._mask
        slot = key & mask
        while (found := keys[slot]) != _EMPTY:  # the probe of `_slot`, inlined: this runs per line
            if found == key:
                return self._lines[slot], self._tag(slot)
            slot = (slot + 1) & mask
        self._put(slot, key, line, tag)
        self.size += 1
        # Linear probing stays short up to a load of 3/4.
        if self.size * 4 > self._mask * 3:
            self._grow()
        return None

    def _put(self, slot: int, key: int, line: int, tag: int) -> None:
        self._keys[slot] = key
        self._lines[slot] = line
        if self._with_tags:
            self._tags[slot] = tag

    def _grow(self) -> None:
        keys, lines, tags = self._keys, self._lines, self._tags
        self._allocate((self._mask + 1) * 2)
        for old_slot, key in enumerate(keys):
            if key != _EMPTY:
                tag = tags[old_slot] if self._with_tags else 0
                self._put(self._slot(key), key, lines[old_slot], tag)
