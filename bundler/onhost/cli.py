"""The installer's entry: flags (flags.py) in, the steps in order, one exit code out."""

from __future__ import absolute_import, print_function

import os
import sys

from . import bundlesig
from .apply.apply import Installer
from .argsfirst import answer, refuse
from .bundle.bundle import Bundle
from .errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, InstallError, PrerequisitesMissing, say
from .flags import CommandLineError, parse_args
from .host.facts import HostFacts
from .host.host import JOURNAL
from .operate.uninstall import uninstall
from .plan import upgrade
from .plan.plan import make_plan

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


# --- main ---


def report_problems(problems):
    # type: (Sequence[str]) -> None
    say("this host is not ready; nothing was changed:")
    for problem in problems:
        sys.stderr.write("  - %s\n" % problem)
    sys.stderr.flush()


def main(argv=None):
    # type: (Optional[List[str]]) -> int
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if answer(args):
        return EXIT_OK
    JOURNAL.active = True
    if not args.uninstall and (args.signer_key or args.require_signature):
        # The operator's signature first: it says plainly what was and was not checked.
        code = bundlesig.check_bundle_signature(
            args.bundle_dir or ".", args.signer_key, args.require_signature, args.archive
        )
        if code != EXIT_OK:
            return code
    bundle = Bundle(args.bundle_dir or ".")
    if args.uninstall:
        return uninstall(args, bundle)
    plan = make_plan(args, bundle, HostFacts(dict(os.environ)))
    if plan.problems:
        raise PrerequisitesMissing(plan.problems)
    say(
        "%s: roles %s; Java %s at %s; supervisord on Python %s (%s); Storm launcher on %s"
        % (
            bundle.name,
            ",".join(plan.roles) or "(none given)",
            plan.java_major,
            plan.java_home,
            plan.python_version,
            plan.python,
            plan.launcher_python or "-",
        )
    )
    for note in plan.notes:
        say(note)
    upgrade.gate(plan.upgrade, plan.prefix, plan.roles, args)
    if args.check:
        say("preflight ok: this host can take %s into %s" % (bundle.name, plan.prefix))
        installed = (plan.state or {}).get("bundle") or {}
        if plan.installed_here() and installed.get("id") == bundle.id:
            from .operate.check import run_check

            return run_check(plan.prefix)
        if plan.installed_here():
            say(
                "%s holds bundle %s, not this one: its drift and health are not checked"
                % (plan.prefix, installed.get("name"))
            )
        return EXIT_OK
    installer = Installer(plan)
    report = installer.install()
    if report:
        sys.stdout.write(report)
    if plan.dry_run and not installer.host.changed:
        sys.stdout.write("nothing to change\n")
    if args.smoke:
        from .operate.smoke import smoke

        sys.stdout.flush()
        return smoke(plan.prefix, [])
    return EXIT_OK


def entry_point():
    # type: () -> None
    try:
        code = main()
    except CommandLineError as exc:
        code = refuse(exc)
    except PrerequisitesMissing as exc:
        report_problems(exc.problems)
        code = exc.exit_code
    except InstallError as exc:
        say("error: %s" % exc)
        code = exc.exit_code
    except KeyboardInterrupt:
        say("interrupted")
        code = EXIT_INTERRUPTED
    except EnvironmentError as exc:
        say("error: %s" % exc)
        code = EXIT_ERROR
    if JOURNAL.active:
        # The stable last line (docs/reference/install-sh-and-stormctl.md).
        sys.stdout.write(JOURNAL.marker() + "\n")
        sys.stdout.flush()
    sys.exit(code)


if __name__ == "__main__":
    entry_point()
