"""What a supervisord program is started with, as one fingerprint: its section, its release,
the JDK and what its config files say (by meaning, normalize.py). The plan computes them to
tell which programs an upgrade restarts; the installer records them and restarts a program
whose fingerprint changed.

Standard library only; runs on Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, print_function

import json

from ..host.system import sha256_bytes
from ..render import normalize
from ..render.roles import ROLE_OF

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple  # noqa: F401

ZK_DIR_FILES = ("etc/zookeeper/", "data/zookeeper/")
STORM_DIR_FILES = ("etc/storm/",)


def program_component(name):
    # type: (str) -> str
    return "zookeeper" if ROLE_OF.get(name) == "zookeeper" else "storm"


def fingerprint(section, project, component, rendered, jdk, digest=None):
    # type: (Dict[str, str], str, Dict[str, Any], Sequence[Tuple[str, bytes, int]], Optional[str], Optional[Callable[[str, bytes], str]]) -> str
    """What a running program was started with, in meaning (normalize.py): its supervisord
    section, its release, the JDK and what its config files say. A change means a restart;
    a comment or the order of keys is no change. `SCHEME:hex`, so that a record made by
    another scheme is recognised (legacy_fingerprint)."""
    deps = ZK_DIR_FILES if project == "zookeeper" else STORM_DIR_FILES
    digest = digest or normalize.digest
    files = dict((rel, digest(rel, data)) for rel, data, _ in rendered if rel.startswith(deps))
    blob = {"section": section, "release": component["top"], "files": files, "jdk": jdk}
    hexed = sha256_bytes(json.dumps(blob, sort_keys=True).encode("utf-8"))
    return hexed if digest is _byte_digest else "%s:%s" % (normalize.SCHEME, hexed)


def _byte_digest(rel, data):
    # type: (str, bytes) -> str
    return sha256_bytes(data)


def legacy_fingerprint(section, project, component, rendered, jdk):
    # type: (Dict[str, str], str, Dict[str, Any], Sequence[Tuple[str, bytes, int]], Optional[str]) -> str
    """The fingerprint records made before fingerprints were by meaning: over the bytes."""
    return fingerprint(section, project, component, rendered, jdk, _byte_digest)


def started_with(recorded, legacy, meant):
    # type: (Optional[str], str, str) -> Optional[str]
    """A program's record in today's scheme. A record of the byte scheme (no `SCHEME:`) is
    translated when it still matches the files on disk byte for byte (legacy: the byte
    fingerprint of those files): the program runs with what they say (meant: their
    fingerprint by meaning). Otherwise it stays as it is and differs from any new one, so the
    program restarts: the safe side."""
    if recorded is None or ":" in recorded:
        return recorded
    return meant if recorded == legacy else recorded


def fingerprints(conf, order, components, rendered, jdk):
    # type: (Dict[str, Dict[str, str]], List[str], Dict[str, Dict[str, Any]], Sequence[Tuple[str, bytes, int]], Optional[str]) -> Dict[str, str]
    """{program: fingerprint} of the programs in order, from the parsed supervisord.conf, the
    bundle's components and the rendered files."""
    found = {}
    for name in order:
        project = program_component(name)
        found[name] = fingerprint(
            conf["program:" + name], project, components[project], rendered, jdk
        )
    return found
