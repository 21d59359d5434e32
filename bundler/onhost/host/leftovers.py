"""What a run that was killed half-way leaves under the prefix: the scratch folders it works in
before renaming into place (python/site.partial-PID and site.old-PID, releases/.TOP.partial-PID,
data/NAME.partial-PID). The next install and --uninstall sweep them, each a change of its own;
a scratch of a process that still runs is left alone.

Standard library only; runs on Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, print_function

import os
import re

from . import boundary
from .processes import pid_alive

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import List  # noqa: F401

    from .host import Host  # noqa: F401

# root's folders the installer makes scratch names in, and the names it makes.
FOLDERS = ("python", "releases", "data")
SCRATCH = re.compile(r"^.+\.(partial|old)-([0-9]+)$")


def found(prefix):
    # type: (str) -> List[str]
    """The leftovers under prefix, relative to it, in name order."""
    out = []
    for folder in FOLDERS:
        path = os.path.join(prefix, folder)
        if boundary.lstat(path) is None:
            continue
        for name in sorted(boundary.listdir(path)):
            match = SCRATCH.match(name)
            pid = int(match.group(2)) if match else 0
            if match and pid != os.getpid() and not pid_alive(pid):
                out.append("%s/%s" % (folder, name))
    return out


def sweep(host):
    # type: (Host) -> None
    """Remove every leftover of a killed run (shown as a change, never through a link)."""
    for rel in found(host.prefix):
        host.remove(host.abs(rel))
