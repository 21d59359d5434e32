"""The stage packages of bundler/ and bundler/onhost/ (the stages below, lowest first): no
import cycle between modules, no module importing from a stage above its own, and at most 12
modules directly in each of the two top folders. Every import counts: those inside functions
and those only for the type checker (`if MYPY:`, `if TYPE_CHECKING:`) too, as a cycle of types
is still a cycle a reader has to untangle."""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

from bundler.onhost.host import ownership

ROOT = Path(__file__).resolve().parents[2]
MAX_TOP_FILES = 12

# Lowest first, by the name under bundler/ (then under bundler/onhost/): "" is the package
# itself. A module may import from its own stage and those before it. The on-host package is
# the lowest stage of the build side (which may import any of it, and it imports nothing of
# the build side: it runs alone on the hosts) and has stages of its own.
BUILD_STAGES = (
    ("onhost",),
    ("", "errors", "progress", "redact"),
    ("recipes",),
    ("fetch",),
    ("pack",),
    ("tools",),
    ("cli",),
    ("__main__",),
)
ONHOST_STAGES = (
    ("contract",),
    ("", "errors", "flags", "sha256check", "bundlesig"),
    ("render",),
    ("host",),
    ("bundle",),
    ("plan",),
    ("apply",),
    ("operate",),
    ("cli", "stormctl", "argsfirst", "__main__"),
)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules(root: Path = ROOT, package: str = "bundler") -> dict[str, Path]:
    """{dotted name: file} of every module of the package under root."""
    return {module_name(p, root): p for p in sorted((root / package).rglob("*.py"))}


def imported(name: str, path: Path, known: Iterable[str]) -> dict[str, int]:
    """{module of the package: first line} that the module imports, wherever in it."""
    names = set(known)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: dict[str, int] = {}

    def add(target: str, line: int) -> None:
        if target in names and target != name:
            found.setdefault(target, line)

    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            for alias in node.names:
                # `from package import module` imports the module; else a name of base.
                full = base + "." + alias.name
                add(full if full in names else base, node.lineno)
    return found


def import_graph(root: Path = ROOT, package: str = "bundler") -> dict[str, dict[str, int]]:
    found = modules(root, package)
    return {name: imported(name, path, found) for name, path in found.items()}


def _rank(parts: list[str], stages: tuple[tuple[str, ...], ...]) -> int | None:
    first = parts[0] if parts else ""
    return next((i for i, stage in enumerate(stages) if first in stage), None)


def stage_of(name: str) -> tuple[int, int] | None:
    """(build-side stage, on-host stage) of a module; None when no stage holds it."""
    parts = name.split(".")[1:]
    outer = _rank(parts, BUILD_STAGES)
    if outer == 0:
        inner = _rank(parts[1:], ONHOST_STAGES)
        return None if inner is None else (0, inner)
    return None if outer is None else (outer, 0)


def stage_problems(graph: dict[str, dict[str, int]]) -> list[str]:
    problems = []
    for name in sorted(graph):
        mine = stage_of(name)
        if mine is None:
            problems.append(f"{name}: in no stage; add its folder to the stages of test_layers")
            continue
        for target, line in sorted(graph[name].items()):
            theirs = stage_of(target)
            if theirs is not None and theirs > mine:
                problems.append(f"{name} (line {line}) imports {target}, a higher stage")
    return problems


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One cycle (a -> b -> ... -> a) per strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_cycle_in(graph, group) for group in groups]


def _cycle_in(graph: dict[str, dict[str, int]], group: set[str]) -> list[str]:
    """The shortest way from the group's first module back to itself, inside the group."""
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node]):
            if nxt == start:
                return paths[node] + [start]
            if nxt in group and nxt not in paths:
                paths[nxt] = paths[node] + [nxt]
                queue.append(nxt)
    raise AssertionError(f"no cycle through {start} in {sorted(group)}")


def cycle_problems(graph: dict[str, dict[str, int]]) -> list[str]:
    return sorted("import cycle: " + " -> ".join(cycle) for cycle in cycles(graph))


