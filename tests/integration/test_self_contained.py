"""The project reads nothing outside its own root: a lone clone has nothing beside it.

Every tracked file is scanned for the ways code has reached out before: a path into the
`shared` folder beside the clone, its `reference` folder, and a path built from `__file__`
that climbs above the repository root (too many `.parent`/`.parents[N]` steps, directly or
from a name such as ROOT). Shell, make and CI files may not climb with more `../` than their
own depth. Committed docs name no machine-specific folder.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path, PurePosixPath

import pytest

REPO = Path(__file__).resolve().parents[2]

# A reference to the reading-material folder that sat beside the repository.
SHARED = re.compile(
    r"\.\./shared\b"
    r"|shared/reference"
    r"|\.parents?(\[\d+\])?(\.parent)*\s*/\s*[\"']shared[\"']"
    r"|[\"']shared[\"']\s*/\s*[\"']reference[\"']"
)
# NAME = Path(__file__)<.resolve()><.parent...|.parents[N]>
FROM_FILE = re.compile(
    r"^\s*(?P<name>[A-Za-z_]\w*)\s*=\s*Path\(\s*(?:os\.path\.\w+\()?__file__\)?\s*\)"
    r"(?:\.resolve\(\)|\.absolute\(\))?(?P<climb>(?:\.parent\b|\.parents\[\d+\])*)",
    re.M,
)
# An expression climbing from a name or from Path(__file__) directly.
CLIMB = re.compile(
    r"(?P<base>\b[A-Za-z_]\w*|Path\(__file__\)(?:\.resolve\(\)|\.absolute\(\))?)"
    r"(?P<climb>(?:\.parent\b|\.parents\[\d+\])+)"
)
DOTDOTS = re.compile(r"(?:\.\./)+|(?:/\.\.)+(?=[\s\"'/)]|$)")
MACHINE_PATHS = re.compile(r"/wor[k]/|/roo[t]/|/home/\w+/\.pyenv")
SHELLISH = (".sh", ".mk", ".cfg", ".toml", ".yml", ".yaml")


def _levels(climb: str) -> int:
    """How many folders `.parent.parents[1]...` climbs."""
    levels = 0
    for step in re.findall(r"\.parent\b|\.parents\[(\d+)\]", climb):
        levels += int(step) + 1 if step else 1
    # findall gives "" for `.parent` and the index for `.parents[N]`.
    return levels


def escapes(rel: str, text: str) -> list[str]:
    """The lines of file `rel` (a repository-relative posix path) that reach outside the root."""
    found = []
    depth = len(PurePosixPath(rel).parts) - 1  # folders between the root and this file
    name = PurePosixPath(rel).name
    lines = text.splitlines()
    for number, line in enumerate(lines, 1):
        if SHARED.search(line):
            found.append(f"{rel}:{number}: {line.strip()}")
    if rel.endswith(".py"):
        # Names bound to a folder found from __file__, and how far below the root each is.
        below = {"__file__": depth + 1}  # the file itself counts as one level to climb out of
        for match in FROM_FILE.finditer(text):
            below[match["name"]] = depth + 1 - _levels(match["climb"])
        for number, line in enumerate(lines, 1):
            for match in CLIMB.finditer(line):
                base = match["base"]
                start = below["__file__"] if base.startswith("Path(__file__)") else below.get(base)
                if start is not None and start - _levels(match["climb"]) < 0:
                    found.append(f"{rel}:{number}: {line.strip()}")
    elif rel.endswith(SHELLISH) or name in ("Makefile", "run") or "/" not in rel:
        for number, line in enumerate(lines, 1):
            for match in DOTDOTS.finditer(line):
                if match[0].count("..") > depth:
                    found.append(f"{rel}:{number}: {line.strip()}")
    if rel.endswith(".md"):
        for number, line in enumerate(lines, 1):
            if MACHINE_PATHS.search(line):
                found.append(f"{rel}:{number}: {line.strip()}")
    return found


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
        if rel == Path(__file__).resolve().relative_to(REPO).as_posix():
            # This file names the patterns it looks for, and its cases below are escapes on
            # purpose: only its own code above the cases is checked, for climbs.
            code = text.split("@pytest.mark.parametrize")[0]
            text = "\n".join(line for line in code.splitlines() if not SHARED.search(line))
        found += escapes(rel, text)
    assert not found, "reaches outside the repository root:\n" + "\n".join(found)


# The escapes below are assembled, so that this file does not itself read as one.
UP, BESIDE, MACHINE = "..", "sha" + "red", "/" + "work/main"


@pytest.mark.parametrize(
    ("rel", "text"),
    [
        ("tests/test_x.py", f'REF = Path(__file__).resolve().parents[2] / "{BESIDE}" / "ref"'),
        ("tests/test_x.py", 'REPO = Path(__file__).resolve().parents[1]\nX = REPO.parent / "y"'),
        ("tests/test_x.py", 'X = Path(__file__).parent.parent.parent / "y"'),
        ("scripts/x.py", 'D = Path(__file__).resolve().parent\nR = D.parent.parent / "ref"'),
        ("tests/test_x.py", f'DATA = "{UP}/{BESIDE}/reference/storm-defaults"'),
        ("Makefile", f"\tcp {UP}/{BESIDE}/x build/"),
        ("Makefile", "\t$(PY) ../tools/x.py"),
        (".ci/run", 'cd "$(dirname "$0")/../.."'),
        ("docs/x.md", f"- Python: 3.11.7 ({MACHINE}/.venv/bin/python)"),
    ],
)
def test_the_scan_finds_each_kind_of_escape(rel: str, text: str) -> None:
    assert escapes(rel, text), (rel, text)


@pytest.mark.parametrize(
    ("rel", "text"),
    [
        ("tests/test_x.py", 'REPO = Path(__file__).resolve().parents[1]\nX = REPO / "recipes"'),
        ("scripts/x.py", 'D = Path(__file__).resolve().parent\nR = D.parent / "recipes"'),
        ("bundler/x.py", 'R = Path(__file__).resolve().parent.parent / "recipes"'),
        ("tests/test_x.py", 'names = ["../escape.txt", "top/../../x"]'),
        (".ci/run", 'cd "$(dirname "$0")/.."'),
        ("docs/x.md", "interpreters under `~/.pyenv/versions/`"),
    ],
)
def test_the_scan_lets_paths_inside_the_root_be(rel: str, text: str) -> None:
    assert not escapes(rel, text), (rel, text)


# --- what a newcomer reads ---


def test_the_docs_say_why_each_system_package_and_dependency_is_there() -> None:
    page = REPO / "docs" / "explanation" / "tests-and-dependencies.md"
    text = page.read_text()
    makefile = (REPO / "Makefile").read_text()
    packages = re.findall(r'missing="\$\$missing ([\w.+-]+)"', makefile)
    assert "default-jdk-headless" in packages and "zookeeper" in packages, packages
    pyproject = (REPO / "pyproject.toml").read_text()
    block = re.search(r"^dependencies = \[(.*?)^\]", pyproject, re.M | re.S)
    assert block is not None
    dependencies = re.findall(r'^\s*"([A-Za-z0-9_.-]+)', block[1], re.M)
    assert "typer" in dependencies, dependencies
    missing = [name for name in packages + dependencies if f"| `{name}` |" not in text]
    assert not missing, f"{page.relative_to(REPO)} has no table row for {missing}"
