"""Give each chunk of a stream to several consumers at once, one thread each.

Hashing (OpenSSL) and inflating (zlib) release the GIL on large buffers, so a sha256, a
sha512 and the tar-header check of a download run on separate cores while the main thread
keeps reading the socket. Queues are bounded: memory stays flat whatever the file size.
Small chunks (a throttled server hands over a few KiB per read) are joined into BATCH-sized
ones first: fewer hand-overs, and buffers of one size, which the heap reuses (heap.py).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence

from bundler.fetch import heap

_STOP = object()
BATCH = 1 << 20


class Fanout:
    def __init__(self, consumers: Sequence[Callable[[bytes], None]], depth: int = 8) -> None:
        self._queues: list[queue.Queue[object]] = [queue.Queue(depth) for _ in consumers]
        self.errors: list[BaseException | None] = [None] * len(consumers)
        self._threads = [
            threading.Thread(target=self._run, args=(i, consumer), daemon=True)
            for i, consumer in enumerate(consumers)
        ]
        for thread in self._threads:
            thread.start()
        self._closed = False
        self._pending: list[bytes] = []
        self._pending_size = 0

    def _run(self, index: int, consume: Callable[[bytes], None]) -> None:
        q = self._queues[index]
        while True:
            item = q.get()
            if item is _STOP:
                return
            if self.errors[index] is None:
                try:
                    consume(item)  # type: ignore[arg-type]
                except BaseException as exc:  # kept for the caller, who decides
                    self.errors[index] = exc

    def feed(self, chunk: bytes) -> None:
        if self._closed:
            raise RuntimeError("internal: Fanout fed after close()")
        if len(chunk) >= BATCH:
            self._flush()  # what came before, in order; a large chunk is never copied
            self._put(chunk)
            return
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        if self._pending_size >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            joined = b"".join(self._pending)
            self._pending, self._pending_size = [], 0
            self._put(joined)

    def _put(self, chunk: bytes) -> None:
        for q in self._queues:
            q.put(chunk)
        heap.handed_over(len(chunk))

    def close(self) -> list[BaseException | None]:
        """Wait until every consumer has seen every chunk; return their errors (or None)."""
        if not self._closed:
            self._closed = True
            self._flush()
            for q in self._queues:
                q.put(_STOP)
            for thread in self._threads:
                thread.join()
        return self.errors
