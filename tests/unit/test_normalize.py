"""normalize.py: what a generated file means. A comment, a blank line or the order of keys is
no change (no restart); a changed value is one; what it cannot read is compared by bytes. Checked
on every golden config set the renderer is tested with (on every target Python:
tests/integration/test_normalize.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundler.onhost.plan import fingerprint
from bundler.onhost.render import normalize

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "configs"

GENERATED = sorted(
    p
    for p in GOLDEN.rglob("*")
    if p.is_file() and p.name in ("zoo.cfg", "storm.yaml", "storm-supervisord.service")
)


def rel_of(path: Path) -> str:
    return str(path.relative_to(GOLDEN)).split("/", 1)[1]


def renamed(data: bytes) -> bytes:
    """The same file as another bundle writes it: only the header comment differs."""
    text = data.decode()
    assert "from bundle " in text
    return text.replace("from bundle ", "from bundle other-").encode()


def reordered(data: bytes, comment: str) -> bytes:
    """Entries in reverse order (a YAML list stays with its key), comments dropped."""
    blocks: list[list[str]] = []
    for line in data.decode().splitlines():
        if not line.strip() or line.startswith(comment):
            continue
        if line.startswith(" "):
            blocks[-1].append(line)
        else:
            blocks.append([line])
    return ("\n".join(line for block in reversed(blocks) for line in block) + "\n").encode()


@pytest.mark.parametrize("path", GENERATED, ids=lambda p: str(p.relative_to(GOLDEN)))
def test_every_generated_file_is_read_by_meaning_and_a_comment_is_no_change(path: Path) -> None:
    rel, data = rel_of(path), path.read_bytes()
    kind, _ = normalize.meaning(rel, data)
    assert kind != "bytes", (rel, "the renderer's own output must parse")
    assert normalize.digest(rel, renamed(data)) == normalize.digest(rel, data)
    if kind in ("properties", "yaml"):
        assert normalize.digest(rel, reordered(data, "#")) == normalize.digest(rel, data)


@pytest.mark.parametrize(
    ("rel", "old", "new"),
    [
        ("etc/zookeeper/zoo.cfg", b"tickTime=2000\n", b"tickTime=3000\n"),
        ("etc/zookeeper/zoo.cfg", b"tickTime=2000\n", b"tickTime=2000\ninitLimit=5\n"),
        ("etc/zookeeper/zoo.cfg", b"a=1\n", b"a=1 \n"),  # Properties keeps trailing spaces
        ("etc/zookeeper/zoo.cfg", b"a=1\na=2\n", b"a=2\na=1\n"),  # the last one wins
        ("etc/storm/storm.yaml", b'a: "x"\n', b'a: "y"\n'),
        ("etc/storm/storm.yaml", b"a:\n  - 1\n  - 2\n", b"a:\n  - 2\n  - 1\n"),
        ("etc/storm/storm.yaml", b"a:\n  - 1\n", b"a:\n  - 1\nb: []\n"),
        ("etc/zookeeper/logback.xml", b"<a>1</a>\n", b"<a>2</a>\n"),
        ("data/zookeeper/myid", b"1\n", b"2\n"),
    ],
)
def test_a_changed_value_is_a_change(rel: str, old: bytes, new: bytes) -> None:
    assert normalize.digest(rel, old) != normalize.digest(rel, new)


@pytest.mark.parametrize(
    ("rel", "old", "new"),
    [
        ("etc/zookeeper/zoo.cfg", b"# one\na=1\n\nb = 2\n", b"b=2\n! other\na:1\n"),
        ("etc/zookeeper/log4j.properties", b"x.y=A, B\n", b"  # c\nx.y = A, B\n"),
        ("etc/storm/storm.yaml", b'# h\na: 1\nb:\n  - "x"\n', b'b:\n- "x"\n\na: 1\n# t\n'),
        ("etc/zookeeper/logback.xml", b"<!-- a -->\n<a>1</a>\n", b"<!-- b\n c -->\n<a>1</a>\n"),
        ("/etc/systemd/system/s.service", b"# a\n[Unit]\nA=1\n", b"; b\n[Unit]\nA=1\n"),
    ],
)
def test_comments_blank_lines_and_order_are_no_change(rel: str, old: bytes, new: bytes) -> None:
    assert normalize.digest(rel, old) == normalize.digest(rel, new)


@pytest.mark.parametrize(
    ("rel", "text"),
    [
        ("etc/storm/storm.yaml", b'a: "x" # trailing comment\n'),  # another YAML style
        ("etc/storm/storm.yaml", b"a: {b: 1}\n"),
        ("etc/storm/storm.yaml", b"a: 1\na: 2\n"),  # a key twice
        ("etc/storm/storm.yaml", b"a:\nb: 1\n"),  # a null
        ("etc/storm/storm.yaml", b"---\na: 1\n"),
        ("etc/zookeeper/zoo.cfg", b"a=1\\\n  2\n"),  # a continuation line
        ("etc/zookeeper/zoo.cfg", b"a=\xff\n"),  # not UTF-8
    ],
)
def test_what_it_cannot_read_is_compared_by_bytes(rel: str, text: bytes) -> None:
    assert normalize.meaning(rel, text)[0] == "bytes"
    # Even a comment added then is a change: the safe side.
    assert normalize.digest(rel, text) != normalize.digest(rel, b"# c\n" + text)


def test_a_program_record_of_the_byte_scheme_is_translated_not_restarted() -> None:
    section, component = {"command": "z"}, {"top": "zookeeper-3.8.4"}
    old = [("etc/zookeeper/zoo.cfg", b"# bundle a\ntickTime=2000\n", 0o644)]
    new = [("etc/zookeeper/zoo.cfg", b"# bundle b\ntickTime=2000\n", 0o644)]
    legacy = fingerprint.legacy_fingerprint(section, "zookeeper", component, old, None)
    meant = fingerprint.fingerprint(section, "zookeeper", component, old, None)
    assert ":" not in legacy and meant.startswith(normalize.SCHEME + ":")
    now = fingerprint.fingerprint(section, "zookeeper", component, new, None)
    # The record still matches the files on disk: translated, and equal to the new one.
    assert fingerprint.started_with(legacy, legacy, meant) == meant == now
    # The files were edited since: kept as recorded, so it differs and the program restarts.
    assert fingerprint.started_with("0" * 64, legacy, meant) == "0" * 64 != now
    assert fingerprint.started_with(None, legacy, meant) is None
    assert fingerprint.started_with(now, legacy, meant) == now
