"""`bundler ansible`: the project it writes, checked by Ansible's own tools, and its refusals.

ansible-playbook --syntax-check and ansible-lint (production profile, offline) run on the
written project; no host is contacted. The live run over SSH is in test_ansible_e2e.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.bundles import build_bundle
from tests.support.cli import bundler_proc as bundler
from tests.support.inventories import cluster_toml, ensemble, host_tables

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

# The ensemble, a logviewer and a given ZooKeeper id on h3, and a worker host of its own prefix.
TRIO = cluster_toml(
    host_tables(
        [
            *ensemble(
                ["h1", "h2", "h3"],
                ["10.0.0.1", "10.0.0.2", "10.0.0.3"],
                {"h3": {"roles": ["zookeeper", "supervisor", "logviewer"], "zk_id": 7}},
            ),
            {"name": "w4", "address": "10.0.0.4", "roles": ["supervisor"], "prefix": "/srv/storm"},
        ]
    ),
    name="trio",
    storm="2.6.4",
    zookeeper="3.8.4",
)


def tool(name: str, *args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    """An Ansible tool from this virtualenv, with its caches in a folder of the test's own."""
    env = {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        "HOME": str(home),
        "ANSIBLE_HOME": str(home / ".ansible"),
        "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
        "LANG": "C.UTF-8",
    }
    return subprocess.run(
        [str(VENV_BIN / name), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def trio_bundle(
    mirror_dir: Path, wheelhouse: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    toml = tmp_path_factory.mktemp("inv") / "cluster.toml"
    toml.write_text(TRIO)
    return toml, build_bundle(mirror_dir, wheelhouse, cluster=toml)


@pytest.fixture(scope="module")
def project(trio_bundle: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    toml, bundle = trio_bundle
    out = tmp_path_factory.mktemp("proj") / "ansible"
    proc = bundler("ansible", "--cluster", str(toml), "--bundle", str(bundle), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        str(out / rel)
        for rel in [
            "ansible.cfg", "group_vars/all/bundle.yml", "inventory.yml",
            "rollback.yml", "site.yml", "tasks/install.yml", "tasks/rollback_host.yml",
            "tasks/stage.yml", "tasks/upgrade_host.yml", "tasks/zk_order.yml",
            "tasks/zk_quorum.yml", "upgrade.yml",
        ]
    ]  # fmt: skip
    return out


def test_inventory_has_role_groups_and_host_vars(
    project: Path, trio_bundle: tuple[Path, Path]
) -> None:
    bundle = trio_bundle[1]
    inv = yaml.safe_load((project / "inventory.yml").read_text())["all"]
    assert inv["hosts"]["h3"] == {
        "ansible_host": "10.0.0.3",
        "bundler_address": "10.0.0.3",
        "bundler_roles": ["zookeeper", "supervisor", "logviewer"],
        "bundler_zk_id": 7,
        "bundler_prefix": "/opt/storm",
    }
    assert inv["hosts"]["w4"]["bundler_prefix"] == "/srv/storm"
    assert "bundler_zk_id" not in inv["hosts"]["w4"]
    groups = inv["children"]
    assert list(groups["zookeeper"]["hosts"]) == ["h1", "h2", "h3"]
    assert list(groups["nimbus"]["hosts"]) == ["h1"]
    assert list(groups["supervisor"]["hosts"]) == ["h2", "h3", "w4"]
    assert list(groups["logviewer"]["hosts"]) == ["h3"]
    assert groups["drpc"] == {}
    values = yaml.safe_load((project / "group_vars" / "all" / "bundle.yml").read_text())
    sidecar = bundle.with_name(bundle.name + ".sha256").read_text().split()[0]
    # Relative to the project: the two move together, and no build machine's path is written.
    assert values["bundler_bundle_src"] == os.path.relpath(bundle.resolve(), project.resolve())
    assert not values["bundler_bundle_src"].startswith("/")
    assert values["bundler_bundle_sha256"] == sidecar
    assert values["bundler_bundle_top"] == bundle.name.removesuffix(".tar")
    # No list of members to ask: each member's own stormctl asks the ensemble it is part of.
    assert "bundler_ensemble" not in values


def test_playbooks_use_only_builtin_modules_and_the_documented_order(project: Path) -> None:
    site = yaml.safe_load((project / "site.yml").read_text())
    assert [p["hosts"] for p in site] == [
        "zookeeper",
        "nimbus:ui:!zookeeper",
        "all:!zookeeper:!nimbus:!ui",
    ]
    assert site[0]["any_errors_fatal"] is True and "serial" not in site[0]
    assert site[1]["serial"] == 1 and site[2]["serial"] == [1, "25%"]
    upgrade = yaml.safe_load((project / "upgrade.yml").read_text())
    assert [p["hosts"] for p in upgrade] == [
        "zookeeper", "bundler_zk_follower", "bundler_zk_leader", "nimbus:!zookeeper",
        "all:!zookeeper:!nimbus",
    ]  # fmt: skip
    assert all(p.get("serial") == 1 for p in upgrade[1:4])
    modules = set()
    for path in [*project.glob("*.yml"), *project.glob("tasks/*.yml")]:
        if path.name == "inventory.yml":
            continue
        for entry in yaml.safe_load(path.read_text()):
            for task in entry.get("tasks", [entry]):
                modules |= {k for k in task if k.startswith("ansible.")}
                assert not any(k in task for k in ("shell", "command", "copy", "script")), path
    assert modules == {
        "ansible.builtin.import_tasks", "ansible.builtin.file", "ansible.builtin.copy",
        "ansible.builtin.stat", "ansible.builtin.assert", "ansible.builtin.unarchive",
        "ansible.builtin.command", "ansible.builtin.group_by",
    }  # fmt: skip
    for rel in ("tasks/zk_order.yml", "tasks/zk_quorum.yml"):
        asked = yaml.safe_load((project / rel).read_text())[0]["ansible.builtin.command"]
        assert asked["argv"] == ["{{ bundler_prefix }}/bin/stormctl", "status", "--json"], rel
    install = (project / "tasks" / "install.yml").read_text()
    assert (
        "'--host', inventory_hostname" in install
        and "failed_when: bundler_install.rc != 0" in install
    )


def test_syntax_check_and_ansible_lint_production(project: Path, tmp_path: Path) -> None:
    work = tmp_path / "proj"
    shutil.copytree(project, work)
    home = tmp_path / "home"
    (home / "tmp").mkdir(parents=True)
    for playbook in ("site.yml", "upgrade.yml", "rollback.yml"):
        proc = tool("ansible-playbook", "--syntax-check", playbook, cwd=work, home=home)
        assert proc.returncode == 0, (playbook, proc.stdout, proc.stderr)
        assert f"playbook: {playbook}" in proc.stdout
        assert "WARNING" not in proc.stderr, proc.stderr
    proc = tool(
        "ansible-lint", "--offline", "--profile", "production", "--nocolor",
        "site.yml", "upgrade.yml", "rollback.yml", cwd=work, home=home,
    )  # fmt: skip
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert "Profile 'production' was required, and it passed." in proc.stderr + proc.stdout


def test_lint_catches_a_broken_project(project: Path, tmp_path: Path) -> None:
    """The lint test can fail: a short module name is not production-clean."""
    work = tmp_path / "proj"
    shutil.copytree(project, work)
    stage = work / "tasks" / "stage.yml"
    stage.write_text(stage.read_text().replace("ansible.builtin.stat:", "stat:"))
    home = tmp_path / "home"
    (home / "tmp").mkdir(parents=True)
    proc = tool("ansible-lint", "--offline", "--profile", "production", "--nocolor", "site.yml",
                cwd=work, home=home)  # fmt: skip
    assert proc.returncode != 0
    assert "fqcn" in proc.stdout + proc.stderr


def test_refuses_a_cluster_toml_the_bundle_was_not_built_with(
    trio_bundle: tuple[Path, Path], tmp_path: Path
) -> None:
    toml, bundle = trio_bundle
    other = tmp_path / "cluster.toml"
    other.write_text(TRIO.replace('address = "10.0.0.4"', 'address = "10.0.0.5"'))
    out = tmp_path / "out"
    proc = bundler("ansible", "--cluster", str(other), "--bundle", str(bundle), "--out", str(out))
    assert proc.returncode == 2, proc
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert f"--cluster {other} does not match the inventory inside {bundle.name}" in proc.stderr
    assert "(differs in: hosts)" in proc.stderr
    assert not out.exists()
    # The same inventory under another name, with a comment and other spacing, is the same.
    same = tmp_path / "copy.toml"
    same.write_text("# the production cluster\n" + toml.read_text().replace(" = ", "="))
    assert (
        bundler(
            "ansible", "--cluster", str(same), "--bundle", str(bundle), "--out", str(out)
        ).returncode
        == 0
    )
    # Or where the operator says the playbooks will find it.
    media = tmp_path / "media"
    args = ["--bundle", str(bundle), "--out", str(media), "--bundle-src", "/media/usb/b.tar"]
    assert bundler("ansible", "--cluster", str(toml), *args).returncode == 0
    values = yaml.safe_load((media / "group_vars" / "all" / "bundle.yml").read_text())
    assert values["bundler_bundle_src"] == "/media/usb/b.tar"


def test_refuses_a_used_folder_and_a_bundle_without_inventory(
    trio_bundle: tuple[Path, Path], mirror_dir: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    toml, bundle = trio_bundle
    used = tmp_path / "used"
    used.mkdir()
    (used / "notes.txt").write_text("mine")
    proc = bundler("ansible", "--cluster", str(toml), "--bundle", str(bundle), "--out", str(used))
    assert proc.returncode == 2 and "exists and is not an empty folder" in proc.stderr
    assert os.listdir(used) == ["notes.txt"]

    plain = build_bundle(mirror_dir, wheelhouse)
    proc = bundler(
        "ansible", "--cluster", str(toml), "--bundle", str(plain), "--out", str(tmp_path / "o")
    )
    assert proc.returncode == 2 and "carries no inventory (cluster.json)" in proc.stderr
    assert not (tmp_path / "o").exists()
