#!/usr/bin/env python3
"""Write the reference pages under docs/reference/ from the definitions they describe.

    python scripts/docs.py [--check]        (make docs)

Each page is hand-written prose around one generated block, between the markers BEGIN and END
below; only the block is rewritten:

- bundler-cli.md: every command of the typer app (bundler/cli/app.py) and its click
  parameters: names, metavar, help, default, choices;
- install-sh-and-stormctl.md: the installer's command line (bundler/onhost/flags.py: its usage
  text, checked against the flags it parses) and stormctl's own subcommands;
- exit-codes.md: the exit-code table (bundler/onhost/contract/contract.py) and the exceptions
  that carry each code (bundler/errors.py, bundler/onhost/errors.py);
- bundle-format.md: bundle.json's fields, from bundler/onhost/contract/bundle.schema.json.

`--check` writes nothing and exits 1 naming each page that differs; tests/unit/test_docs.py
makes the same comparison in-process.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
REFERENCE = Path("docs") / "reference"
COMMAND = "make docs"
BEGIN = "<!-- generated: {name} (scripts/docs.py, `make docs`): edit the definitions, not this -->"
END = "<!-- end generated: {name} -->"


class DocsError(Exception):
    """A page or a definition cannot be turned into its reference text; the message says why."""


# --- Markdown ---


def prose(text: object) -> str:
    """Text on one line, its angle brackets outside code spans shown as text, not read as HTML."""
    parts = " ".join(str(text).split()).split("`")
    for i in range(0, len(parts), 2):
        parts[i] = parts[i].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)


def cell(text: object) -> str:
    """One table cell: prose with the table's own bar escaped."""
    return prose(text).replace("|", "\\|")


def table(head: tuple[str, ...], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    return lines + ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]


def code(text: str) -> str:
    return f"`{text}`"


# --- bundler-cli.md: the typer app ---
# typer carries its own copy of click (typer._click), so its objects are read by attribute.


def cli_block() -> str:
    from typer.main import get_command

    from bundler.cli.app import app

    group: Any = get_command(app)
    root = group.context_class(group, info_name="bundler")
    lines = [f"## {code('bundler')}", "", "    bundler [OPTIONS] COMMAND [ARGS]...", ""]
    lines += [prose(group.help), ""] if group.help else []
    lines += options_table(group, root)
    for name, command in group.commands.items():
        ctx = command.context_class(command, info_name=name, parent=root)
        lines += ["", *command_section(name, command, ctx)]
    return "\n".join(lines)


def command_section(name: str, command: Any, ctx: Any) -> list[str]:
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    synopsis = " ".join(["bundler", name, "[OPTIONS]", *(argument_name(p) for p in arguments)])
    lines = [f"## {code('bundler ' + name)}", "", f"    {synopsis}", ""]
    for text in (command.help, command.epilog):
        if text:
            lines += [prose(text), ""]
    if arguments:
        rows = [(code(argument_name(p)), getattr(p, "help", None) or "") for p in arguments]
        lines += [*table(("argument", "meaning"), rows), ""]
    return lines + options_table(command, ctx)


def argument_name(param: Any) -> str:
    return str(param.metavar or param.name.upper())


def options_table(command: Any, ctx: Any) -> list[str]:
    rows = [
        (option_names(p, ctx), option_meaning(p), option_default(p))
        for p in command.params
        if p.param_type_name == "option" and not p.hidden
    ]
    return table(("option", "meaning", "default"), rows)


def option_names(param: Any, ctx: Any) -> str:
    names = ", ".join(sorted(param.opts + param.secondary_opts, key=len))
    if param.is_flag:
        return code(names)
    return code(f"{names} {param.make_metavar(ctx)}")


def option_meaning(param: Any) -> str:
    parts = [param.help or ""]
    choices = getattr(param.type, "choices", None)
    if choices:
        parts.append("One of " + ", ".join(code(str(c)) for c in choices) + ".")
    # What the definition says beyond the help text, unless the help says it already.
    if param.multiple and "repeat" not in parts[0].lower():
        parts.append("Repeatable.")
    if param.required and "required" not in parts[0].lower():
        parts.append("Required.")
    if param.envvar:
        parts.append(f"Environment: {code(str(param.envvar))}.")
    return " ".join(p for p in parts if p)


def option_default(param: Any) -> str:
    default = param.default
    if param.is_flag or default is None or not param.show_default or callable(default):
        return ""
    if isinstance(default, list | tuple):
        return ", ".join(code(str(d)) for d in default)
    return code(str(default))


