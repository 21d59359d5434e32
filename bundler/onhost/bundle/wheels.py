"""Install supervisord's locked pure-Python wheels by unpacking them, without starting pip.

A wheel is a zip. For each requirement of the lock that applies to this Python: the wheel
file's sha256 must be one the lock lists (as `pip install --require-hashes` checks), every
entry must stay inside the target folder (contract/archive.py's name rules), every file written
must match the wheel's RECORD (sha256 and size) and RECORD must list every file; then the
console scripts are written for the chosen interpreter and the sources byte-compiled by it,
as `pip install --target` does. pip itself is not installed: the lock names it only as the
tool that installs.

What this does not handle (a wheel that is not pure, a .data folder, a marker other than
python_version, a requirement with no wheel in the bundle) is left to pip, and choose() says
why. Standard library only; runs on Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, print_function

import base64
import hashlib
import os
import re
import stat
import zipfile

from ..contract.archive import _clean, _makedirs
from ..errors import InstallError, IntegrityError
from ..host.system import clean_env, run
from ..sha256check import digest as sha256_file

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional, Tuple  # noqa: F401

# Installers the lock carries that the site does not need (pip-compile's "unsafe" packages).
TOOLS = ("pip",)
CHUNK = 1 << 16
_REQUIREMENT = re.compile(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;([^\\]*?))?\s*$")
_MARKER = re.compile(r"""\s*python_version\s*(<=|>=|==|!=|<|>)\s*["'](\d+(?:\.\d+)*)["']\s*$""")
_ENTRY_POINT = re.compile(r"([A-Za-z_][\w.]*)\s*:\s*([A-Za-z_][\w.]*)\s*(\[[^\]]*\])?\s*$")
SCRIPT = """#!%(python)s
# -*- coding: utf-8 -*-
import re
import sys
from %(module)s import %(head)s
if __name__ == '__main__':
    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
    sys.exit(%(call)s())
"""


class Requirement(object):
    def __init__(self, name, version, hashes, marker):
        # type: (str, str, List[str], Optional[str]) -> None
        self.name = name
        self.version = version
        self.hashes = hashes
        self.marker = marker


class NotUnpackable(Exception):
    """Why pip, not this module, installs the site."""


def normalise(name):
    # type: (str) -> str
    return re.sub(r"[-_.]+", "_", name).lower()


def parse_lock(text):
    # type: (str) -> List[Requirement]
    """The requirements of a pip-compile lock with --generate-hashes: name==version, an
    optional marker and its --hash=sha256: options, over continued lines."""
    joined = re.sub(r"\\\s*\n", " ", text)
    found = []
    for raw in joined.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        hashes = re.findall(r"--hash=sha256:([0-9a-fA-F]{64})", line)
        head = re.sub(r"--hash=\S+", "", line).strip()
        match = _REQUIREMENT.match(head)
        if match is None:
            raise NotUnpackable("a lock line pip must read: %r" % head[:60])
        marker = (match.group(3) or "").strip() or None
        hashes = [h.lower() for h in hashes]
        found.append(Requirement(match.group(1), match.group(2), hashes, marker))
    return found


def _version_tuple(text):
    # type: (str) -> Tuple[int, ...]
    return tuple(int(p) for p in text.split("."))


def marker_holds(marker, python_version):
    # type: (Optional[str], str) -> bool
    """python_version comparisons joined by `and`; anything else is pip's to judge."""
    if marker is None:
        return True
    have = _version_tuple(python_version)
    for part in re.split(r"\s+and\s+", marker.strip()):
        match = _MARKER.match(part)
        if match is None:
            raise NotUnpackable("the lock's marker %r" % marker.strip())
        op, want = match.group(1), _version_tuple(match.group(2))
        size = max(len(have), len(want))
        left = have + (0,) * (size - len(have))
        right = want + (0,) * (size - len(want))
        ok = {
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
            "==": left == right,
            "!=": left != right,
        }[op]
        if not ok:
            return False
    return True


def _wheel_for(req, wheel_paths, python_version):
    # type: (Requirement, List[str], str) -> str
    major = "py" + python_version.split(".")[0]
    for path in wheel_paths:
        name = os.path.basename(path)
        parts = name[: -len(".whl")].split("-") if name.endswith(".whl") else []
        if len(parts) not in (5, 6):
            continue
        if normalise(parts[0]) != normalise(req.name) or parts[1] != req.version:
            continue
        pytags, abi, platform = parts[-3].split("."), parts[-2], parts[-1]
        if major not in pytags and "py" + python_version.replace(".", "") not in pytags:
            continue
        if abi != "none" or platform != "any":
            raise NotUnpackable("%s is not a pure-Python wheel" % name)
        return path
    raise NotUnpackable("no wheel of %s %s for Python %s" % (req.name, req.version, python_version))


def choose(lock_path, wheel_paths, python_version, python):
    # type: (str, List[str], str, str) -> List[Wheel]
    """The wheels to unpack, checked against the lock; NotUnpackable says why pip must
    install instead, IntegrityError that a wheel is not what the build checked."""
    if not re.match(r"/[A-Za-z0-9._+/-]*$", python) or len(python) > 120:
        raise NotUnpackable("the interpreter path %r does not fit a #! line" % python)
    with open(lock_path, "rb") as fh:
        text = fh.read().decode("utf-8")
    chosen = []
    for req in parse_lock(text):
        if normalise(req.name) in TOOLS or not marker_holds(req.marker, python_version):
            continue
        chosen.append(Wheel(req, _wheel_for(req, wheel_paths, python_version)))
    if not chosen:
        raise NotUnpackable("the lock names nothing to install")
    return chosen


def _record(data, wheel):
    # type: (bytes, str) -> Dict[str, Tuple[str, Optional[int]]]
    """RECORD's rows: path -> (urlsafe base64 sha256, size); the unhashed rows (RECORD
    itself, its signatures) with an empty digest."""
    rows = {}  # type: Dict[str, Tuple[str, Optional[int]]]
    for line in data.decode("utf-8").splitlines():
        if not line.strip():
            continue
        # Paths with commas are quoted (csv); a wheel we unpack has none, pip reads the rest.
        if line.startswith('"'):
            raise NotUnpackable("%s: a quoted RECORD row" % os.path.basename(wheel))
        path, digest, size = line.rsplit(",", 2)
        if digest and not digest.startswith("sha256="):
            raise NotUnpackable("%s: RECORD hash %s" % (os.path.basename(wheel), digest[:12]))
        rows[path] = (digest[len("sha256=") :], int(size) if size else None)
    return rows


def _dist_info(names, req, wheel):
    # type: (List[str], Requirement, str) -> str
    tops = set(n.split("/", 1)[0] for n in names if n.split("/", 1)[0].endswith(".dist-info"))
    if len(tops) != 1:
        raise IntegrityError("%s: expected one .dist-info folder, found %d" % (wheel, len(tops)))
    top = tops.pop()
    if normalise(top[: -len(".dist-info")].rsplit("-", 1)[0]) != normalise(req.name):
        raise IntegrityError("%s: its %s is for another project" % (wheel, top))
    return top


def _check_names(zf, wheel):
    # type: (zipfile.ZipFile, str) -> List[str]
    names = []
    seen = set()
    for info in zf.infolist():
        name = info.filename
        if name.endswith("/"):
            continue
        if _clean(name) != name or "\\" in name:
            raise IntegrityError(
                "%s has an unsafe entry, %r (absolute, '..' or not a plain path); nothing "
                "of it was kept. The bundle is not what the build checked: copy it again"
                % (wheel, name)
            )
        if stat.S_ISLNK(info.external_attr >> 16):
            raise IntegrityError("%s: %r is a link; a wheel holds files only" % (wheel, name))
        if name in seen:
            raise IntegrityError("%s: %r appears twice" % (wheel, name))
        if name.split("/", 1)[0].endswith(".data"):
            raise NotUnpackable("%s has a .data folder" % os.path.basename(wheel))
        seen.add(name)
        names.append(name)
    return names


def _write_entry(zf, name, dest, mode):
    # type: (zipfile.ZipFile, str, str, int) -> Tuple[str, int]
    _makedirs(os.path.dirname(dest))
    h = hashlib.sha256()
    size = 0
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "wb") as out:
        src = zf.open(name)
        try:
            while True:
                chunk = src.read(CHUNK)
                if not chunk:
                    break
                h.update(chunk)
                out.write(chunk)
                size += len(chunk)
        finally:
            src.close()
    digest = base64.urlsafe_b64encode(h.digest()).rstrip(b"=").decode("ascii")
    return digest, size


