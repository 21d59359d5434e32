"""The bundle's example topology (storm-starter, bundle.json's components.smoke), placed at
PREFIX/lib/smoke/ where `stormctl smoke` looks for it (operate/smoke.py, example_jar): root's,
mode 0644. Recorded as a file the installer owns, so --uninstall removes it and an upgrade keeps
it with the other files for `stormctl rollback` (previous.py); a jar of another release, or one
a bundle without a smoke topology no longer carries, is removed."""

from __future__ import absolute_import, print_function

from ..contract import manifest
from ..host.system import read_bytes, read_or_none
from .record import track

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, Optional  # noqa: F401

    from ..bundle.bundle import Bundle  # noqa: F401
    from .record import Run  # noqa: F401

LIB = "lib/smoke/"


def wanted(bundle):
    # type: (Bundle) -> Optional[str]
    """The path in the prefix the bundle's jar goes to, or None when the bundle has none."""
    smoke = bundle.manifest[manifest.K_COMPONENTS].get(manifest.SMOKE)
    if not smoke:
        return None
    name = smoke["artifact"].rsplit("/", 1)[-1]  # type: str
    return LIB + name


def place(run, bundle):
    # type: (Run, Bundle) -> None
    host = run.host
    rel = wanted(bundle)
    files = run.state["files"]
    for old in sorted(r for r in files if r.startswith(LIB) and r != rel):
        host.remove(host.abs(old))
        del files[old]
    if rel is None:
        return
    smoke = bundle.manifest[manifest.K_COMPONENTS][manifest.SMOKE]
    source = bundle.path(smoke["artifact"])
    data = read_bytes(source)
    path = host.abs(rel)  # in lib/smoke, a folder of the layout (ownership.PREFIX_DIRS)
    if read_or_none(path) != data:
        host.change(
            "place storm-starter %s (the topology of `stormctl smoke`) at %s (mode 0644)"
            % (smoke["version"], path)
        )
        if not host.dry_run:
            host._atomic(path, data, 0o644, *host.owner)
    else:
        host.fix_meta(path, 0o644, *host.owner)
    track(run, rel, data)