# --- install-sh-and-stormctl.md: the installer's flags and stormctl ---

# Passed by install.sh itself, never by the operator.
INTERNAL_FLAGS = ("--bundle-dir",)
# A flag's line: two spaces in, the flag, its value's name (no lower-case letter, or another
# flag in brackets), then its text after one space or more.
FLAG_LINE = re.compile(r"^  (-[-a-z]+(?: (?:\[-\S*|[^a-z\s]+))*)(?:\s+(\S.*))?$")


def installer_block() -> str:
    from bundler.onhost import flags, stormctl

    synopsis, described, closing = parse_usage(flags.USAGE)
    check_described(flags, described)
    lines = ["## `install.sh`", "", "```text", *synopsis, "```", ""]
    lines += table(("flag", "meaning"), [(code(f), text) for f, text in described])
    lines += ["", prose(" ".join(closing)), "", "## `PREFIX/bin/stormctl`", ""]
    rows = [(code(f"stormctl {name}"), about) for name, (_, about) in stormctl.SUBCOMMANDS.items()]
    lines += table(("command", "what it does"), rows)
    return "\n".join(lines)


def parse_usage(usage: str) -> tuple[list[str], list[tuple[str, str]], list[str]]:
    """The installer's --help text as (its usage lines, (flag, meaning) per flag, the lines
    after the flags): the flags are the lines two spaces in, their text after the flag and its
    value's name, or on the lines indented below."""
    head, _, rest = usage.strip("\n").partition("\n\n")
    described: list[tuple[str, list[str]]] = []
    closing: list[str] = []
    for line in rest.splitlines():
        match = FLAG_LINE.match(line)
        if match and not closing:
            described.append((match[1].strip(), [match[2]] if match[2] else []))
        elif line.startswith("    ") and described and not closing:
            described[-1][1].append(line.strip())
        elif line.strip():
            closing.append(line.strip())
    if not described:
        raise DocsError("bundler/onhost/flags.py: USAGE describes no flag two spaces in")
    return head.splitlines(), [(flag, " ".join(text)) for flag, text in described], closing


def check_described(flags: Any, described: list[tuple[str, str]]) -> None:
    from bundler.onhost.contract import extras

    named = {token for flag, _ in described for token in re.findall(r"--[a-z][a-z-]*", flag)}
    parsed = [*flags.VALUE_FLAGS, *flags.SWITCHES, *extras.OPTION_FLAGS]
    missing = [
        f for f in parsed if f.startswith("--") and f not in named and f not in INTERNAL_FLAGS
    ]
    if missing:
        raise DocsError(
            f"bundler/onhost/flags.py parses {', '.join(missing)} but its USAGE text does not "
            "describe them; add each to USAGE"
        )


# --- exit-codes.md: the one table and the exceptions behind each code ---


def exit_codes_block() -> str:
    from bundler import errors
    from bundler.onhost import errors as onhost_errors
    from bundler.onhost.contract import contract

    build = raisers(errors, errors.BundlerError)
    installer = raisers(onhost_errors, onhost_errors.InstallError)
    rows = [
        (str(number), code(name), meaning, build.get(number, ""), installer.get(number, ""))
        for name, number, meaning in contract.EXIT_CODES
    ]
    head = ("code", "name", "meaning", "`bundler` raises", "`install.sh`, `stormctl` raise")
    return "\n".join(table(head, rows))


def raisers(module: ModuleType, base: type[Any]) -> dict[int, str]:
    """Exit code -> the exception classes defined in module that carry it, each with its
    docstring's first paragraph."""
    found: dict[int, list[str]] = {}
    for cls in exceptions(module, base):
        doc = (cls.__doc__ or "").strip().split("\n\n")[0]
        found.setdefault(int(cls.exit_code), []).append(f"{code(cls.__name__)}: {doc}")
    return {number: " ".join(classes) for number, classes in found.items()}


def exceptions(module: ModuleType, base: type[Any]) -> list[type[Any]]:
    return [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, base)
        and value.__module__ == module.__name__
    ]


# --- bundle-format.md: bundle.json from its JSON Schema ---

SCHEMA = Path("bundler") / "onhost" / "contract" / "bundle.schema.json"


