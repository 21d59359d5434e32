"""The command line: every flag, its value's form, and which flags go together. The one place
that reads argv; a bad flag is a CommandLineError (exit 2, one line, `see --help`)."""

from __future__ import absolute_import, print_function

import os

from .contract import contract, extras
from .errors import UsageError

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import List, Optional, Tuple, Union  # noqa: F401

DEFAULT_TIMEOUT = 180
ROLE_NAMES = contract.ROLE_WORDS
VALUE_FLAGS = (
    "--bundle-dir", "--role", "--prefix", "--user", "--zk-servers", "--zk-id", "--nimbus-host",
    "--supervisord-ui-bind", "--web-password-file", "--init", "--python", "--launcher-python",
    "--timeout", "--host", "--peer-timeout", "--signer-key", "--archive",
)  # fmt: skip
SWITCHES = (
    "--no-start", "--dry-run", "--check", "--uninstall", "--purge", "--require-signature",
    "--help", "-h", "--version", "--upgrade", "--allow-major-upgrade", "--smoke",
)  # fmt: skip
# Answered at once, before the bundle is read (install.sh asks before it verifies the bundle).
ANSWERS = ("help", "version")
# Flags that mean an installation; --uninstall takes none of them.
INSTALL_FLAGS = (
    "--role", "--user", "--zk-servers", "--zk-id", "--nimbus-host", "--supervisord-ui-bind",
    "--web-password-file", "--init", "--launcher-python", "--timeout", "--no-start",
    "--peer-timeout", "--signer-key", "--archive", "--require-signature", "--upgrade",
    "--allow-major-upgrade", "--smoke",
)  # fmt: skip
# Old spellings, still taken for one release and left out of --help: old -> new.
RENAMED = {"--ui-bind": "--supervisord-ui-bind", "--keys": "--signer-key"}

USAGE = """\
usage: ./install.sh --role ROLE[,ROLE...] [--prefix DIR] [--user NAME]
                    [--zk-servers H1,H2,...] [--zk-id N] [--nimbus-host H[,H...]]
                    [--supervisord-ui-bind ADDR[:PORT]] [--web-password-file FILE]
                    [--init auto|systemd|none] [--no-start] [--smoke] [--dry-run]
                    [--python PATH] [--launcher-python PATH] [--timeout SECONDS]
                    [--peer-timeout SECONDS]
                    [--signer-key FILE [--archive FILE]] [--require-signature]
                    [--storm-option KEY=VALUE]... [--zk-option KEY=VALUE]...
                    [--childopts DAEMON=OPTS]... [--allow-unknown-key KEY]...
                    [--upgrade [--allow-major-upgrade]]
       ./install.sh [--host NAME] [other options]     with a bundle built with --cluster
       ./install.sh --check [--role ...] [--host NAME]
       ./install.sh --uninstall [--purge] [--prefix DIR] [--host NAME] [--dry-run]

  --host NAME             this host's name in the bundle's cluster inventory (default: the
                          inventory host whose name is this hostname, or whose address is
                          one of this host's); its roles and settings come from there, and
                          the flags below override them
  --role ROLE,...         zookeeper, nimbus, supervisor, ui, logviewer, drpc, or a preset:
                          alone, `nimbus` is a Nimbus host (zookeeper when this host is one
                          of --zk-servers, nimbus, ui, supervisor), `supervisor` a worker
                          host, `all` a single-node cluster; a list names daemons exactly
  --prefix DIR            where everything goes (default /opt/storm as root, else ~/storm);
                          a new or empty folder, or an earlier installation of a bundle
  --user NAME             service user the daemons run as (default storm, created when
                          missing; root only)
  --zk-servers H1,H2,...  the ZooKeeper ensemble in id order (default this host, 127.0.0.1)
  --zk-id N               this host's ZooKeeper id (default: its place in --zk-servers)
  --nimbus-host H,...     the Nimbus host(s) (default this host, 127.0.0.1)
  --supervisord-ui-bind ADDR[:PORT]
                          address of supervisord's own web interface, its process control
                          page (not Storm's UI; default 127.0.0.1:9001)
  --web-password-file F   its password (default: a random one, kept in PREFIX/etc/web-password)
  --init MODE             auto (systemd when it runs this host), systemd or none
  --no-start              install and configure, start nothing
  --smoke                 once healthy, run `stormctl smoke`: submit the bundle's example
                          topology, see its tuples acked, kill it (exit 5 when it fails)
  --dry-run               print every change that would be made, make none
  --check                 verify the bundle and this host's prerequisites, change nothing;
                          where this bundle is installed, also report hand edits, missing
                          files and every program's health (exit 5 when not all well)
  --uninstall [--purge]   stop and remove what was installed; --purge also removes data,
                          logs and the service user the installer created
  --python PATH           the Python that runs supervisord (default: the newest one found
                          that the bundle has packages for)
  --launcher-python PATH  the Python that runs Storm's launcher (default: found on PATH)
  --timeout SECONDS       how long to wait for the services to become healthy (default 180)
  --peer-timeout SECONDS  how long to wait for what this host needs from the others: a
                          ZooKeeper quorum, and Nimbus on a host without it (default 300;
                          0: report what is missing and do not wait)
  --signer-key FILE       the operator's public key(s): check the bundle's signature
                          (NAME.tar.asc over NAME.tar beside this folder) before anything else
  --archive FILE          the signed NAME.tar when it is not beside this folder
  --require-signature     refuse (exit 3) unless that signature was checked and is good
  --storm-option KEY=VALUE
                          an extra storm.yaml key (repeatable): VALUE true/false, a number,
                          [a, b] a list, else text; a key this Storm release does not know
                          is refused, naming the closest one
  --zk-option KEY=VALUE   an extra zoo.cfg key (repeatable), checked likewise
  --childopts DAEMON=OPTS extra JVM options for nimbus, ui, supervisor or worker after the
                          heap (repeatable; a repeated DAEMON appends)
  --allow-unknown-key KEY accept KEY in --storm-option or --zk-option although the release
                          does not list it (a plugin's key); repeatable.
                          Like every flag, these describe this run: a re-run without them
                          removes the keys they added (and restarts what reads them)
  --upgrade               replace the installed releases with the bundle's (without it, a
                          bundle with other versions prints the plan and exits 2); the
                          previous install is kept for `PREFIX/bin/stormctl rollback`
  --allow-major-upgrade   also across Storm major lines (0.x -> 1.x -> 2.x), after the
                          stop-the-world procedure (docs/howto/upgrade-and-rollback.md)
  --version               the bundle's name and the releases it installs
  --help                  this text

Exit codes: 0 ok, 1 error, 2 usage, 3 bundle integrity failure, 4 prerequisites missing,
5 services did not become healthy (--check: drift or unhealthy).
"""


