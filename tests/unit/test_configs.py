"""bundler/onhost/render/configs.py: every rendered config file, per Storm and ZooKeeper line.

Golden files under tests/golden/configs/<case>/ hold the exact expected output of each case
(tests/support/configcases.py; `_files.txt` lists every file with its mode). After a deliberate
change, regenerate them with `UPDATE_GOLDEN=1 pytest tests/unit/test_configs.py` and review the
diff line by line.

Beyond the goldens: storm.yaml only uses keys the release's own defaults.yaml knows and parses as
YAML; supervisord.conf only uses keys supervisord 4 knows; zoo.cfg follows each ZooKeeper line's
dialect. What runs the files (supervisord, the shell, systemd, java, the target Pythons):
tests/integration/test_configs.py.
"""

from __future__ import annotations

import configparser
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.version import Version

from bundler.onhost.render import configs
from bundler.recipes.recipes import RECIPES_DIR
from tests.support.configcases import CASES, JAVA8
from tests.support.configcases import inputs as _inputs
from tests.support.configcases import rendered as _rendered
from tests.support.configfiles import PASSWORD, PASSWORD_SHA1
from tests.support.configfiles import component as _component
from tests.support.configfiles import config_manifest as _manifest
from tests.support.configfiles import render_values as _values
from tests.support.configfiles import supervisord_ini as _supervisord_ini
from tests.support.configfiles import zoo_cfg as _zoo_cfg

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden" / "configs"
STORM_DEFAULTS = RECIPES_DIR / "storm-defaults"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

# supervisord 4's [program:x] keys (supervisor/options.py, ServerOptions.processes_from_section,
# and the "[program:x] Section Settings" of its documentation).
PROGRAM_KEYS = {
    "command",
    "process_name",
    "numprocs",
    "numprocs_start",
    "priority",
    "autostart",
    "startsecs",
    "startretries",
    "autorestart",
    "exitcodes",
    "stopsignal",
    "stopwaitsecs",
    "stopasgroup",
    "killasgroup",
    "user",
    "redirect_stderr",
    "stdout_logfile",
    "stdout_logfile_maxbytes",
    "stdout_logfile_backups",
    "stdout_capture_maxbytes",
    "stdout_events_enabled",
    "stdout_syslog",
    "stderr_logfile",
    "stderr_logfile_maxbytes",
    "stderr_logfile_backups",
    "stderr_capture_maxbytes",
    "stderr_events_enabled",
    "stderr_syslog",
    "environment",
    "directory",
    "umask",
    "serverurl",
}

# supervisord 4's keys outside [program:x] (supervisor/options.py and its documentation).
SECTION_KEYS = {
    "unix_http_server": {"file", "chmod", "chown", "username", "password"},
    "inet_http_server": {"port", "username", "password"},
    "supervisord": {
        "logfile",
        "logfile_maxbytes",
        "logfile_backups",
        "loglevel",
        "pidfile",
        "umask",
        "nodaemon",
        "silent",
        "minfds",
        "minprocs",
        "nocleanup",
        "childlogdir",
        "user",
        "directory",
        "strip_ansi",
        "environment",
        "identifier",
    },
    "supervisorctl": {"serverurl", "username", "password", "prompt", "history_file"},
    "rpcinterface:supervisor": {"supervisor.rpcinterface_factory"},
}
# The book's supervisor 2.x keys that 3.x and 4.x ignore without a word.
BOOK_IGNORED_PROGRAM_KEYS = {
    "log_stdout",
    "log_stderr",
    "logfile",
    "logfile_maxbytes",
    "logfile_backups",
}
# Options Java 9+ rejects ("Unrecognized VM option"), or that only exist for Java 8's GC logging.
JAVA8_ONLY_FLAGS = (
    "PrintGCDateStamps",
    "PrintGCTimeStamps",
    "UseGCLogFileRotation",
    "NumberOfGCLogFiles",
    "GCLogFileSize",
    "PrintGCDetails",
    "-Xloggc",
)


def _listing(files: list[tuple[str, str, int]]) -> str:
    return "".join(f"{mode:04o} {rel}\n" for rel, _, mode in files)


