"""`bundler` and `python -m bundler`: `bundler`, `bundler --help` and `bundler --version`
answered before typer is imported, everything else handed to bundler.cli.app.

Importing typer and building its commands is most of a command's start (docs/benchmarks.md);
the overview of the commands needs neither. HELP is each command's line in the overview:
cli.py registers it as the command's short help, and the overview below lays it out as click
does (tests/unit/test_entry.py compares the two at several terminal widths).
"""

from __future__ import annotations

import os
import sys

from bundler import __version__

ABOUT = "Verified, reproducible air-gap bundles for Apache Storm and ZooKeeper."

# In the order `bundler --help` lists them.
HELP: dict[str, str] = {
    "build": "Download, verify and pack Storm, ZooKeeper and supervisord.",
    "render": "Show the config files one inventory host gets, without building.",
    "ports": "Every port each inventory host opens, who reaches it, firewall rules.",
    "verify": "Re-check every file of a bundle against its manifest.",
    "inspect": "Show a bundle's components, sources, sizes, hashes and checks.",
    "recipes": "Supported versions and what each needs (Java, Python).",
    "sbom": "Print the bundle's SBOM (CycloneDX JSON), as carried inside it.",
    "sign": "Sign a bundle with the operator's gpg key (writes BUNDLE.asc).",
    "split": "Cut a bundle into parts, with NAME.parts and NAME.join.sh beside.",
    "join": "Check every part listed in NAME.parts, then rebuild the bundle.",
    "diff": "What differs, down to each host's config keys; exits 0 either way.",
    "ansible": "Write an Ansible project (inventory, site, upgrade, rollback).",
    "rehearse": "Install a bundle on throwaway namespaced hosts, check, remove it.",
}

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


def overview(prog: str, width: int) -> str:
    import textwrap

    about = textwrap.fill(ABOUT, width, initial_indent="  ", subsequent_indent="  ")
    lines = [f"Usage: {prog} [OPTIONS] COMMAND [ARGS]...", "", about, "", "Options:"]
    lines += _rows(OPTIONS, width)
    lines += ["", "Commands:"]
    lines += _rows(tuple(HELP.items()), width)
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
