#!/usr/bin/env python3
"""Compile the hashed supervisord locks, one per supervisor release and target Python.

Reads recipes/supervisor.toml, writes recipes/python/supervisor-<version>/py<X.Y>.in from the
matching release's `requires`, and runs pip-compile on it to produce py<X.Y>.txt.

pip-tools has no target-Python option and evaluates markers and Requires-Python against the
interpreter it runs under, so every lock is compiled by the target Python itself (found with
pyenv), from a pip-tools old enough to run there. Those toolchains are installed with
`pip install --target` (Python 2.7 has no venv) and cached under build/lock-tools/.

The build host's pip configuration (config files, PIP_* variables, local find-links) is
ignored, so the locks name only PyPI releases and the hashes of all their files on PyPI.

An existing lock's pins are kept (pip-compile's own behaviour) unless --upgrade is given;
--check compiles into a temporary tree seeded with the committed lock and fails on any
difference, so it reports recipe edits and hash changes, not new upstream releases.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

REPO = Path(__file__).resolve().parents[1]
RECIPE = REPO / "recipes" / "supervisor.toml"
# Relative to the compile root: the lock annotations ("via -r ...") must not name a local path.
LOCKS_REL = Path("recipes") / "python"
TOOLS_DIR = REPO / "build" / "lock-tools"
INDEX_URL = "https://pypi.org/simple"
COMPILE_COMMAND = "make locks"
# Locked alongside the recipe's default: the last release with the 4.2 requirements.
EXTRA_VERSIONS = ("4.2.5",)


class LockError(Exception):
    """A lock could not be compiled; the message says why."""


@dataclass(frozen=True)
class Toolchain:
    """pip and pip-tools versions that work together on one target Python."""

    pip: str
    pip_tools: str
    flags: tuple[str, ...]


_MODERN_FLAGS = ("--strip-extras", "--no-config")

# The newest pip-tools each Python can run, with a pip it supports: pip-tools pokes into pip's
# internals and breaks with pip releases newer than itself.
_TOOLCHAINS: dict[tuple[int, int], Toolchain] = {
    (2, 7): Toolchain(pip="20.3.4", pip_tools="5.5.0", flags=()),
    # 6.4.0's backtracking resolver is experimental; the legacy one is its default.
    (3, 6): Toolchain(pip="21.3.1", pip_tools="6.4.0", flags=("--strip-extras",)),
    # 6.14.0 predates pip 23.2, which it does not work with.
    (3, 7): Toolchain(
        pip="23.1.2",
        pip_tools="6.14.0",
        flags=("--strip-extras", "--resolver=backtracking"),
    ),
    (3, 8): Toolchain(pip="25.0.1", pip_tools="7.5.2", flags=_MODERN_FLAGS),
    (3, 9): Toolchain(pip="26.0.1", pip_tools="7.6.2", flags=_MODERN_FLAGS),
}
_CURRENT_TOOLCHAIN = Toolchain(pip="26.3", pip_tools="7.6.2", flags=_MODERN_FLAGS)

_PYTHON_RE = re.compile(r"^(\d+)\.(\d+)$")
_PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+?)(?:\s*;.*?)?\s*\\?$")


def lock_path(supervisor_version: str, python: str) -> Path:
    """Path of the committed lock for a supervisor release on a target Python (X.Y)."""
    return REPO / _lock_rel(supervisor_version, python)


def _lock_rel(supervisor_version: str, python: str) -> Path:
    return LOCKS_REL / f"supervisor-{supervisor_version}" / f"py{python}.txt"


def _in_rel(supervisor_version: str, python: str) -> Path:
    return _lock_rel(supervisor_version, python).with_suffix(".in")


def parse_python(python: str) -> tuple[int, int]:
    match = _PYTHON_RE.match(python)
    if match is None:
        raise LockError(f"target Python must be given as X.Y, not {python!r}")
    return int(match.group(1)), int(match.group(2))


@dataclass(frozen=True)
class Release:
    versions: SpecifierSet
    requires: tuple[str, ...]


@dataclass(frozen=True)
class Recipe:
    default: str
    pythons: tuple[str, ...]
    releases: tuple[Release, ...]


def load_recipe(path: Path = RECIPE) -> Recipe:
    """Read and validate recipes/supervisor.toml."""
    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise LockError(f"cannot read {path}: {exc}") from exc
    try:
        default = data["default"]
        pythons = data["pythons"]
        raw_releases = data["release"]
        if not isinstance(default, str) or not isinstance(pythons, list):
            raise TypeError("`default` must be a string and `pythons` a list")
        for python in pythons:
            parse_python(python)
        releases = []
        for raw in raw_releases:
            requires = tuple(str(r) for r in raw["requires"])
            for line in requires:
                Requirement(line.format(version="0"))
            releases.append(Release(SpecifierSet(raw["versions"]), requires))
        Version(default)
    except (KeyError, TypeError, InvalidSpecifier, InvalidRequirement, InvalidVersion) as exc:
        raise LockError(f"{path}: invalid recipe: {exc}") from exc
    return Recipe(default=default, pythons=tuple(pythons), releases=tuple(releases))


def requirements_for(recipe: Recipe, supervisor_version: str) -> tuple[str, ...]:
    """The recipe's requirement lines for a supervisor release, `{version}` filled in."""
    try:
        version = Version(supervisor_version)
    except InvalidVersion as exc:
        raise LockError(f"not a version: {supervisor_version!r}") from exc
    for release in recipe.releases:
        if release.versions.contains(version, prereleases=True):
            return tuple(line.format(version=supervisor_version) for line in release.requires)
    raise LockError(f"no [[release]] in {RECIPE.name} covers supervisor {supervisor_version}")


