"""Give each chunk of a stream to several consumers at once, one thread each.

Hashing (OpenSSL) and inflating (zlib) release the GIL on large buffers, so a sha256, a
sha512 and the tar-header check of a download run on separate cores while the main thread
keeps reading the socket. Queues are bounded: memory stays flat whatever the file size.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence

_STOP = object()


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
        for q in self._queues:
            q.put(chunk)

    def close(self) -> list[BaseException | None]:
        """Wait until every consumer has seen every chunk; return their errors (or None)."""
        if not self._closed:
            self._closed = True
            for q in self._queues:
                q.put(_STOP)
            for thread in self._threads:
                thread.join()
        return self.errors
