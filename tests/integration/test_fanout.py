"""heap.handed_over, which Fanout calls as it hands chunks over, really gives freed memory back
to the system (glibc), seen in a fresh interpreter's resident size (Fanout itself:
tests/unit/test_fanout.py)."""

from __future__ import annotations

import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


# Holes: 1 MiB buffers freed below small live ones (malloc, not pymalloc: > 512 bytes) stay
# in the heap until trimmed.
HOLES = """
import sys
from bundler.fetch import heap

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096

keep, big = [], []
for _ in range(80):
    big.append(bytearray(1 << 20))
    keep.append(bytearray(2000))
big[0] = bytearray(1 << 20)  # the first free raises glibc's mmap threshold above 1 MiB
big = [bytearray(1 << 20) for _ in range(80)]
for _ in range(80):
    keep.append(bytearray(2000))
before = rss()
big.clear()
held = rss()
heap.handed_over(heap.TRIM_EVERY)
print(before, held, rss())
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_the_trim_gives_freed_buffers_back() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", HOLES], cwd=ROOT, capture_output=True, text=True, check=True
    )
    before, held, after = map(int, proc.stdout.split())
    assert held > before - (40 << 20), "glibc returned the freed buffers without a trim"
    assert after < held - (40 << 20), (before, held, after)
