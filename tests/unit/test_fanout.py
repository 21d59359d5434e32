"""Fanout hands every byte to every consumer in order, joins small chunks, never copies a large
one (that heap.handed_over gives freed memory back, in a fresh interpreter:
tests/integration/test_fanout.py)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bundler.fetch.fanout import BATCH, Fanout


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
