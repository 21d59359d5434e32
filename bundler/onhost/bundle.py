"""The verified, unpacked bundle: its manifest, its SHA256SUMS and the paths of its files."""

from __future__ import absolute_import, print_function

import json
import os

from . import cluster
from .errors import IntegrityError
from .system import read_bytes, sha256_bytes

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import (  # noqa: F401
        Any,
        Callable,
        Dict,
        Iterable,
        List,
        Optional,
        Sequence,
        Set,
        Tuple,
        TypeVar,
        Union,
    )


# --- the bundle ---


class Bundle(object):
    """The verified, unpacked bundle: manifest, facts and the paths of its files."""

    def __init__(self, root):
        # type: (str) -> None
        self.root = os.path.abspath(root)
        # Raised after the except clause: Python 2 has no `raise ... from`.
        problem = None
        try:
            self.manifest = json.loads(read_bytes(self.path("bundle.json")).decode("utf-8"))
            sums_text = read_bytes(self.path("SHA256SUMS")).decode("utf-8")
        except (IOError, OSError, ValueError) as exc:
            problem = exc
        if problem is not None:
            raise IntegrityError(
                "cannot read bundle.json and SHA256SUMS in %s (%s); unpack the bundle again"
                % (self.root, problem)
            )
        if self.manifest.get("schema") != 1:
            raise IntegrityError(
                "bundle.json has schema %r, this installer reads schema 1; use the install.sh "
                "that came with the bundle" % self.manifest.get("schema")
            )
        sums = {}
        for line in sums_text.splitlines():
            if line.strip():
                digest, name = line.split("  ", 1)
                sums[name] = digest
        files = dict((k, v["sha256"]) for k, v in self.manifest.get("files", {}).items())
        listed = dict((k, v) for k, v in sums.items() if k != "bundle.json")
        if files != listed:
            differ = sorted(set(files.items()) ^ set(listed.items()))
            raise IntegrityError(
                "bundle.json and SHA256SUMS disagree about %s; the bundle is damaged or was "
                "edited: copy it again and check it with its .sha256" % differ[0][0]
            )
        self.id = sha256_bytes(sums_text.encode("utf-8"))
        self.name = self.manifest["name"]
        components = self.manifest["components"]
        self.storm = components["storm"]
        self.zookeeper = components["zookeeper"]
        self.components = {"storm": self.storm, "zookeeper": self.zookeeper}
        self.pythons = components["supervisor"]["pythons"]
        self.cluster = None
        listed = self.manifest.get("cluster")
        if listed:
            problem = None
            try:
                self.cluster = cluster.load(self.path(listed["file"]))
            except ValueError as exc:
                problem = exc
            if problem is not None or self.cluster is None:
                raise IntegrityError(
                    "bundle.json lists the inventory %s, which cannot be read (%s); unpack the "
                    "bundle again" % (listed["file"], problem or "missing")
                )

    def path(self, rel):
        # type: (str) -> str
        return os.path.join(self.root, *rel.split("/"))

    def python_entry(self, version):
        # type: (Sequence[int]) -> Optional[Dict[str, Any]]
        entry = self.pythons.get("%d.%d" % tuple(version[:2]))  # type: Optional[Dict[str, Any]]
        return entry
