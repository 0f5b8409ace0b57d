"""render/cache.py BoundedCache: the latest entries kept, older ones only within the byte bound."""

from __future__ import annotations

import numpy as np

from draftrender.render.cache import BoundedCache


def test_entries_that_are_not_arrays_are_bounded_by_count():
    # An overlay is a (picture, Overlay) pair: no nbytes of its own, and a new one every frame
    # of a fade. Without a byte bound the cache holds exactly the latest `kept`.
    cache: BoundedCache[tuple] = BoundedCache(kept=2)
    for i in range(50):
        assert cache.get(i, lambda i=i: (np.zeros(1000), i)) == cache.peek(i)
    assert len(cache) == 2 and 49 in cache and 48 in cache and 47 not in cache
    assert cache.get(49, lambda: ("made again",))[1] == 49 and cache.misses == 50


def test_older_arrays_stay_within_the_byte_bound():
    cache: BoundedCache[np.ndarray] = BoundedCache(kept=2, max_bytes=10_000)
    for i in range(20):
        cache.get(i, lambda: np.zeros(1000, np.uint8))  # 1000 bytes each: ten fit
    assert len(cache) == 10 and cache.bytes == 10_000
    cache.get("big", lambda: np.zeros(50_000, np.uint8))  # one larger than the bound is still kept
    assert "big" in cache and 19 in cache and len(cache) == 2