def bundle_block() -> str:
    schema = json.loads((REPO / SCHEMA).read_text())
    head = ("field", "type", "required", "rule")
    defs: dict[str, dict[str, Any]] = schema.get("$defs", {})
    lines = [prose(f"{schema['title']}. {schema['description']}"), ""]
    lines += table(head, list(fields(schema, "")))
    lines += ["", "A value of a kind in backquotes above is checked by that kind's rule:", ""]
    kinds = [(code(n), *describe(d)) for n, d in defs.items() if "properties" not in d]
    lines += table(("kind", "type", "rule"), kinds)
    for name, definition in defs.items():
        if "properties" in definition:
            lines += ["", f"The fields of a {code(name)}:", ""]
            lines += table(head, list(fields(definition, "")))
    return "\n".join(lines)


def fields(node: dict[str, Any], path: str) -> Iterator[tuple[str, str, str, str]]:
    """One row per field below node, depth first; a reference to a definition stops there."""
    required = set(node.get("required", ()))
    children: list[tuple[str, dict[str, Any], str]] = [
        (f"{path}.{key}" if path else key, child, "yes" if key in required else "no")
        for key, child in node.get("properties", {}).items()
    ]
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        key = node.get("propertyNames", {}).get("$ref", "#/$defs/key").rsplit("/", 1)[-1]
        children.append((f"{path}.<{key}>" if path else f"<{key}>", extra, "any number"))
    if node.get("type") == "array" and isinstance(node.get("items"), dict):
        children.append((f"{path}[]", node["items"], "any number"))
    for name, child, needed in children:
        kind, rule = describe(child)
        yield code(name), kind, needed, rule
        if "$ref" not in child:
            yield from fields(child, name)


def describe(node: dict[str, Any]) -> tuple[str, str]:
    """(type, rule) of one schema node, in words."""
    if "$ref" in node:
        return code(node["$ref"].rsplit("/", 1)[-1]), ""
    rules = [
        rule
        for rule in (
            "exactly " + code(json.dumps(node["const"])) if "const" in node else "",
            "one of " + ", ".join(code(json.dumps(v)) for v in node["enum"])
            if "enum" in node
            else "",
            f"at least {node['minimum']}" if "minimum" in node else "",
            "matches " + code(node["pattern"]) if "pattern" in node else "",
            "keys match " + code(node["propertyNames"]["pattern"])
            if "pattern" in node.get("propertyNames", {})
            else "",
        )
        if rule
    ]
    return json_type(node), "; ".join(rules)


def json_type(node: dict[str, Any]) -> str:
    """The node's JSON type, or that of its constant or allowed values."""
    kind = node.get("type")
    if kind is None:
        values = [node["const"]] if "const" in node else node.get("enum", [])
        names = {bool: "boolean", int: "integer", float: "number", str: "string"}
        kind = sorted({names.get(type(v), "any") for v in values}) or "any"
    return " or ".join(kind) if isinstance(kind, list) else str(kind)


# --- pages ---

BLOCKS: dict[str, Callable[[], str]] = {
    "bundler-cli": cli_block,
    "install-sh-and-stormctl": installer_block,
    "exit-codes": exit_codes_block,
    "bundle-format": bundle_block,
}


def splice(text: str, name: str, block: str) -> str:
    """The page with the text between its markers replaced by block."""
    begin, end = BEGIN.format(name=name), END.format(name=name)
    before, found, rest = text.partition(begin + "\n")
    _, found_end, after = rest.partition(end)
    if not found or not found_end:
        raise DocsError(f"expected the markers {begin!r} and {end!r}, each on a line of its own")
    return f"{before}{begin}\n{block.rstrip()}\n{end}{after}"


def expected(root: Path = REPO) -> dict[Path, str]:
    """Each generated page (relative to root) as scripts/docs.py would write it."""
    pages = {}
    for name, make in BLOCKS.items():
        rel = REFERENCE / f"{name}.md"
        try:
            pages[rel] = splice((root / rel).read_text(), name, make())
        except (OSError, DocsError) as exc:
            raise DocsError(f"{rel}: {exc}") from None
    return pages


def stale(root: Path = REPO) -> list[str]:
    """The generated pages whose committed text differs from what this script writes."""
    return [str(rel) for rel, text in expected(root).items() if (root / rel).read_text() != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    try:
        pages = expected()
    except DocsError as exc:
        print(f"docs: {exc}", file=sys.stderr)
        return 1
    changed = [rel for rel, text in pages.items() if (REPO / rel).read_text() != text]
    if args.check:
        for rel in changed:
            print(f"docs: {rel} differs from the definitions; run `{COMMAND}`", file=sys.stderr)
        return 1 if changed else 0
    for rel in changed:
        (REPO / rel).write_text(pages[rel])
        print(f"wrote {rel}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
