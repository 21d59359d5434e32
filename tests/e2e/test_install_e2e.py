"""install.sh end to end: a bundle built from the local mirror, unpacked, and installed under
dash inside a network namespace where only `lo` is up, as root with a service user and as a
user into its own prefix, with several target Pythons. Real supervisord from the bundle's
wheels, the real ZooKeeper server, the Storm stand-in daemons.

Every test ends every process it started (by pid, through its namespace) and removes the users
it created, also when it fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.bundles import (
    SYSTEM_PATH,
    Node,
    build_bundle,
    manifest,
    node,
    public_dir,
    pyenv_python,
    remove_user,
    snapshot,
    start_without_java,
    unpack,
)

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("dash") is None,
    reason="needs root, unshare and dash (network namespaces, service users)",
)

ALL_PROGRAMS = [
    "storm-drpc",
    "storm-logviewer",
    "storm-nimbus",
    "storm-supervisor",
    "storm-ui",
    "zookeeper",
]
# What a re-run must leave alone; data, logs and run belong to the running services.
STATIC = ("data", "logs", "run")


def service_user() -> str:
    # Unique per run: tests of other sessions on this machine may run at the same time.
    return f"bst{os.getpid() % 100000}{int(time.time() * 1000) % 1000}"


def running(n: Node) -> dict[str, tuple[int, int]]:
    """{program: (pid, start)} of every process, asserting each is RUNNING."""
    infos = n.processes()
    for name, info in infos.items():
        assert info["statename"] == "RUNNING", (name, info)
    return {name: (info["pid"], info["start"]) for name, info in infos.items()}  # type: ignore[misc]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def owner(path: Path) -> str:
    return pwd.getpwuid(path.lstat().st_uid).pw_name


def netns_pids(n: Node) -> list[int]:
    assert n.netns is not None
    target = os.readlink(n.netns)
    keeper = n.keeper.pid if n.keeper else None
    found = []
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        try:
            if os.readlink(f"/proc/{pid}/ns/net") == target and pid != keeper:
                found.append(pid)
        except OSError:
            continue
    return found


# --- the whole story as root, on the newest Python ---


@pytest.fixture(scope="module")
def root_node(bundle_tar: Path) -> Iterator[Node]:
    """A node installed once with every role, shared by the tests below in file order."""
    where = public_dir("bundle")
    user = service_user()
    with node(unpack(bundle_tar, where), python=pyenv_python("3.13"), users=[user]) as n:
        n.install("--role", "all", "--user", user)
        yield n
    shutil.rmtree(where, ignore_errors=True)


def test_root_install_runs_every_program_healthy(root_node: Node) -> None:
    n = root_node
    first = n.results[0]
    assert first.code == 0, first
    for program in ALL_PROGRAMS:
        assert f"{program:<17} RUNNING" in first.out
    assert "ruok imok, srvr Mode: standalone" in first.out
    assert first.out.splitlines()[-1] == "install.sh: changed", first
    assert sorted(running(n)) == ALL_PROGRAMS

    # ZooKeeper itself, asked from inside the namespace.
    assert n.four_letter("ruok") == "imok"
    assert "Mode: standalone" in n.four_letter("srvr")
    for port in (2181, 6627, 8080, 8000, 3772, 9001):
        assert n.listening(port), port

    # supervisord is the bundle's, run by the chosen interpreter from PREFIX/python/site.
    pid = int((n.prefix / "run" / "supervisord.pid").read_text())
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert cmdline[0] == str(pyenv_python("3.13")).encode()
    assert str(n.prefix / "python" / "site" / "bin" / "supervisord").encode() in cmdline
    site = n.prefix / "python" / "site"
    assert any(site.glob("supervisor-4.3.0.dist-info"))
    interpreter = (n.prefix / "python" / "interpreter").read_text().split("\n")
    assert interpreter[0] == str(pyenv_python("3.13")) and interpreter[1].startswith("3.13")

    # Daemons run as the service user; supervisord as root.
    user = n.users[0]
    uid = pwd.getpwnam(user).pw_uid
    for info in n.processes().values():
        assert os.stat(f"/proc/{info['pid']}").st_uid == uid
    assert os.stat(f"/proc/{pid}").st_uid == 0

    # Layout: versioned releases behind stable links.
    assert os.readlink(n.prefix / "storm") == "releases/apache-storm-2.6.4"
    assert os.readlink(n.prefix / "zookeeper") == "releases/apache-zookeeper-3.8.4-bin"
    assert (n.prefix / "data" / "zookeeper" / "myid").read_text() == "1\n"


def test_modes_and_owners_of_configs_secrets_and_socket(root_node: Node) -> None:
    p = root_node.prefix
    user = root_node.users[0]
    assert (mode(p / "etc" / "supervisord.conf"), owner(p / "etc" / "supervisord.conf")) == (
        0o600,
        "root",
    )
    assert (mode(p / "etc" / "web-password"), owner(p / "etc" / "web-password")) == (0o600, "root")
    assert (mode(p / "state" / "installed.json"), mode(p / "state")) == (0o600, 0o700)
    # The privilege boundary: supervisord's socket, pid file and every log it writes are in
    # root's folders; the service user owns only what the daemons write themselves.
    assert (mode(p / "run"), owner(p / "run")) == (0o700, "root")
    sock = p / "run" / "supervisord.sock"
    assert stat.S_ISSOCK(sock.lstat().st_mode) and mode(sock) == 0o700 and owner(sock) == "root"
    for rel in (
        "data",
        "logs",
        "logs/supervisord.log",
        "logs/zookeeper.log",
        "run/supervisord.pid",
    ):
        assert owner(p / rel) == "root", rel
    for rel in ("data/zookeeper", "data/storm", "logs/storm", "logs/zookeeper"):
        assert owner(p / rel) == user, rel
    # Storm logs to STORM_HOME/logs: that points at the service user's logs/storm.
    (storm_logs,) = (p / "releases").glob("apache-storm-*/logs")
    assert os.readlink(storm_logs) == "../../logs/storm"
    assert storm_logs.resolve() == (p / "logs" / "storm").resolve()
    for rel in ("etc/storm/storm.yaml", "etc/zookeeper/zoo.cfg", "bin/stormctl", "releases"):
        assert owner(p / rel) == "root", rel
    assert mode(p / "bin" / "stormctl") == 0o755
    # Only the password's sha1 is in the conf; the clear one only in the 0600 file.
    password = (p / "etc" / "web-password").read_text().strip()
    conf = (p / "etc" / "supervisord.conf").read_text()
    assert len(password) >= 24 and password not in conf
    assert "password={SHA}" + hashlib.sha1(password.encode()).hexdigest() in conf
    assert "port=127.0.0.1:9001" in conf
    # Nothing group or world writable anywhere under the prefix.
    for path in [p, *p.rglob("*")]:
        if not path.is_symlink() and not stat.S_ISSOCK(path.lstat().st_mode):
            assert not mode(path) & 0o022, path


def test_stormctl_talks_to_supervisord(root_node: Node) -> None:
    # In the node's namespace: status asks each program on its port there.
    proc = root_node.in_netns(str(root_node.prefix / "bin" / "stormctl"), "status")
    assert proc.returncode == 0, proc
    states = {w[0]: w[1] for w in (line.split() for line in proc.stdout.splitlines()) if w}
    assert {p: states.get(p) for p in ALL_PROGRAMS} == dict.fromkeys(ALL_PROGRAMS, "RUNNING")
    assert proc.stdout.splitlines()[-1] == "status: healthy", proc


def starter_jar(mirror_dir: Path, version: str = "2.6.4") -> Path:
    """The example topology the test mirror's Maven repository holds for Storm version."""
    folder = mirror_dir / "maven2" / "org" / "apache" / "storm" / "storm-starter" / version
    return folder / f"storm-starter-{version}.jar"


