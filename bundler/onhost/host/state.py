"""state/installed.json: what an installation consists of, for re-runs and --uninstall."""

from __future__ import absolute_import, print_function

import json
import os

from ..errors import InstallError
from .system import read_or_none

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional, Sequence, Set, Tuple, Union  # noqa: F401


STATE_SCHEMA = 1


# --- state ---


def read_record(path):
    # type: (str) -> Optional[Dict[str, Any]]
    """An installed.json: None when there is none, ValueError when it is not JSON."""
    data = read_or_none(path)
    if data is None:
        return None
    record = json.loads(data.decode("utf-8"))  # type: Dict[str, Any]
    return record


def load_state(prefix):
    # type: (str) -> Optional[Dict[str, Any]]
    path = os.path.join(prefix, "state", "installed.json")
    try:
        return read_record(path)
    except ValueError:
        pass
    raise InstallError(
        "%s is not valid JSON; it records what was installed: repair it, or remove the "
        "installation by hand" % path
    )


def state_bytes(state):
    # type: (Dict[str, Any]) -> bytes
    return (json.dumps(state, indent=2, sort_keys=True) + "\n").encode("utf-8")
