"""Fanout hands every byte to every consumer in order, joins small chunks, never copies a large
one; heap.handed_over really gives freed memory back to the system (glibc)."""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bundler.fetch.fanout import BATCH, Fanout

ROOT = Path(__file__).resolve().parents[2]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.integers(0, 5000),
            st.sampled_from([BATCH - 1, BATCH, BATCH + 1, 2 * BATCH + 7]),
        ),
        max_size=20,
    )
)
def test_every_consumer_gets_every_byte_in_order(sizes: list[int]) -> None:
    chunks = [bytes([i % 251]) * n for i, n in enumerate(sizes)]
    seen: list[bytes] = []
    digest = hashlib.sha256()
    fanout = Fanout([seen.append, digest.update])
    for chunk in chunks:
        fanout.feed(chunk)
    assert fanout.close() == [None, None]
    whole = b"".join(chunks)
    assert b"".join(seen) == whole
    assert digest.hexdigest() == hashlib.sha256(whole).hexdigest()
    # Small chunks are joined: no hand-over below BATCH except before a large chunk or last.
    assert len(seen) <= sum(len(c) >= BATCH for c in chunks) * 2 + len(whole) // BATCH + 1


def test_small_chunks_are_joined_and_large_ones_passed_as_they_are() -> None:
    seen: list[bytes] = []
    fanout = Fanout([seen.append])
    for _ in range(1000):
        fanout.feed(b"x" * 4096)
    large = b"y" * (2 * BATCH)
    fanout.feed(large)
    fanout.close()
    assert [len(c) for c in seen] == [BATCH, BATCH, BATCH, 1000 * 4096 - 3 * BATCH, 2 * BATCH]
    assert seen[-1] is large


def test_a_failing_consumer_is_reported_and_the_others_finish() -> None:
    seen: list[bytes] = []

    def refuse(chunk: bytes) -> None:
        raise ValueError("bad bytes")

    fanout = Fanout([refuse, seen.append])
    for _ in range(3):
        fanout.feed(b"z" * BATCH)
    errors = fanout.close()
    assert isinstance(errors[0], ValueError) and errors[1] is None
    assert len(b"".join(seen)) == 3 * BATCH


def test_feeding_after_close_is_refused() -> None:
    fanout = Fanout([lambda chunk: None])
    fanout.close()
    with pytest.raises(RuntimeError):
        fanout.feed(b"late")


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
