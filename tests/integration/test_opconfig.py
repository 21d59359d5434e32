"""Operator-supplied configuration through `bundler render` (the book's two hosts from
docs/examples, a typo refused in one line) and through the renderer under the target's old
Pythons (the key checks and rendering in this process: tests/unit/test_opconfig.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.bundles import pyenv_python
from tests.support.configfiles import config_manifest as manifest
from tests.support.configfiles import render_values as values
from tests.support.configfiles import rendered_texts as rendered

IPV4 = "-Djava.net.preferIPv4Stack=true"

ROOT = Path(__file__).resolve().parents[2]
BOOK = ROOT / "docs" / "examples" / "book-two-hosts.toml"


# --- the book's two hosts, from docs/examples, through `bundler render` ---


def render_host(tmp_path: Path, host: str) -> Path:
    out = tmp_path / host
    run = subprocess.run(
        [sys.executable, "-m", "bundler", "render", "--cluster", str(BOOK), "--host", host,
         "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    return out


def test_the_book_nimbus_host_renders_every_key_of_the_book(tmp_path: Path) -> None:
    out = render_host(tmp_path, "ip-172-31-36-23")
    storm = yaml.safe_load((out / "etc/storm/storm.yaml").read_text())
    assert storm["storm.zookeeper.servers"] == ["172.31.36.23"]
    assert storm["nimbus.host"] == "172.31.36.23"
    assert storm["nimbus.childopts"] == f"-Xmx1024m {IPV4}"
    assert storm["ui.childopts"] == f"-Xmx768m {IPV4}"
    assert storm["worker.childopts"] == f"-Xmx768m {IPV4}"
    # The book drops supervisor's -Xmx; the example keeps the release default beside its flag.
    assert storm["supervisor.childopts"] == f"-Xmx256m {IPV4}"
    assert storm["supervisor.slots.ports"] == [6700, 6701, 6702, 6703]
    assert storm["storm.local.dir"] == "/opt/storm/data/storm"
    lines = (out / "etc/zookeeper/zoo.cfg").read_text().splitlines()
    zoo = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    assert zoo["tickTime"] == "2000"
    assert zoo["initLimit"] == "10"
    assert zoo["syncLimit"] == "5"
    assert zoo["clientPort"] == "2181"
    assert zoo["dataDir"] == "/opt/storm/data/zookeeper"
    # A single member runs standalone: the book's lone server.1 line is not needed.
    assert not any(key.startswith("server.") for key in zoo)


def test_the_book_second_host_runs_a_supervisor_with_the_books_flags(tmp_path: Path) -> None:
    out = render_host(tmp_path, "ip-172-31-19-62")
    storm = yaml.safe_load((out / "etc/storm/storm.yaml").read_text())
    assert storm["storm.zookeeper.servers"] == ["172.31.36.23"]
    assert storm["nimbus.host"] == "172.31.36.23"
    assert storm["supervisor.childopts"] == f"-Xmx256m {IPV4}"
    assert storm["worker.childopts"] == f"-Xmx768m {IPV4}"
    assert not (out / "etc/zookeeper/zoo.cfg").exists()


@pytest.mark.parametrize("version", ["2.7", "3.6"])
def test_the_extras_render_the_same_bytes_on_old_pythons(tmp_path: Path, version: str) -> None:
    """configs.py and extras.py run on the host's Python: the same inputs, the same files."""
    python = pyenv_python(version)
    vals = values(
        storm_options={"topology.debug": True, "topology.stats.sample.rate": 1e-05,
                       "topology.name.x": "caf\u00e9 \U00010000 \"q\"", "drpc.servers": []},
        zk_options={"tickTime": 3000, "maxClientCnxns": 100},
        childopts_extra={"worker": IPV4, "ui": "-Da=1"},
    )  # fmt: skip
    (tmp_path / "manifest.json").write_text(json.dumps(manifest()))
    (tmp_path / "values.json").write_text(json.dumps(vals))
    out = tmp_path / "out"
    proc = subprocess.run(
        [str(python), "-E", "-S", "-B", "-m", "bundler.onhost.render.configs",
         "--manifest", str(tmp_path / "manifest.json"), "--values", str(tmp_path / "values.json"),
         "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    for rel, text in rendered(vals).items():
        assert (out / rel).read_text(encoding="utf-8") == text, rel


def test_bundler_render_refuses_a_typo_in_one_line_exit_2(tmp_path: Path) -> None:
    """The check runs wherever an inventory is read (render and build share it)."""
    toml = tmp_path / "cluster.toml"
    toml.write_text(BOOK.read_text() + '\n[host.storm_options]\n"worker.childopt" = "-Dx"\n')
    run = subprocess.run(
        [sys.executable, "-m", "bundler", "render", "--cluster", str(toml), "--host",
         "ip-172-31-19-62"],
        capture_output=True, text=True, cwd=ROOT, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 2, run
    assert run.stderr.count("\n") == 1, run.stderr
    assert "host ip-172-31-19-62: storm_options worker.childopt: not a key this release" in (
        run.stderr
    )
    assert "did you mean worker.childopts?" in run.stderr
