"""The docs: each reference page under docs/reference/ is what scripts/docs.py writes from the
definitions it describes, and every relative link in README.md and docs/ leads to a file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scripts import docs

ROOT = Path(__file__).resolve().parents[2]


# --- generated reference pages ---


def test_the_reference_pages_are_what_the_definitions_give() -> None:
    stale = docs.stale(ROOT)
    assert not stale, (
        f"{', '.join(stale)}: differ from what scripts/docs.py writes from the definitions; "
        f"run `{docs.COMMAND}` and commit the result"
    )


def test_a_page_keeps_its_prose_around_the_generated_block() -> None:
    begin, end = docs.BEGIN.format(name="x"), docs.END.format(name="x")
    page = f"# X\n\nbefore\n\n{begin}\nold\n{end}\n\nafter\n"
    assert docs.splice(page, "x", "new\n") == f"# X\n\nbefore\n\n{begin}\nnew\n{end}\n\nafter\n"


def test_a_page_without_its_markers_is_refused() -> None:
    with pytest.raises(docs.DocsError, match="markers"):
        docs.splice("# X\n\nprose only\n", "x", "new")


def test_each_installer_flag_is_a_row_with_its_text() -> None:
    usage = (
        "usage: ./install.sh --role ROLE [--purge]\n"
        "\n"
        "  --role ROLE,...         the daemons,\n"
        "                          or a preset\n"
        "  --childopts DAEMON=OPTS extra JVM options\n"
        "  --uninstall [--purge]   remove it\n"
        "\n"
        "Exit codes: 0 ok.\n"
    )
    synopsis, described, closing = docs.parse_usage(usage)
    assert synopsis == ["usage: ./install.sh --role ROLE [--purge]"]
    assert described == [
        ("--role ROLE,...", "the daemons, or a preset"),
        ("--childopts DAEMON=OPTS", "extra JVM options"),
        ("--uninstall [--purge]", "remove it"),
    ]
    assert closing == ["Exit codes: 0 ok."]


def test_a_flag_the_installer_parses_but_does_not_describe_is_refused() -> None:
    from bundler.onhost import flags

    described = docs.parse_usage(flags.USAGE)[1]
    docs.check_described(flags, described)
    with pytest.raises(docs.DocsError, match="--upgrade"):
        docs.check_described(flags, [row for row in described if row[0] != "--upgrade"])


# --- links ---

INLINE = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
CODE = re.compile(r"^(```|~~~).*?^\1[^\n]*$|`[^`\n]+`", re.M | re.S)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def relative_links(text: str) -> list[str]:
    """Each link target that names a file of the repository: not a URL, not an anchor alone;
    links shown as code are not links."""
    text = CODE.sub("", text)
    targets = INLINE.findall(text) + REFERENCE.findall(text)
    return [t for t in targets if not EXTERNAL.match(t) and not t.startswith("#")]


def broken(page: Path, root: Path) -> list[str]:
    found = []
    for target in relative_links(page.read_text()):
        path = (page.parent / target.split("#")[0]).resolve()
        if not path.is_relative_to(root) or not path.exists():
            found.append(f"{page.relative_to(root)}: {target}")
    return found


def test_every_relative_link_leads_to_a_file() -> None:
    found = [link for page in pages() for link in broken(page, ROOT)]
    assert not found, "links to no file:\n" + "\n".join(found)


def test_the_link_check_sees_what_it_looks_for(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "there.md").write_text("# There\n")
    page = tmp_path / "docs" / "page.md"
    page.write_text(
        "[ok](there.md) [anchor](there.md#top) [up](../docs/there.md) [web](https://x.org/a)\n"
        "[self](#here) [gone](missing.md) [outside](../../elsewhere.md)\n"
        "[ref]: gone-too.md\n"
        "`[not a link](nowhere.md)`\n"
        "```\n[nor this](nowhere.md)\n```\n"
    )
    assert broken(page, tmp_path) == [
        "docs/page.md: missing.md",
        "docs/page.md: ../../elsewhere.md",
        "docs/page.md: gone-too.md",
    ]