def test_smoke_runs_a_topology_on_apache_storm_and_leaves_nothing(
    root_node: Node, mirror_dir: Path
) -> None:
    """The bundle's storm-starter, placed by the installer: Apache's Nimbus schedules the
    topology, Apache's supervisor starts its workers, their bolts ack tuples (counts read from
    Nimbus over Thrift), and the kill removes it."""
    jar = root_node.prefix / "lib" / "smoke" / "storm-starter-2.6.4.jar"
    assert jar.read_bytes() == starter_jar(mirror_dir).read_bytes()
    st = jar.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o644)
    state = json.loads((root_node.prefix / "state" / "installed.json").read_text())
    assert "lib/smoke/storm-starter-2.6.4.jar" in state["files"]
    stormctl = str(root_node.prefix / "bin" / "stormctl")
    copies_before = set(Path(tempfile.gettempdir()).glob("bundler-smoke-*"))
    proc = root_node.in_netns(stormctl, "smoke", timeout=400)
    assert proc.returncode == 0, proc
    lines = proc.stdout.splitlines()
    stages = [line.split()[1] for line in lines if line.startswith("smoke: ") and " ok " in line]
    assert stages == ["nimbus", "submit", "schedule", "worker", "acks", "kill"], proc.stdout
    assert lines[-1].startswith("smoke: passed: org.apache.storm.starter.ExclamationTopology")
    # The jar's readable copy is gone with it.
    assert set(Path(tempfile.gettempdir()).glob("bundler-smoke-*")) == copies_before
    # The workers ran as the service user and wrote their logs in its folder.
    user = root_node.users[0]
    logs = list((root_node.prefix / "logs" / "storm" / "workers-artifacts").rglob("worker.log"))
    assert logs and all(owner(log) == user for log in logs)


