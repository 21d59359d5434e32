"""The archive judge alone (archive.Judge), on hostile entry lists: the one judge the build and
the installer share, faced with real hostile archives and mirrors in
tests/integration/test_faults.py."""

from __future__ import annotations

import pytest

from bundler.onhost.contract import archive


@pytest.mark.parametrize(
    ("entries", "says"),
    [
        ([("top/s", "symlink", "."), ("top/s/up", "symlink", "../x")], "inside a linked folder"),
        (
            [("top/a", "symlink", "b"), ("top/b", "symlink", "a"), ("top/c", "symlink", "a/x")],
            "loop",
        ),
        ([("top/h", "hardlink", "top/d"), ("top/d", "dir", "")], "not a file of the archive"),
        ([("top/d", "dir", ""), ("top/d", "file", "")], "file entry over a dir"),
        # Out of the folder and back in by its name: refused, the name is not the host's.
        ([("top/in", "symlink", "../top/x")], "leaves the release folder"),
        ([("top/lib/a.jar", "file", ""), ("top/cur", "symlink", "lib/a.jar")], None),
    ],
)
def test_the_judge_alone(entries: list[tuple[str, str, str]], says: str | None) -> None:
    judge = archive.Judge("top")
    problems = [judge.add(name, kind, link) for name, kind, link in entries]
    problems.append(judge.finish())
    found = [p for p in problems if p]
    if says is None:
        assert found == []
    else:
        assert found and says in found[0], found
