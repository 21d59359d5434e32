"""A build whose only way out is a real forward proxy (Debian's tinyproxy).

Two network namespaces on a bridge: "client", where `bundler build` runs, and "gate", where
tinyproxy listens on the bridge and the HTTPS mirror and pypiserver (HTTPS, htpasswd) listen
on gate's own 127.0.0.2, which the client can reach only through the proxy (its own 127.0.0.2
has nothing). The mirror's and the index's certificates come from two private CAs. Everything
the test starts is ended by pid, and the namespaces are removed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bundler.tools import netns
from tests.support.cli import provenance_sources
from tests.support.procs import end
from tests.support.pypi_index import PypiIndex, htpasswd
from tests.support.tlscerts import CA

pytestmark = [
    pytest.mark.skipif(
        os.geteuid() != 0 or shutil.which("ip") is None,
        reason="needs root and ip (network namespaces)",
    ),
    pytest.mark.skipif(
        shutil.which("tinyproxy") is None,
        reason="needs Debian's tinyproxy (make deps installs it)",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
SUBNET = "10.231.91"
CLIENT, GATE = f"{SUBNET}.1", f"{SUBNET}.2"
BEHIND = "127.0.0.2"  # the servers' address inside gate
PROXY_PORT = 8888
INDEX_USER, INDEX_PASSWORD = "reader", "Proxy-Index-Pw-91c"


def spawn(
    node: netns.Node, work: Path, name: str, *args: str | Path
) -> tuple[subprocess.Popen[str], int]:
    """`python -m tests.support.mirror_server ARGS` inside node; the process and its port."""
    port_file = work / f"{name}.port"
    proc = subprocess.Popen(
        node.command(sys.executable, "-m", "tests.support.mirror_server", *map(str, args),
                     "--port-file", str(port_file)),
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not port_file.exists():
        assert proc.poll() is None and time.monotonic() < deadline, f"{name} did not start"
        time.sleep(0.1)
    return proc, int(port_file.read_text())


def tinyproxy(node: netns.Node, work: Path) -> tuple[subprocess.Popen[str], Path]:
    """tinyproxy on gate's bridge address, for the client only; its log records each request."""
    log = work / "tinyproxy.log"
    conf = work / "tinyproxy.conf"
    conf.write_text(
        f"Port {PROXY_PORT}\nListen {GATE}\nTimeout 60\nMaxClients 20\n"
        f'LogFile "{log}"\nLogLevel Info\nAllow {CLIENT}\n'
        "DisableViaHeader Yes\n"
    )
    proc = subprocess.Popen(
        node.command("tinyproxy", "-d", "-c", str(conf)),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while "Accepting connections" not in (log.read_text() if log.exists() else ""):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(
                f"tinyproxy did not start: {log.read_text() if log.exists() else ''}"
            )
        time.sleep(0.1)
    return proc, log


class Gate:
    """The namespaces, the proxy, the HTTPS mirror and the index behind it."""

    def __init__(self, mirror_dir: Path, wheelhouse: Path, work: Path) -> None:
        self.work = work
        self.net = netns.Network(f"px{os.getpid() % 100000}")
        self.procs: list[subprocess.Popen[str]] = []
        self.index: PypiIndex | None = None
        try:
            self._start(mirror_dir, wheelhouse, work)
        except BaseException:
            self.close()
            raise

    def _start(self, mirror_dir: Path, wheelhouse: Path, work: Path) -> None:
        self.client = self.net.add("client", CLIENT)
        self.gate = self.net.add("gate", GATE)
        self.net.connect()
        netns.ip("-n", self.gate.netns, "addr", "add", f"{BEHIND}/8", "dev", "lo")
        self.mirror_ca = CA(work / "pki", "mirror-ca")
        self.index_ca = CA(work / "pki", "index-ca")
        cert = self.mirror_ca.issue("mirror", BEHIND)
        proc, self.mirror_port = spawn(
            self.gate, work, "mirror", "--root", mirror_dir, "--host", BEHIND,
            "--tls", cert.cert, cert.key,
        )  # fmt: skip
        self.procs.append(proc)
        proxy, self.proxy_log = tinyproxy(self.gate, work)
        self.procs.append(proxy)
        packages = work / "packages"
        packages.mkdir()
        for wheel in wheelhouse.glob("*.whl"):
            shutil.copy2(wheel, packages / wheel.name)
        index_cert = self.index_ca.issue("index", BEHIND)
        passwords = htpasswd(work / "htpasswd", INDEX_USER, INDEX_PASSWORD)
        self.index = PypiIndex(
            packages, passwords, index_cert.cert, index_cert.key, work,
            prefix=tuple(self.gate.command()), host=BEHIND,
        )  # fmt: skip

    @property
    def proxy(self) -> str:
        return f"http://{GATE}:{PROXY_PORT}"

    def close(self) -> None:
        if self.index is not None:
            self.index.stop()
        for proc in self.procs:
            end(proc)
        self.net.close()  # ends whatever still runs in the namespaces, by pid

    def build(
        self, work: Path, env: dict[str, str], *args: str | Path
    ) -> subprocess.CompletedProcess[str]:
        """`bundler build` inside client, with only `env` (and PATH, HOME, SOURCE_DATE_EPOCH)."""
        base = {"PATH": os.environ["PATH"], "HOME": str(work / "home"), "LANG": "C.UTF-8"}
        base["SOURCE_DATE_EPOCH"] = "1700000000"
        base["PIP_CONFIG_FILE"] = str(work / "pip.conf")
        cmd = ["env", "-i", *(f"{k}={v}" for k, v in {**base, **env}.items())]
        build = [sys.executable, "-m", "bundler", "build", "--storm", "0.9.5", "--zk", "3.4.6"]
        build += ["--no-default-mirrors", "--no-pins", "--cache-dir", str(work / "cache")]
        build += ["--out", str(work / "out"), *map(str, args)]
        return subprocess.run(
            self.client.command(*cmd, *build),
            cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip

    def pip_conf(self, work: Path, *extra: str) -> None:
        assert self.index is not None
        url = self.index.url(f"{INDEX_USER}:{INDEX_PASSWORD}@")
        lines = ["[global]", f"index-url = {url}", f"cert = {self.index_ca.cert}", *extra]
        (work / "home").mkdir(parents=True, exist_ok=True)
        (work / "pip.conf").write_text("\n".join(lines) + "\n")


@pytest.fixture
def gate(mirror_dir: Path, wheelhouse: Path, tmp_path: Path) -> Iterator[Gate]:
    made: Gate | None = None
    try:
        made = Gate(mirror_dir, wheelhouse, tmp_path / "gate")
        yield made
    finally:
        if made is not None:
            made.close()


def proxied(log: Path) -> list[str]:
    """The requests tinyproxy forwarded ("CONNECT host:port HTTP/1.1", "GET http://...")."""
    return [
        line.split("): ", 1)[1]
        for line in log.read_text().splitlines()
        if "Request (file descriptor" in line
    ]


def connected(seen: list[str], port: int) -> bool:
    """Whether the proxy tunnelled to BEHIND:port."""
    return any(line.startswith(f"CONNECT {BEHIND}:{port} HTTP/") for line in seen)


def bundle_of(proc: subprocess.CompletedProcess[str]) -> Path:
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.strip().splitlines()[-1])


def test_mirror_and_index_through_the_proxy_only(
    gate: Gate, mirror_dir: Path, tmp_path: Path
) -> None:
    work = tmp_path / "through"
    gate.pip_conf(work)
    mirror = f"https://{BEHIND}:{gate.mirror_port}"
    env = {"HTTPS_PROXY": gate.proxy, "HTTP_PROXY": gate.proxy}
    run = gate.build(work, env, "--mirror", mirror, "--apache-keys", mirror_dir / "keys" / "KEYS",
                     "--ca-bundle", gate.mirror_ca.cert)  # fmt: skip
    bundle = bundle_of(run)
    assert gate.index is not None
    seen = proxied(gate.proxy_log)
    assert connected(seen, gate.mirror_port) and connected(seen, gate.index.port), seen
    served = provenance_sources(bundle)
    assert served["apache-storm-0.9.5.tar.gz"][1] == mirror
    assert INDEX_PASSWORD not in run.stderr + run.stdout

    # Without the proxy the client reaches neither: the same build fails, naming the mirror.
    direct = tmp_path / "direct"
    gate.pip_conf(direct)
    failed = gate.build(direct, {}, "--mirror", mirror,
                        "--apache-keys", mirror_dir / "keys" / "KEYS",
                        "--ca-bundle", gate.mirror_ca.cert)  # fmt: skip
    assert failed.returncode == 1, failed.stderr
    assert "cannot connect" in failed.stderr


def test_no_proxy_and_pips_own_proxy_setting(gate: Gate, mirror_dir: Path, tmp_path: Path) -> None:
    """NO_PROXY sends the mirror on the client's own 127.0.0.1 past the environment's proxy
    (a dead one here), and pip's `proxy` setting takes the index through the real proxy."""
    work = tmp_path / "local"
    gate.pip_conf(work, f"proxy = {gate.proxy}")
    proc, port = spawn(gate.client, work, "local-mirror", "--root", mirror_dir)
    try:
        dead = f"http://{GATE}:1"
        env = {"HTTPS_PROXY": dead, "HTTP_PROXY": dead, "NO_PROXY": "127.0.0.1"}
        run = gate.build(work, env, "--mirror", f"http://127.0.0.1:{port}",
                         "--apache-keys", mirror_dir / "keys" / "KEYS")  # fmt: skip
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    bundle_of(run)
    assert gate.index is not None
    seen = proxied(gate.proxy_log)
    assert connected(seen, gate.index.port), seen
    assert not any(f":{port}" in line for line in seen), seen