def test_smoke_fails_with_exit_5_at_the_stage_that_failed(root_node: Node, tmp_path: Path) -> None:
    """A jar without the class: the submit stage fails, with what `storm jar` said."""
    empty = tmp_path / "empty.jar"
    with zipfile.ZipFile(empty, "w") as jar:
        jar.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n\r\n")
    empty.chmod(0o644)
    stormctl = str(root_node.prefix / "bin" / "stormctl")
    proc = root_node.in_netns(stormctl, "smoke", "--jar", str(empty), "--timeout", "120")
    assert proc.returncode == 5, proc
    assert "smoke: FAILED at submit: `storm jar` exited 1" in proc.stdout, proc.stdout
    assert "ClassNotFoundException" in proc.stdout
    usage = root_node.in_netns(stormctl, "smoke", "--timeout", "soon")
    assert usage.returncode == 2 and "--timeout expects seconds" in usage.stderr


def test_second_run_changes_nothing_and_restarts_nothing(root_node: Node) -> None:
    n = root_node
    user = n.users[0]
    before = running(n)
    files = snapshot(n.prefix, skip=STATIC)
    again = n.install("--role", "all", "--user", user)
    assert again.code == 0, again
    assert running(n) == before
    assert snapshot(n.prefix, skip=STATIC) == files
    # Nothing was reported as changed: only the preflight summary lines.
    changes = [line for line in again.err.splitlines() if line.startswith("install: ")]
    assert len(changes) == 1 and "roles zookeeper,nimbus" in changes[0], again.err
    assert again.out.splitlines()[-1] == "install.sh: unchanged", again


def test_dry_run_prints_changes_and_makes_none(root_node: Node) -> None:
    n = root_node
    user = n.users[0]
    before = running(n)
    files = snapshot(n.prefix, skip=STATIC)
    dry = n.install(
        "--role", "all", "--user", user, "--supervisord-ui-bind", "127.0.0.1:9011", "--dry-run"
    )
    assert dry.code == 0, dry
    assert f"would update {n.prefix}/etc/supervisord.conf" in dry.out
    assert "    -port=127.0.0.1:9001\n    +port=127.0.0.1:9011\n" in dry.out
    assert "would stop supervisord and its programs" in dry.out
    assert "would start supervisord" in dry.out
    assert dry.out.splitlines()[-1] == "install.sh: would change", dry
    assert snapshot(n.prefix, skip=STATIC) == files
    assert running(n) == before
    # A new web password: its hash changes in the conf, and stays off the terminal.
    secret = public_dir("secret") / "pw"
    secret.write_text("correct horse battery staple\n")
    new_pw = n.install("--role", "all", "--user", user, "--web-password-file", str(secret),
                       "--dry-run")  # fmt: skip
    assert new_pw.code == 0, new_pw
    assert "password=(hidden)" in new_pw.out and "{SHA}" not in new_pw.out
    assert "would update" in new_pw.out and "etc/web-password" in new_pw.out
    shutil.rmtree(secret.parent)
    same = n.install("--role", "all", "--user", user, "--dry-run")
    assert same.code == 0 and same.out == "nothing to change\ninstall.sh: unchanged\n", same


