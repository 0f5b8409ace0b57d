"""The C heap's setting for long renders (glibc).

glibc serves a large block from its heap, not from mmap, once a block that large has been
freed: its mmap threshold rises to the largest block freed, up to 32 MB. A render frees and
allocates frame-sized buffers of changing sizes for as long as it runs (decoded and scaled
pictures, text rasters, islands), so the heap fragments and grows with the video's length:
by about 40 MB over 10 minutes of 1080p, measured. A fixed threshold sends blocks of 4 MB
and more (whole RGB frames) to mmap, which gives them back to the system when freed; the
smaller buffers of every frame stay on the heap, where reusing them costs no page faults.
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys

M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)
MMAP_THRESHOLD = 4 << 20


@functools.cache
def fix_mmap_threshold() -> bool:
    """Fix glibc's mmap threshold at MMAP_THRESHOLD, once per process; False where it is not
    glibc, or where MALLOC_MMAP_THRESHOLD_ already sets it (the user's choice stands)."""
    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the process already runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    return mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
