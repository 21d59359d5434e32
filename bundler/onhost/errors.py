"""Exit codes, the installer's exceptions (one per exit code) and its stderr voice."""

from __future__ import absolute_import, print_function

import sys

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional, Sequence, Set, Tuple, Union  # noqa: F401


# The one exit-code table is contract.py's; re-exported here for the installer's modules.
from .contract.contract import EXIT_ERROR as EXIT_ERROR  # noqa: E402
from .contract.contract import EXIT_INTEGRITY as EXIT_INTEGRITY  # noqa: E402
from .contract.contract import EXIT_INTERRUPTED as EXIT_INTERRUPTED  # noqa: E402
from .contract.contract import EXIT_OK as EXIT_OK  # noqa: E402
from .contract.contract import EXIT_PREREQ as EXIT_PREREQ  # noqa: E402
from .contract.contract import EXIT_UNHEALTHY as EXIT_UNHEALTHY  # noqa: E402
from .contract.contract import EXIT_USAGE as EXIT_USAGE  # noqa: E402


class InstallError(Exception):
    """A failure with a message that says what to do; exit 1."""

    exit_code = EXIT_ERROR


class UsageError(InstallError):
    """A flag or combination of flags that cannot work; exit 2."""

    exit_code = EXIT_USAGE


class IntegrityError(InstallError):
    """The bundle does not match its own manifest; exit 3."""

    exit_code = EXIT_INTEGRITY


class PrerequisitesMissing(InstallError):
    """The host lacks something; carries every problem found, each with its fix; exit 4."""

    exit_code = EXIT_PREREQ

    def __init__(self, problems):
        # type: (List[str]) -> None
        InstallError.__init__(self, "%d problem(s) on this host" % len(problems))
        self.problems = problems


class DiskFull(InstallError):
    """A filesystem ran out of space or inodes on the way: one line with the folder and the
    fix; exit 4, as a host that lacks what the run needs."""

    exit_code = EXIT_PREREQ


def disk_full(exc):
    # type: (BaseException) -> bool
    import errno

    return getattr(exc, "errno", None) in (errno.ENOSPC, errno.EDQUOT)


class Unhealthy(InstallError):
    """A program did not reach RUNNING or does not answer; exit 5."""

    exit_code = EXIT_UNHEALTHY


# Who speaks on stderr: the installer, or `stormctl SUB` (stormctl.py sets it).
VOICE = ["install"]


def say(message):
    # type: (str) -> None
    sys.stderr.write("%s: %s\n" % (VOICE[0], message))
    sys.stderr.flush()


def warn(message):
    # type: (str) -> None
    say("warning: " + message)
