"""CI's judge of skips (tests/support/skips.py): every skip of pytest's JUnit report is listed
with its reason, and one whose reason the allow-list does not name fails the run."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.support import skips

REPORT = """\
<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="3" skipped="2">
<testcase classname="tests.unit.test_a" name="test_ran" time="0.1"/>
<testcase classname="tests.integration.test_b" name="test_old[2.7]" time="0.0">
<skipped type="pytest.skip" message="no pyenv Python 2.7 under ~/.pyenv">x</skipped>
</testcase>
<testcase classname="tests.e2e.test_c" name="test_root" time="0.0">
<skipped type="pytest.skip" message="needs root, unshare and dash">y</skipped>
</testcase>
</testsuite></testsuites>
"""


@pytest.fixture
def report(tmp_path: Path) -> Path:
    path = tmp_path / "junit.xml"
    path.write_text(REPORT)
    return path


def test_every_skip_is_read_with_its_reason(report: Path) -> None:
    assert skips.skipped(report) == [
        (
            "tests.integration.test_b::test_old[2.7]",
            "no pyenv Python 2.7 under ~/.pyenv",
        ),
        ("tests.e2e.test_c::test_root", "needs root, unshare and dash"),
    ]


def test_a_reason_the_list_does_not_name_is_not_allowed(report: Path, tmp_path: Path) -> None:
    listed = tmp_path / "allowed.txt"
    listed.write_text(
        textwrap.dedent(
            """\
            # A comment line, and a blank one, allow nothing.

            ^no pyenv Python 2\\.7 under  # why: a comment after the pattern
            """
        )
    )
    patterns = skips.allowed(listed)
    assert [p.pattern for p in patterns] == [r"^no pyenv Python 2\.7 under"]
    assert skips.unexpected(skips.skipped(report), patterns) == [
        "tests.e2e.test_c::test_root: needs root, unshare and dash"
    ]
    assert skips.unexpected(skips.skipped(report), []) == [
        "tests.integration.test_b::test_old[2.7]: no pyenv Python 2.7 under ~/.pyenv",
        "tests.e2e.test_c::test_root: needs root, unshare and dash",
    ]


def test_the_repositorys_list_reads(report: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The list kept in the repository parses, and the command says what it found (judged
    against an empty list here, so that an entry added to the real one changes nothing)."""
    skips.allowed(skips.ALLOWED)
    empty = report.parent / "skips-allowed.txt"
    empty.write_text("# nothing may skip\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(skips, "ALLOWED", empty)
        patch.setattr(skips, "ROOT", report.parent)
        code = skips.main([str(report)])
    out, err = capsys.readouterr()
    assert "skipped: tests.e2e.test_c::test_root: needs root, unshare and dash\n" in out
    assert out.endswith("2 skipped, 2 not allowed\n") and code == 1
    assert "not allowed by skips-allowed.txt: tests.e2e.test_c::test_root" in err