def _entry_points(text):
    # type: (str) -> List[Tuple[str, str, str]]
    """(script name, module, attribute) of each console_scripts entry."""
    scripts = []
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]").strip()
            continue
        if section != "console_scripts":
            continue
        name, _, value = line.partition("=")
        match = _ENTRY_POINT.match(value.strip())
        if not re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*$", name.strip()) or match is None:
            raise NotUnpackable("the console script entry %r" % line)
        scripts.append((name.strip(), match.group(1), match.group(2)))
    return scripts


class Wheel(object):
    """One wheel checked against the lock and its own RECORD listing, ready to unpack."""

    def __init__(self, req, path):
        # type: (Requirement, str) -> None
        self.req = req
        self.path = path
        self.shown = shown = os.path.basename(path)
        digest = sha256_file(path)
        # First, as `pip install --require-hashes` does: nothing of a wheel is read before.
        if digest not in req.hashes:
            raise IntegrityError(
                "%s: sha256 %s is not one the lock lists for %s==%s; the bundle is not what "
                "the build checked: copy it again" % (shown, digest, req.name, req.version)
            )
        with zipfile.ZipFile(path) as zf:
            self.names = _check_names(zf, shown)
            self.info = info = _dist_info(self.names, req, shown)
            meta = zf.read(info + "/WHEEL").decode("utf-8")
            if not re.search(r"^Wheel-Version:\s*1\.", meta, re.M):
                raise NotUnpackable("%s: a wheel format other than 1.x" % shown)
            if not re.search(r"^Root-Is-Purelib:\s*true\s*$", meta, re.M | re.I):
                raise NotUnpackable("%s is not a pure-Python wheel" % shown)
            self.record = _record(zf.read(info + "/RECORD"), shown)
            points = info + "/entry_points.txt"
            text = zf.read(points).decode("utf-8") if points in self.names else ""
            self.scripts = _entry_points(text)
        unlisted = [n for n in self.names if n not in self.record]
        missing = [n for n in self.record if n not in self.names]
        if unlisted or missing:
            raise IntegrityError(
                "%s: RECORD does not list %r, or lists %r that the wheel lacks"
                % (shown, unlisted[:3], missing[:3])
            )

    def unpack(self, target, python):
        # type: (str, str) -> None
        """Write the wheel's files into target, each checked against RECORD, and its
        console scripts into target/bin for `python`."""
        shown = self.shown
        with zipfile.ZipFile(self.path) as zf:
            for name in self.names:
                want, size = self.record[name]
                mode = 0o755 if (zf.getinfo(name).external_attr >> 16) & 0o111 else 0o644
                got, got_size = _write_entry(zf, name, os.path.join(target, name), mode)
                if not want:
                    if name == self.info + "/RECORD" or name.endswith((".jws", ".p7s")):
                        continue
                    raise IntegrityError("%s: RECORD has no hash for %s" % (shown, name))
                if got != want or (size is not None and size != got_size):
                    raise IntegrityError(
                        "%s: %s does not match the wheel's RECORD (sha256 %s, expected %s); "
                        "the bundle is not what the build checked: copy it again"
                        % (shown, name, got, want)
                    )
        with open(os.path.join(target, self.info, "INSTALLER"), "wb") as fh:
            fh.write(b"bundler\n")
        for name, module, attr in self.scripts:
            text = SCRIPT % {
                "python": python,
                "module": module,
                "head": attr.split(".", 1)[0],
                "call": attr,
            }
            _makedirs(os.path.join(target, "bin"))
            dest = os.path.join(target, "bin", name)
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o755)
            with os.fdopen(fd, "wb") as fh:
                fh.write(text.encode("utf-8"))


