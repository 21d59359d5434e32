"""A real Java 11 for Storm releases that cannot run on this machine's Java 17 (1.2.3 to 2.3:
their ZooKeeper 3.4.14 client, ZOOKEEPER-3779): Debian 11's openjdk-11-jre-headless
(tests/support/debian11.py), extracted into build/, never installed.

    python -m tests.support.debian_java --out build/debian11-java11

Debian's JRE keeps its configuration in /etc/java-11-openjdk and links to it from the JRE's
own folder; those links are replaced by the extracted files, the link to the system's CA store
and the one to its documentation dropped, so that the JRE stands alone: JAVA_HOME for a test
host, and (JRE_TARBALL inside out) a tarball for `bundler build --jdk`.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

from tests.support import debian11
from tests.support.debian11 import MIRROR, extract

PACKAGES = ("openjdk-11-jre-headless",)
HOME = Path("usr/lib/jvm/java-11-openjdk-amd64")
JRE_TARBALL = "java-11-jre.tar.gz"


def java_home(out: Path) -> Path:
    return out / HOME


def jre_tarball(out: Path) -> Path:
    return out / JRE_TARBALL


def _stand_alone(root: Path) -> None:
    """Replace the JRE's links into /etc by the files they name (the package ships them); drop
    every other link that leaves the JRE's folder (some name files apt's scripts make)."""
    home = root / HOME
    for link in sorted(p for p in home.rglob("*") if p.is_symlink()):
        target = link.readlink()
        shipped = root / str(target).lstrip("/")
        if str(target).startswith("/etc/java-11-openjdk/") and shipped.is_file():
            link.unlink()
            link.write_bytes(shipped.read_bytes())
        elif target.is_absolute() or not (link.parent / target).resolve().is_relative_to(home):
            link.unlink()


def _probe(root: Path) -> None:
    _stand_alone(root)
    home = root / HOME
    if not (home / "conf" / "security" / "java.security").is_file():
        raise SystemExit("debian_java: the JRE has no conf/security/java.security of its own")
    version = subprocess.run([str(home / "bin" / "java"), "-version"], capture_output=True,
                             text=True, check=True)  # fmt: skip
    if 'version "11.' not in version.stderr:
        raise SystemExit(f"debian_java: expected Java 11, found {version.stderr!r}")
    with tarfile.open(root / JRE_TARBALL, "w:gz", compresslevel=6) as tar:
        tar.add(home, arcname=HOME.name)


def fetch(out: Path, mirror: str = MIRROR) -> Path:
    """Download, extract and finish the JRE in out (atomically); its JAVA_HOME."""
    if not jre_tarball(out).exists():
        extract(out, PACKAGES, _probe, mirror)
    return java_home(out)


if __name__ == "__main__":
    sys.exit(debian11.main(sys.argv[1:], __doc__ or "", fetch))