def test_changed_flags_rewrite_what_changed_and_restart_only_what_it_affects(
    root_node: Node,
) -> None:
    n = root_node
    user = n.users[0]
    before = running(n)
    conf = n.prefix / "etc" / "supervisord.conf"
    old_conf = conf.read_bytes()
    fewer = n.install("--role", "zookeeper,nimbus,supervisor,ui,logviewer", "--user", user)
    assert fewer.code == 0, fewer
    after = running(n)
    assert sorted(after) == sorted(set(ALL_PROGRAMS) - {"storm-drpc"})
    assert all(after[name] == before[name] for name in after)
    assert (n.prefix / "etc" / "supervisord.conf.bak").read_bytes() == old_conf
    assert not n.listening(3772)

    # storm.yaml changes: the Storm daemons restart, ZooKeeper keeps running.
    moved = n.install(
        "--role", "zookeeper,nimbus,supervisor,ui,logviewer", "--user", user,
        "--nimbus-host", "localhost",
    )  # fmt: skip
    assert moved.code == 0, moved
    restarted = running(n)
    assert restarted["zookeeper"] == after["zookeeper"]
    for name in ("storm-nimbus", "storm-supervisor", "storm-ui", "storm-logviewer"):
        assert restarted[name][0] != after[name][0], name
    assert '"localhost"' in (n.prefix / "etc" / "storm" / "storm.yaml").read_text()
    assert (n.prefix / "etc" / "storm" / "storm.yaml.bak").exists()


def test_uninstall_stops_everything_keeps_data_and_purge_removes_the_rest(
    root_node: Node,
) -> None:
    n = root_node
    user = n.users[0]
    assert netns_pids(n)
    gone = n.run("--uninstall", "--prefix", str(n.prefix))
    assert gone.code == 0, gone
    assert netns_pids(n) == []
    assert sorted(p.name for p in n.prefix.iterdir()) == ["data", "logs", "state"]
    assert (n.prefix / "data" / "zookeeper" / "myid").exists()
    pwd.getpwnam(user)  # the user owns the kept data: it stays

    # Another installation has started using the user meanwhile: --purge keeps it, and says
    # so, instead of failing in userdel.
    other = subprocess.Popen(["sleep", "300"], user=user)
    try:
        kept = n.run("--uninstall", "--purge", "--prefix", str(n.prefix))
    finally:
        other.kill()
        other.wait()
    assert kept.code == 0, kept
    assert not n.prefix.exists()
    assert f"kept service user {user}: processes still run as it (pid {other.pid})" in kept.err
    pwd.getpwnam(user)  # without another process, --purge removes it (test_host_safety)


# --- other Pythons, presets, other users ---


def test_python_27_nimbus_preset_of_storm_095_full_start(
    mirror_dir: Path, wheelhouse: Path
) -> None:
    """The README's pair, Storm 0.9.5 and ZooKeeper 3.4.6, on a Python 2.7 host."""
    where = public_dir("bundle")
    user = service_user()
    bundle = unpack(build_bundle(mirror_dir, wheelhouse, storm="0.9.5", zk="3.4.6"), where)
    with node(bundle, python=pyenv_python("2.7"), users=[user]) as n:
        # 0.9.x has a single Nimbus (nimbus.host): two are a usage error, before any change.
        two = n.install("--role", "nimbus", "--user", user, "--nimbus-host", "a,b")
        assert two.code == 2 and "single Nimbus" in two.err, two
        result = n.install("--role", "nimbus", "--user", user)
        assert result.code == 0, result
        # The book's Nimbus host: ZooKeeper (this host is the ensemble), nimbus, ui, supervisor.
        assert sorted(running(n)) == ["storm-nimbus", "storm-supervisor", "storm-ui", "zookeeper"]
        assert "ruok imok, srvr Mode: standalone" in result.out
        pid = int((n.prefix / "run" / "supervisord.pid").read_text())
        assert Path(f"/proc/{pid}/exe").resolve().name == "python2.7"
        # supervisor 4.3.0 on Python 2.7 needs setuptools' pkg_resources: it came along.
        assert any((n.prefix / "python" / "site").glob("setuptools-44.*.dist-info"))
        assert 'nimbus.host: "127.0.0.1"' in (n.prefix / "etc/storm/storm.yaml").read_text()
        assert (n.prefix / "etc" / "zookeeper" / "log4j.properties").is_file()
        assert n.listening(6627) and n.listening(8080) and not n.listening(3772)
        # --check on the running node: the ports it holds itself are not a problem.
        check = n.install("--role", "nimbus", "--user", user, "--check")
        assert check.code == 0, check
        gone = n.run("--uninstall", "--purge", "--prefix", str(n.prefix))
        assert gone.code == 0, gone
        assert netns_pids(n) == [] and not n.prefix.exists()
    shutil.rmtree(where, ignore_errors=True)