def render_in(recipe: Recipe, supervisor_version: str, python: str) -> str:
    """Content of the pip-compile input file for a supervisor release on a target Python."""
    lines = [
        f"# Run-time requirements of supervisor {supervisor_version} on Python {python}.",
        "# Written by `make locks` from recipes/supervisor.toml: edit the recipe, not this file.",
        *requirements_for(recipe, supervisor_version),
    ]
    return "\n".join(lines) + "\n"


def toolchain_for(python: str) -> Toolchain:
    key = parse_python(python)
    if key in _TOOLCHAINS:
        return _TOOLCHAINS[key]
    if key >= (3, 10):
        return _CURRENT_TOOLCHAIN
    raise LockError(f"no known pip-tools release runs on Python {python}")


@dataclass(frozen=True)
class Interpreter:
    python: str
    path: Path
    version: str


def _pyenv_root() -> Path:
    return Path(os.environ.get("PYENV_ROOT", str(Path.home() / ".pyenv")))


def _interpreter_candidates(python: str) -> list[Path]:
    candidates: list[Path] = []
    pyenv = shutil.which("pyenv")
    if pyenv is not None:
        proc = subprocess.run(
            [pyenv, "prefix", python], capture_output=True, text=True, check=False
        )
        if proc.returncode == 0 and proc.stdout.strip():
            candidates.append(Path(proc.stdout.strip().splitlines()[0]) / "bin" / "python")
    pattern = re.compile(rf"^{re.escape(python)}\.(\d+)$")
    installed = [
        (int(m.group(1)), path)
        for path in (_pyenv_root() / "versions").glob(f"{python}.*")
        if (m := pattern.match(path.name)) is not None
    ]
    candidates.extend(path / "bin" / "python" for _, path in sorted(installed, reverse=True))
    return candidates


def find_interpreter(python: str) -> Interpreter:
    """The pyenv interpreter for target Python X.Y, checked by running it."""
    parse_python(python)
    for candidate in _interpreter_candidates(python):
        if not os.access(candidate, os.X_OK):
            continue
        proc = subprocess.run(
            [str(candidate), "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
            capture_output=True,
            text=True,
            check=False,
        )
        version = proc.stdout.strip()
        if proc.returncode == 0 and version.startswith(f"{python}."):
            return Interpreter(python=python, path=candidate, version=version)
    raise LockError(
        f"no Python {python} interpreter: install it with `pyenv install {python}` "
        f"(looked in `pyenv prefix {python}` and {_pyenv_root() / 'versions'}/{python}.*)"
    )


def _clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment minus the build host's pip and Python settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PIP_", "PYTHON"))
        and key not in {"VIRTUAL_ENV", "CUSTOM_COMPILE_COMMAND", "__PYVENV_LAUNCHER__"}
    }
    env.update(
        {
            # os.devnull as PIP_CONFIG_FILE makes pip skip every configuration file.
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_NO_INPUT": "1",
            "PIP_NO_PYTHON_VERSION_WARNING": "1",
            "PYTHONNOUSERSITE": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            # click aborts on Python 3.6 under an ASCII locale.
            "LC_ALL": "C.UTF-8",
            "LANG": "C.UTF-8",
        }
    )
    env.update(extra)
    return env


