"""The C heap's setting for long renders (glibc).

glibc serves a large block from its heap, not from mmap, once a block that large has been
freed: its mmap threshold rises to the largest block freed, up to 32 MB. A render frees and
allocates frame-sized buffers of changing sizes for as long as it runs (decoded and scaled
pictures, text rasters, islands), so the heap fragments and grows with the video's length:
by about 40 MB over 10 minutes of 1080p, measured. A fixed threshold sends blocks of 4 MB
and more (whole RGB frames) to mmap, which gives them back to the system when freed; the
smaller buffers of every frame stay on the heap, where reusing them costs no page faults.

Those smaller buffers still leave free holes in the heaps (one per thread that allocates)
as decoders open and close and pictures change size: 40 to 60 MB of a 1080p render's memory,
measured with mallinfo2, free but still resident. `release_free_memory` hands the free pages
back (malloc_trim), once a second of video: 15 to 40 MB less at the peak for about 2 ms a call.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys

M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)
MMAP_THRESHOLD = 4 << 20


@functools.cache
def _libc():
    """The C library the process runs on, where it is glibc; else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
    except OSError:
        return None
    if not all(hasattr(libc, name) for name in ("mallopt", "malloc_trim")):  # glibc's own: not musl's
        return None
    libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    libc.malloc_trim.argtypes = (ctypes.c_size_t,)
    return libc


@functools.cache
def fix_mmap_threshold() -> bool:
    """Fix glibc's mmap threshold at MMAP_THRESHOLD, once per process; False where it is not
    glibc, or where MALLOC_MMAP_THRESHOLD_ already sets it (the user's choice stands)."""
    libc = _libc()
    if libc is None or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    return libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1


def release_free_memory() -> bool:
    """Give the free pages of the C heaps back to the system (glibc's malloc_trim); False
    where it is not glibc."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True
