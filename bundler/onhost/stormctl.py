"""`PREFIX/bin/stormctl SUB` for the subcommands that are the installer's own, run from the
package copy in PREFIX/lib/onhost with no bundle: `cd PREFIX/lib && python -E -S -B -m
onhost.stormctl SUB ...`. Everything else bin/stormctl hands to supervisorctl."""

from __future__ import absolute_import, print_function

import os
import sys

from .errors import EXIT_INTERRUPTED, EXIT_USAGE, VOICE, InstallError
from .host.host import JOURNAL

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional  # noqa: F401


def run_status(prefix, args):
    # type: (str, List[str]) -> int
    from .operate.status import status

    return status(prefix, args)


def run_rollback(prefix, args):
    # type: (str, List[str]) -> int
    from .operate.rollback import rollback

    # Like install.sh, rollback ends with `install.sh: changed|unchanged` (rollback.yml reads it).
    JOURNAL.active = True
    return rollback(prefix, args)


def run_check(prefix, args):
    # type: (str, List[str]) -> int
    try:
        from .operate import check  # type: ignore[attr-defined,unused-ignore]
    except ImportError:
        sys.stderr.write("stormctl: check: this installation's package has no check module\n")
        return EXIT_USAGE
    code = check.run_check(prefix)  # type: int
    return code


def run_ports(prefix, args):
    # type: (str, List[str]) -> int
    from .operate.firewall import show_installed

    return show_installed(prefix, args)


def run_smoke(prefix, args):
    # type: (str, List[str]) -> int
    from .operate.smoke import smoke

    return smoke(prefix, args)


SUBCOMMANDS = {
    "status": (run_status, "the installed bundle, versions, the previous install, programs"),
    "check": (run_check, "hand edits to generated files, and the health of every program"),
    "ports": (run_ports, "the ports this host listens on, who reaches them, firewall rules"),
    "rollback": (run_rollback, "return to the install an upgrade replaced"),
    "smoke": (run_smoke, "submit an example topology, see its tuples acked, kill it"),
}  # type: Dict[str, Any]


def prefix_of_package():
    # type: () -> str
    """PREFIX, from where this copy lives: PREFIX/lib/onhost/stormctl.py."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None, prefix=None):
    # type: (Optional[List[str]], Optional[str]) -> int
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in SUBCOMMANDS:
        sys.stderr.write(
            "stormctl: expected one of %s, found %s\n"
            % (", ".join(sorted(SUBCOMMANDS)), argv[0] if argv else "nothing")
        )
        return EXIT_USAGE
    run = SUBCOMMANDS[argv[0]][0]
    VOICE[0] = "stormctl %s" % argv[0]
    try:
        code = run(prefix or prefix_of_package(), argv[1:])  # type: int
    except InstallError as exc:
        sys.stderr.write("stormctl %s: error: %s\n" % (argv[0], exc))
        code = exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("stormctl %s: interrupted\n" % argv[0])
        code = EXIT_INTERRUPTED
    if JOURNAL.active:
        sys.stdout.write(JOURNAL.marker() + "\n")
        sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