class CommandLineError(UsageError):
    """A flag or its value is malformed, or flags do not go together; exit 2."""


class Args(object):
    """The parsed command line: one attribute per flag (dashes as underscores), holding the
    value its contract rule returned (lists for --role and the host lists, (address, port or
    None) for --supervisord-ui-bind), so that nothing parses a flag twice."""

    def __init__(self):
        # type: () -> None
        self.bundle_dir = None  # type: Optional[str]
        self.role = None  # type: Optional[List[str]]
        self.prefix = None  # type: Optional[str]
        self.user = None  # type: Optional[str]
        self.zk_servers = None  # type: Optional[List[str]]
        self.zk_id = None  # type: Optional[int]
        self.nimbus_host = None  # type: Optional[List[str]]
        self.supervisord_ui_bind = None  # type: Optional[Tuple[str, Optional[int]]]
        self.web_password_file = None  # type: Optional[str]
        self.init = "auto"  # type: str
        self.python = None  # type: Optional[str]
        self.launcher_python = None  # type: Optional[str]
        self.timeout = DEFAULT_TIMEOUT  # type: int
        self.host = None  # type: Optional[str]
        self.peer_timeout = contract.DEFAULT_PEER_TIMEOUT  # type: int
        self.signer_key = None  # type: Optional[str]
        self.archive = None  # type: Optional[str]
        self.require_signature = False
        self.no_start = False
        self.smoke = False
        self.dry_run = False
        self.check = False
        self.uninstall = False
        self.purge = False
        self.upgrade = False
        self.allow_major_upgrade = False
        self.help = False
        self.version = False
        # The repeatable options (extras.OPTION_FLAGS), in the order given.
        self.storm_option = []  # type: List[str]
        self.zk_option = []  # type: List[str]
        self.childopts = []  # type: List[str]
        self.allow_unknown_key = []  # type: List[str]
        self.given = []  # type: List[str]


