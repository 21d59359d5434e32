"""The skips of a test run, judged against the allow-list tests/skips-allowed.txt: CI fails on a
skip whose reason no line there allows, since a test that skips checks nothing.

    python -m tests.support.skips build/pytest-junit.xml

prints every skipped test with its reason (from pytest's JUnit report, which `make test`
writes), then the skips not allowed, and exits 1 when there is one. The allow-list holds one
regular expression per line, searched in the reason; `#` starts a comment (why the skip is
expected on the CI machine); blank lines are ignored."""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = ROOT / "tests" / "skips-allowed.txt"


def skipped(report: Path) -> list[tuple[str, str]]:
    """(test, reason) of every skipped test in a JUnit report, in the report's order."""
    found = []
    for case in ET.parse(report).getroot().iter("testcase"):
        skip = case.find("skipped")
        if skip is not None:
            test = f"{case.get('classname', '')}::{case.get('name', '')}"
            found.append((test, skip.get("message", "")))
    return found


def allowed(path: Path) -> list[re.Pattern[str]]:
    """The allow-list's patterns."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [re.compile(line) for line in lines if line]


def unexpected(skips: list[tuple[str, str]], patterns: list[re.Pattern[str]]) -> list[str]:
    """The skips whose reason no pattern allows, one line each."""
    return [
        f"{test}: {reason}"
        for test, reason in skips
        if not any(pattern.search(reason) for pattern in patterns)
    ]


def main(argv: list[str]) -> int:
    (report,) = argv
    skips = skipped(Path(report))
    for test, reason in skips:
        print(f"skipped: {test}: {reason}")
    refused = unexpected(skips, allowed(ALLOWED))
    for line in refused:
        print(f"not allowed by {ALLOWED.relative_to(ROOT)}: {line}", file=sys.stderr)
    print(f"{len(skips)} skipped, {len(refused)} not allowed")
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