def _storm_yaml(case: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(_rendered(case)["etc/storm/storm.yaml"][0])
    return data


STORM_CASES = [c for c in CASES if any(r in configs.STORM_ROLES for r in CASES[c][2]["roles"])]
ZK_CASES = [c for c in CASES if "zookeeper" in CASES[c][2]["roles"]]


# --- golden files ---


@pytest.mark.parametrize("case", list(CASES))
def test_golden(case: str) -> None:
    manifest, values = _inputs(case)
    files = configs.render(manifest, values)
    folder = GOLDEN / case
    expected = {rel: text for rel, text, _ in files}
    expected["_files.txt"] = _listing(files)
    if UPDATE:
        if folder.exists():
            shutil.rmtree(folder)
        for rel, text in expected.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode())
    assert folder.is_dir(), f"{folder} missing: run UPDATE_GOLDEN=1 pytest {__file__}"
    on_disk = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert on_disk == sorted(expected), "files differ from the golden set"
    for rel, text in expected.items():
        golden = (folder / rel).read_bytes().decode()
        assert text == golden, f"{case}/{rel} differs from its golden file"


def test_every_case_has_a_golden_folder_and_no_stale_ones() -> None:
    assert sorted(p.name for p in GOLDEN.iterdir() if p.is_dir()) == sorted(CASES)


# --- storm.yaml ---


def _reference_defaults(version: str) -> tuple[str, dict[str, Any]]:
    """The defaults.yaml of `version`, or of the nearest lower release that has one."""
    if not STORM_DEFAULTS.is_dir():
        pytest.fail(f"{STORM_DEFAULTS} is missing: the storm.yaml key checks need it")
    available = sorted((Version(p.stem), p) for p in STORM_DEFAULTS.glob("*.yaml"))
    lower = [(v, p) for v, p in available if v <= Version(version)]
    if not lower:
        pytest.fail(f"no reference defaults.yaml at or below Storm {version} in {STORM_DEFAULTS}")
    ref_version, path = lower[-1]
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return str(ref_version), data


# Keys of Storm's Config class that defaults.yaml leaves unset (Config.STORM_LOCAL_HOSTNAME,
# read by every release since 0.8 when it is set).
KEYS_WITHOUT_DEFAULT = {"storm.local.hostname"}


@pytest.mark.parametrize("case", STORM_CASES)
def test_storm_yaml_uses_only_keys_the_release_knows(case: str) -> None:
    ref_version, defaults = _reference_defaults(CASES[case][0])
    unknown = sorted(set(_storm_yaml(case)) - set(defaults) - KEYS_WITHOUT_DEFAULT)
    assert not unknown, f"not in Storm {ref_version}'s defaults.yaml: {unknown}"


@pytest.mark.parametrize("case", STORM_CASES)
def test_storm_yaml_values(case: str) -> None:
    storm, _, values = CASES[case]
    facts = _component("storm", storm)["facts"]
    conf = _storm_yaml(case)
    heap = configs.heaps(values["memory_mb"], len(values["slots"]))
    assert conf["storm.zookeeper.servers"] == values["zk_servers"]
    assert conf["storm.zookeeper.port"] == 2181
    if facts["nimbus_key"] == "nimbus.host":
        assert conf["nimbus.host"] == values["nimbus_hosts"][0]
        assert "nimbus.seeds" not in conf
    else:
        assert conf["nimbus.seeds"] == values["nimbus_hosts"]
        assert "nimbus.host" not in conf
    assert conf["storm.local.dir"] == values["prefix"] + "/data/storm"
    assert conf["supervisor.slots.ports"] == values["slots"]
    assert conf["nimbus.childopts"] == f"-Xmx{heap['nimbus']}m"
    assert conf["ui.childopts"] == f"-Xmx{heap['ui']}m"
    assert conf["supervisor.childopts"] == f"-Xmx{heap['supervisor']}m"


@pytest.mark.parametrize("case", STORM_CASES)
def test_worker_childopts_start_on_the_hosts_java(case: str) -> None:
    storm, _, values = CASES[case]
    conf = _storm_yaml(case)
    heap = configs.heaps(values["memory_mb"], len(values["slots"]))["worker"]
    opts = conf["worker.childopts"]
    if Version(storm) < Version("1.0"):
        # 0.9/0.10: the simple form, sized directly.
        assert opts == f"-Xmx{heap}m"
        assert "worker.heap.memory.mb" not in conf
        return
    # %HEAP-MEM% is Storm's, filled from worker.heap.memory.mb: it must reach Storm untouched.
    assert opts.startswith("-Xmx%HEAP-MEM%m ")
    assert "%HEAP-MEM%" in _rendered(case)["etc/storm/storm.yaml"][0]
    assert conf["worker.heap.memory.mb"] == heap
    assert values["java_major"] >= 9
    for flag in JAVA8_ONLY_FLAGS:
        assert flag not in opts
    assert "-Xlog:gc*:file=artifacts/gc.log" in opts


