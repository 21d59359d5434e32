"""install.sh's operator options end to end: a bundle from the local mirror installed as root in
a network namespace with --childopts, --storm-option and --zk-option; the files they fill, the
running services, a re-run with the same options, a refused typo and a re-run that drops one.

Root only (service users, namespaces): run it under the machine-wide lock,
`flock /tmp/bundler-e2e.lock`. Every process it starts is ended by pid through its namespace.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import cast

import pytest

from tests.support.bundles import Node, node, snapshot

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("dash") is None,
    reason="needs root, unshare and dash (network namespaces, service users)",
)

IPV4 = "-Djava.net.preferIPv4Stack=true"
OPTIONS = (
    "--childopts", f"nimbus={IPV4}",
    "--storm-option", "topology.workers=2",
    "--zk-option", "maxClientCnxns=100",
)  # fmt: skip
STATIC = ("data", "logs", "run")


def pids(n: Node) -> dict[str, int]:
    infos = n.processes()
    for name, info in infos.items():
        assert info["statename"] == "RUNNING", (name, info)
    return {name: cast(int, info["pid"]) for name, info in infos.items()}


def test_operator_options_reach_the_files_and_only_a_change_restarts(bundle_dir: Path) -> None:
    user = f"bso{os.getpid() % 100000}{int(time.time() * 1000) % 1000}"
    with node(bundle_dir, users=[user]) as n:
        first = n.install("--role", "all", "--user", user, *OPTIONS)
        assert first.code == 0, first

        yaml = (n.prefix / "etc" / "storm" / "storm.yaml").read_text()
        lines = yaml.splitlines()
        nimbus = next(line for line in lines if line.startswith("nimbus.childopts:"))
        assert nimbus.startswith('nimbus.childopts: "-Xmx') and nimbus.endswith(f' {IPV4}"')
        assert IPV4 not in "".join(line for line in lines if line != nimbus)
        assert yaml.endswith(
            "# Extra keys from the cluster inventory or install.sh options.\ntopology.workers: 2\n"
        )
        zoo = (n.prefix / "etc" / "zookeeper" / "zoo.cfg").read_text()
        assert zoo.endswith("options.\nmaxClientCnxns=100\n") and zoo.count("maxClientCnxns") == 1
        record = json.loads((n.prefix / "state" / "installed.json").read_text())["values"]
        assert record["storm_options"] == {"topology.workers": 2}
        assert record["zk_options"] == {"maxClientCnxns": "100"}
        assert record["childopts_extra"] == {"nimbus": IPV4}
        # ZooKeeper runs with the key: a real server took the file.
        assert n.four_letter("ruok") == "imok"
        before = pids(n)
        files = snapshot(n.prefix, skip=STATIC)

        # The same options again: nothing written, nothing restarted.
        again = n.install("--role", "all", "--user", user, *OPTIONS)
        assert again.code == 0, again
        assert pids(n) == before
        assert snapshot(n.prefix, skip=STATIC) == files

        # A typo: exit 2 with the closest key, before any change.
        typo = n.install("--role", "all", "--user", user, *OPTIONS,
                         "--storm-option", "topology.workrs=3")  # fmt: skip
        assert typo.code == 2, typo
        errors = [line for line in typo.err.splitlines() if line.startswith("install: ")]
        assert errors == [
            "install: error: --storm-option topology.workrs: not a key this release knows; did "
            "you mean topology.workers?; fix the name, or list it in allow_unknown_keys "
            "(--allow-unknown-key) if a plugin reads it"
        ], typo
        assert pids(n) == before
        assert snapshot(n.prefix, skip=STATIC) == files

        # Dropping the zoo.cfg key rewrites zoo.cfg and restarts ZooKeeper alone.
        dropped = n.install("--role", "all", "--user", user, *OPTIONS[:4])
        assert dropped.code == 0, dropped
        assert "the last run set zk_options maxClientCnxns" in dropped.err, dropped
        assert "maxClientCnxns" not in (n.prefix / "etc" / "zookeeper" / "zoo.cfg").read_text()
        after = pids(n)
        assert after["zookeeper"] != before["zookeeper"]
        assert {k: v for k, v in after.items() if k != "zookeeper"} == {
            k: v for k, v in before.items() if k != "zookeeper"
        }
        assert (n.prefix / "etc" / "storm" / "storm.yaml").read_text() == yaml
