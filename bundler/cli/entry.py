"""`bundler` and `python -m bundler`: `bundler`, `bundler --help` and `bundler --version`
answered before typer is imported, everything else handed to bundler.cli.app.

Importing typer and building its commands is most of a command's start (docs/benchmarks.md);
the overview of the commands needs neither: it is laid out here from the command table
(bundler.cli.commands) as click lays it out (tests/unit/test_entry.py compares the two at
several terminal widths).
"""

from __future__ import annotations

import os
import sys

from bundler import __version__
from bundler.cli.commands import ABOUT, COMMANDS, exit_codes

OPTIONS = (("--version", "Show the version."), ("--help", "Show this message and exit."))


def _width() -> int:
    # click's rule: the terminal's columns, at most 80, less 2, at least 50.
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns or 80  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):  # no stdout, or not a terminal
            columns = 80
    return max(min(columns, 80) - 2, 50)


def _rows(rows: tuple[tuple[str, str], ...], width: int) -> list[str]:
    """click's definition list, two spaces in: names padded to the longest, text wrapped."""
    import textwrap

    first = max(len(name) for name, _ in rows) + 2  # names here are short of click's 30
    wrap = textwrap.TextWrapper(max(width - first - 2, 10), replace_whitespace=False)
    lines = []
    for name, text in rows:
        head, *rest = wrap.wrap(text)
        lines.append(f"  {name:<{first}}{head}")
        lines += [" " * (first + 2) + line for line in rest]
    return lines


def _paragraph(text: str, width: int) -> str:
    """click's write_text: wrapped to the width, two spaces in."""
    import textwrap

    return textwrap.fill(
        text, width, initial_indent="  ", subsequent_indent="  ", replace_whitespace=False
    )


def overview(prog: str, width: int) -> str:
    lines = [f"Usage: {prog} [OPTIONS] COMMAND [ARGS]...", "", _paragraph(ABOUT, width), ""]
    lines += ["Options:", *_rows(OPTIONS, width), ""]
    lines += ["Commands:", *_rows(tuple(COMMANDS.items()), width)]
    lines += ["", _paragraph(exit_codes(), width)]
    return "\n".join(lines) + "\n"


def _prog() -> str:
    """The program's name as click shows it: the script's name, or `python -m bundler`."""
    package = getattr(sys.modules["__main__"], "__package__", None)
    if not package:
        return os.path.basename(sys.argv[0])
    name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    module = package if name == "__main__" else f"{package}.{name}"
    return f"python -m {module.lstrip('.')}"


def main() -> None:
    args = sys.argv[1:]
    if args in ([], ["--help"]) and sys.stdout is not None:
        width = _width()
        text = overview(_prog(), width)
        # Left to click: a name long enough to wrap the usage line, and one the output's
        # encoding cannot take (click writes those as UTF-8 instead).
        if len(text.partition("\n")[0]) <= width and text.isascii():
            sys.stdout.write(text)
            raise SystemExit(0)
    if args == ["--version"]:
        print(f"bundler {__version__}")
        raise SystemExit(0)
    from bundler.cli.app import main as cli_main

    cli_main()
