"""Debian 11's own packages for the tests, downloaded through a private apt configuration (the
system's sources, lists and cache stay untouched), checked by apt against the suite's signed
Release file, and extracted with `dpkg -x`, never installed.

    root = extract(out, ("python2.7-minimal=2.7.18-8+deb11u1", ...), probe)

probe(tree) checks the extracted tree (and may finish it) before it is moved to out, so a
half-done run leaves nothing. Callers skip it when out is complete already.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

SUITE = "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] {url} bullseye main\n"
MIRROR = "http://deb.debian.org/debian"


def extract(
    out: Path, packages: tuple[str, ...], probe: Callable[[Path], None], mirror: str = MIRROR
) -> Path:
    """The packages extracted into out (made atomically, replacing what is there)."""
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
        subprocess.run([*apt, "download", *packages], check=True, cwd=work / "debs",
                       stdout=subprocess.DEVNULL)  # fmt: skip
        for deb in sorted((work / "debs").glob("*.deb")):
            subprocess.run(["dpkg", "-x", str(deb), str(work / "root")], check=True)
        probe(work / "root")
        if out.exists():
            shutil.rmtree(out)
        (work / "root").rename(out)
    return out


def main(argv: list[str] | None, doc: str, fetch: Callable[[Path, str], Path]) -> int:
    """The command line of a module that fetches into --out: prints what fetch returns."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--mirror", default=MIRROR, help="a Debian archive (default: %(default)s)")
    args = parser.parse_args(argv)
    print(fetch(args.out.resolve(), args.mirror))
    return 0
