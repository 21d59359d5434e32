"""The supervisord locks are installable and runnable offline.

Each default-release lock is installed with the locked pip wheel itself, from the local
wheelhouse only (`make wheelhouse`), under the target Python, with no network when
`unshare -n` is available; then supervisord starts and is asked over XML-RPC whether its
program reached RUNNING (the locks against the recipe: tests/unit/test_locks.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from scripts import lock
from tests.support import make_wheelhouse

RECIPE = lock.load_recipe()
PYTHONS: tuple[str, ...] = RECIPE.pythons
DEFAULT: str = RECIPE.default
RUNNING = 20


@pytest.fixture(scope="session")
def offline() -> list[str]:
    """Command prefix that cuts the network off, when this host allows it."""
    unshare = shutil.which("unshare")
    if unshare is not None:
        probe = subprocess.run([unshare, "-n", "true"], capture_output=True, check=False)
        if probe.returncode == 0:
            return [unshare, "-n"]
    return []


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    # A unix socket path must fit in 108 bytes; pytest's tmp_path can be longer.
    path = Path(tempfile.mkdtemp(prefix="svtest.", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PIP_", "PYTHON")) and key != "VIRTUAL_ENV"
    }
    env.update(PYTHONNOUSERSITE="1", LC_ALL="C.UTF-8", LANG="C.UTF-8")
    env.update(extra)
    return env


SUPERVISORD_CONF = """\
[unix_http_server]
file={tmp}/supervisor.sock
chmod=0700

[supervisord]
logfile={tmp}/supervisord.log
pidfile={tmp}/supervisord.pid
childlogdir={tmp}
nodaemon=true

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{tmp}/supervisor.sock

[program:sleeper]
command=sleep 1000
startsecs=1
autostart=true
redirect_stderr=true
stdout_logfile={tmp}/sleeper.log
"""

# Runs under the target Python (2.7 included), with only the stdlib and the installed supervisor.
PROBE = """\
import sys
import time
try:
    import xmlrpclib
except ImportError:
    import xmlrpc.client as xmlrpclib
from supervisor.xmlrpc import SupervisorTransport

sock, name, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])


def proxy():
    # a fresh transport each time: a failed connection is not reset by the transport
    transport = SupervisorTransport(None, None, 'unix://' + sock)
    return xmlrpclib.ServerProxy('http://127.0.0.1', transport=transport).supervisor


deadline = time.time() + timeout
info, error = None, None
while time.time() < deadline:
    try:
        info = proxy().getProcessInfo(name)
    except Exception as exc:
        error = exc
    else:
        if info['state'] in (20, 100, 200):  # RUNNING, or EXITED/FATAL: no point waiting
            break
    time.sleep(0.2)
if info is None:
    sys.stderr.write('no answer from supervisord: %r\\n' % (error,))
    sys.exit(1)
print('%s %s %s %d %d' % (
    proxy().getSupervisorVersion(), name, info['statename'], info['state'], info['pid']))
proxy().shutdown()
"""


def _run(cmd: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("python", PYTHONS)
def test_supervisord_runs_offline(
    python: str, wheelhouse: Path, offline: list[str], short_tmp: Path
) -> None:
    try:
        interpreter = str(lock.find_interpreter(python).path)
    except lock.LockError as exc:
        pytest.skip(str(exc))
    # -S keeps the interpreter's own site-packages (pyenv ships setuptools there) out of
    # sys.path: only the stdlib and what the lock installed may be used.
    python_cmd = [*offline, interpreter, "-S"]
    lock_file = lock.lock_path(DEFAULT, python)
    assert lock_file.is_file(), f"{lock_file} missing: run `make locks`"
    locked: dict[str, make_wheelhouse.LockedRequirement] = {
        req.name: req for req in make_wheelhouse.parse_lock(lock_file)
    }

    pip_wheels = sorted(wheelhouse.glob(f"pip-{locked['pip'].version}-*.whl"))
    if not pip_wheels:
        pytest.fail(f"no pip {locked['pip'].version} wheel: run `make wheelhouse` first")

    site = short_tmp / "site"
    install = _run(
        [
            *python_cmd,
            f"{pip_wheels[0]}/pip",
            "install",
            "-q",
            "--isolated",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--no-index",
            "--find-links",
            str(wheelhouse),
            "--require-hashes",
            "--target",
            str(site),
            "-r",
            str(lock_file),
        ],
        _clean_env(),
        timeout=300,
    )
    assert install.returncode == 0, (
        f"pip install failed (is the wheelhouse current? `make wheelhouse`):\n"
        f"{install.stdout}{install.stderr}"
    )
    installed = {canonicalize_name(p.name.split("-")[0]) for p in site.glob("*.dist-info")}
    assert installed == set(locked), f"installed {installed}, locked {set(locked)}"

    conf = short_tmp / "supervisord.conf"
    conf.write_text(SUPERVISORD_CONF.format(tmp=short_tmp))
    conf.chmod(0o600)
    env = _clean_env(PYTHONPATH=str(site))
    with (short_tmp / "supervisord.out").open("w") as out:
        daemon = subprocess.Popen(
            [*python_cmd, str(site / "bin" / "supervisord"), "-c", str(conf), "-n"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        probe = _run(
            [*python_cmd, "-c", PROBE, str(short_tmp / "supervisor.sock"), "sleeper", "30"],
            env,
            timeout=60,
        )
        log = (short_tmp / "supervisord.out").read_text()
        if (short_tmp / "supervisord.log").exists():
            log += (short_tmp / "supervisord.log").read_text()
        assert probe.returncode == 0, f"{probe.stdout}{probe.stderr}\n{log}"
        version, name, statename, state, pid = probe.stdout.split()
        assert (version, name, statename, int(state)) == (DEFAULT, "sleeper", "RUNNING", RUNNING)
        assert daemon.wait(timeout=30) == 0, log
        deadline = time.monotonic() + 10
        while _pid_alive(int(pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _pid_alive(int(pid)), "supervisord left its program running"
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