def _run(cmd: Sequence[str], *, env: Mapping[str, str], cwd: Path | None = None) -> None:
    proc = subprocess.run(
        list(cmd), env=dict(env), cwd=cwd, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).strip()
        raise LockError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{output}")


def _pip_install_cmd(interp: Interpreter, target: Path, packages: Sequence[str]) -> list[str]:
    return [
        str(interp.path),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--isolated",
        "--no-cache-dir",
        "--disable-pip-version-check",
        "--index-url",
        INDEX_URL,
        "--target",
        str(target),
        *packages,
    ]


@dataclass(frozen=True)
class ToolEnv:
    interpreter: Interpreter
    toolchain: Toolchain
    site: Path
    cache: Path


def ensure_toolenv(interp: Interpreter) -> ToolEnv:
    """pip-tools for the target interpreter, installed once into build/lock-tools/py<X.Y>/."""
    toolchain = toolchain_for(interp.python)
    base = TOOLS_DIR / f"py{interp.python}"
    env_dir = base / "env"
    stamp_name = "toolchain.json"
    stamp = {
        "interpreter": str(interp.path),
        "python": interp.version,
        "pip": toolchain.pip,
        "pip-tools": toolchain.pip_tools,
    }
    tool = ToolEnv(interp, toolchain, env_dir / "site", base / "cache")
    try:
        if json.loads((env_dir / stamp_name).read_text()) == stamp:
            return tool
    except (OSError, ValueError):
        pass

    base.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="env.", dir=base))
    try:
        env = _clean_env({})
        # The interpreter's own pip may predate the resolver and the Requires-Python checks:
        # it only installs the pinned pip, which then installs pip-tools.
        boot = staging / "boot"
        _run(_pip_install_cmd(interp, boot, [f"pip=={toolchain.pip}"]), env=env)
        _run(
            _pip_install_cmd(
                interp,
                staging / "site",
                [f"pip=={toolchain.pip}", f"pip-tools=={toolchain.pip_tools}"],
            ),
            env={**env, "PYTHONPATH": str(boot)},
        )
        shutil.rmtree(boot)
        (staging / stamp_name).write_text(json.dumps(stamp, indent=2) + "\n")
        if env_dir.exists():
            shutil.rmtree(env_dir)
        staging.rename(env_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return tool


def compile_lock(
    tool: ToolEnv, recipe: Recipe, supervisor_version: str, root: Path, *, upgrade: bool
) -> Path:
    """Write the .in file under `root` and compile it; return the lock written."""
    python = tool.interpreter.python
    in_rel = _in_rel(supervisor_version, python)
    lock_rel = _lock_rel(supervisor_version, python)
    in_file = root / in_rel
    in_file.parent.mkdir(parents=True, exist_ok=True)
    content = render_in(recipe, supervisor_version, python)
    if not in_file.exists() or in_file.read_text() != content:
        in_file.write_text(content)
    cmd = [
        str(tool.interpreter.path),
        "-m",
        "piptools",
        "compile",
        "--quiet",
        "--generate-hashes",
        "--allow-unsafe",
        "--no-reuse-hashes",
        "--no-emit-index-url",
        "--no-emit-find-links",
        "--no-emit-trusted-host",
        "--index-url",
        INDEX_URL,
        *tool.toolchain.flags,
        *(["--upgrade"] if upgrade else []),
        "--output-file",
        str(lock_rel),
        str(in_rel),
    ]
    env = _clean_env(
        {
            "PYTHONPATH": str(tool.site),
            "CUSTOM_COMPILE_COMMAND": COMPILE_COMMAND,
            # pip's and pip-tools' caches, kept per target Python.
            "XDG_CACHE_HOME": str(tool.cache),
        }
    )
    _run(cmd, env=env, cwd=root)
    return root / lock_rel


def pins(lock: Path) -> dict[str, str]:
    """name -> version of every requirement pinned in a lock."""
    found: dict[str, str] = {}
    for line in lock.read_text().splitlines():
        match = _PIN_RE.match(line)
        if match is not None:
            found[match.group(1).lower()] = match.group(2)
    return found


def _summary(lock: Path) -> str:
    return " ".join(f"{name}=={version}" for name, version in sorted(pins(lock).items()))


@dataclass
class Outcome:
    python: str
    messages: list[str]
    stale: int = 0


def _process_python(
    recipe: Recipe, python: str, versions: Sequence[str], *, check: bool, upgrade: bool
) -> Outcome:
    outcome = Outcome(python, [])
    tool = ensure_toolenv(find_interpreter(python))
    for version in versions:
        label = f"supervisor {version} on Python {python}"
        if not check:
            lock = compile_lock(tool, recipe, version, REPO, upgrade=upgrade)
            outcome.messages.append(f"{label}: {_summary(lock)}")
            continue
        with tempfile.TemporaryDirectory(prefix="lock-check.") as tmp:
            root = Path(tmp)
            committed = lock_path(version, python)
            if committed.exists():
                # Seed pip-compile with the committed pins, as `make locks` would be.
                seeded = root / _lock_rel(version, python)
                seeded.parent.mkdir(parents=True)
                shutil.copyfile(committed, seeded)
            fresh = compile_lock(tool, recipe, version, root, upgrade=upgrade)
            problems = []
            for rel in (_in_rel(version, python), _lock_rel(version, python)):
                want = (root / rel).read_text()
                have = (REPO / rel).read_text() if (REPO / rel).exists() else None
                if have is None:
                    problems.append(f"{rel} is missing")
                elif have != want:
                    diff = difflib.unified_diff(
                        have.splitlines(keepends=True),
                        want.splitlines(keepends=True),
                        f"{rel} (committed)",
                        f"{rel} (recompiled)",
                    )
                    problems.append("".join(diff).rstrip("\n"))
            if problems:
                outcome.stale += 1
                outcome.messages.append(f"{label}: OUT OF DATE")
                outcome.messages.extend(problems)
            else:
                outcome.messages.append(f"{label}: up to date ({_summary(fresh)})")
    return outcome


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--supervisor",
        action="append",
        metavar="VERSION",
        help="supervisor release to lock (repeatable; default: the recipe's default and "
        + ", ".join(EXTRA_VERSIONS)
        + ")",
    )
    parser.add_argument(
        "--python",
        action="append",
        metavar="X.Y",
        help="target Python to lock for (repeatable; default: the recipe's `pythons`)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="recompile into a temporary tree; exit 1 if a committed file differs",
    )
    parser.add_argument(
        "--upgrade",
        action="store_true",
        help="re-resolve to the newest releases instead of keeping the existing pins",
    )
    parser.add_argument(
        "--jobs", type=int, default=4, help="target Pythons compiled in parallel (default 4)"
    )
    args = parser.parse_args(argv)

    try:
        recipe = load_recipe()
        versions = list(dict.fromkeys(args.supervisor or [recipe.default, *EXTRA_VERSIONS]))
        for version in versions:
            requirements_for(recipe, version)
        pythons = list(dict.fromkeys(args.python or recipe.pythons))
        for python in pythons:
            parse_python(python)
            if python not in recipe.pythons:
                raise LockError(
                    f"Python {python} is not a target in {RECIPE.name}: "
                    f"add it to `pythons` first ({', '.join(recipe.pythons)})"
                )
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = [
                pool.submit(
                    _process_python,
                    recipe,
                    python,
                    versions,
                    check=args.check,
                    upgrade=args.upgrade,
                )
                for python in pythons
            ]
            stale = 0
            failed = 0
            for future in futures:
                try:
                    outcome = future.result()
                except LockError as exc:
                    failed += 1
                    print(f"error: {exc}", file=sys.stderr)
                    continue
                stale += outcome.stale
                for message in outcome.messages:
                    print(message)
    except LockError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if failed:
        return 2
    if stale:
        print(f"{stale} lock(s) out of date: run `{COMPILE_COMMAND}`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
