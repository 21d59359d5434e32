"""Progress on stderr: tqdm bars on a terminal, plain lines otherwise, nothing when quiet.

Warnings are always shown: a build that could not check a signature must say so even when
asked to be quiet. Every line is redacted (bundler.redact).
"""

from __future__ import annotations

import sys
import threading
from typing import Protocol, TextIO

from bundler.redact import redact


class Bar(Protocol):
    def total(self, total: int | None) -> None: ...
    def update(self, n: int) -> None: ...
    def reset(self) -> None: ...
    def close(self) -> None: ...


class _NoBar:
    def total(self, total: int | None) -> None:
        pass

    def update(self, n: int) -> None:
        pass

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


class _TqdmBar:
    def __init__(self, label: str, stream: TextIO) -> None:
        from tqdm import tqdm  # only on a terminal: plain lines need no tqdm

        self._bar = tqdm(
            desc=label, unit="B", unit_scale=True, unit_divisor=1024, file=stream, leave=False
        )

    def total(self, total: int | None) -> None:
        self._bar.total = total
        self._bar.refresh()

    def update(self, n: int) -> None:
        self._bar.update(n)

    def reset(self) -> None:
        self._bar.reset()

    def close(self) -> None:
        self._bar.close()


class Progress:
    def __init__(self, quiet: bool = False, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.bars = not quiet and self.stream.isatty()
        self._lock = threading.Lock()

    def _write(self, line: str) -> None:
        line = redact(line)  # a URL's password never reaches the screen or a log
        with self._lock:
            if self.bars:
                from tqdm import tqdm

                tqdm.write(line, file=self.stream)
            else:
                print(line, file=self.stream, flush=True)

    def info(self, message: str) -> None:
        if not self.quiet:
            self._write(message)

    def warn(self, message: str) -> None:
        self._write(f"WARNING: {message}")

    def note(self, message: str) -> None:
        """What the result lacks or holds that the user should know, even under --quiet;
        not a warning: nothing failed."""
        self._write(f"note: {message}")

    def bar(self, label: str) -> Bar:
        if self.bars:
            return _TqdmBar(label, self.stream)
        return _NoBar()
