"""One dialect across `bundler`'s commands and the installer's flags: every option's old
spelling still works for one release and is hidden from --help, every --help names the exit
codes, metavars say what goes there, and repeatable options say so."""

from __future__ import annotations

import importlib
import re
from typing import Any, get_args

import pytest
import typer.main

from bundler.cli.app import app
from bundler.cli.commands import COMMANDS, exit_codes, module_of
from bundler.cli.options import FormatChoice, GpgChoice
from bundler.onhost import flags

GROUP: Any = typer.main.get_command(app)

# (command, argv with an old spelling, parameter, the value click parses it to); every old
# spelling of every command is here (checked below).
OLD_SPELLINGS = [
    ("build", ["--output-dir", "out"], "out", "out"),
    ("build", ["--keys", "KEYS"], "apache_keys", ("KEYS",)),
    ("build", ["--sign", "ops@example.invalid"], "sign_with", "ops@example.invalid"),
    ("verify", ["b.tar", "--keys", "ops.asc"], "signer_key", "ops.asc"),
    ("sign", ["b.tar", "--key", "ops@example.invalid"], "sign_with", "ops@example.invalid"),
    ("join", ["b.parts", "--output", "b.tar"], "out", "b.tar"),
]


def _renamed(name: str) -> dict[str, str]:
    module = importlib.import_module(module_of(name))
    return dict(getattr(module, "RENAMED", {}))


def _params(name: str, argv: list[str]) -> dict[str, Any]:
    command = GROUP.get_command(None, name)
    return dict(command.make_context(name, list(argv)).params)


def _help(name: str | None) -> str:
    command = GROUP if name is None else GROUP.get_command(None, name)
    ctx = command.make_context(name or "bundler", ["--help"], resilient_parsing=True)
    return str(command.get_help(ctx))


def test_every_old_spelling_has_a_case() -> None:
    cases = {(name, arg) for name, argv, _, _ in OLD_SPELLINGS for arg in argv}
    for name in COMMANDS:
        for old in _renamed(name):
            assert (name, old) in cases, (name, old)


@pytest.mark.parametrize(("name", "argv", "param", "value"), OLD_SPELLINGS)
def test_an_old_spelling_still_works_and_says_its_new_name(
    name: str, argv: list[str], param: str, value: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    old = next(a for a in argv if a in _renamed(name))
    new = _renamed(name)[old]
    assert _params(name, argv)[param] == value
    assert f"bundler: warning: {old} is now {new};" in capsys.readouterr().err
    # As --old=value too, and exactly as the new name does.
    i = argv.index(old)
    joined = [*argv[:i], f"{old}={argv[i + 1]}", *argv[i + 2 :]]
    assert _params(name, joined) == _params(name, [*argv[:i], new, *argv[i + 1 :]])


@pytest.mark.parametrize("name", list(COMMANDS))
def test_help_shows_the_new_names_only(name: str) -> None:
    page = _help(name)
    for old, new in _renamed(name).items():
        assert re.search(rf"{re.escape(new)}\b", page), (name, new)
        assert not re.search(rf"{re.escape(old)}(?![\w-])", page), (name, old)


@pytest.mark.parametrize("name", [None, *COMMANDS])
def test_every_help_names_the_exit_codes(name: str | None) -> None:
    page = " ".join(_help(name).split())
    assert exit_codes() in page, page
    assert "2 usage" in page and "130 interrupted" in page


@pytest.mark.parametrize("name", list(COMMANDS))
def test_metavars_say_what_goes_there(name: str) -> None:
    command = GROUP.get_command(None, name)
    ctx = command.make_context(name, ["--help"], resilient_parsing=True)
    page = _help(name)
    assert not re.search(r"<\w+>|\{\w", page), page  # typer's <str>, <path>, {bundle}
    for param in command.params:
        if getattr(param, "multiple", False):
            assert "repeatable" in (param.help or ""), (name, param.name)
        record = param.get_help_record(ctx)
        if record and getattr(param, "is_flag", False) is False and " " in record[0]:
            metavar = record[0].split(" ", 1)[1]
            assert metavar.isupper() or metavar.startswith("[") or "." in metavar, record


def test_the_choices_are_the_builds_own() -> None:
    from bundler.fetch.keys import GpgMode
    from bundler.pack.bundle import Format

    assert get_args(GpgChoice) == get_args(GpgMode)
    assert get_args(FormatChoice) == get_args(Format)
    page = _help("build")
    assert "--gpg [auto|require|off]" in page and "--format [tar|tar.gz]" in page


@pytest.mark.parametrize(
    ("old", "new", "value", "attribute", "parsed"),
    [
        ("--ui-bind", "--supervisord-ui-bind", "0.0.0.0:9002", "supervisord_ui_bind",
         ("0.0.0.0", 9002)),
        ("--keys", "--signer-key", "ops.asc", "signer_key", "ops.asc"),
    ],
)  # fmt: skip
def test_the_installers_old_spellings_still_work(
    old: str, new: str, value: str, attribute: str, parsed: object
) -> None:
    assert flags.RENAMED[old] == new
    for argv in ([old, value], [f"{old}={value}"], [new, value]):
        args = flags.parse_args(["--bundle-dir", "/b", "--role", "all", *argv])
        assert getattr(args, attribute) == parsed, argv
        assert new in args.given and old not in args.given
    assert re.search(rf"{re.escape(new)}\b", flags.USAGE)
    assert not re.search(rf"{re.escape(old)}(?![\w-])", flags.USAGE)
