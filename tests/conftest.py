"""Shared fixtures, the tier markers and each tier's time. Each test is marked by the folder it
is in (unit, integration, e2e), so `pytest -m unit` runs the fast tier; the terminal summary
ends with the time each tier took. The mirror section serves tests of
tests/support/make_mirror.py and mirror_server.py, and any test that needs an Apache-shaped
mirror on 127.0.0.1."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import debian_java, make_mirror
from tests.support.mirror_server import MirrorServer

REPO = Path(__file__).resolve().parent.parent
TIERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with the tier of the folder it is in (tests/<tier>/...)."""
    tests = Path(__file__).resolve().parent
    for item in items:
        tier = item.path.resolve().parent
        while tier.parent != tests and tier.parent != tier:
            tier = tier.parent
        if tier.parent == tests and tier.name in TIERS:
            item.add_marker(tier.name)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Each tier's time: its tests' setup, call and teardown, summed (a fixture shared across
    tests counts where it was set up and torn down)."""
    seconds = dict.fromkeys(TIERS, 0.0)
    tests: dict[str, set[str]] = {tier: set() for tier in TIERS}
    for reports in terminalreporter.stats.values():
        for report in reports:
            tier = next((t for t in TIERS if t in getattr(report, "keywords", {})), None)
            if isinstance(report, pytest.TestReport) and tier is not None:
                seconds[tier] += report.duration
                tests[tier].add(report.nodeid)
    if any(tests.values()):
        terminalreporter.write_sep("=", "time per tier")
        for tier in TIERS:
            if count := len(tests[tier]):
                terminalreporter.write_line(f"{tier:<12} {count:5} test(s) {seconds[tier]:9.1f} s")


# --- mirror ---

MIRROR_DIR = REPO / "build" / "test-mirror"


@pytest.fixture(scope="session")
def mirror_dir() -> Path:
    """The stand-in mirror, built once into build/test-mirror and reused while current."""
    MIRROR_DIR.parent.mkdir(parents=True, exist_ok=True)
    # Parallel sessions (xdist workers, two terminals) build it once between them.
    with open(MIRROR_DIR.parent / ".test-mirror.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not make_mirror.mirror_is_current(MIRROR_DIR):
            make_mirror.build_mirror(MIRROR_DIR)
    return MIRROR_DIR


@pytest.fixture
def mirror_server(mirror_dir: Path) -> Iterator[MirrorServer]:
    """A started MirrorServer on the mirror, at "/" and again at "/m1" and "/m2" so a test can
    offer several mirrors that fail independently. Faults and request records start empty."""
    mounts = {"/m1": mirror_dir, "/m2": mirror_dir}
    with MirrorServer(mirror_dir, mounts=mounts) as server:
        yield server


# --- wheelhouse ---

WHEELHOUSE = REPO / "build" / "wheelhouse"


@pytest.fixture(scope="session")
def wheelhouse() -> Path:
    """The locked wheels, fetched from PyPI once by `make wheelhouse`; tests never go online."""
    if not WHEELHOUSE.is_dir() or not any(WHEELHOUSE.glob("supervisor-*.whl")):
        pytest.fail(f"{WHEELHOUSE} is missing: run `make wheelhouse` first")
    return WHEELHOUSE


# --- Debian 11's Java 11, for the Storm releases Java 17 cannot run (make java11) ---

JAVA11_DIR = REPO / "build" / "debian11-java11"


@pytest.fixture(scope="session")
def java11_jre() -> Path:
    """Debian 11's OpenJDK 11 JRE as a tarball for `bundler build --jdk`."""
    tarball = debian_java.jre_tarball(JAVA11_DIR)
    if not tarball.is_file():
        pytest.fail(f"{tarball} is missing: run `make java11` (make test does)")
    return tarball


# --- a JDK tarball made from this machine's own JDK, for `bundler build --jdk` ---

JDK_TARBALL = REPO / "build" / "test-jdk" / "host-jdk.tar.gz"


@pytest.fixture(scope="session")
def jdk_tarball() -> Path:
    """This machine's JDK as a tarball (symlinks followed, docs and jmods left out), built once."""
    if JDK_TARBALL.is_file():
        return JDK_TARBALL
    java = shutil.which("java")
    if java is None:
        pytest.fail("no java on PATH: the tests need the machine's JDK")
    home = Path(os.path.realpath(java)).parents[1]
    JDK_TARBALL.parent.mkdir(parents=True, exist_ok=True)
    part = JDK_TARBALL.with_suffix(".part")
    # Unanchored patterns: Debian's lib/src.zip is a dangling link.
    excludes = ["jmods", "src.zip", "docs", "include", "man", "demo", "legal"]
    subprocess.run(
        ["tar", "-czhf", str(part), "-C", str(home.parent)]
        + [f"--exclude={name}" for name in excludes]
        + [home.name],
        check=True,
    )
    part.rename(JDK_TARBALL)
    return JDK_TARBALL
