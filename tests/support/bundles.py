"""Helpers for the installer's tests: a bundle built once per session from the local mirror,
unpacked copies of it, and install.sh runs inside network namespaces with only `lo` up.

Processes started by a test are found through the network namespace they run in and ended by
pid; service users created by a test are removed by name.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
import xmlrpc.client
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pytest

from tests.support import debian_python, zkprobe
from tests.support.mirror_server import MirrorServer

ROOT = Path(__file__).resolve().parents[2]
PYENV = Path.home() / ".pyenv" / "versions"
DEBIAN_PYTHON27 = ROOT / "build" / "debian11-python2.7"
# Java 17 is what this machine has: Storm 2.6 (Java 11 to 21) and ZooKeeper 3.8 fit it.
STORM = "2.6.4"
ZOOKEEPER = "3.8.4"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
STATES = {0: "STOPPED", 10: "STARTING", 20: "RUNNING", 30: "BACKOFF", 100: "EXITED", 200: "FATAL"}

# The last commit of the layout before the privilege boundary (data/, logs/ and run/ owned by
# the service user): installs made by it must move into the new layout safely.
PREVIOUS_LAYOUT = "17ba44707adace79a25815f66e8608e799bfb824"
# The last commit whose installer package was flat (before its stage folders): a rollback to
# an install it made must leave a stormctl that runs.
FLAT_PACKAGE = "c0a733df11dc56bacf4447cb0f9757fbe9dfa6dd"

_built: dict[tuple[str, str, Path | None, Path | None, Path], Path] = {}
_scratch = Path(tempfile.mkdtemp(prefix="bundler-install-tests-"))
atexit.register(shutil.rmtree, _scratch, True)


def pyenv_python(version: str) -> Path:
    """The pyenv interpreter whose version starts with `version` (e.g. "3.6"). "debian-2.7" is
    Debian 11's own Python 2.7, which `make test` extracts into build/; "2.7" falls back on it
    where pyenv has none, as on a fresh machine."""
    for folder in sorted(PYENV.glob(f"{version}.*")):
        python = folder / "bin" / "python"
        if python.exists():
            return python
    if version in ("2.7", "debian-2.7"):
        python = debian_python.interpreter(DEBIAN_PYTHON27)
        if python.exists():
            return python
        pytest.skip(f"no Debian 11 Python 2.7 in {DEBIAN_PYTHON27} (make test extracts it)")
    pytest.skip(f"no pyenv Python {version} under {PYENV}")


def build_bundle(
    mirror_dir: Path,
    wheelhouse: Path,
    storm: str = STORM,
    zk: str = ZOOKEEPER,
    jdk: Path | None = None,
    cluster: Path | None = None,
    source: Path = ROOT,
) -> Path:
    """The bundle .tar for a version pair (and a JDK, and a cluster inventory), built once per
    session from the local mirror by the bundler in source (this checkout, or an earlier
    release's tree: source_at)."""
    key = (storm, zk, jdk, cluster, source)
    if key in _built:
        return _built[key]
    work = Path(tempfile.mkdtemp(prefix=f"build-{storm}-{zk}-", dir=_scratch))
    (work / "out").mkdir(parents=True)
    # An earlier release's tree knows only the option names it had.
    keys, out = ("--apache-keys", "--out") if source == ROOT else ("--keys", "--output-dir")
    with MirrorServer(mirror_dir) as server:
        # storm-starter, the smoke topology, from the mirror's Maven repository (2.6.4 has one).
        maven = ["--maven-mirror", f"{server.url}/maven2"] if source == ROOT else []
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "bundler",
                "build",
                "--storm",
                storm,
                "--zk",
                zk,
                "--mirror",
                server.url,
                "--no-default-mirrors",
                keys,
                str(mirror_dir / "keys" / "KEYS"),
                "--no-pins",
                "--find-links",
                str(wheelhouse),
                "--cache-dir",
                str(work / "cache"),
                out,
                str(work / "out"),
                "--quiet",
                *(["--jdk", str(jdk)] if jdk else []),
                *(["--cluster", str(cluster)] if cluster else []),
                *maven,
            ],
            capture_output=True,
            text=True,
            cwd=source,
            env={**os.environ, "PYTHONPATH": str(source)},
            timeout=600,
            check=False,
        )
    assert proc.returncode == 0, proc.stderr
    bundle = Path(proc.stdout.strip().splitlines()[-1])
    shutil.rmtree(work / "cache", ignore_errors=True)
    _built[key] = bundle
    return bundle