@pytest.mark.parametrize("version", ["3.6", "3.9"])
def test_no_start_installs_a_working_supervisord_for_other_pythons(
    bundle_dir: Path, version: str
) -> None:
    python = pyenv_python(version)
    user = service_user()
    with node(bundle_dir, python=python, users=[user]) as n:
        result = n.install("--role", "supervisor", "--user", user, "--no-start")
        assert result.code == 0, result
        assert "--no-start: nothing started" in result.err
        assert not (n.prefix / "run" / "supervisord.sock").exists()
        assert netns_pids(n) == []
        site = n.prefix / "python" / "site"
        proc = subprocess.run(
            [str(python), "-S", str(site / "bin" / "supervisord"), "--version"],
            env={"PYTHONPATH": str(site), "PATH": SYSTEM_PATH},
            capture_output=True,
            text=True,
            check=False,
        )
        assert (proc.returncode, proc.stdout.strip()) == (0, "4.3.0"), proc
        conf = (n.prefix / "etc" / "supervisord.conf").read_text()
        assert "[program:storm-supervisor]" in conf and "[program:zookeeper]" not in conf
        # A supervisor-only host runs no ZooKeeper: no zoo.cfg, no myid.
        assert not (n.prefix / "etc" / "zookeeper" / "zoo.cfg").exists()
        again = n.install("--role", "supervisor", "--user", user, "--no-start")
        assert again.code == 0
        assert [line for line in again.err.splitlines() if "install: write" in line] == []


def test_non_root_user_installs_into_its_own_prefix(bundle_dir: Path) -> None:
    user = service_user()
    subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/sh", user], check=True)
    try:
        with node(bundle_dir, python=Path("/usr/bin/python3"), users=[user]) as n:
            n.prefix.parent.chmod(0o755)
            shutil.chown(n.prefix.parent, user)
            # The default prefix of a user is ~/storm; this one's home is not writable.
            home = pwd.getpwnam(user).pw_dir
            default = n.run("--role", "all", "--dry-run", as_user=user)
            assert default.code == 4, default
            assert f"cannot install into {home}/storm" in default.err
            result = n.install("--role", "all", as_user=user)
            assert result.code == 0, result
            assert sorted(running(n)) == ALL_PROGRAMS
            uid = pwd.getpwnam(user).pw_uid
            pid = int((n.prefix / "run" / "supervisord.pid").read_text())
            assert os.stat(f"/proc/{pid}").st_uid == uid
            conf = (n.prefix / "etc" / "supervisord.conf").read_text()
            assert "\nuser=" not in conf
            assert all(p.lstat().st_uid == uid for p in [n.prefix, *n.prefix.rglob("*")])
            # Another user's daemons need root.
            other = n.install("--role", "all", "--user", "storm", "--check", as_user=user)
            assert other.code == 4 and "needs root" in other.err, other
            gone = n.run("--uninstall", "--purge", "--prefix", str(n.prefix), as_user=user)
            assert gone.code == 0, gone
            assert netns_pids(n) == [] and not n.prefix.exists()
    finally:
        remove_user(user)


