"""The project reads nothing outside its own root: the scan (tests/support/outside.py) finds
each kind of escape and lets paths inside the root be; the docs say why each system package and
dependency is there. Every tracked file scanned: tests/integration/test_self_contained.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.outside import escapes

REPO = Path(__file__).resolve().parents[2]


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
