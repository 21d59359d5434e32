"""Recipes resolve every era's file names and facts from data, and new releases still resolve."""

from __future__ import annotations

import re

import pytest

from bundler.errors import UsageError
from bundler.recipes.recipes import RECIPES_DIR, Recipe, SupervisorRecipe, load_all


@pytest.fixture(scope="module")
def storm() -> Recipe:
    return Recipe.load("storm")


@pytest.fixture(scope="module")
def zookeeper() -> Recipe:
    return Recipe.load("zookeeper")


@pytest.mark.parametrize(
    ("version", "path", "top"),
    [
        (
            "3.4.6",
            "zookeeper/zookeeper-3.4.6/zookeeper-3.4.6.tar.gz",
            "zookeeper-3.4.6",
        ),
        (
            "3.5.4-beta",
            "zookeeper/zookeeper-3.5.4-beta/zookeeper-3.5.4-beta.tar.gz",
            "zookeeper-3.5.4-beta",
        ),
        (
            "3.5.5",
            "zookeeper/zookeeper-3.5.5/apache-zookeeper-3.5.5-bin.tar.gz",
            "apache-zookeeper-3.5.5-bin",
        ),
        (
            "3.9.3",
            "zookeeper/zookeeper-3.9.3/apache-zookeeper-3.9.3-bin.tar.gz",
            "apache-zookeeper-3.9.3-bin",
        ),
    ],
)
def test_zookeeper_three_naming_eras(zookeeper: Recipe, version: str, path: str, top: str) -> None:
    comp = zookeeper.resolve(version)
    assert comp.artifact.path == path
    assert comp.artifact.top == top
    assert comp.known


def test_zookeeper_bin_is_never_the_source_tarball(zookeeper: Recipe) -> None:
    art = zookeeper.resolve("3.8.4").artifact
    assert art.file == "apache-zookeeper-3.8.4-bin.tar.gz"
    assert art.decoy == "apache-zookeeper-3.8.4.tar.gz"
    assert art.launcher == "bin/zkServer.sh"


@pytest.mark.parametrize(
    ("version", "server_line", "whitelist", "admin", "log_config"),
    [
        (
            "3.4.6",
            "server.{id}={host}:{peer_port}:{election_port}",
            False,
            False,
            "log4j.properties",
        ),
        (
            "3.4.14",
            "server.{id}={host}:{peer_port}:{election_port}",
            True,
            False,
            "log4j.properties",
        ),
        (
            "3.5.2-alpha",
            "server.{id}={host}:{peer_port}:{election_port};{client_port}",
            False,
            True,
            "log4j.properties",
        ),
        (
            "3.5.10",
            "server.{id}={host}:{peer_port}:{election_port};{client_port}",
            True,
            True,
            "log4j.properties",
        ),
        (
            "3.8.4",
            "server.{id}={host}:{peer_port}:{election_port};{client_port}",
            True,
            True,
            "logback.xml",
        ),
    ],
)
def test_zookeeper_dialect(
    zookeeper: Recipe, version: str, server_line: str, whitelist: bool, admin: bool, log_config: str
) -> None:
    facts = zookeeper.resolve(version).facts
    assert facts["server_line"] == server_line
    assert facts["four_letter_whitelist"] is whitelist
    assert facts["admin_server"] is admin
    assert facts["log_config"].endswith(log_config)


@pytest.mark.parametrize(
    ("version", "nimbus_key", "launcher", "launcher_python", "java9_safe", "log_dir"),
    [
        ("0.9.2", "nimbus.host", "bin/storm", ">=2.6,<3", True, "logback"),
        ("0.9.5", "nimbus.host", "bin/storm", ">=2.6", True, "logback"),
        ("0.10.2", "nimbus.host", "bin/storm.py", ">=2.6", True, "log4j2"),
        ("1.0.1", "nimbus.seeds", "bin/storm.py", ">=2.6,<3", False, "log4j2"),
        ("1.2.4", "nimbus.seeds", "bin/storm.py", ">=2.6", False, "log4j2"),
        ("2.4.0", "nimbus.seeds", "bin/storm.py", ">=2.7", False, "log4j2"),
        ("2.5.0", "nimbus.seeds", "bin/storm.py", ">=3", True, "log4j2"),
        ("2.8.4", "nimbus.seeds", "bin/storm.py", ">=3", True, "log4j2"),
    ],
)
def test_storm_dialect(
    storm: Recipe,
    version: str,
    nimbus_key: str,
    launcher: str,
    launcher_python: str,
    java9_safe: bool,
    log_dir: str,
) -> None:
    facts = storm.resolve(version).facts
    assert facts["nimbus_key"] == nimbus_key
    assert facts["launcher"] == launcher
    assert facts["launcher_python"] == launcher_python
    assert facts["worker_childopts_java9_safe"] is java9_safe
    assert facts["log_config_dir"] == log_dir


