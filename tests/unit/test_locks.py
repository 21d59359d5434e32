"""The supervisord locks are consistent with the recipe: every Python of the recipe has a lock
of the default release, every lock holds exactly what the recipe asks for on its Python, with
hashes (installed and run offline: tests/integration/test_locks.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from scripts import lock
from tests.support import make_wheelhouse

REPO = Path(__file__).resolve().parents[2]
RECIPE = lock.load_recipe()
PYTHONS: tuple[str, ...] = RECIPE.pythons
DEFAULT: str = RECIPE.default

# From PyPI, for supervisor-<version>-py2.py3-none-any.whl.
KNOWN_WHEEL_SHA256 = {
    "4.3.0": "0bcb763fddafba410f35cbde226aa7f8514b9fb82eb05a0c85f6588d1c13f8db",
    "4.2.5": "2ecaede32fc25af814696374b79e42644ecaba5c09494c51016ffda9602d0f08",
}
ALL_LOCKS = sorted(
    (path.parent.name.removeprefix("supervisor-"), path.name[2:-4])
    for path in make_wheelhouse.find_locks(REPO / "recipes" / "python")
)


def _target_env(python: str) -> dict[str, str]:
    return {
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "os_name": "posix",
        "platform_system": "Linux",
    }


def _check_lock(version: str, python: str) -> None:
    path = lock.lock_path(version, python)
    assert path.is_file(), f"{path.relative_to(REPO)} missing: run `make locks`"
    in_file = path.with_suffix(".in")
    assert in_file.is_file(), f"{in_file.relative_to(REPO)} missing: run `make locks`"
    assert in_file.read_text() == lock.render_in(RECIPE, version, python), (
        f"{in_file.relative_to(REPO)} does not match recipes/supervisor.toml: run `make locks`"
    )

    text = path.read_text()
    assert str(REPO) not in text and "/root/" not in text and "/tmp/" not in text
    assert "--index-url" not in text and "--find-links" not in text

    # parse_lock rejects any line that is not `name==version` with at least one sha256 hash.
    locked: dict[str, make_wheelhouse.LockedRequirement] = {
        req.name: req for req in make_wheelhouse.parse_lock(path)
    }
    assert locked["supervisor"].version == version
    if version in KNOWN_WHEEL_SHA256:
        assert KNOWN_WHEEL_SHA256[version] in locked["supervisor"].hashes
    for req in locked.values():
        assert req.hashes and all(len(h) == 64 for h in req.hashes)

    # Exactly what the recipe asks for on this Python: setuptools goes away where its marker
    # is false, pip is always there.
    env = _target_env(python)
    wanted = {}
    for line in lock.requirements_for(RECIPE, version):
        requirement = Requirement(line)
        if requirement.marker is None or Marker(str(requirement.marker)).evaluate(env):
            wanted[canonicalize_name(requirement.name)] = requirement
    assert "pip" in wanted
    assert set(locked) >= set(wanted), f"missing from {path.name}: {set(wanted) - set(locked)}"
    for name, requirement in wanted.items():
        assert requirement.specifier.contains(locked[name].version, prereleases=True)
    for line in lock.requirements_for(RECIPE, version):
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if name not in wanted:
            assert name not in locked, f"{name} locked although its marker is false on {python}"


@pytest.mark.parametrize("python", PYTHONS)
def test_default_release_locked_for_every_python(python: str) -> None:
    _check_lock(DEFAULT, python)


@pytest.mark.parametrize(("version", "python"), ALL_LOCKS)
def test_every_lock_matches_recipe(version: str, python: str) -> None:
    assert python in PYTHONS, f"lock for Python {python}, which is not in the recipe's pythons"
    _check_lock(version, python)


def test_lock_path() -> None:
    assert lock.lock_path("4.3.0", "2.7") == (
        REPO / "recipes" / "python" / "supervisor-4.3.0" / "py2.7.txt"
    )