def test_presets_and_ensembles_shape_the_configs(bundle_dir: Path) -> None:
    ensemble = "127.0.0.1,10.9.0.2,10.9.0.3"
    with node(bundle_dir) as n:
        # A Nimbus host whose ZooKeeper ensemble lives elsewhere runs no ZooKeeper.
        remote = n.install(
            "--role", "nimbus", "--zk-servers", "10.9.0.1,10.9.0.2", "--user", "root",
            "--no-start",
        )  # fmt: skip
        assert remote.code == 0, remote
        conf = (n.prefix / "etc" / "supervisord.conf").read_text()
        programs = sorted(line for line in conf.splitlines() if line.startswith("[program:"))
        assert programs == ["[program:storm-nimbus]", "[program:storm-supervisor]",
                            "[program:storm-ui]"]  # fmt: skip
        yaml = (n.prefix / "etc" / "storm" / "storm.yaml").read_text()
        assert '  - "10.9.0.1"\n  - "10.9.0.2"' in yaml

        # A member of an ensemble: its id is its place in the list, found from its address.
        member = n.install("--role", "zookeeper", "--zk-servers", ensemble, "--user", "root",
                           "--no-start")  # fmt: skip
        assert member.code == 0, member
        assert (n.prefix / "data" / "zookeeper" / "myid").read_text() == "1\n"
        zoo = (n.prefix / "etc" / "zookeeper" / "zoo.cfg").read_text()
        assert "server.1=127.0.0.1:2888:3888;2181" in zoo
        assert "server.3=10.9.0.3:2888:3888;2181" in zoo
        # Changed roles rewrite the conf and keep the previous one.
        assert "[program:storm-nimbus]" in (n.prefix / "etc" / "supervisord.conf.bak").read_text()

        # Which member this is cannot be told when none of the addresses is this host's.
        lost = n.install("--role", "zookeeper", "--zk-servers", "10.9.0.1,10.9.0.2",
                         "--user", "root", "--check")  # fmt: skip
        assert lost.code == 4 and "pass --zk-id N" in lost.err, lost
        one_nimbus = n.install("--role", "all", "--nimbus-host", "a,b", "--check")
        assert one_nimbus.code == 0, one_nimbus  # 2.x takes nimbus.seeds: several are fine


# --- failures: the host stays as it was, or the message says what is wrong ---


def test_dry_run_on_a_fresh_host_writes_nothing(bundle_dir: Path) -> None:
    user = service_user()
    with node(bundle_dir, users=[user]) as n:
        dry = n.install("--role", "all", "--user", user, "--dry-run")
        assert dry.code == 0, dry
        assert f"would create service user {user}" in dry.out
        assert "would unpack artifacts/apache-storm-2.6.4.tar.gz" in dry.out
        assert f"would write {n.prefix}/etc/supervisord.conf (mode 0600)" in dry.out
        assert "would start supervisord" in dry.out
        assert not n.prefix.exists()
        with pytest.raises(KeyError):
            pwd.getpwnam(user)


@pytest.mark.parametrize("damage", ["altered", "truncated", "extra"])
def test_tampered_bundle_exits_3_and_writes_nothing(bundle_dir: Path, damage: str) -> None:
    user = service_user()
    if damage == "altered":
        target = bundle_dir / "onhost" / "render" / "configs.py"
        target.write_text(target.read_text() + "\n# changed\n")
    elif damage == "truncated":
        art = next((bundle_dir / "artifacts").glob("apache-storm-*.tar.gz"))
        art.write_bytes(art.read_bytes()[:1000])
    else:
        (bundle_dir / "onhost" / "json.py").write_text("raise SystemExit('shadowed')\n")
    with node(bundle_dir, users=[user]) as n:
        result = n.install("--role", "all", "--user", user)
        assert result.code == 3, result
        assert "install.sh: error:" in result.err
        assert not n.prefix.exists()
        with pytest.raises(KeyError):
            pwd.getpwnam(user)


def tools_dir(where: Path, python: bool) -> str:
    """A PATH with the POSIX tools install.sh needs and, on request, python3; no java."""
    where.mkdir()
    for tool in ("sh", "dash", "find", "sed", "awk", "grep", "sha256sum", "tr", "cut", "sort"):
        (where / tool).symlink_to(shutil.which(tool) or f"/usr/bin/{tool}")
    if python:
        (where / "python3").symlink_to("/usr/bin/python3")
    return str(where)


def test_missing_java_and_more_exit_4_with_every_problem_and_its_fix(
    bundle_dir: Path, tmp_path: Path
) -> None:
    with node(bundle_dir, path=tools_dir(tmp_path / "bin", python=True)) as n:
        # Hold ZooKeeper's port in the node's namespace for the whole run.
        holder = subprocess.Popen(
            ["nsenter", f"--net={n._namespace()}", "/usr/bin/python3", "-c",
             "import socket,time;s=socket.socket();s.bind(('127.0.0.1',2181));s.listen(1);"
             "time.sleep(120)"],
        )  # fmt: skip
        try:
            deadline = time.time() + 10
            while not n.listening(2181) and time.time() < deadline:
                time.sleep(0.1)
            result = n.install(
                "--role", "all", "--user", "root", "--web-password-file", "/nonexistent/pw",
            )  # fmt: skip
        finally:
            holder.kill()
            holder.wait()
        assert result.code == 4, result
        assert "nothing was changed" in result.err
        assert "no Java: JAVA_HOME is not set and no java on PATH" in result.err
        # The fix names a Java of this host that fits Storm 2.6 (11 to 21).
        assert "fix: run with JAVA_HOME=/usr/lib/jvm/" in result.err
        assert "port 2181 for the ZooKeeper client port is in use" in result.err
        assert "--web-password-file /nonexistent/pw cannot be read" in result.err
        assert not n.prefix.exists()


