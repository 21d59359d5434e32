"""What every generated file shares: its opening comment, its description of the node, and
the string.Template skeletons in templates/.

Standard library only; Python 2.7 and 3.6+ (this file is copied into every bundle).
"""

from __future__ import absolute_import, division, print_function, unicode_literals

import io
import os
import string

from ..contract import contract
from ..contract.valuecheck import _component

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Mapping, Optional, Tuple  # noqa: F401

TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "templates")

STORM_ROLES = contract.STORM_ROLES


def _template(name, **fields):
    with io.open(os.path.join(TEMPLATES, name), encoding="utf-8") as fh:
        return string.Template(fh.read()).substitute(**fields)


def _describe(manifest, roles):
    parts = []
    storm_version, _ = _component(manifest, "storm")
    zk_version, _ = _component(manifest, "zookeeper")
    if any(r in STORM_ROLES for r in roles):
        parts.append("Apache Storm %s" % storm_version)
    if "zookeeper" in roles:
        parts.append("ZooKeeper %s" % zk_version)
    return " and ".join(parts)


def _bundle_name(manifest):
    name = manifest.get("name") if isinstance(manifest, dict) else None
    return "bundle %s" % name if name else "its bundle"


def _header(mark, title, manifest):
    """The opening comment of a generated file: what it is, who wrote it, what a re-run does."""
    return [
        "%s %s" % (mark, title),
        "%s Written by install.sh from %s. A re-run of install.sh that changes"
        % (mark, _bundle_name(manifest)),
        "%s this file keeps the previous one as a backup." % mark,
    ]
