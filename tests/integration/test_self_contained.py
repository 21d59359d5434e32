"""The project reads nothing outside its own root: a lone clone has nothing beside it.

Every tracked file is scanned for the ways code has reached out before: a path into the
`shared` folder beside the clone, its `reference` folder, and a path built from `__file__`
that climbs above the repository root (too many `.parent`/`.parents[N]` steps, directly or
from a name such as ROOT). Shell, make and CI files may not climb with more `../` than their
own depth. Committed docs name no machine-specific folder.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support import outside
from tests.support.outside import SHARED, escapes

REPO = Path(__file__).resolve().parents[2]
SCAN_FILES = {
    Path(outside.__file__).relative_to(REPO).as_posix(),
    "tests/unit/test_self_contained.py",
}


def tracked_files() -> list[str]:
    """Files git tracks plus new ones not ignored (what the next commit would hold)."""
    proc = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"git ls-files failed in {REPO}: {proc.stderr.decode(errors='replace')}")
    return sorted(name for name in proc.stdout.decode().split("\0") if name)


def test_no_tracked_file_reaches_outside_the_repository() -> None:
    found = []
    for rel in tracked_files():
        path = REPO / rel
        if rel.startswith("tests/golden/") or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if rel in SCAN_FILES:
            # The scan names the patterns it looks for, and its unit test's cases are escapes
            # on purpose: only their code above the cases is checked, for climbs.
            code = text.split("@pytest.mark.parametrize")[0]
            text = "\n".join(line for line in code.splitlines() if not SHARED.search(line))
        found += escapes(rel, text)
    assert not found, "reaches outside the repository root:\n" + "\n".join(found)
