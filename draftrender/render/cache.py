"""The one bounded cache the frame path keeps its per-segment work in (text rasters, mask
coverages, text line positions, reduced photos).

The latest `kept` entries are always kept; older ones only while all together take at most
`max_bytes` (an entry that is not an array counts as none), and never without a `max_bytes`.
Entries are looked up often and made rarely, so least recently used goes first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


def size_of(value: object) -> int:
    """Bytes an entry holds: an array's buffer, else nothing worth counting."""
    return int(getattr(value, "nbytes", 0))


class BoundedCache(Generic[V]):
    def __init__(self, kept: int, max_bytes: int = 0):
        self.kept = kept
        self.max_bytes = max_bytes
        self.bytes = 0
        self.misses = 0  # entries made: what the cache could not spare
        self._entries: OrderedDict[Hashable, V] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def peek(self, key: Hashable) -> V | None:
        """The entry for `key` if it is held, without making it."""
        return self._entries.get(key)

    def get(self, key: Hashable, make: Callable[[], V]) -> V:
        """The entry for `key`, made by `make()` when it is not held."""
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
            return value
        value = make()
        self.misses += 1
        self._entries[key] = value
        self.bytes += size_of(value)
        while len(self._entries) > self.kept and (not self.max_bytes or self.bytes > self.max_bytes):
            self.bytes -= size_of(self._entries.popitem(last=False)[1])
        return value

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0