def test_worker_childopts_on_java8_are_the_release_defaults() -> None:
    """On Java 8, 1.0 to 2.4 get exactly their own default flags (sized through %HEAP-MEM%)."""
    for storm in ("1.0.6", "1.2.4", "2.0.0", "2.4.0"):
        facts = _component("storm", storm)["facts"]
        assert facts["worker_childopts_java9_safe"] is False
        _, defaults = _reference_defaults(storm)
        assert configs.worker_childopts(facts, 8, 1024) == defaults["worker.childopts"]


@pytest.mark.parametrize("storm", ["1.0.6", "1.2.4", "2.0.0", "2.4.0", "2.5.0", "2.8.8"])
@pytest.mark.parametrize("java", [9, 11, 17, 21])
def test_worker_childopts_on_java9_plus_drop_the_removed_flags(storm: str, java: int) -> None:
    facts = _component("storm", storm)["facts"]
    opts = configs.worker_childopts(facts, java, 1024)
    assert opts == (
        "-Xmx%HEAP-MEM%m -Xlog:gc*:file=artifacts/gc.log:time,uptime:filecount=10,filesize=1M "
        "-XX:+HeapDumpOnOutOfMemoryError -XX:HeapDumpPath=artifacts/heapdump"
    )


def test_storm_placeholders_survive_as_literal_yaml_text() -> None:
    opts = "-Xmx%HEAP-MEM%m -Xlog:gc*:file=artifacts/gc-%ID%-%WORKER-PORT%.log -Dt=%TOPOLOGY-ID%"
    text = configs._yaml([("a note", "worker.childopts", opts)])
    assert "%HEAP-MEM%" in text and "%ID%" in text
    assert yaml.safe_load(text) == {"worker.childopts": opts}


def test_a_recipe_can_state_the_heap_placeholder_era() -> None:
    facts = dict(_component("storm", "0.10.2")["facts"], worker_heap_placeholder=True)
    assert configs.worker_childopts(facts, 8, 512).startswith("-Xmx%HEAP-MEM%m ")
    facts = dict(_component("storm", "1.2.4")["facts"], worker_heap_placeholder=False)
    assert configs.worker_childopts(facts, 17, 512) == "-Xmx512m"


def test_heaps_follow_memory_within_floors_and_caps() -> None:
    assert configs.heaps(8192, 4) == {"nimbus": 1024, "ui": 512, "supervisor": 256, "worker": 1024}
    assert configs.heaps(2048, 4) == {"nimbus": 256, "ui": 128, "supervisor": 128, "worker": 256}
    assert configs.heaps(1 << 20, 1) == {
        "nimbus": 1024,
        "ui": 768,
        "supervisor": 256,
        "worker": 2048,
    }
    for memory in range(256, 70000, 700):
        for slots in (1, 2, 4, 8, 16):
            for name, mb in configs.heaps(memory, slots).items():
                assert mb % 64 == 0 and mb >= 128, (memory, slots, name, mb)


def test_yaml_header_says_who_wrote_it_and_what_a_rerun_does() -> None:
    text = _rendered("storm-0.9.5-zk-3.4.6-nimbus")["etc/storm/storm.yaml"][0]
    assert text.startswith("# storm.yaml for Apache Storm 0.9.5 on 172.31.36.23\n")
    assert "Written by install.sh" in text
    assert "keeps the previous one as a backup" in text


def test_nimbus_host_releases_refuse_two_nimbus_hosts() -> None:
    manifest = _manifest("0.10.2", "3.4.14")
    values = _values(nimbus_hosts=["10.0.0.1", "10.0.0.2"], **JAVA8)
    with pytest.raises(ValueError, match=r"nimbus_hosts.*single Nimbus"):
        configs.render(manifest, values)


# --- zoo.cfg and myid ---