def install_site(host, python, python_version, supervisor, lock, wheel_paths, partial, site, why):
    # type: (Any, str, str, str, str, List[str], str, str, Optional[str]) -> Optional[str]
    """Install supervisor (version `supervisor`) for `python` into site by unpacking
    (Installer.install_site's fast way): None when done, or why pip has to do it instead
    (nothing was written then)."""
    try:
        chosen = choose(lock, wheel_paths, python_version, python)
    except NotUnpackable as exc:
        return "not unpacked: %s" % exc
    host.change(
        "install supervisor %s for Python %s into %s (unpacking its locked wheels%s)"
        % (supervisor, python_version, site, "; " + why if why else "")
    )
    if host.dry_run:
        return None
    host.discard(partial)
    try:
        os.mkdir(partial, 0o755)
        for wheel in chosen:
            wheel.unpack(partial, python)
        if not os.path.isfile(os.path.join(partial, "bin", "supervisord")):
            raise InstallError("the locked wheels have no supervisord console script")
        # As pip does; a file that does not compile stays source (compileall's status unused).
        code, out = run(compile_command(python, partial), timeout=600, env=clean_env())
        if code is None:
            raise InstallError("%s could not byte-compile %s: %s" % (python, partial, out))
        host.swap_in(partial, site)
    finally:
        host.discard(partial)
    return None


def compile_command(python, target):
    # type: (str, str) -> List[str]
    return [python, "-E", "-S", "-m", "compileall", "-q", target]
