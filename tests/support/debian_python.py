"""A real Python 2.7 for the target-Python tests on a machine without pyenv's: Debian 11's own
packages (tests/support/debian11.py), extracted into build/, never installed.

    python -m tests.support.debian_python --out build/debian11-python2.7

The interpreter finds its standard library beside itself (usr/lib/python2.7); the libraries
that Debian 12 no longer has (libssl1.1, libffi7) are extracted beside it too, for the
modules that link them (ssl, ctypes). Run again, it downloads nothing.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import debian11
from tests.support.debian11 import MIRROR, extract

VERSION = "2.7.18-8+deb11u1"
# The interpreter, its standard library and the shared libraries it links that Debian 12 lacks.
PACKAGES = (
    f"python2.7-minimal={VERSION}",
    f"libpython2.7-minimal={VERSION}",
    f"libpython2.7-stdlib={VERSION}",
    "libssl1.1",
    "libffi7",
)
INTERPRETER = Path("usr/bin/python2.7")


def interpreter(out: Path) -> Path:
    return out / INTERPRETER


def _probe(root: Path) -> None:
    probe = subprocess.run([str(root / INTERPRETER), "-c", "import sys; print(sys.version)"],
                           capture_output=True, text=True, check=True)  # fmt: skip
    if not probe.stdout.startswith("2.7."):
        raise SystemExit(f"debian_python: expected Python 2.7, found {probe.stdout!r}")


def fetch(out: Path, mirror: str = MIRROR) -> Path:
    """Download and extract the packages into out (atomically: a half-done run leaves nothing)."""
    if not interpreter(out).exists():
        extract(out, PACKAGES, _probe, mirror)
    return interpreter(out)


if __name__ == "__main__":
    sys.exit(debian11.main(sys.argv[1:], __doc__ or "", fetch))
