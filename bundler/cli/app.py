"""The command line: the typer group over bundler.cli.commands.COMMANDS, each command built the
first time it is named; errors to one line and an exit code.

Results go to stdout; progress, warnings and errors to stderr, one line per failure. Each
command lives in its own module under bundler/cli/commands/ and imports what it needs inside
its function: `bundler --help`, `recipes` and `verify` start without requests, tqdm or the build
machinery (tests/integration/test_cli_startup.py).

No `from __future__ import annotations` here or in the commands: typer reads every command's
annotations when it builds it, and as strings they would be evaluated again each time.
"""

import atexit
import gc
import importlib
import sys
from collections.abc import Callable, Iterator, MutableMapping
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup
from typer.main import get_command_from_info
from typer.models import CommandInfo

from bundler import __version__
from bundler.cli.commands import ABOUT, COMMANDS, exit_codes, module_of
from bundler.errors import ExitCode

# typer vendors its own click and exports only BadParameter; its bases are click's classes.
_CLICK_USAGE_ERROR: type[Exception] = next(
    cls for cls in typer.BadParameter.__mro__ if cls.__name__ == "UsageError"
)


class _Command(TyperCommand):
    """A command whose usage line names its arguments as click does (`BUNDLE`), not in the
    braces typer puts around a required one (`{BUNDLE}`)."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = super().collect_usage_pieces(ctx)
        return [p[1:-1] if p[:1] == "{" and p[-1:] == "}" else p for p in pieces]


def _renames(renamed: dict[str, str]) -> Callable[[str], str]:
    """click's token_normalize_func for a command's old option names (without the dashes):
    the new name, and a warning, for each old one; any other name as it is."""

    def normalise(name: str) -> str:
        new = renamed.get(name)
        if new is None:
            return name
        print(
            f"bundler: warning: --{name} is now --{new}; the old name goes in a later release",
            file=sys.stderr,
        )
        return new

    return normalise


def _build(name: str) -> Any:
    """The click command for one row of COMMANDS, from its module's function."""
    module = importlib.import_module(module_of(name))
    renamed = {old[2:]: new[2:] for old, new in getattr(module, "RENAMED", {}).items()}
    info = CommandInfo(
        name,
        cls=_Command,
        callback=getattr(module, f"{name}_command"),
        short_help=COMMANDS[name],
        epilog=exit_codes(),
        context_settings={"token_normalize_func": _renames(renamed)} if renamed else None,
    )
    return get_command_from_info(info, pretty_exceptions_short=True, rich_markup_mode=None)


class _LazyCommands(MutableMapping[str, Any]):
    """The group's commands: every name of COMMANDS, each built when first looked up."""

    def __init__(self) -> None:
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in COMMANDS:
            raise KeyError(name)
        if name not in self._built:
            self._built[name] = _build(name)
        return self._built[name]

    def __setitem__(self, name: str, command: Any) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        raise KeyError(name)  # the table is fixed

    def __iter__(self) -> Iterator[str]:
        return iter(COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS)


class _Group(TyperGroup):
    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _LazyCommands()


app = typer.Typer(
    cls=_Group,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: rich's help renderer takes longer to import than the rest of the CLI.
    rich_markup_mode=None,
    help=ABOUT,
    epilog=exit_codes(),
)


def _version(value: bool) -> None:
    if value:
        print(f"bundler {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    pass  # the group's one option acts in its callback


def main() -> None:
    # Registered first, so it runs last: every file is written, closed and synced by then, and
    # the interpreter's final collection over every object (0.1 s after a build) is skipped.
    atexit.register(gc.freeze)
    if len(sys.argv) == 1:
        sys.argv.append("--help")
    try:
        result = app(standalone_mode=False)
    except _CLICK_USAGE_ERROR as exc:
        # One line, like every other failure, instead of click's boxed panel.
        ctx = getattr(exc, "ctx", None)
        where = f" (see `{ctx.command_path} --help`)" if ctx is not None else ""
        message = exc.format_message()  # type: ignore[attr-defined]
        print(f"bundler: usage error: {message}{where}", file=sys.stderr)
        raise SystemExit(int(ExitCode.USAGE)) from None
    except (KeyboardInterrupt, typer.Abort):
        print("bundler: interrupted; nothing was written", file=sys.stderr)
        raise SystemExit(int(ExitCode.INTERRUPTED)) from None
    raise SystemExit(result if isinstance(result, int) else 0)
