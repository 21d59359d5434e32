"""bundle/wheels.py: supervisord's locked wheels installed by unpacking, on every target Python,
with the same result as `pip install --target`; and every wheel that is not what the lock and
its own RECORD say is refused with nothing written."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support.bundles import pyenv_python

ROOT = Path(__file__).resolve().parents[2]
TARGET = ROOT / "bundler" / "onhost"
LOCKS = ROOT / "recipes" / "python" / "supervisor-4.3.0"
PYTHONS = ["2.7", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]

# Runs under the target Python, with the installer package alone on sys.path as in a bundle.
UNPACK = """
import json, os, sys
sys.path.insert(0, sys.argv[1])
from onhost.bundle import wheels
from onhost.errors import InstallError
lock, folder, version, python, target = sys.argv[2:7]
paths = sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".whl"))
try:
    chosen = wheels.choose(lock, paths, version, python)
    os.mkdir(target)
    for wheel in chosen:
        wheel.unpack(target, python)
except wheels.NotUnpackable as exc:
    print(json.dumps({"pip": str(exc)}))
except InstallError as exc:
    print(json.dumps({"refused": str(exc)}))
else:
    print(json.dumps({"wheels": [os.path.basename(w.path) for w in chosen]}))
"""


@pytest.fixture(scope="module")
def package_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("bundle")
    shutil.copytree(TARGET, where / "onhost", ignore=shutil.ignore_patterns("__pycache__"))
    return where


def unpack(
    package_dir: Path, python: Path, version: str, lock: Path, wheels: Path, target: Path
) -> dict[str, object]:
    proc = subprocess.run(
        [
            *(str(python), "-E", "-S", "-B", "-c", UNPACK, str(package_dir), str(lock)),
            *(str(wheels), version, str(python), str(target)),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout)
    return result


def supervisord_version(python: Path, site: Path) -> tuple[int, str]:
    proc = subprocess.run(
        [str(python), "-S", str(site / "bin" / "supervisord"), "--version"],
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return proc.returncode, proc.stdout.strip() or proc.stderr


@pytest.mark.parametrize("target", [*PYTHONS, "debian-2.7"])
def test_unpacked_site_runs_supervisord_on_every_target_python(
    package_dir: Path, wheelhouse: Path, target: str, tmp_path: Path
) -> None:
    python = pyenv_python(target)  # debian-2.7: Debian 11's own interpreter, its 2.7 lock
    version = target.removeprefix("debian-")
    site = tmp_path / "site"
    result = unpack(package_dir, python, version, LOCKS / f"py{version}.txt", wheelhouse, site)
    assert "wheels" in result, result
    installed = result["wheels"]
    assert isinstance(installed, list)
    # pip is the lock's installer, not part of the site; setuptools only where the lock's
    # marker (python_version < "3.8") says supervisor needs its pkg_resources.
    assert not any(name.startswith("pip-") for name in installed)
    assert any(name.startswith("setuptools-") for name in installed) == (
        version in ("2.7", "3.6", "3.7")
    )
    scripts = sorted(p.name for p in (site / "bin").iterdir())
    assert {"supervisord", "supervisorctl", "echo_supervisord_conf"} <= set(scripts)
    assert (site / "bin" / "supervisord").read_text().startswith(f"#!{python}\n")
    assert (site / "bin" / "supervisord").stat().st_mode & 0o777 == 0o755
    assert supervisord_version(python, site) == (0, "4.3.0")


def _pip_target(python: Path, version: str, wheelhouse: Path, target: Path) -> None:
    lock = LOCKS / f"py{version}.txt"
    pip = next(
        p
        for p in wheelhouse.glob("pip-*.whl")
        if f"pip=={p.name.split('-')[1]} " in lock.read_text().replace("\\", " ")
    )
    subprocess.run(
        [
            *(str(python), "-E", "-S", f"{pip}/pip", "install", "-q", "--isolated"),
            *("--no-index", "--no-cache-dir", "--disable-pip-version-check"),
            *("--no-warn-script-location", "--find-links", str(wheelhouse)),
            *("--require-hashes", "--target", str(target), "-r", str(lock)),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )


def _files(site: Path, skip: tuple[str, ...]) -> dict[str, bytes]:
    """Every file of a site but byte code, pip itself and the installer's own bookkeeping."""
    files = {}
    for path in site.rglob("*"):
        rel = path.relative_to(site).as_posix()
        if path.is_dir() or path.suffix == ".pyc" or rel.split("/")[0] in skip:
            continue
        if rel.rsplit("/", 1)[-1] in ("INSTALLER", "RECORD", "REQUESTED", "direct_url.json"):
            continue
        files[rel] = path.read_bytes()
    return files


@pytest.mark.parametrize("version", ["2.7", "3.13"])
def test_same_site_as_pip_install_target(
    package_dir: Path, wheelhouse: Path, version: str, tmp_path: Path
) -> None:
    python = pyenv_python(version)
    ours, pips = tmp_path / "ours", tmp_path / "pip"
    unpack(package_dir, python, version, LOCKS / f"py{version}.txt", wheelhouse, ours)
    _pip_target(python, version, wheelhouse, pips)
    pip_only = tuple(p.name for p in pips.iterdir() if p.name.lower().startswith("pip"))
    pip_only += ("bin",)
    mine, theirs = _files(ours, ("bin",)), _files(pips, pip_only)
    assert sorted(mine) == sorted(theirs)
    assert mine == theirs
    # The console scripts pip wrote for supervisor: the same interpreter and entry point
    # (pip's template for the rest of the text changes between pip versions).
    for name in ("supervisord", "supervisorctl", "echo_supervisord_conf", "pidproxy"):
        mine_lines = (ours / "bin" / name).read_text().splitlines()
        pip_lines = (pips / "bin" / name).read_text().splitlines()
        assert mine_lines[0] == pip_lines[0] == f"#!{python}", name
        imports = [line for line in pip_lines if line.startswith("from ")]
        assert imports and set(imports) <= set(mine_lines), name


