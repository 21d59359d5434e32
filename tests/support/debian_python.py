"""A real Python 2.7 for the target-Python tests on a machine without pyenv's: Debian 11's own
packages, downloaded through a private apt configuration (the system's sources, lists and
cache stay untouched), checked by apt against the suite's signed Release file, and extracted
with `dpkg -x` into build/, never installed.

    python -m tests.support.debian_python --out build/debian11-python2.7

The interpreter finds its standard library beside itself (usr/lib/python2.7); the libraries
that Debian 12 no longer has (libssl1.1, libffi7) are extracted beside it too, for the
modules that link them (ssl, ctypes). Run again, it downloads nothing.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SUITE = "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] {url} bullseye main\n"
MIRROR = "http://deb.debian.org/debian"
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


def fetch(out: Path, mirror: str = MIRROR) -> Path:
    """Download and extract the packages into out (atomically: a half-done run leaves nothing)."""
    if interpreter(out).exists():
        return interpreter(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="debian11-", dir=out.parent) as scratch:
        work = Path(scratch)
        for sub in ("lists/partial", "cache/archives/partial", "debs", "root"):
            (work / sub).mkdir(parents=True)
        (work / "sources.list").write_text(SUITE.format(url=mirror))
        apt = [
            "apt-get", "-q",
            "-o", f"Dir::Etc::SourceList={work / 'sources.list'}",
            "-o", "Dir::Etc::SourceParts=/dev/null",
            "-o", f"Dir::State::Lists={work / 'lists'}",
            "-o", f"Dir::Cache={work / 'cache'}",
            "-o", "Debug::NoLocking=1",
            # Downloads land in a folder of ours, not apt's sandbox user's.
            "-o", "APT::Sandbox::User=root",
        ]  # fmt: skip
        subprocess.run([*apt, "update"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([*apt, "download", *PACKAGES], check=True, cwd=work / "debs",
                       stdout=subprocess.DEVNULL)  # fmt: skip
        for deb in sorted((work / "debs").glob("*.deb")):
            subprocess.run(["dpkg", "-x", str(deb), str(work / "root")], check=True)
        python = work / "root" / INTERPRETER
        probe = subprocess.run([str(python), "-c", "import sys; print(sys.version)"],
                               capture_output=True, text=True, check=True)  # fmt: skip
        if not probe.stdout.startswith("2.7."):
            raise SystemExit(f"debian_python: expected Python 2.7, found {probe.stdout!r}")
        if out.exists():
            shutil.rmtree(out)
        (work / "root").rename(out)
    return interpreter(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--mirror", default=MIRROR, help="a Debian archive (default: %(default)s)")
    args = parser.parse_args(argv)
    print(fetch(args.out.resolve(), args.mirror))
    return 0


if __name__ == "__main__":
    sys.exit(main())
