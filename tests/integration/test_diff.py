"""`bundler diff` on real bundles built from the test mirror: two Storm and two ZooKeeper
versions, one inventory carried in both."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.bundles import build_bundle
from tests.support.cli import bundler_proc as bundler
from tests.support.inventories import THREE_HOSTS, cluster_toml

ROOT = Path(__file__).resolve().parents[2]

INVENTORY = cluster_toml(THREE_HOSTS, name="pair")


@pytest.fixture(scope="module")
def bundles(
    mirror_dir: Path, wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path, Path]:
    folder = tmp_path_factory.mktemp("diff")
    toml = folder / "cluster.toml"
    toml.write_text(INVENTORY)
    old = build_bundle(mirror_dir, wheelhouse, "1.2.4", "3.4.14", cluster=toml)
    new = build_bundle(mirror_dir, wheelhouse, "2.6.4", "3.8.4", cluster=toml)
    return old, new, toml


def manifest(bundle: Path) -> dict[str, Any]:
    with tarfile.open(bundle) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/bundle.json"))
        data: dict[str, Any] = json.load(tar.extractfile(member))  # type: ignore[arg-type]
    return data


def diff_json(*args: str | Path) -> dict[str, Any]:
    run = bundler("diff", *args, "--json")
    assert run.returncode == 0, run.stderr
    data: dict[str, Any] = json.loads(run.stdout)
    return data


def test_versions_artifacts_and_hashes(bundles: tuple[Path, Path, Path]) -> None:
    old, new, _ = bundles
    report = diff_json(old, new)
    assert report["versions"]["storm"] == ["1.2.4", "2.6.4"]
    assert report["versions"]["zookeeper"] == ["3.4.14", "3.8.4"]
    assert report["versions"]["supervisor"][0] == report["versions"]["supervisor"][1]
    # 1.x -> 2.x is another major line: the installer's gate wants both flags.
    assert report["install_flags"] == ["--upgrade", "--allow-major-upgrade"]
    assert "install: each host needs install.sh --upgrade --allow-major-upgrade" in (
        bundler("diff", old, new).stdout
    )
    hashes = {
        side: {a["component"]: a["sha256"] for a in manifest(bundle)["artifacts"]}
        for side, bundle in (("old", old), ("new", new))
    }
    by_component = {a["component"]: a for a in report["artifacts"]}
    # Each bundle carries the storm-starter of its Storm release: it changes with Storm.
    assert sorted(by_component) == ["smoke", "storm", "zookeeper"]
    for comp, change in by_component.items():
        assert change["old"]["sha256"] == hashes["old"][comp]
        assert change["new"]["sha256"] == hashes["new"][comp]
        assert change["old"]["sha256"] != change["new"]["sha256"]
    # The same supervisor lock on both sides: no wheel changes.
    assert report["wheels"] == {}


def test_config_keys_per_host_from_the_bundles_inventory(bundles: tuple[Path, Path, Path]) -> None:
    old, new, _ = bundles
    report = diff_json(old, new)
    assert report["inventory"] == "the bundles' cluster.json"
    assert sorted(report["hosts"]) == ["zk1", "zk2", "zk3"]
    zoo = {c["key"]: c for c in report["hosts"]["zk1"]["etc/zookeeper/zoo.cfg"]}
    # ZooKeeper 3.5+ appends the client port to each server line.
    assert zoo["server.1"] == {
        "key": "server.1",
        "old": "10.0.0.1:2888:3888",
        "new": "10.0.0.1:2888:3888;2181",
    }
    # 3.8's AdminServer moves off the Storm UI's port on the UI host.
    assert zoo["admin.serverPort"]["old"] is None
    # The header names the bundle, which differs: not a change of meaning.
    assert all(not c["key"].startswith("#") for c in zoo.values())
    text = bundler("diff", old, new)
    assert text.returncode == 0
    assert "storm      1.2.4 -> 2.6.4" in text.stdout
    assert "server.1: 10.0.0.1:2888:3888 -> 10.0.0.1:2888:3888;2181" in text.stdout


def test_a_bundle_against_itself_changes_nothing(bundles: tuple[Path, Path, Path]) -> None:
    old, _, _ = bundles
    report = diff_json(old, old)
    assert report["artifacts"] == [] and report["wheels"] == {}
    assert report["install_flags"] == []
    assert report["hosts"] == {"zk1": {}, "zk2": {}, "zk3": {}}
    text = bundler("diff", old, old).stdout
    assert "artifacts: unchanged" in text and "zk2: unchanged" in text


def test_a_changed_inventory_shows_exactly_its_keys(
    bundles: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    old, _, toml = bundles
    with tarfile.open(old) as tar:
        tar.extractall(tmp_path, filter="data")
    (folder,) = tmp_path.iterdir()
    data = json.loads((folder / "cluster.json").read_text())
    data["hosts"][1]["childopts_extra"] = {"worker": "-Dx=1"}
    data["hosts"][1]["storm_options"] = {"topology.workers": 3}
    (folder / "cluster.json").write_text(json.dumps(data))
    report = diff_json(old, folder)
    assert report["hosts"]["zk1"] == {} and report["hosts"]["zk3"] == {}
    changes = report["hosts"]["zk2"]["etc/storm/storm.yaml"]
    assert [c["key"] for c in changes] == ["topology.workers", "worker.childopts"]
    assert changes[0] == {"key": "topology.workers", "old": None, "new": "3"}
    assert changes[1]["new"] == changes[1]["old"][:-1] + ' -Dx=1"'
    # --cluster describes both sides with one file: the edit in cluster.json is not read.
    assert diff_json(old, folder, "--cluster", toml)["hosts"]["zk2"] == {}


def test_a_file_that_is_not_a_bundle_is_one_line(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar")
    run = bundler("diff", junk, junk)
    assert run.returncode == 1  # a bundle format error, as `bundler verify` says
    assert run.stderr.count("\n") == 1 and "junk.tar" in run.stderr, run.stderr


def test_a_bundle_carries_its_releases_key_sets(bundles: tuple[Path, Path, Path]) -> None:
    """install.sh checks --storm-option/--zk-option against onhost/known-keys.json."""
    old, _, _ = bundles
    with tarfile.open(old) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("/onhost/known-keys.json"))
        data = json.load(tar.extractfile(member))  # type: ignore[arg-type]
    assert data["storm"]["origin"] == "Storm 1.2.4's defaults.yaml"
    assert "topology.workers" in data["storm"]["keys"]
    assert "4lw.commands.whitelist" in data["zookeeper"]["keys"]
    assert "admin.serverPort" not in data["zookeeper"]["keys"]
