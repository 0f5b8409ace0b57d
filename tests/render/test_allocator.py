"""The fixed mmap threshold: large blocks go back to the system whatever was freed before."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")

# After a 16 MB block is freed, glibc serves a 6 MB block from its heap unless the threshold
# is fixed; mallinfo2's hblkhd counts the bytes held in mmapped blocks.
PROBE = """
import ctypes, sys
import numpy as np
from draftrender.render.allocator import fix_mmap_threshold

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
                 "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
fixed = fix_mmap_threshold() if sys.argv[1] == "fix" else False
big = np.ones(16 << 20, np.uint8)
del big
held = libc.mallinfo2().hblkhd
frame = np.ones(6 << 20, np.uint8)
print(fixed, libc.mallinfo2().hblkhd - held >= frame.nbytes)
"""


def probe(*args: str, env: dict | None = None) -> str:
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60,
                         env={**os.environ, **(env or {})})
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_frame_sized_blocks_are_mmapped_once_fixed():
    assert probe("fix") == ["True", "True"]
    assert probe("leave") == ["False", "False"]  # glibc's own rising threshold, which the fix stops


def test_the_users_own_setting_stands():
    assert probe("fix", env={"MALLOC_MMAP_THRESHOLD_": str(32 << 20)}) == ["False", "False"]


# 64 freed blocks of 1 MB (under the threshold: on the heap) below one still held, so glibc
# cannot shrink the heap from its top: their pages stay resident until they are released.
RELEASE = """
import os
import numpy as np
from draftrender.render.allocator import fix_mmap_threshold, release_free_memory

def resident() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

fix_mmap_threshold()
blocks = [np.ones(1 << 20, np.uint8) for _ in range(65)]
held = blocks.pop()
del blocks
freed = resident()
print(release_free_memory(), (freed - resident()) >> 20)
"""


def test_freed_heap_pages_go_back_to_the_system():
    out = subprocess.run([sys.executable, "-c", RELEASE], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    released, mb = out.stdout.split()
    assert released == "True" and int(mb) >= 48  # of the 64 MB freed
