"""`bundler rehearse`: install a sealed bundle on throwaway hosts before it crosses the gap.

The bundle is the .tar that will be carried over, verified as `bundler verify` does (manifest,
SHA256SUMS, its .sha256), unpacked into a temporary folder and verified again there, so what is
installed is exactly what was checked; nothing comes from the build cache. Each host of its
cluster.json (or one `all` host when it has none) becomes a network namespace with that host's
address on a private bridge and no route out, its own host name, its own temporary prefix and
service user. Every host's install.sh runs at once (a ZooKeeper member waits for a majority of
its ensemble), each reporting health through its exit code; then each host's `stormctl status`
is shown, and everything is torn down: programs stopped by install.sh --uninstall --purge, any
process left in a namespace killed by pid, namespaces, users and folders removed.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bundler.errors import ExitCode, UsageError
from bundler.onhost.contract import contract
from bundler.tools.netns import Network, Node
from bundler.tools.verify import verify

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
INSTALL_TIMEOUT = 1200  # seconds for one host's install.sh, peer waits included
UNINSTALL_TIMEOUT = 180


class RehearseError(UsageError):
    """Rehearsal cannot start here (not root, not Linux, no `ip`) or with these arguments."""


@dataclass
class HostRun:
    """One rehearsed host and what happened on it."""

    name: str
    address: str | None
    args: list[str]
    prefix: Path
    user: str
    node: Node | None = None
    code: int | None = None
    out: str = ""
    err: str = ""
    status: str = ""
    status_code: int | None = None

    @property
    def healthy(self) -> bool:
        return self.code == 0 and self.status_code == 0


@dataclass
class Report:
    hosts: list[HostRun]
    seconds: float
    phases: dict[str, float] = field(default_factory=dict)
    tag: str = ""
    folder: Path | None = None
    # `stormctl smoke` on one host, when asked for: (host, exit code, what it printed).
    smoke: tuple[str, int, str] | None = None

    @property
    def healthy(self) -> bool:
        smoked = self.smoke is None or self.smoke[1] == 0
        return bool(self.hosts) and all(h.healthy for h in self.hosts) and smoked

    @property
    def exit_code(self) -> int:
        return int(ExitCode.OK if self.healthy else ExitCode.UNHEALTHY)


def say(text: str) -> None:
    print(f"rehearse: {text}", file=sys.stderr, flush=True)


def preconditions() -> None:
    if not sys.platform.startswith("linux"):
        raise RehearseError(f"rehearse needs Linux network namespaces; this is {sys.platform}")
    if os.geteuid() != 0:
        raise RehearseError(
            "rehearse needs root (network namespaces, service users); run it with sudo"
        )
    for tool in ("ip", "unshare", "sh", "tar"):
        if shutil.which(tool) is None:
            raise RehearseError(f"rehearse needs `{tool}` on PATH; install it and run again")


def _unpack(bundle: Path, dest: Path) -> Path:
    """Unpack the (already verified) bundle and verify the unpacked files again."""
    with tarfile.open(bundle) as tar:
        top = tar.getnames()[0].split("/")[0]
        if hasattr(tarfile, "data_filter"):
            tar.extractall(dest, filter="data")
        else:  # pragma: no cover - Python without extraction filters; verify refused bad entries
            tar.extractall(dest)
    folder = dest / top
    verify(folder)
    for path in [folder, *folder.rglob("*")]:
        mode = path.stat().st_mode
        path.chmod(mode | (0o755 if path.is_dir() else 0o644))
    return folder


def _user_name(tag: str, index: int) -> str:
    for attempt in range(100):
        name = f"{tag}u{index}" if attempt == 0 else f"{tag}u{index}x{attempt}"
        try:
            pwd.getpwnam(name)
        except KeyError:
            return name
    raise RehearseError(f"no free user name like {tag}u{index}; remove old rehearsal users")


def plan_hosts(bundle_dir: Path, only: list[str], tag: str, root: Path) -> list[HostRun]:
    """The hosts to rehearse: the inventory's (or those named by --host), or one `all` host."""
    cluster_file = bundle_dir / "cluster.json"
    runs: list[HostRun] = []
    if not cluster_file.is_file():
        if only and only != ["all"]:
            raise RehearseError(
                f"--host {only[0]}: this bundle has no inventory (cluster.json); it is rehearsed "
                "as one host, `all`; leave --host out"
            )
        prefix = root / "all" / "storm"
        return [HostRun("all", None, ["--role", "all"], prefix, _user_name(tag, 1))]
    cluster: dict[str, Any] = json.loads(cluster_file.read_text(encoding="utf-8"))
    hosts = cluster["hosts"]
    names = [h["name"] for h in hosts]
    for name in only:
        if name not in names:
            raise RehearseError(
                f"--host {name}: no such host in the bundle's inventory; its hosts are "
                f"{', '.join(names)}"
            )
    chosen = [h for h in hosts if not only or h["name"] in only]
    for index, host in enumerate(chosen, start=1):
        address = str(host["address"])
        loopback = address.startswith("127.") or address == "localhost"
        if loopback and len(hosts) == 1:
            address_or_none = None
        elif contract.is_ipv4(address):
            address_or_none = address
        else:
            raise RehearseError(
                f"host {host['name']}: address {address} is not an IPv4 address; rehearse gives "
                "each host its inventory address on a private bridge, so it needs IPv4 addresses"
            )
        prefix = root / host["name"] / "storm"
        args = ["--host", host["name"]]
        runs.append(HostRun(host["name"], address_or_none, args, prefix, _user_name(tag, index)))
    return runs


