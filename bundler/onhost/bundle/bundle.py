"""The verified, unpacked bundle: its manifest (read by manifest.py, the one reader of
bundle.json), its SHA256SUMS, the key sets of its releases and the paths of its files."""

from __future__ import absolute_import, print_function

import os

from ..contract import cluster, extras, manifest
from ..errors import IntegrityError
from ..host.system import read_bytes, sha256_bytes

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional, Sequence  # noqa: F401


# --- the bundle ---


class Bundle(object):
    """The verified, unpacked bundle: manifest, facts and the paths of its files.

    `parsed` is the checked manifest.Manifest; `manifest` its dict (what configs.render takes),
    and `storm`, `zookeeper`, `components` and `pythons` parts of that dict."""

    def __init__(self, root):
        # type: (str) -> None
        self.root = os.path.abspath(root)
        # Raised after the except clause: Python 2 has no `raise ... from`.
        problem = None  # type: Optional[str]
        try:
            parsed = manifest.read(self.root)
            sums_text = read_bytes(self.path(manifest.SUMS_FILE)).decode("utf-8")
        except manifest.ManifestError as exc:  # one line: where, expected, found, what to do
            problem = str(exc)
        except (IOError, OSError, ValueError) as exc:
            problem = "cannot read %s in %s (%s); unpack the bundle again" % (
                manifest.SUMS_FILE,
                self.root,
                exc,
            )
        if problem is not None:
            raise IntegrityError(problem)
        differ = manifest.sums_mismatch(parsed, sums_text)
        if differ is not None:
            raise IntegrityError(
                "bundle.json and SHA256SUMS disagree about %s; the bundle is damaged or was "
                "edited: copy it again and check it with its .sha256" % differ
            )
        self.parsed = parsed
        self.manifest = parsed.data  # type: Dict[str, Any]
        self.id = sha256_bytes(sums_text.encode("utf-8"))
        self.name = parsed.name  # type: str
        components = self.manifest[manifest.K_COMPONENTS]
        self.storm = components[manifest.STORM]  # type: Dict[str, Any]
        self.zookeeper = components[manifest.ZOOKEEPER]  # type: Dict[str, Any]
        self.components = {"storm": self.storm, "zookeeper": self.zookeeper}
        self.pythons = components[manifest.SUPERVISOR]["pythons"]  # type: Dict[str, Any]
        self.known_keys = self.load_known_keys()
        self.cluster = None  # type: Optional[Dict[str, Any]]
        if parsed.cluster is not None:
            problem = None
            try:
                self.cluster = cluster.load(self.path(parsed.cluster.file))
            except ValueError as exc:
                problem = str(exc)
            if problem is not None or self.cluster is None:
                raise IntegrityError(
                    "bundle.json lists the inventory %s, which cannot be read (%s); unpack the "
                    "bundle again" % (parsed.cluster.file, problem or "missing")
                )

    def load_known_keys(self):
        # type: () -> Optional[Dict[str, List[str]]]
        """The releases' key sets the operator's --storm-option/--zk-option keys are checked
        against; None for a bundle that carries none (it then checks only their form)."""
        rel = extras.KNOWN_KEYS_PATH
        if rel not in self.parsed.files:
            return None
        problem = None
        try:
            found = extras.load_known(self.path(rel))  # type: Optional[Dict[str, Any]]
        except ValueError as exc:
            problem = str(exc)
        if problem is not None or found is None:
            raise IntegrityError(
                "the bundle lists %s, which cannot be read (%s); unpack the bundle again"
                % (rel, problem or "missing")
            )
        return found

    def path(self, rel):
        # type: (str) -> str
        return os.path.join(self.root, *rel.split("/"))

    def python_entry(self, version):
        # type: (Sequence[int]) -> Optional[Dict[str, Any]]
        entry = self.pythons.get("%d.%d" % tuple(version[:2]))  # type: Optional[Dict[str, Any]]
        return entry