@pytest.mark.parametrize("case", ZK_CASES)
def test_zoo_cfg_follows_its_line(case: str) -> None:
    _, zookeeper, values = CASES[case]
    facts = _component("zookeeper", zookeeper)["facts"]
    files = _rendered(case)
    cfg = _zoo_cfg(files["etc/zookeeper/zoo.cfg"][0])
    assert cfg["dataDir"] == values["prefix"] + "/data/zookeeper"
    assert cfg["clientPort"] == "2181"
    assert files["data/zookeeper/myid"] == (f"{values['zk_id']}\n", 0o644)
    servers = {k: v for k, v in cfg.items() if k.startswith("server.")}
    if len(values["zk_servers"]) == 1:
        assert not servers, "a single server runs standalone"
    else:
        suffix = ";2181" if Version(zookeeper) >= Version("3.5.0a0") else ""
        assert servers == {
            f"server.{i}": f"{host}:2888:3888{suffix}"
            for i, host in enumerate(values["zk_servers"], start=1)
        }
        # This host's own entry carries its address, never 0.0.0.0.
        assert servers[f"server.{values['zk_id']}"].startswith(values["host"] + ":")
    if facts["four_letter_whitelist"]:
        assert cfg["4lw.commands.whitelist"] == "ruok,srvr,mntr"
    else:
        assert "4lw.commands.whitelist" not in cfg
    if facts["admin_server"] and "ui" in values["roles"]:
        assert cfg["admin.serverPort"] == "8081"
    else:
        assert "admin.serverPort" not in cfg


@pytest.mark.parametrize(
    ("zookeeper", "server_suffix", "whitelist", "admin_moves"),
    [
        ("3.4.6", "", False, False),
        ("3.4.14", "", True, False),
        ("3.5.2-alpha", ";2181", False, True),
        ("3.5.10", ";2181", True, True),
        ("3.8.4", ";2181", True, True),
        ("3.9.3", ";2181", True, True),
    ],
)
@pytest.mark.parametrize("ui_here", [True, False])
def test_zoo_cfg_dialects(
    zookeeper: str, server_suffix: str, whitelist: bool, admin_moves: bool, ui_here: bool
) -> None:
    roles = ["zookeeper", "nimbus", "ui"] if ui_here else ["zookeeper", "nimbus"]
    values = _values(
        roles=roles, host="zk2", zk_servers=["zk1", "zk2", "zk3"], zk_id=2, nimbus_hosts=["zk1"]
    )
    files = {rel: text for rel, text, _ in configs.render(_manifest("2.8.8", zookeeper), values)}
    text = files["etc/zookeeper/zoo.cfg"]
    cfg = _zoo_cfg(text)
    assert cfg["server.1"] == "zk1:2888:3888" + server_suffix
    assert cfg["server.2"] == "zk2:2888:3888" + server_suffix
    assert cfg["server.3"] == "zk3:2888:3888" + server_suffix
    assert (";2181" in text) == bool(server_suffix)
    assert ("4lw.commands.whitelist" in cfg) == whitelist
    assert cfg.get("admin.serverPort") == ("8081" if admin_moves and ui_here else None)
    assert files["data/zookeeper/myid"] == "2\n"


def test_inventory_values_ids_ports_and_heaps() -> None:
    """What a cluster inventory can set: ZooKeeper ids that are not 1..N, other ports, the
    AdminServer's port, and fixed heaps for some daemons."""
    values = _values(
        roles=["zookeeper", "nimbus", "ui"],
        host="10.0.3.2",
        zk_servers=["10.0.3.1", "10.0.3.2", "10.0.3.3"],
        zk_ids=[3, 5, 9],
        zk_id=5,
        nimbus_hosts=["10.0.3.2"],
        zk_ports={"client": 2281, "peer": 2889, "election": 3889, "admin": 8181},
        heaps={"nimbus": 768, "worker": 1536},
    )
    files = {rel: text for rel, text, _ in configs.render(_manifest("2.6.4", "3.8.4"), values)}
    cfg = _zoo_cfg(files["etc/zookeeper/zoo.cfg"])
    assert (cfg["clientPort"], cfg["admin.serverPort"]) == ("2281", "8181")
    assert {k: v for k, v in cfg.items() if k.startswith("server.")} == {
        "server.3": "10.0.3.1:2889:3889;2281",
        "server.5": "10.0.3.2:2889:3889;2281",
        "server.9": "10.0.3.3:2889:3889;2281",
    }
    assert files["data/zookeeper/myid"] == "5\n"
    storm = yaml.safe_load(files["etc/storm/storm.yaml"])
    assert storm["storm.zookeeper.port"] == 2281
    assert (storm["nimbus.childopts"], storm["worker.heap.memory.mb"]) == ("-Xmx768m", 1536)
    assert storm["ui.childopts"] == "-Xmx512m"  # still sized from memory_mb
    assert (
        "# Heaps of nimbus, worker from the cluster inventory; ui, supervisor sized from"
        in (files["etc/storm/storm.yaml"])
    )
    # 3.4 has no AdminServer: an admin port is not written.
    values34 = dict(
        values, zk_ports={"client": 2181, "peer": 2888, "election": 3888, "admin": 8181}
    )
    files34 = {rel: t for rel, t, _ in configs.render(_manifest("0.10.2", "3.4.14"), values34)}
    assert "admin.serverPort" not in files34["etc/zookeeper/zoo.cfg"]