def top_files_problems(root: Path = ROOT) -> list[str]:
    problems = []
    for folder in (root / "bundler", root / "bundler" / "onhost"):
        files = sorted(p.name for p in folder.glob("*.py"))
        if len(files) > MAX_TOP_FILES:
            problems.append(
                f"{folder.relative_to(root)}/ has {len(files)} modules, at most "
                f"{MAX_TOP_FILES}: {', '.join(files)}; move some into a stage folder"
            )
    return problems


def test_no_import_cycle() -> None:
    assert cycle_problems(import_graph()) == []


def test_no_module_imports_from_a_higher_stage() -> None:
    assert stage_problems(import_graph()) == []


def test_at_most_twelve_modules_at_each_top() -> None:
    assert top_files_problems() == []


def test_the_installed_layout_lists_every_folder_of_the_installer_package() -> None:
    # --uninstall removes the folders ownership.PREFIX_DIRS names: a stage folder missing from
    # ONHOST_FOLDERS would stay behind in PREFIX/lib/onhost.
    package = ROOT / "bundler" / "onhost"
    folders = {p.name for p in package.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert set(ownership.ONHOST_FOLDERS) == folders


def test_the_checks_see_what_they_look_for(tmp_path: Path) -> None:
    onhost = tmp_path / "bundler" / "onhost"
    for folder in ("contract", "render", "host", "plan", "apply"):
        (onhost / folder).mkdir(parents=True)
        (onhost / folder / "__init__.py").write_text("")
    (tmp_path / "bundler" / "__init__.py").write_text("")
    (onhost / "__init__.py").write_text("")
    (onhost / "host" / "facts.py").write_text(
        "def running():\n    from ..apply.supervisord import pid_alive\n"
    )
    (onhost / "apply" / "supervisord.py").write_text("from ..host import facts\n")
    (onhost / "plan" / "model.py").write_text(
        "MYPY = False\nif MYPY:\n    from .plan import make_plan\n"
    )
    (onhost / "plan" / "plan.py").write_text("from . import model\n")
    (onhost / "contract" / "contract.py").write_text("from ..errors import UsageError\n")
    (onhost / "errors.py").write_text("from .contract import contract\n")
    (onhost / "render" / "roles.py").write_text("from bundler.errors import UsageError\n")
    (tmp_path / "bundler" / "errors.py").write_text("from .onhost.contract import contract\n")
    (tmp_path / "bundler" / "scratch").mkdir()
    (tmp_path / "bundler" / "scratch" / "__init__.py").write_text("")
    graph = import_graph(tmp_path)
    assert cycle_problems(graph) == [
        "import cycle: bundler.onhost.apply.supervisord -> bundler.onhost.host.facts -> "
        "bundler.onhost.apply.supervisord",
        "import cycle: bundler.onhost.contract.contract -> bundler.onhost.errors -> "
        "bundler.onhost.contract.contract",
        "import cycle: bundler.onhost.plan.model -> bundler.onhost.plan.plan -> "
        "bundler.onhost.plan.model",
    ]
    assert stage_problems(graph) == [
        "bundler.onhost.contract.contract (line 1) imports bundler.onhost.errors, a higher stage",
        "bundler.onhost.host.facts (line 2) imports bundler.onhost.apply.supervisord, "
        "a higher stage",
        "bundler.onhost.render.roles (line 1) imports bundler.errors, a higher stage",
        "bundler.scratch: in no stage; add its folder to the stages of test_layers",
    ]
    assert top_files_problems(tmp_path) == []
    for n in range(11):
        (onhost / f"m{n}.py").write_text("")
    assert top_files_problems(tmp_path) == [
        "bundler/onhost/ has 13 modules, at most 12: __init__.py, errors.py, m0.py, m1.py, "
        "m10.py, m2.py, m3.py, m4.py, m5.py, m6.py, m7.py, m8.py, m9.py; move some into a "
        "stage folder"
    ]