def test_java_older_than_the_recipes_allow_exits_4(bundle_dir: Path, tmp_path: Path) -> None:
    # An old JDK as `java -version` shows it (1.8 style); this machine has no real one.
    old = tmp_path / "jdk8"
    (old / "bin").mkdir(parents=True)
    (old / "bin" / "java").write_text(
        "#!/bin/sh\necho 'openjdk version \"1.8.0_392\"' >&2\necho 'OpenJDK 64-Bit' >&2\n"
    )
    (old / "bin" / "java").chmod(0o755)
    tmp_path.chmod(0o755)
    with node(bundle_dir, env={"JAVA_HOME": str(old)}) as n:
        result = n.install("--role", "all", "--check")
        assert result.code == 4, result
        assert f"JAVA_HOME={old} is Java 8; Storm 2.6.4 and ZooKeeper 3.8.4 need" in result.err
        assert "Java 11 or later" in result.err
        assert "fix: run with JAVA_HOME=/usr/lib/jvm/" in result.err
        n.env["JAVA_HOME"] = str(tmp_path)
        result = n.install("--role", "all", "--check")
        assert result.code == 4, result
        assert f"JAVA_HOME={tmp_path} has no bin/java" in result.err


def test_missing_python_exits_4_with_the_fix(bundle_dir: Path, tmp_path: Path) -> None:
    with node(bundle_dir, path=tools_dir(tmp_path / "bin", python=False)) as n:
        result = n.run("--role", "all", "--prefix", str(n.prefix))
        assert result.code == 4, result
        assert "no Python found on PATH" in result.err
        assert "the bundle has packages for Python 2.7 3.6" in result.err
        assert "apt-get install python3-minimal" in result.err
        result = n.run("--role", "all", "--python", "/bin/false")
        assert result.code == 4 and "--python /bin/false does not run" in result.err, result
        assert not n.prefix.exists()


def test_daemon_that_cannot_start_exits_5_with_its_log_tail(bundle_dir: Path) -> None:
    user = service_user()
    with node(bundle_dir, python=pyenv_python("3.13"), users=[user]) as n:
        result = start_without_java(n, user, timeout=20)
        assert result.code == 5, result
        assert "storm-nimbus was not RUNNING after 20s" in result.err
        assert f"last lines of {n.prefix}/logs/storm-nimbus.log" in result.err
        assert "JAVA_HOME is invalid" in result.err
        # ZooKeeper, started first, is up: the failure is the nimbus's alone.
        assert n.processes()["zookeeper"]["statename"] == "RUNNING"


def test_bundled_jdk_is_used_when_the_host_has_no_java(
    mirror_dir: Path, wheelhouse: Path, jdk_tarball: Path, tmp_path: Path
) -> None:
    where = public_dir("bundle")
    try:
        bundle = unpack(build_bundle(mirror_dir, wheelhouse, jdk=jdk_tarball), where)
        jdk = manifest(bundle)["components"]["jdk"]  # type: ignore[index]
        with node(bundle, path=tools_dir(tmp_path / "bin", python=True)) as n:
            result = n.install("--role", "zookeeper", "--user", "root")
            assert result.code == 0, result
            assert "using the bundle's JDK" in result.err
            assert os.readlink(n.prefix / "jdk") == f"releases/{jdk['top']}"
            assert "ruok imok, srvr Mode: standalone" in result.out
            conf = (n.prefix / "etc" / "supervisord.conf").read_text()
            assert f'JAVA_HOME="{n.prefix}/jdk"' in conf
            pid = n.processes()["zookeeper"]["pid"]
            assert Path(f"/proc/{pid}/exe").resolve().is_relative_to(n.prefix / "releases")
            again = n.install("--role", "zookeeper", "--user", "root")
            assert again.code == 0 and n.processes()["zookeeper"]["pid"] == pid, again
    finally:
        shutil.rmtree(where, ignore_errors=True)
