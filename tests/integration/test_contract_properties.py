"""Property test of contract.py's rules, with hypothesis: whatever the rules accept
(tests/support/valuestrategies.py), rendered by the real renderer, is read back the same by
supervisord's own parser and taken by `sh -n`, each in a process of its own (the rules alone
and the files read back in this process: tests/unit/test_contract_properties.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from bundler.onhost.contract import contract
from bundler.onhost.render import configs
from tests.support.valuestrategies import cases

# supervisord's own parser and the shell's, in subprocesses: fewer examples.
PARSE = """
import json, sys
from supervisor.options import ServerOptions
opts = ServerOptions()
opts.realize(args=["-c", sys.argv[1]])
print(json.dumps({
    "programs": [
        {"name": p.name, "directory": p.directory, "environment": p.environment,
         "command": p.command, "user": p.uid}
        for g in opts.process_group_configs for p in g.process_configs
    ],
    "servers": [
        {k: v for k, v in s.items() if k in ("host", "port", "file")}
        for s in opts.server_configs
    ],
}))
"""


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_supervisord_and_the_shell_read_what_the_rules_accept(
    case: tuple[dict[str, Any], dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    manifest, values = case
    # supervisord checks that the user and the log folders exist: no user, and the drawn
    # prefix moved under a real folder.
    folder = tmp_path_factory.mktemp("conf")
    prefix = f"{folder}{values['prefix']}"
    if len(prefix) > contract.PREFIX_MAX:
        prefix = f"{folder}/p"
    (Path(prefix) / "logs").mkdir(parents=True)
    (Path(prefix) / "run").mkdir()
    values = dict(values, user=None, prefix=prefix, site_dir=prefix + "/python/site")
    texts = {rel: text for rel, text, _ in configs.render(manifest, values)}
    conf = folder / "supervisord.conf"
    conf.write_text(texts["etc/supervisord.conf"])
    run = subprocess.run(
        [sys.executable, "-c", PARSE, str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    parsed = json.loads(run.stdout)
    servers = {s.get("file") or f"{s['host']}:{s['port']}" for s in parsed["servers"]}
    # supervisord lower-cases the host name (DNS names are case-insensitive); * is any address.
    bind = "" if values["http_bind"] == "*" else values["http_bind"].lower()
    assert servers == {prefix + "/run/supervisord.sock", f"{bind}:{values['http_port']}"}
    for program in parsed["programs"]:
        assert program["directory"].startswith(prefix + "/data/")
        assert program["environment"]["JAVA_HOME"] == values["java_home"]
    stormctl = folder / "stormctl"
    stormctl.write_text(texts["bin/stormctl"])
    check = subprocess.run(["sh", "-n", str(stormctl)], capture_output=True, check=False)
    assert check.returncode == 0, check.stderr