def _where(run: HostRun) -> str:
    return f"{run.name} ({run.address or 'lo only'})"


def _install_cmd(run: HostRun, bundle_dir: Path, *extra: str) -> list[str]:
    assert run.node is not None
    env = ["env", "-i", f"PATH={SYSTEM_PATH}", "HOME=/root", "LANG=C.UTF-8"]
    script = ["sh", str(bundle_dir / "install.sh")]
    return run.node.command(*env, *script, *extra, hostname=run.name)


def _install(run: HostRun, bundle_dir: Path) -> HostRun:
    # --init none: never a systemd unit on the build machine itself.
    flags = [*run.args, "--prefix", str(run.prefix), "--user", run.user, "--init", "none"]
    try:
        proc = subprocess.run(
            _install_cmd(run, bundle_dir, *flags),
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
        run.code, run.out, run.err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired:
        run.code, run.err = -1, f"install.sh did not finish within {INSTALL_TIMEOUT}s"
    return run


def _status(run: HostRun) -> None:
    assert run.node is not None
    stormctl = run.prefix / "bin" / "stormctl"
    if not stormctl.exists():
        run.status, run.status_code = "(not installed: no bin/stormctl)\n", None
        return
    proc = subprocess.run(
        run.node.command(str(stormctl), "status"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    run.status, run.status_code = proc.stdout + proc.stderr, proc.returncode


SMOKE_TIMEOUT = 600


def _smoke(runs: list[HostRun]) -> tuple[str, int, str]:
    """`stormctl smoke` on the last host (a supervisor host of an inventory), once all are
    healthy: the example topology must run on the rehearsed cluster."""
    run = runs[-1]
    if not all(r.healthy for r in runs):
        return run.name, int(ExitCode.UNHEALTHY), "not run: not every host is healthy\n"
    assert run.node is not None
    stormctl = str(run.prefix / "bin" / "stormctl")
    try:
        proc = subprocess.run(
            run.node.command(stormctl, "smoke"),
            capture_output=True,
            text=True,
            timeout=SMOKE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return run.name, int(ExitCode.UNHEALTHY), f"did not end within {SMOKE_TIMEOUT}s\n"
    return run.name, proc.returncode, proc.stdout + proc.stderr


def _uninstall(run: HostRun, bundle_dir: Path) -> None:
    if run.node is None or not (run.prefix / "state").exists():
        return
    flags = ["--uninstall", "--purge", "--prefix", str(run.prefix)]
    # What it leaves running after a timeout is killed by pid next.
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run(
            _install_cmd(run, bundle_dir, *flags),
            capture_output=True,
            text=True,
            timeout=UNINSTALL_TIMEOUT,
            check=False,
        )


def _remove_users(runs: list[HostRun], existed: set[str]) -> None:
    for run in runs:
        if run.user in existed:
            continue
        try:
            pwd.getpwnam(run.user)
        except KeyError:
            continue
        subprocess.run(["userdel", run.user], capture_output=True, check=False)


def rehearse(bundle: Path, only: list[str], smoke: bool = False) -> Report:
    """Verify, unpack, install on namespaced hosts, report, tear down; see the module doc."""
    preconditions()
    started = time.monotonic()
    phases: dict[str, float] = {}
    say(f"verifying {bundle}")
    report = verify(bundle)
    say(f"{report.name}: {report.files} files verified; {report.sidecar}")
    tag = f"brh{os.getpid() % 100000}"
    root = Path(tempfile.mkdtemp(prefix="bundler-rehearse-"))
    network = Network(tag)
    runs: list[HostRun] = []
    smoked: tuple[str, int, str] | None = None
    existed = {p.pw_name for p in pwd.getpwall()}
    bundle_dir = root / "bundle"
    try:
        root.chmod(0o755)  # service users must reach their prefixes
        bundle_dir = _unpack(bundle, bundle_dir)
        runs = plan_hosts(bundle_dir, only, tag, root)
        phases["verify and unpack"] = time.monotonic() - started
        for run in runs:
            run.prefix.parent.mkdir(mode=0o755)
            run.node = network.add(run.name, run.address)
        network.connect()
        network.name_hosts()
        say(
            f"namespaces {tag}-*, folder {root}, users {', '.join(r.user for r in runs)}; "
            f"hosts {', '.join(_where(r) for r in runs)}"
        )
        mark = time.monotonic()
        say(f"installing on {len(runs)} host(s) at once")
        with ThreadPoolExecutor(len(runs)) as pool:
            for run in pool.map(lambda r: _install(r, bundle_dir), runs):
                result = "healthy" if run.code == 0 else f"exit {run.code}"
                say(f"{run.name}: install.sh {result} after {time.monotonic() - mark:.1f}s")
        phases["install and health"] = time.monotonic() - mark
        for run in runs:
            _status(run)
        if smoke:
            mark = time.monotonic()
            say(f"stormctl smoke on {runs[-1].name}")
            smoked = _smoke(runs)
            phases["smoke"] = time.monotonic() - mark
    finally:
        mark = time.monotonic()
        for run in runs:
            _uninstall(run, bundle_dir)
        network.close()
        _remove_users(runs, existed)
        shutil.rmtree(root, ignore_errors=True)
        phases["tear down"] = time.monotonic() - mark
    return Report(runs, time.monotonic() - started, phases, tag, root, smoked)


def text(report: Report) -> str:
    """Each host's stormctl status (and, when it failed, the installer's last lines)."""
    lines: list[str] = []
    for run in report.hosts:
        where = run.address or "lo only"
        state = "healthy" if run.healthy else f"NOT healthy (install.sh exit {run.code})"
        lines.append(f"== {run.name} ({where}): {state}; stormctl status")
        lines.append(run.status.rstrip("\n"))
        if not run.healthy:
            tail = (run.out + run.err).rstrip("\n").splitlines()[-15:]
            lines.append("-- install.sh, last lines:")
            lines += tail
    if report.smoke is not None:
        name, code, said = report.smoke
        lines.append(f"== stormctl smoke on {name}: exit {code}")
        lines.append(said.rstrip("\n"))
    phases = ", ".join(f"{k} {v:.1f}s" for k, v in report.phases.items())
    verdict = "healthy" if report.healthy else "NOT healthy"
    count = len(report.hosts)
    lines.append(
        f"rehearsal {verdict}: {count} host(s) in {report.seconds:.1f}s ({phases}); "
        "everything removed again"
    )
    return "\n".join(lines) + "\n"
