"""The installer's own package, copied into PREFIX/lib/onhost: what `bin/stormctl status|check|
rollback` runs on the host, with no bundle at hand. Recorded as files the installer owns; an
upgrade keeps the old copy with the other generated files (previous.py)."""

from __future__ import absolute_import, print_function

import os

from ..host.system import read_bytes, read_or_none
from .record import track

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Dict, List  # noqa: F401

    from .record import Run  # noqa: F401

LIB = "lib/onhost/"


def package_files(folder):
    # type: (str) -> Dict[str, bytes]
    """{path relative to the package: bytes} of the package in folder (no caches, and not
    install.sh, which only a bundle runs)."""
    found = {}
    for parent, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in names:
            if name.endswith((".pyc", ".pyo")) or name == "install.sh":
                continue
            path = os.path.join(parent, name)
            rel = os.path.relpath(path, folder).replace(os.sep, "/")
            found[rel] = read_bytes(path)
    return found


def install_package(run):
    # type: (Run) -> None
    host = run.host
    files = package_files(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    wanted = dict((LIB + rel, data) for rel, data in files.items())
    stale = sorted(r for r in run.state["files"] if r.startswith(LIB) and r not in wanted)
    differ = sorted(r for r, d in wanted.items() if read_or_none(host.abs(r)) != d)
    if differ or stale:
        host.change(
            "copy the installer's package (%d files) into %s for `bin/stormctl status|check|"
            "rollback`" % (len(wanted), host.abs(LIB.rstrip("/")))
        )
    for rel in sorted(set(r.rsplit("/", 1)[0] for r in wanted)):
        if not os.path.isdir(host.abs(rel)):
            host.ensure_dir(rel, 0o755)
    for rel in stale:
        host.remove(host.abs(rel))
        del run.state["files"][rel]
    for rel in differ:
        if not host.dry_run:
            host._atomic(host.abs(rel), wanted[rel], 0o644, *host.owner)
    for rel, data in wanted.items():
        track(run, rel, data)