def parse_args(argv):
    # type: (List[str]) -> Args
    """Args from argv; raises CommandLineError naming the first bad flag."""
    args = Args()
    for arg in argv:
        check_text(arg)
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        value, has_value = "", False
        if arg.startswith("--") and "=" in arg:
            arg, value = arg.split("=", 1)
            has_value = True
        arg = RENAMED.get(arg, arg)
        # The operator's options (extras.OPTION_FLAGS) take a value too, and may repeat.
        if arg in VALUE_FLAGS or arg in extras.OPTION_FLAGS:
            if not has_value:
                if not rest:
                    raise CommandLineError("%s needs a value" % arg)
                value = rest.pop(0)
            check_value(args, arg, value)
        elif arg in SWITCHES:
            if has_value:
                raise CommandLineError("%s takes no value" % arg)
            setattr(args, "help" if arg == "-h" else arg[2:].replace("-", "_"), True)
        else:
            raise CommandLineError("unknown option '%s'" % arg)
        args.given.append(arg)
    if not (args.help or args.version):
        check_combinations(args)
    return args


def as_bytes(arg):
    # type: (Union[str, bytes]) -> bytes
    """The argument's bytes as the shell gave them (Python 3 decodes them surrogateescape)."""
    if isinstance(arg, bytes):
        return arg
    return arg.encode("utf-8", "surrogateescape")


def check_text(arg):
    # type: (Union[str, bytes]) -> None
    """Every argument is UTF-8 text: bytes that are not (which Python 3 carries as lone
    surrogates) would fail later, half-way, in a file written from them."""
    try:
        if isinstance(arg, bytes):  # Python 2's argv
            arg.decode("utf-8")
        else:
            arg.encode("utf-8")
        return
    except UnicodeError:
        shown = repr(as_bytes(arg)).lstrip("b")
    raise CommandLineError(
        "expected UTF-8 text in every argument, found %s; give the value in UTF-8" % shown
    )


def check_value(args, flag, value):
    # type: (Args, str, str) -> None
    """Sets the flag's attribute from its value checked by contract.py's rule (the one rule set
    the inventory, the renderer and the config writers use too), or raises CommandLineError."""
    name = flag[2:].replace("-", "_")
    if flag in extras.OPTION_FLAGS:
        # Repeatable: judged alone here, against the bundle's key sets by the plan.
        problem = None
        try:
            extras.check_option(flag, value)
        except contract.Invalid as exc:
            problem = str(exc)
        if problem:
            raise CommandLineError(problem)
        getattr(args, extras.OPTION_FLAGS[flag]).append(value)
        return
    parsed = value  # type: object
    if flag in contract.FLAG_RULES:
        problem = None
        try:
            parsed = contract.check_flag(flag, value)
        except contract.Invalid as exc:
            problem = str(exc)
        if problem:
            raise CommandLineError(problem)
    setattr(args, name, parsed)


def check_combinations(args):
    # type: (Args) -> None
    if args.bundle_dir is None:
        raise CommandLineError("--bundle-dir is required (install.sh passes it)")
    if args.purge and not args.uninstall:
        raise CommandLineError("--purge goes with --uninstall")
    if args.check and args.uninstall:
        raise CommandLineError("--check and --uninstall do not go together")
    if args.allow_major_upgrade and not args.upgrade:
        raise CommandLineError("--allow-major-upgrade goes with --upgrade")
    if args.check and args.dry_run:
        raise CommandLineError("--check changes nothing already; drop --dry-run")
    if args.smoke and (args.no_start or args.dry_run or args.check):
        raise CommandLineError(
            "--smoke runs a topology on the started cluster: drop --no-start, --dry-run or --check"
        )
    if args.uninstall:
        found = [f for f in args.given if f in INSTALL_FLAGS or f in extras.OPTION_FLAGS]
        if found:
            raise CommandLineError(
                "--uninstall takes only --prefix, --host, --purge, --dry-run and --python; "
                "found %s" % " ".join(found)
            )
        return
    inventory = os.path.isfile(os.path.join(args.bundle_dir, "cluster.json"))
    if not (args.role or args.check or args.host or inventory):
        raise CommandLineError(
            "--role is required, e.g. --role all for a single-node cluster (a bundle built "
            "with --cluster takes the roles from its inventory)"
        )
    if args.zk_id and args.zk_servers:
        count = len(args.zk_servers)
        if args.zk_id > count:
            raise CommandLineError(
                "--zk-id %d but --zk-servers names %d host(s); the id is this host's place in "
                "that list" % (args.zk_id, count)
            )
