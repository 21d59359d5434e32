"""bundler/onhost/render/configs.py's files, taken by the programs that run them: supervisord's
own parser accepts supervisord.conf and a real supervisord runs it, the shell and shellcheck
take stormctl, systemd-analyze the unit, this machine's java the worker options; the renderer's
command line writes every file with its mode, and the target interpreters (2.7, 3.6, 3.13)
render the same bytes as this one (the files themselves, against their goldens:
tests/unit/test_configs.py).
"""

from __future__ import annotations

import http.client
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bundler.onhost.render import configs
from tests.support.bundles import pyenv_python as _pyenv_python
from tests.support.configcases import ALL_ROLES, CASES
from tests.support.configcases import inputs as _inputs
from tests.support.configcases import rendered as _rendered
from tests.support.configfiles import PASSWORD_SHA1
from tests.support.configfiles import component as _component
from tests.support.configfiles import config_manifest as _manifest
from tests.support.configfiles import render_values as _values

REPO = Path(__file__).resolve().parents[2]
# The on-host renderer's command line, run from the repository root as the package it is.
CONFIGS = ("-m", "bundler.onhost.render.configs")


@pytest.mark.skipif(shutil.which("java") is None, reason="no java on PATH")
def test_worker_childopts_are_accepted_by_this_machines_java(tmp_path: Path) -> None:
    """The JVM itself accepts the Java 9+ flags, run the way Storm runs a worker: from a folder
    with an artifacts/ subfolder, %HEAP-MEM% replaced."""
    java = shutil.which("java")
    assert java is not None
    (tmp_path / "artifacts").mkdir()
    facts = _component("storm", "1.2.4")["facts"]
    opts = configs.worker_childopts(facts, 17, 1024).replace("%HEAP-MEM%", "64").split()
    result = subprocess.run(
        [java, *opts, "-version"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "artifacts" / "gc.log").exists()


# supervisord's own parser, in a subprocess: it exits on errors and keeps module-level state.
PARSE_WITH_SUPERVISORD = """
import json, sys
from supervisor.datatypes import RestartUnconditionally
from supervisor.options import ServerOptions
opts = ServerOptions()
opts.realize(args=["-c", sys.argv[1]])
programs = []
for group in opts.process_group_configs:
    for proc in group.process_configs:
        programs.append({
            "name": proc.name, "priority": proc.priority, "uid": proc.uid,
            "autostart": proc.autostart,
            "autorestart": proc.autorestart is RestartUnconditionally,
            "startsecs": proc.startsecs, "stopwaitsecs": proc.stopwaitsecs,
            "stopasgroup": proc.stopasgroup, "killasgroup": proc.killasgroup,
            "environment": proc.environment, "directory": proc.directory,
            "command": proc.command, "stdout_logfile": proc.stdout_logfile,
            "stdout_logfile_maxbytes": proc.stdout_logfile_maxbytes,
            "stdout_logfile_backups": proc.stdout_logfile_backups,
        })
servers = [
    {k: v for k, v in s.items() if k in ("family", "host", "port", "file", "chmod",
                                         "username", "password")}
    for s in opts.server_configs
]
print(json.dumps({"programs": programs, "servers": servers, "nodaemon": opts.nodaemon,
                  "warnings": opts.parse_warnings}))
"""


@pytest.mark.parametrize("case", list(CASES))
def test_supervisord_accepts_the_conf(case: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    _, _, case_values = CASES[case]
    # A prefix that exists, so that supervisord's checks of log and pid folders pass, and a
    # user that exists on this machine.
    prefix = tmp_path_factory.mktemp("prefix")
    for folder in ("logs", "run", "etc"):
        (prefix / folder).mkdir()
    me = pwd.getpwuid(os.getuid())
    user = None if case_values["user"] is None else me.pw_name
    values = dict(case_values, prefix=str(prefix), user=user, site_dir=f"{prefix}/python/site")
    manifest = _manifest(CASES[case][0], CASES[case][1])
    files = {rel: text for rel, text, _ in configs.render(manifest, values)}
    conf = prefix / "etc" / "supervisord.conf"
    conf.write_text(files["etc/supervisord.conf"])
    result = subprocess.run(
        [sys.executable, "-c", PARSE_WITH_SUPERVISORD, str(conf)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    parsed = json.loads(result.stdout)
    assert parsed["warnings"] == []
    assert parsed["nodaemon"] is False

    programs = parsed["programs"]
    roles = values["roles"]
    assert [p["name"] for p in programs] == [n for r, n, _ in configs.PROGRAMS if r in roles]
    priorities = [p["priority"] for p in programs]
    assert priorities == sorted(priorities) and len(set(priorities)) == len(priorities)
    if "zookeeper" in roles:
        assert programs[0]["name"] == "zookeeper", "ZooKeeper starts first"
    for prog in programs:
        assert prog["uid"] == (None if user is None else me.pw_uid)
        assert prog["autostart"] is True
        assert prog["autorestart"] is True
        assert prog["stdout_logfile"] == f"{prefix}/logs/{prog['name']}.log"
        assert prog["stdout_logfile_maxbytes"] == 20 * 1024 * 1024
        assert prog["stdout_logfile_backups"] == 10
        group = prog["name"] in ("storm-supervisor", "storm-logviewer")
        assert prog["stopasgroup"] is prog["killasgroup"] is group
        env = prog["environment"]
        assert env["JAVA_HOME"] == values["java_home"]
        if prog["name"] == "zookeeper":
            assert env["ZOOCFGDIR"] == f"{prefix}/etc/zookeeper"
            assert env["ZOO_LOG_DIR"] == f"{prefix}/logs/zookeeper"
            assert prog["directory"] == f"{prefix}/data/zookeeper"
        else:
            assert env["STORM_CONF_DIR"] == f"{prefix}/etc/storm"
            assert env["HOME"] == f"{prefix}/data/storm"
            assert env["PYTHONPATH"] == f"{prefix}/storm/bin"
            assert prog["directory"] == f"{prefix}/data/storm"

    by_family = {s["family"]: s for s in parsed["servers"]}
    inet = by_family[2]  # AF_INET
    assert (inet["host"], inet["port"]) == (values["http_bind"], values["http_port"])
    assert inet["username"] == configs.WEB_USERNAME
    assert inet["password"] == "{SHA}" + PASSWORD_SHA1
    unix = by_family[1]  # AF_UNIX
    assert unix["file"] == f"{prefix}/run/supervisord.sock"
    assert unix["chmod"] == 0o700
    assert unix["username"] is None and unix["password"] is None


# --- the rendered files, run by a real supervisord ---

# Stand-ins with the launchers' names: they record how supervisord started them, then become a
# long-running process (as the real launchers exec java).
STORM_STAND_IN = """\
import json, os, sys
daemon = sys.argv[1]
with open(os.path.join(os.getcwd(), daemon + ".started.json"), "w") as fh:
    json.dump({"argv": sys.argv, "cwd": os.getcwd(), "env": dict(os.environ)}, fh)
os.execvp("sleep", ["sleep", "600"])
"""
ZK_STAND_IN = """\
#!/bin/sh
[ "$1" = start-foreground ] || exit 9
env > "$PWD/zookeeper.env"
exec sleep 600
"""
RUNNING = 20


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def live_prefix() -> Iterator[Path]:
    # Short, so that the unix socket path stays well within its 108-byte limit.
    path = Path(tempfile.mkdtemp(prefix="cfg-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def supervisor_site(wheelhouse: Path, live_prefix: Path) -> Path:
    """supervisor installed the way install.sh does it: pip --target, from the wheelhouse."""
    site = live_prefix / "python" / "site"
    pip = [sys.executable, "-m", "pip", "install", "--isolated", "--no-index", "-q"]
    subprocess.run(
        [*pip, "--find-links", str(wheelhouse), "--target", str(site), "supervisor==4.3.0"],
        check=True,
        capture_output=True,
    )
    return site


def test_supervisord_runs_the_rendered_conf(live_prefix: Path, supervisor_site: Path) -> None:
    """ZooKeeper first, every program RUNNING with its environment, stormctl talks to it."""
    prefix = live_prefix
    me = pwd.getpwuid(os.getuid()).pw_name
    values = _values(
        prefix=str(prefix),
        user=me,
        roles=ALL_ROLES,
        http_port=_free_port(),
        java_home=str(Path(sys.base_prefix)),
        python=sys.executable,
        launcher_python=sys.executable,
        site_dir=str(supervisor_site),
    )
    configs.write_files(str(prefix), configs.render(_manifest("2.6.4", "3.8.4"), values))
    for folder in ("logs", "run", "data/storm", "storm/bin", "zookeeper/bin"):
        (prefix / folder).mkdir(parents=True, exist_ok=True)
    (prefix / "run").chmod(0o700)
    (prefix / "storm" / "bin" / "storm.py").write_text(STORM_STAND_IN)
    zk = prefix / "zookeeper" / "bin" / "zkServer.sh"
    zk.write_text(ZK_STAND_IN)
    zk.chmod(0o755)

    conf = prefix / "etc" / "supervisord.conf"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(supervisor_site)}
    cmd = [sys.executable, "-S", str(supervisor_site / "bin" / "supervisord"), "-n", "-c"]
    # -n also logs to stdout; logs/supervisord.log has the same lines.
    daemon = subprocess.Popen(
        [*cmd, str(conf)],
        env=env,
        cwd=prefix,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        from supervisor.xmlrpc import SupervisorTransport

        def proxy() -> Any:
            # A fresh transport each time: it does not recover from a failed connection.
            url = f"unix://{prefix}/run/supervisord.sock"
            transport = SupervisorTransport(None, None, url)
            return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)

        deadline = time.monotonic() + 60
        infos: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            try:
                infos = proxy().supervisor.getAllProcessInfo()
            except (OSError, http.client.HTTPException):
                infos = []
            if infos and all(i["state"] == RUNNING for i in infos):
                break
            assert daemon.poll() is None, "supervisord exited"
            time.sleep(0.5)
        states = {i["name"]: i["statename"] for i in infos}
        assert states == {name: "RUNNING" for _, name, _ in configs.PROGRAMS}, states
        started = {i["name"]: i["start"] for i in infos}
        assert started["zookeeper"] <= min(started.values())

        zk_env = (prefix / "data" / "zookeeper" / "zookeeper.env").read_text().splitlines()
        assert f"ZOOCFGDIR={prefix}/etc/zookeeper" in zk_env
        assert f"ZOO_LOG_DIR={prefix}/logs/zookeeper" in zk_env
        for role in configs.STORM_ROLES:
            record = json.loads((prefix / "data" / "storm" / f"{role}.started.json").read_text())
            assert record["argv"][1:] == [role]
            assert record["cwd"] == f"{prefix}/data/storm"
            assert record["env"]["STORM_CONF_DIR"] == f"{prefix}/etc/storm"
            assert record["env"]["JAVA_HOME"] == values["java_home"]
            assert record["env"]["HOME"] == f"{prefix}/data/storm"
            assert record["env"]["PYTHONPATH"] == f"{prefix}/storm/bin"

        status = subprocess.run(
            [str(prefix / "bin" / "stormctl"), "status"],
            capture_output=True,
            text=True,
            check=False,
            env={"PATH": env["PATH"]},
        )
        assert status.returncode == 0, status.stdout + status.stderr
        assert len([line for line in status.stdout.splitlines() if "RUNNING" in line]) == 6
        shutdown = subprocess.run(
            [str(prefix / "bin" / "stormctl"), "shutdown"],
            capture_output=True,
            text=True,
            check=False,
            env={"PATH": env["PATH"]},
        )
        assert shutdown.returncode == 0, shutdown.stdout + shutdown.stderr
        assert daemon.wait(timeout=90) == 0
    finally:
        if daemon.poll() is None:
            daemon.terminate()
            daemon.wait(timeout=90)


# --- stormctl and the systemd unit ---


@pytest.mark.parametrize("case", list(CASES))
def test_stormctl(case: str) -> None:
    values = CASES[case][2]
    text, mode = _rendered(case)["bin/stormctl"]
    assert mode == 0o755
    assert text.startswith("#!/bin/sh\n")
    site, prefix = values["site_dir"], values["prefix"]
    assert f"PYTHONPATH='{site}'\nexport PYTHONPATH\n" in text
    assert text.endswith(
        f"exec '{values['python']}' -S '{site}/bin/supervisorctl' "
        f"-c '{prefix}/etc/supervisord.conf' \"$@\"\n"
    )
    shell = shutil.which("dash") or shutil.which("sh")
    assert shell is not None
    subprocess.run([shell, "-n"], input=text, text=True, check=True)
    if shutil.which("shellcheck"):
        subprocess.run(["shellcheck", "-s", "sh", "-"], input=text, text=True, check=True)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
@pytest.mark.parametrize("case", list(CASES))
def test_systemd_accepts_the_unit(case: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    storm, zookeeper, values = CASES[case]
    # verify also checks that ExecStart's program exists: use one that does.
    values = dict(values, python=sys.executable)
    files = {rel: text for rel, text, _ in configs.render(_manifest(storm, zookeeper), values)}
    unit = tmp_path_factory.mktemp("unit") / "storm-supervisord.service"
    unit.write_text(files["etc/systemd/storm-supervisord.service"])
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


# --- the CLI, on this Python and on the target Pythons ---


def _run_cli(python: list[str], case: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    manifest, values = _inputs(case)
    (tmp / "bundle.json").write_text(json.dumps(manifest))
    (tmp / "values.json").write_text(json.dumps(values))
    return subprocess.run(
        [
            *python,
            *CONFIGS,
            "--manifest",
            str(tmp / "bundle.json"),
            "--values",
            str(tmp / "values.json"),
            "--out",
            str(tmp / "out"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"},
    )


def _check_written(case: str, result: subprocess.CompletedProcess[str], out: Path) -> None:
    assert result.returncode == 0, result.stderr
    manifest, values = _inputs(case)
    files = configs.render(manifest, values)
    assert result.stdout.splitlines() == [rel for rel, _, _ in files]
    for rel, text, mode in files:
        path = out / rel
        assert path.read_bytes() == text.encode(), rel
        assert path.stat().st_mode & 0o7777 == mode, rel
    leftovers = [p.name for p in out.rglob(".*") if p.is_file()]
    assert not leftovers, f"temporary files left behind: {leftovers}"


@pytest.mark.parametrize("case", ["storm-0.9.5-zk-3.4.6-nimbus", "storm-2.8.8-zk-3.9.3-nonroot"])
def test_cli_writes_every_file_with_its_mode(case: str, tmp_path: Path) -> None:
    result = _run_cli([sys.executable], case, tmp_path)
    _check_written(case, result, tmp_path / "out")
    assert (tmp_path / "out" / "etc" / "supervisord.conf").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "out" / "bin" / "stormctl").stat().st_mode & 0o777 == 0o755


def test_cli_reports_bad_values_in_one_line(tmp_path: Path) -> None:
    manifest, values = _inputs("storm-2.6.4-zk-3.8.4-all")
    values["zk_id"] = 0
    (tmp_path / "bundle.json").write_text(json.dumps(manifest))
    (tmp_path / "values.json").write_text(json.dumps(values))
    result = subprocess.run(
        [
            sys.executable,
            *CONFIGS,
            "--manifest",
            str(tmp_path / "bundle.json"),
            "--values",
            str(tmp_path / "values.json"),
            "--out",
            str(tmp_path / "out"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("configs.py: values['zk_id']: ")
    assert result.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("python", ["2.7", "3.6", "3.13"])
@pytest.mark.parametrize("case", list(CASES))
def test_target_pythons_render_the_same_bytes(python: str, case: str, tmp_path: Path) -> None:
    interpreter = _pyenv_python(python)
    # -S -E: the standard library only, whatever the environment says.
    result = _run_cli([str(interpreter), "-S", "-E"], case, tmp_path)
    _check_written(case, result, tmp_path / "out")
