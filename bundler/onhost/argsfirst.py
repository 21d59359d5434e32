"""install.sh's first step: the command line alone, before the bundle is read. `--help`,
`--version` and every usage error are answered here, in a fraction of a second, from the
installer's package (checked against SHA256SUMS first, with bundle.json); only a command line
that parses goes on to the whole bundle's check and the installer.

`python -E -S -B -m onhost.argsfirst --bundle-dir DIR ARGS...`: exit 0 with nothing on stdout
when the arguments are good; else what to show and its exit code (0 for --help, --version).

Standard library only; runs on Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, print_function

import json
import os
import sys

from .errors import EXIT_OK
from .flags import USAGE, CommandLineError, parse_args

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import List, Optional  # noqa: F401

    from .flags import Args  # noqa: F401


def version_line(bundle_dir):
    # type: (str) -> str
    """`NAME: Storm X, ZooKeeper Y, supervisor Z`, from bundle.json alone."""
    with open(os.path.join(bundle_dir, "bundle.json"), "rb") as handle:
        manifest = json.loads(handle.read().decode("utf-8"))
    components = manifest.get("components") or {}
    said = [
        "%s %s" % (title, (components.get(key) or {}).get("version"))
        for key, title in (
            ("storm", "Storm"),
            ("zookeeper", "ZooKeeper"),
            ("supervisor", "supervisor"),
        )
    ]
    return "%s: %s\n" % (manifest.get("name"), ", ".join(said))


def answer(args):
    # type: (Args) -> bool
    """Print what --help or --version asks for; False when the command line asks for neither."""
    if args.help:
        sys.stdout.write(USAGE)
    elif args.version:
        sys.stdout.write(version_line(args.bundle_dir or "."))
    else:
        return False
    return True


def refuse(exc):
    # type: (CommandLineError) -> int
    """One line on stderr for a bad command line; its exit code (2)."""
    sys.stderr.write("install.sh: error: %s; see --help\n" % exc)
    code = exc.exit_code  # type: int
    return code


def main(argv=None):
    # type: (Optional[List[str]]) -> int
    try:
        args = parse_args(sys.argv[1:] if argv is None else argv)
    except CommandLineError as exc:
        return refuse(exc)
    answer(args)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