def source_at(commit: str) -> Path:
    """This repository's tree at commit (from its own history), once per session."""
    dest = _scratch / f"source-{commit[:12]}"
    if not dest.exists():
        dest.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", commit],
            capture_output=True,
            check=True,
        )
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(dest, filter="data")
    return dest


def unpack(bundle: Path, dest: Path) -> Path:
    """Unpack a bundle into dest (made readable by every user) and return its top folder."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(bundle) as tar:
        tar.extractall(dest, filter="data")
        top = dest / tar.getnames()[0].split("/")[0]
    for path in [dest, *dest.parents]:
        if path == Path("/tmp") or path == Path("/"):
            break
        path.chmod(path.stat().st_mode | 0o755)
    return top


def public_dir(prefix: str = "t") -> Path:
    """A fresh folder under /tmp that every user can traverse (pytest's tmp_path is 0700, which
    a service user cannot pass)."""
    path = Path(tempfile.mkdtemp(prefix=f"bundler-{prefix}-", dir="/tmp"))
    path.chmod(0o755)
    return path


@dataclass
class Result:
    code: int
    out: str
    err: str

    def __repr__(self) -> str:
        return f"exit {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


@dataclass
class Node:
    """One install.sh target: a bundle folder, a prefix and the namespace its services run in.

    Every run after the first enters the namespace of the first one, so that a re-run sees
    the services it started (ports, ZooKeeper) as the operator's second run would."""

    bundle: Path
    prefix: Path
    python: Path | None = None
    path: str = SYSTEM_PATH
    env: dict[str, str] = field(default_factory=dict)
    netns: Path | None = None
    keeper: subprocess.Popen[bytes] | None = None
    users: list[str] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)

    def _namespace(self) -> Path:
        if self.netns is None:
            # A sleeper holds the namespace open between runs; it is ended in close().
            self.keeper = subprocess.Popen(
                ["unshare", "-n", "sh", "-c", "ip link set lo up && exec sleep 86400"]
            )
            netns = Path(f"/proc/{self.keeper.pid}/ns/net")
            for _ in range(100):
                if _ns_id(netns) != _ns_id(Path("/proc/self/ns/net")):
                    break
                time.sleep(0.05)
            self.netns = netns
        return self.netns

    def run(self, *args: str, as_user: str | None = None, timeout: float = 400) -> Result:
        """install.sh under dash in the node's namespace, with a clean environment."""
        cmd = ["nsenter", f"--net={self._namespace()}"]
        if as_user:
            cmd += ["runuser", "-u", as_user, "--"]
        cmd += ["env", "-i", *[f"{k}={v}" for k, v in self.full_env(as_user).items()]]
        cmd += ["dash", str(self.bundle / "install.sh"), *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        self.results.append(Result(proc.returncode, proc.stdout, proc.stderr))
        return self.results[-1]

    def full_env(self, as_user: str | None) -> dict[str, str]:
        home = pwd.getpwnam(as_user).pw_dir if as_user else "/root"
        env = {"PATH": self.path, "HOME": home, "LANG": "C.UTF-8"}
        env.update(self.env)
        return env

    def install(self, *args: str, as_user: str | None = None) -> Result:
        flags = ["--prefix", str(self.prefix)]
        if self.python:
            flags += ["--python", str(self.python)]
        return self.run(*flags, *args, as_user=as_user)

    def in_netns(self, *cmd: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["nsenter", f"--net={self._namespace()}", *cmd],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def four_letter(self, word: str, port: int = 2181) -> str:
        return zkprobe.four_letter(["nsenter", f"--net={self._namespace()}"], word, port=port)

    def listening(self, port: int) -> bool:
        code = f"import socket;socket.create_connection(('127.0.0.1',{port}),3).close()"
        return self.in_netns("/usr/bin/python3", "-c", code).returncode == 0

    def rpc(self) -> xmlrpc.client.ServerProxy:
        return supervisor_proxy(self.prefix / "run" / "supervisord.sock")

    def processes(self) -> dict[str, dict[str, object]]:
        infos = cast(list[dict[str, object]], self.rpc().supervisor.getAllProcessInfo())
        return {str(p["name"]): p for p in infos}

    def close(self) -> None:
        """End every process of the namespace (supervisord, JVMs, the keeper), by pid."""
        if self.netns is not None:
            target = _ns_id(self.netns)
            if target is not None:
                for _ in range(3):
                    pids = [p for p in _pids() if _ns_id(Path(f"/proc/{p}/ns/net")) == target]
                    pids = [p for p in pids if p != os.getpid()]
                    if not pids:
                        break
                    for pid in pids:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
                    time.sleep(0.3)
        if self.keeper is not None:
            self.keeper.kill()
            self.keeper.wait()
        for user in self.users:
            remove_user(user)


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _ns_id(path: Path) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None


def supervisor_proxy(socket_path: Path) -> xmlrpc.client.ServerProxy:
    from bundler.onhost.host import health  # the installer's own client: stdlib only

    # strict=False: the tests also ask non-root installs' supervisord, as root.
    proxy = health.supervisor(str(socket_path), strict=False)  # type: ignore[no-untyped-call]
    return cast(xmlrpc.client.ServerProxy, proxy)


def remove_user(name: str) -> None:
    with contextlib.suppress(KeyError):
        pwd.getpwnam(name)
        subprocess.run(["userdel", name], capture_output=True, check=False)


@contextlib.contextmanager
def node(bundle: Path, python: Path | None = None, **kwargs: object) -> Iterator[Node]:
    prefix_parent = public_dir("prefix")
    n = Node(bundle=bundle, prefix=prefix_parent / "storm", python=python, **kwargs)  # type: ignore[arg-type]
    try:
        yield n
    finally:
        n.close()
        shutil.rmtree(prefix_parent, ignore_errors=True)


def start_without_java(n: Node, user: str, timeout: int) -> Result:
    """ZooKeeper and Nimbus installed as `user` with --no-start, then started with a health
    check of `timeout` seconds after Storm's launcher was given a JAVA_HOME that does not exist
    (it loads conf/storm_env.ini over the environment, as the real one does): Nimbus cannot
    start, ZooKeeper runs."""
    roles = ("--role", "zookeeper,nimbus", "--user", user)
    staged = n.install(*roles, "--no-start")
    assert staged.code == 0, staged
    env_ini = n.prefix / "etc" / "storm" / "storm_env.ini"
    env_ini.write_text("[environment]\nJAVA_HOME=/nonexistent/jdk\n")
    return n.install(*roles, "--timeout", str(timeout))


def manifest(bundle_dir: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((bundle_dir / "bundle.json").read_text())
    return data


def snapshot(root: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[int, int, int, int]]:
    """(mtime_ns, size, mode, uid) of every path under root, except the given top folders."""
    found: dict[str, tuple[int, int, int, int]] = {}
    if not root.exists():
        return found
    for path in [root, *root.rglob("*")]:
        rel = path.relative_to(root).as_posix()
        if rel.split("/", 1)[0] in skip:
            continue
        st = path.lstat()
        found[rel] = (st.st_mtime_ns, st.st_size, st.st_mode, st.st_uid)
    return found
