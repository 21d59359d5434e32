"""The supervisord locks: consistent with the recipe, and installable and runnable offline.

The end-to-end tests install each default-release lock with the locked pip wheel itself, from
the local wheelhouse only (`make wheelhouse`), under the target Python, with no network when
`unshare -n` is available, then start supervisord and ask it over XML-RPC whether its program
reached RUNNING.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support import make_wheelhouse

REPO = Path(__file__).resolve().parents[2]
WHEELHOUSE = REPO / "build" / "wheelhouse"

# From PyPI, for supervisor-<version>-py2.py3-none-any.whl.
KNOWN_WHEEL_SHA256 = {
    "4.3.0": "0bcb763fddafba410f35cbde226aa7f8514b9fb82eb05a0c85f6588d1c13f8db",
    "4.2.5": "2ecaede32fc25af814696374b79e42644ecaba5c09494c51016ffda9602d0f08",
}
RUNNING = 20


def _load_script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses resolve their module through sys.modules.
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


lock = _load_script("lock")

RECIPE = lock.load_recipe()
PYTHONS: tuple[str, ...] = RECIPE.pythons
DEFAULT: str = RECIPE.default
ALL_LOCKS = sorted(
    (path.parent.name.removeprefix("supervisor-"), path.name[2:-4])
    for path in make_wheelhouse.find_locks(REPO / "recipes" / "python")
)


def _target_env(python: str) -> dict[str, str]:
    return {
        "python_version": python,
        "python_full_version": f"{python}.0",
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "os_name": "posix",
        "platform_system": "Linux",
    }


def _check_lock(version: str, python: str) -> None:
    path = lock.lock_path(version, python)
    assert path.is_file(), f"{path.relative_to(REPO)} missing: run `make locks`"
    in_file = path.with_suffix(".in")
    assert in_file.is_file(), f"{in_file.relative_to(REPO)} missing: run `make locks`"
    assert in_file.read_text() == lock.render_in(RECIPE, version, python), (
        f"{in_file.relative_to(REPO)} does not match recipes/supervisor.toml: run `make locks`"
    )

    text = path.read_text()
    assert str(REPO) not in text and "/root/" not in text and "/tmp/" not in text
    assert "--index-url" not in text and "--find-links" not in text

    # parse_lock rejects any line that is not `name==version` with at least one sha256 hash.
    locked: dict[str, make_wheelhouse.LockedRequirement] = {
        req.name: req for req in make_wheelhouse.parse_lock(path)
    }
    assert locked["supervisor"].version == version
    if version in KNOWN_WHEEL_SHA256:
        assert KNOWN_WHEEL_SHA256[version] in locked["supervisor"].hashes
    for req in locked.values():
        assert req.hashes and all(len(h) == 64 for h in req.hashes)

    # Exactly what the recipe asks for on this Python: setuptools goes away where its marker
    # is false, pip is always there.
    env = _target_env(python)
    wanted = {}
    for line in lock.requirements_for(RECIPE, version):
        requirement = Requirement(line)
        if requirement.marker is None or Marker(str(requirement.marker)).evaluate(env):
            wanted[canonicalize_name(requirement.name)] = requirement
    assert "pip" in wanted
    assert set(locked) >= set(wanted), f"missing from {path.name}: {set(wanted) - set(locked)}"
    for name, requirement in wanted.items():
        assert requirement.specifier.contains(locked[name].version, prereleases=True)
    for line in lock.requirements_for(RECIPE, version):
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if name not in wanted:
            assert name not in locked, f"{name} locked although its marker is false on {python}"


@pytest.mark.parametrize("python", PYTHONS)
def test_default_release_locked_for_every_python(python: str) -> None:
    _check_lock(DEFAULT, python)


@pytest.mark.parametrize(("version", "python"), ALL_LOCKS)
def test_every_lock_matches_recipe(version: str, python: str) -> None:
    assert python in PYTHONS, f"lock for Python {python}, which is not in the recipe's pythons"
    _check_lock(version, python)


def test_lock_path() -> None:
    assert lock.lock_path("4.3.0", "2.7") == (
        REPO / "recipes" / "python" / "supervisor-4.3.0" / "py2.7.txt"
    )


@pytest.fixture(scope="session")
def wheelhouse() -> Path:
    if not WHEELHOUSE.is_dir() or not any(WHEELHOUSE.glob("*.whl")):
        pytest.fail("run `make wheelhouse` first")
    return WHEELHOUSE


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