# --- refusals: each case is a wheel (and lock) made here ---


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(
    folder: Path,
    files: dict[str, bytes],
    purelib: bool = True,
    record_override: dict[str, str] | None = None,
) -> Path:
    """demo-1.0-py2.py3-none-any.whl holding `files`, with a correct RECORD unless told."""
    info = "demo-1.0.dist-info"
    files = dict(files)
    files[f"{info}/WHEEL"] = (
        f"Wheel-Version: 1.0\nRoot-Is-Purelib: {'true' if purelib else 'false'}\n".encode()
    )
    files[f"{info}/entry_points.txt"] = b"[console_scripts]\nsupervisord = demo.main:run\n"
    rows = [f"{name},sha256={_b64(data)},{len(data)}" for name, data in files.items()]
    rows = [(record_override or {}).get(row.split(",")[0], row) for row in rows]
    rows.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(rows) + "\n").encode()
    path = folder / "wheels" / "demo-1.0-py2.py3-none-any.whl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


def make_lock(folder: Path, wheel: Path, extra: str = "") -> Path:
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    lock = folder / "lock.txt"
    lock.write_text(f"demo==1.0{extra} \\\n    --hash=sha256:{digest}\n    # via -r x.in\n")
    return lock


GOOD = {"demo/__init__.py": b"", "demo/main.py": b"def run():\n    return 0\n"}
MAIN = sys.version_info[:2]
VERSION = f"{MAIN[0]}.{MAIN[1]}"


def run_case(package_dir: Path, folder: Path, lock: Path) -> dict[str, object]:
    return unpack(
        package_dir, Path(sys.executable), VERSION, lock, folder / "wheels", folder / "site"
    )


def test_a_good_made_wheel_unpacks(package_dir: Path, tmp_path: Path) -> None:
    """The cases below fail for their one fault, not for the way they are made."""
    wheel = make_wheel(tmp_path, GOOD)
    result = run_case(package_dir, tmp_path, make_lock(tmp_path, wheel))
    assert result == {"wheels": [wheel.name]}
    assert (tmp_path / "site" / "demo" / "main.py").read_bytes() == GOOD["demo/main.py"]
    assert "from demo.main import run" in (tmp_path / "site" / "bin" / "supervisord").read_text()


def test_wheel_not_in_the_lock_is_refused_before_anything_is_read(
    package_dir: Path, tmp_path: Path
) -> None:
    wheel = make_wheel(tmp_path, GOOD)
    lock = make_lock(tmp_path, wheel)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    lock.write_text(lock.read_text().replace(digest, "0" * 64))
    result = run_case(package_dir, tmp_path, lock)
    assert "is not one the lock lists for demo==1.0" in str(result.get("refused")), result
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize("name", ["../evil.py", "/abs/evil.py", "demo/../../evil.py"])
def test_entry_leaving_the_site_is_refused(package_dir: Path, tmp_path: Path, name: str) -> None:
    wheel = make_wheel(tmp_path, {**GOOD, name: b"boom\n"})
    result = run_case(package_dir, tmp_path, make_lock(tmp_path, wheel))
    assert "unsafe entry" in str(result.get("refused")), result
    assert not (tmp_path / "site").exists() and not (tmp_path / "evil.py").exists()


def test_file_that_differs_from_record_is_refused(package_dir: Path, tmp_path: Path) -> None:
    bad = "demo/main.py,sha256=" + _b64(b"something else") + ",14"
    wheel = make_wheel(tmp_path, GOOD, record_override={"demo/main.py": bad})
    result = run_case(package_dir, tmp_path, make_lock(tmp_path, wheel))
    assert "demo/main.py does not match the wheel's RECORD" in str(result.get("refused")), result


def test_file_missing_from_record_is_refused(package_dir: Path, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, GOOD, record_override={"demo/main.py": "demo/other.py,,"})
    result = run_case(package_dir, tmp_path, make_lock(tmp_path, wheel))
    assert "RECORD does not list ['demo/main.py']" in str(result.get("refused")), result
    assert not (tmp_path / "site").exists()


def test_what_pip_must_do_is_left_to_pip(package_dir: Path, tmp_path: Path) -> None:
    wheel = make_wheel(tmp_path, GOOD, purelib=False)
    result = run_case(package_dir, tmp_path, make_lock(tmp_path, wheel))
    assert result == {"pip": "demo-1.0-py2.py3-none-any.whl is not a pure-Python wheel"}
    other = tmp_path / "other"
    wheel = make_wheel(other, GOOD)
    lock = make_lock(other, wheel, ' ; sys_platform == "linux"')
    result = run_case(package_dir, other, lock)
    assert result == {"pip": "the lock's marker 'sys_platform == \"linux\"'"}
    assert not (other / "site").exists()