def test_hosts_without_zookeeper_get_no_zoo_cfg_and_no_myid() -> None:
    files = _rendered("storm-0.9.5-supervisor")
    assert "etc/zookeeper/zoo.cfg" not in files
    assert "data/zookeeper/myid" not in files


def test_zookeeper_only_host_gets_no_storm_yaml() -> None:
    values = _values(roles=["zookeeper"], nimbus_hosts=[])
    files = {rel for rel, _, _ in configs.render(_manifest("2.8.8", "3.9.3"), values)}
    assert "etc/storm/storm.yaml" not in files
    assert "etc/zookeeper/zoo.cfg" in files


# --- supervisord.conf ---


@pytest.mark.parametrize("case", list(CASES))
def test_supervisord_conf_uses_only_keys_supervisord_4_knows(case: str) -> None:
    text, mode = _rendered(case)["etc/supervisord.conf"]
    assert mode == 0o600
    ini = _supervisord_ini(text)
    for section in ini.sections():
        keys = set(ini.options(section))
        if section.startswith("program:"):
            assert keys <= PROGRAM_KEYS, (section, keys - PROGRAM_KEYS)
            assert not keys & BOOK_IGNORED_PROGRAM_KEYS, section
        else:
            assert section in SECTION_KEYS, section
            assert keys <= SECTION_KEYS[section], (section, keys - SECTION_KEYS[section])


@pytest.mark.parametrize("case", list(CASES))
def test_supervisord_conf_programs(case: str) -> None:
    storm, _, values = CASES[case]
    facts = _component("storm", storm)["facts"]
    prefix = values["prefix"]
    ini = _supervisord_ini(_rendered(case)["etc/supervisord.conf"][0])
    names = [s.split(":", 1)[1] for s in ini.sections() if s.startswith("program:")]
    expected = [name for role, name, _ in configs.PROGRAMS if role in values["roles"]]
    assert names == expected
    for role, name, _ in configs.PROGRAMS:
        if role not in values["roles"]:
            continue
        prog = ini[f"program:{name}"]
        assert prog["autostart"] == "true"
        assert prog["autorestart"] == "true"
        assert prog["redirect_stderr"] == "true"
        assert prog["stdout_logfile"] == f"{prefix}/logs/{name}.log"
        assert prog["stdout_logfile_maxbytes"] == "20MB"
        assert prog["stdout_logfile_backups"] == "10"
        assert prog["stopsignal"] == "TERM"
        group = "true" if role in ("supervisor", "logviewer") else "false"
        assert prog["stopasgroup"] == prog["killasgroup"] == group
        assert prog.get("user") == values["user"]
        env = prog["environment"]
        assert f'JAVA_HOME="{values["java_home"]}"' in env
        if role == "zookeeper":
            assert prog["command"] == f"{prefix}/zookeeper/bin/zkServer.sh start-foreground"
            assert prog["startsecs"] == "5"
            assert f'ZOOCFGDIR="{prefix}/etc/zookeeper"' in env
            assert f'ZOO_LOG_DIR="{prefix}/logs/zookeeper"' in env
        else:
            launcher = f"{prefix}/storm/{facts['launcher']}"
            assert prog["command"] == f"{values['launcher_python']} {launcher} {role}"
            assert prog["startsecs"] == "10"
            assert f'STORM_CONF_DIR="{prefix}/etc/storm"' in env


