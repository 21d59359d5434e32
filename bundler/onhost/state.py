"""state/installed.json: what an installation consists of, for re-runs and --uninstall."""

from __future__ import absolute_import, print_function

import json
import os

from .errors import InstallError
from .system import read_or_none

STATE_SCHEMA = 1


# --- state ---


def load_state(prefix):
    path = os.path.join(prefix, "state", "installed.json")
    data = read_or_none(path)
    if data is None:
        return None
    try:
        return json.loads(data.decode("utf-8"))
    except ValueError:
        pass
    raise InstallError(
        "%s is not valid JSON; it records what was installed: repair it, or remove the "
        "installation by hand" % path
    )


def state_bytes(state):
    return (json.dumps(state, indent=2, sort_keys=True) + "\n").encode("utf-8")