def test_storm_incubating_names(storm: Recipe) -> None:
    for typed in ("0.9.2", "0.9.2-incubating"):
        art = storm.resolve(typed).artifact
        assert art.file == "apache-storm-0.9.2-incubating.tar.gz"
        assert art.top == "apache-storm-0.9.2-incubating"


def test_storm_095_has_no_pin_but_apache_files(storm: Recipe) -> None:
    art = storm.resolve("0.9.5").artifact
    assert art.path == "storm/apache-storm-0.9.5/apache-storm-0.9.5.tar.gz"
    assert art.pin is None
    assert art.checksums[0] == "sha512" and art.signature == "asc"


def test_pins_are_data(storm: Recipe, zookeeper: Recipe) -> None:
    pin = zookeeper.resolve("3.4.6").artifact.pin
    assert pin is not None and pin.algorithm == "sha256" and pin.digest.startswith("01b39385")
    pin = storm.resolve("2.6.1").artifact.pin
    assert pin is not None and pin.algorithm == "sha512"


def test_newer_release_resolves_but_is_flagged(storm: Recipe, zookeeper: Recipe) -> None:
    comp = storm.resolve("2.9.1")
    assert not comp.known
    assert comp.artifact.file == "apache-storm-2.9.1.tar.gz"
    assert comp.facts["java_min"] == 17
    zk = zookeeper.resolve("3.10.0")
    assert not zk.known and zk.artifact.file == "apache-zookeeper-3.10.0-bin.tar.gz"


@pytest.mark.parametrize("bad", ["0.8.2", "3.3.6"])
def test_too_old_is_a_usage_error(storm: Recipe, zookeeper: Recipe, bad: str) -> None:
    recipe = storm if bad.startswith("0.") else zookeeper
    with pytest.raises(UsageError, match="not covered by the recipes"):
        recipe.resolve(bad)


def test_not_a_version_is_a_usage_error(storm: Recipe) -> None:
    with pytest.raises(UsageError, match="not a version number"):
        storm.resolve("latest")


def test_every_known_release_resolves_and_lines_cover_09_to_28() -> None:
    recipes = load_all()
    for recipe in recipes.values():
        for version in recipe.known:
            comp = recipe.resolve(version)
            assert comp.artifact.file.endswith(".tar.gz")
            assert comp.artifact.file.removesuffix(".tar.gz") == comp.artifact.top
    storm_lines = {recipes["storm"].resolve(v).line for v in recipes["storm"].known}
    assert {"0.9", "0.10", "1.0", "1.1", "1.2", "2.0", "2.8"} <= storm_lines
    zk_lines = {recipes["zookeeper"].resolve(v).line for v in recipes["zookeeper"].known}
    assert {"3.4", "3.5", "3.6", "3.7", "3.8", "3.9"} <= zk_lines


def test_storm_defaults_reference_agrees_with_nimbus_key(storm: Recipe) -> None:
    """Each release's real defaults.yaml knows the key the recipe tells the installer to use."""
    folder = RECIPES_DIR / "storm-defaults"
    files = sorted(folder.glob("*.yaml"))
    assert len(files) >= 11, f"the vendored defaults.yaml files are missing from {folder}"
    for defaults in files:
        version = defaults.stem
        facts = storm.resolve(version).facts
        text = defaults.read_text()
        assert re.search(rf"^{re.escape(facts['nimbus_key'])}\s*:", text, re.M), version
        for key, port in facts["ports"].items():
            assert re.search(rf"^{re.escape(key)}\s*:\s*{port}\s*$", text, re.M), (version, key)
        childopts = re.search(r"^worker\.childopts:(.*)$", text, re.M)
        assert childopts is not None
        safe = "IgnoreUnrecognizedVMOptions" in childopts[1] or "PrintGC" not in childopts[1]
        assert facts["worker_childopts_java9_safe"] is safe, version
        assert facts["worker_heap_placeholder"] is ("%HEAP-MEM%" in childopts[1]), version


def test_supervisor_recipe() -> None:
    sup = SupervisorRecipe.load()
    assert sup.supports(sup.default)
    assert sup.supports("4.2.5")
    assert not sup.supports("3.1.3")
    assert sup.pythons[0] == "2.7" and "3.13" in sup.pythons
