"""The tests' own layout (tests/README.md): every test file is in a tier folder, and test code
reaches shared code as the package tests.support, never by editing sys.path or by the flat
module names it had when it lived in scripts/ and beside the tests."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
TIERS = ("unit", "integration", "e2e")
# Modules that moved into tests/support, by the names they were imported under before.
OLD_NAMES = {"bundles", "netns", "hostfacts", "make_mirror", "mirror_server", "make_wheelhouse"}


def python_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "standin" not in p.relative_to(TESTS).parts)


def test_every_test_file_is_in_a_tier_folder() -> None:
    flat = [p.name for p in sorted(TESTS.glob("test_*.py"))]
    assert not flat, (
        f"expected test files in tests/{{{','.join(TIERS)}}}/, found in tests/: {flat}; "
        "move each into the tier it needs (tests/README.md)"
    )
    for path in TESTS.rglob("test_*.py"):
        tier = path.relative_to(TESTS).parts[0]
        assert tier in TIERS, f"{path.relative_to(TESTS)}: not under a tier folder {TIERS}"


def _problems(path: Path) -> list[str]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call) and ast.unparse(node.func) in (
            "sys.path.insert",
            "sys.path.append",
            "sys.path.extend",
        ):
            found.append((node.lineno, "edits sys.path"))
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for name in _imported(node):
                top = name.split(".")[0]
                if top in OLD_NAMES or top.startswith("test_"):
                    found.append((node.lineno, f"imports {name}; use tests.support.X"))
    return [f"line {line}: {what}" for line, what in sorted(found)]


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    """The absolute module names an import statement names."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return [node.module] if node.level == 0 and node.module else []


def test_test_code_imports_shared_code_as_a_package() -> None:
    found = {
        str(path.relative_to(TESTS)): problems
        for path in python_files()
        if (problems := _problems(path))
    }
    assert not found, f"see tests/README.md: {found}"


def test_the_checker_sees_what_it_looks_for(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "import sys\nsys.path.insert(0, 'scripts')\nfrom bundles import node\n"
        "import make_mirror\nfrom test_build import bundler\n"
        "CODE = 'import sys; sys.path.insert(0, sys.argv[1])'\n"
    )
    assert _problems(bad) == [
        "line 2: edits sys.path",
        "line 3: imports bundles; use tests.support.X",
        "line 4: imports make_mirror; use tests.support.X",
        "line 5: imports test_build; use tests.support.X",
    ]