def test_storm_09_runs_its_python_launcher_through_an_interpreter() -> None:
    ini = _supervisord_ini(_rendered("storm-0.9.5-zk-3.4.6-nimbus")["etc/supervisord.conf"][0])
    assert (
        ini["program:storm-nimbus"]["command"]
        == "/usr/bin/python3 /opt/storm/storm/bin/storm nimbus"
    )
    ini = _supervisord_ini(_rendered("storm-2.6.4-zk-3.8.4-all")["etc/supervisord.conf"][0])
    assert (
        ini["program:storm-ui"]["command"] == "/usr/bin/python3.11 /opt/storm/storm/bin/storm.py ui"
    )


@pytest.mark.parametrize("case", list(CASES))
def test_web_password_is_stored_hashed_only(case: str) -> None:
    files = _rendered(case)
    for rel, (text, _) in files.items():
        assert PASSWORD not in text, rel
    ini = _supervisord_ini(files["etc/supervisord.conf"][0])
    assert ini["inet_http_server"]["password"] == "{SHA}" + PASSWORD_SHA1
    assert ini["inet_http_server"]["username"] == configs.WEB_USERNAME
    # The unix socket needs no credentials (0700 folder and socket), so supervisorctl has none.
    assert "password" not in ini["supervisorctl"]
    assert "password" not in ini["unix_http_server"]
    assert [s for s in ini.sections() if "password" in ini[s]] == ["inet_http_server"]


def test_web_password_hash_is_written_lowercase() -> None:
    values = _values(web_password_sha1=PASSWORD_SHA1.upper())
    files = {rel: text for rel, text, _ in configs.render(_manifest("2.8.8", "3.9.3"), values)}
    assert "password={SHA}" + PASSWORD_SHA1 + "\n" in files["etc/supervisord.conf"]


@pytest.mark.parametrize("case", list(CASES))
def test_http_servers(case: str) -> None:
    values = CASES[case][2]
    ini = _supervisord_ini(_rendered(case)["etc/supervisord.conf"][0])
    assert ini["inet_http_server"]["port"] == f"{values['http_bind']}:{values['http_port']}"
    sock = f"{values['prefix']}/run/supervisord.sock"
    assert ini["unix_http_server"]["file"] == sock
    assert ini["unix_http_server"]["chmod"] == "0700"
    assert ini["supervisorctl"]["serverurl"] == "unix://" + sock
    assert ini["supervisord"]["nodaemon"] == "false"


def test_inet_http_server_binds_loopback_by_default() -> None:
    default = _values()
    assert default["http_bind"] == "127.0.0.1"
    ini = _supervisord_ini(_rendered("storm-0.9.5-zk-3.4.6-nimbus")["etc/supervisord.conf"][0])
    assert ini["inet_http_server"]["port"] == "127.0.0.1:9001"


@pytest.mark.parametrize("case", list(CASES))
def test_systemd_unit(case: str) -> None:
    values = CASES[case][2]
    text, mode = _rendered(case)["etc/systemd/storm-supervisord.service"]
    assert mode == 0o644
    unit = configparser.RawConfigParser(interpolation=None, strict=False)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read_string(text)
    service = unit["Service"]
    site, prefix = values["site_dir"], values["prefix"]
    assert service["Environment"] == f"PYTHONPATH={site}"
    assert service["ExecStart"] == (
        f"{values['python']} -S {site}/bin/supervisord -n -c {prefix}/etc/supervisord.conf"
    )
    assert service["KillMode"] == "mixed"
    longest_stop = max(
        configs.STOP_POLICY[role][0] for role in values["roles"] if role in configs.STOP_POLICY
    )
    assert int(service["TimeoutStopSec"]) > longest_stop
    if values["user"] is None:
        assert unit["Install"]["WantedBy"] == "default.target"
        assert "LimitNOFILE" not in service
    else:
        assert unit["Install"]["WantedBy"] == "multi-user.target"
        assert service["LimitNOFILE"] == "65536"
    assert "%" not in text, "systemd would read % as a specifier"


@pytest.mark.parametrize("case", list(CASES))
def test_no_placeholder_is_left_unfilled(case: str) -> None:
    for rel, (text, _) in _rendered(case).items():
        assert "${" not in text, rel
        assert text.endswith("\n") and not text.endswith("\n\n"), rel


# --- values ---


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"prefix": "opt/storm"}, "prefix"),
        ({"prefix": "/opt/my storm"}, "prefix"),
        ({"prefix": "/opt/storm/"}, "prefix"),
        ({"prefix": "/opt/../storm"}, "prefix"),
        ({"java_home": "/opt/jdk%1"}, "java_home"),
        ({"user": ""}, "user"),
        ({"user": "storm;rm"}, "user"),
        ({"roles": []}, "roles"),
        ({"roles": ["zookeeper", "nimbus", "pacemaker"]}, "roles"),
        ({"roles": ["nimbus", "nimbus"]}, "roles"),
        ({"zk_servers": []}, "zk_servers"),
        ({"zk_servers": ["0.0.0.0"]}, "zk_servers"),
        ({"zk_servers": ["a", "a"], "zk_id": 1}, "zk_servers"),
        ({"zk_id": None}, "zk_id"),
        ({"zk_id": 2}, "zk_id"),
        ({"zk_id": True}, "zk_id"),
        ({"roles": ["nimbus"], "zk_id": 1}, "zk_id"),
        ({"nimbus_hosts": []}, "nimbus_hosts"),
        ({"host": "0.0.0.0"}, "host"),
        ({"host": "bad host"}, "host"),
        ({"http_bind": "127.0.0.1:9001"}, "http_bind"),
        ({"http_port": 0}, "http_port"),
        ({"http_port": "9001"}, "http_port"),
        ({"web_password_sha1": "123"}, "web_password_sha1"),
        ({"java_major": 8.0}, "java_major"),
        ({"memory_mb": 0}, "memory_mb"),
        ({"slots": []}, "slots"),
        ({"slots": [6700, 6700]}, "slots"),
        ({"slots": [70000]}, "slots"),
        ({"zk_ids": [1, 2]}, "zk_ids"),
        ({"zk_ids": [0]}, "zk_ids"),
        ({"zk_servers": ["a", "b"], "zk_ids": [4, 4]}, "zk_ids"),
        ({"zk_ids": [7], "zk_id": 1}, "zk_id"),
        ({"zk_ports": {"client": 2181, "peer": 2888}}, "zk_ports"),
        ({"zk_ports": {"client": 2181, "peer": 2181, "election": 3888, "admin": None}}, "zk_ports"),
        ({"zk_ports": {"client": 2181, "peer": 2888, "election": 3888, "admin": 0}}, "zk_ports"),
        ({"heaps": None}, "heaps"),
        ({"heaps": {"drpc": 512}}, "heaps"),
        ({"heaps": {"nimbus": 32}}, "heaps"),
    ],
)
def test_validate_values_names_the_bad_key(change: dict[str, Any], key: str) -> None:
    with pytest.raises(ValueError) as info:
        configs.validate_values(_values(**change))
    message = str(info.value)
    assert message.startswith(f"values['{key}']: "), message
    assert "\n" not in message


def test_validate_values_wants_exactly_the_contract() -> None:
    values = _values()
    del values["slots"]
    with pytest.raises(ValueError, match=r"^values\['slots'\]: missing"):
        configs.validate_values(values)
    with pytest.raises(ValueError, match=r"^values\['colour'\]: unknown key"):
        configs.validate_values(_values(colour="blue"))
    assert set(_values()) == set(configs.VALUE_KEYS)
    configs.validate_values(_values())


def test_render_rejects_a_role_the_release_lacks() -> None:
    manifest = _manifest("2.8.8", "3.9.3")
    del manifest["components"]["storm"]["facts"]["daemons"][-1]  # drpc
    with pytest.raises(ValueError, match=r"no 'drpc' daemon"):
        configs.render(manifest, _values(roles=["drpc"], zk_id=None))


def test_render_names_a_missing_manifest_fact() -> None:
    manifest = _manifest("2.8.8", "3.9.3")
    del manifest["components"]["zookeeper"]["facts"]["server_line"]
    values = _values(zk_servers=["a", "b", "c"], host="a")
    with pytest.raises(ValueError, match=r"components\.zookeeper\.facts has no 'server_line'"):
        configs.render(manifest, values)
