"""Build a local mirror shaped like https://archive.apache.org/dist, holding stand-ins.

    python -m tests.support.make_mirror --out DIR [--storm-pad-mb N] [--force]

The mirror holds stand-in Storm and ZooKeeper releases (not Apache's), with checksum files in
every format Apache has published and detached signatures by a throwaway key that is exported
as the mirror's KEYS. The ZooKeeper stand-in is a real server (Debian's ZooKeeper 3.8.0 jars in
Apache's binary layout); the Storm stand-in has Storm's layout and launcher, and its daemons are
small Java classes that hold each daemon's port and, like Storm's, register in ZooKeeper (with
Debian's ZooKeeper client jar in its lib/), so that its UI can report the cluster.

Tarballs are deterministic: sorted members, fixed mtime, uid/gid 0, gzip mtime 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from tests.support.maven import runtime_jars, single_jar

SUPPORT_DIR = Path(__file__).resolve().parent
STANDIN_DIR = SUPPORT_DIR / "standin"
# Each release's own conf/defaults.yaml and conf/zoo_sample.cfg, vendored beside the recipes.
REFERENCE_DIR = SUPPORT_DIR.parents[1] / "recipes"
DEBIAN_JAVA = Path(os.environ.get("BUNDLER_DEBIAN_JAVA", "/usr/share/java"))

# 2015-01-01T00:00:00Z: any fixed value makes rebuilds byte-identical.
FIXED_MTIME = 1420070400
ZIP_DATE = (2015, 1, 1, 0, 0, 0)
# Bump when the mirror's content changes in a way a reused mirror would not show.
MIRROR_FORMAT = 4

STORM_VERSIONS = ("0.9.5", "1.2.4", "2.6.4")
# Releases whose daemons are Apache's own, assembled from Maven Central (_apache_storm_libs).
# 2.x: lib/ is storm-server's runtime jars with storm-core (the storm command's classes),
# lib-worker/ is storm-client's; storm-webapp is not on Central, so the UI, logviewer and DRPC
# server are the stand-in daemon, in lib-webapp/. 1.x: lib/ is storm-core (every daemon,
# the UI's web libraries shaded inside) and its runtime jars: all five daemons are Apache's.
APACHE_STORM = ("1.2.4", "2.6.4")
STORM_GROUP = "org.apache.storm"
# storm-core 1.x's POM names ring-cors, which lives on Clojars; its classes are shaded into
# storm-core itself, and Apache's release's lib/ has no ring-cors jar.
STORM_1X_EXCLUSIONS = ("ring-cors:ring-cors",)
ZOOKEEPER_VERSIONS = ("3.4.6", "3.4.14", "3.8.4")
ALGORITHMS = ("md5", "sha1", "sha256", "sha512")
STYLES = ("coreutils", "coreutils-binary", "bsd", "gpg", "bare")
SIGNING_KEYS = {
    "release": "Stand-in Release Manager (test mirror only) <release@standin.invalid>",
    "intruder": "Stand-in Intruder (not in KEYS) <intruder@standin.invalid>",
}

# Apache's ZooKeeper of each release, from Maven Central (tests/support/maven.py): the server's
# jar and the runtime jars its POM declares; 3.4.6's POM lists junit at compile scope, which its
# release leaves out. From 3.5 the release's lib/ also carries jars its POM marks "provided":
# the AdminServer (Jetty, Jackson), metrics, snappy and zkCli's commons-cli and jline.
ZK_GROUP = "org.apache.zookeeper"
ZK_NOT_SHIPPED = ("junit",)
ZK_PROVIDED = (
    "org.eclipse.jetty:jetty-server",
    "org.eclipse.jetty:jetty-servlet",
    "com.fasterxml.jackson.core:jackson-databind",
    "io.dropwizard.metrics:metrics-core",
    "org.xerial.snappy:snappy-java",
    "commons-cli:commons-cli",
    "jline:jline",
)
# What the Storm stand-in's daemons need to register in ZooKeeper, as Storm's lib/ carries its
# ZooKeeper client: the client classes, jute, and slf4j with a binding that writes to stderr.
STORM_ZK_CLIENT_JARS = ("zookeeper", "zookeeper-jute", "slf4j-api", "slf4j-simple")


class MirrorError(Exception):
    """Raised when the mirror cannot be built (missing tool, jar or reference file)."""


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version))


# --- deterministic archives ---


@dataclasses.dataclass(frozen=True)
class Member:
    """One archive member; name is written verbatim."""

    name: str
    data: bytes | Path | None = None
    mode: int = 0o644
    link: str | None = None
    is_dir: bool = False


def _tarinfo(member: Member, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(member.name)
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mode = member.mode
    if member.is_dir:
        info.type = tarfile.DIRTYPE
    elif member.link is not None:
        info.type = tarfile.SYMTYPE
        info.linkname = member.link
    else:
        info.size = size
    return info


@contextmanager
def _atomic_path(dest: Path) -> Iterator[Path]:
    """A temp path beside dest, moved onto dest only when the block succeeds."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(0o644)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def write_tar_gz(dest: Path, members: Iterable[Member]) -> Path:
    """Write members in the given order to a gzip'd tar with no timestamps that vary."""
    with (
        _atomic_path(dest) as tmp,
        open(tmp, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz,
        tarfile.open(fileobj=gz, mode="w|", format=tarfile.GNU_FORMAT) as tar,
    ):
        for member in members:
            if isinstance(member.data, Path):
                with open(member.data, "rb") as handle:
                    size = os.fstat(handle.fileno()).st_size
                    tar.addfile(_tarinfo(member, size), handle)
            elif isinstance(member.data, bytes):
                tar.addfile(_tarinfo(member, len(member.data)), io.BytesIO(member.data))
            else:
                tar.addfile(_tarinfo(member, 0))
    return dest


class Tree:
    """Files under one top directory, written as a tarball with parents and sorted members."""

    def __init__(self, top: str) -> None:
        self.top = top
        self._files: dict[str, Member] = {}

    def add(self, rel: str, data: bytes | str | Path, mode: int = 0o644) -> None:
        payload = data.encode() if isinstance(data, str) else data
        name = f"{self.top}/{rel}"
        self._files[name] = Member(name, payload, mode)

    def members(self) -> list[Member]:
        dirs = {self.top}
        for name in self._files:
            parts = name.split("/")
            dirs.update("/".join(parts[:i]) for i in range(1, len(parts)))
        everything = [Member(d, mode=0o755, is_dir=True) for d in dirs]
        everything += self._files.values()
        return sorted(everything, key=lambda m: m.name)

    def write(self, dest: Path) -> Path:
        return write_tar_gz(dest, self.members())


def write_jar(dest: Path, entries: Iterable[tuple[str, bytes]]) -> Path:
    """A zip with fixed timestamps and permissions; entries keep the given order."""
    with _atomic_path(dest) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as jar:
        for name, data in entries:
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if name.endswith("/") else 0o644) << 16
            jar.writestr(info, data)
    return dest


def evil_tarball(
    dest: Path, top: str, entries: list[str], *, symlinks: dict[str, str] | None = None
) -> Path:
    """A .tar.gz for archive-safety tests: `entries` become regular files named verbatim
    ("../escape.txt", "/etc/evil", "top/../../x"), in the given order, after a harmless
    `top/README` and any `symlinks` (member name -> link target, e.g. {"top/out": "/tmp"}).
    """
    members = [Member(top, mode=0o755, is_dir=True), Member(f"{top}/README", b"harmless\n")]
    members += [Member(name, link=target, mode=0o777) for name, target in (symlinks or {}).items()]
    members += [Member(name, f"evil: {name}\n".encode()) for name in entries]
    return write_tar_gz(dest, members)


# --- Java and jars ---


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise MirrorError(f"{tool} not found on PATH; the mirror needs it")
    return path


@lru_cache(maxsize=1)
def standin_classes() -> tuple[tuple[str, bytes], ...]:
    """The Storm daemon stand-in compiled for Java 8 against the ZooKeeper client, as
    (path in jar, class bytes)."""
    javac = _need("javac")
    sources = sorted((STANDIN_DIR / "java").rglob("*.java"))
    classpath = ":".join(str(_debian_jar(stem)[0]) for stem in STORM_ZK_CLIENT_JARS[:2])
    with tempfile.TemporaryDirectory(prefix="standin-javac-") as out:
        subprocess.run(
            [javac, "--release", "8", "-nowarn", "-cp", classpath, "-d", out, *map(str, sources)],
            check=True,
            capture_output=True,
        )
        root = Path(out)
        return tuple(
            (path.relative_to(root).as_posix(), path.read_bytes())
            for path in sorted(root.rglob("*.class"))
        )


def _debian_jar(stem: str) -> tuple[Path, str]:
    """Debian's jar for stem and its versioned file name (slf4j-api -> slf4j-api-1.7.32.jar)."""
    plain = DEBIAN_JAVA / f"{stem}.jar"
    if not plain.exists():
        raise MirrorError(f"{plain} is missing: install Debian's zookeeper package")
    real = plain.resolve()
    pattern = re.compile(re.escape(stem) + r"-\d[^/]*\.jar")
    for candidate in sorted(DEBIAN_JAVA.iterdir()):
        if pattern.fullmatch(candidate.name) and candidate.resolve() == real:
            return real, candidate.name
    return real, plain.name


def _without_class_path(manifest: bytes) -> bytes:
    """Drop Class-Path (Debian's points into /usr/share/java) and its continuation lines."""
    out: list[str] = []
    skipping = False
    for line in manifest.decode("utf-8").splitlines():
        if line.startswith(" ") and skipping:
            continue
        skipping = line.startswith("Class-Path:")
        if not skipping:
            out.append(line)
    return ("\r\n".join(line for line in out if line) + "\r\n\r\n").encode()


def _jar_entries(*jars: Path) -> list[tuple[str, bytes]]:
    """Entries of the jars merged in order (first wins), manifests without Class-Path."""
    seen: set[str] = set()
    entries: list[tuple[str, bytes]] = []
    for jar in jars:
        with zipfile.ZipFile(jar) as archive:
            for info in archive.infolist():
                if info.filename in seen:
                    continue
                seen.add(info.filename)
                data = archive.read(info)
                if info.filename == "META-INF/MANIFEST.MF":
                    data = _without_class_path(data)
                entries.append((info.filename, data))
    return entries


def _jar_member_bytes(src: Path, build_dir: Path, name: str) -> Path:
    """A self-contained copy of a Debian jar: rewritten only when its manifest points outside."""
    with zipfile.ZipFile(src) as archive:
        try:
            manifest = archive.read("META-INF/MANIFEST.MF")
        except KeyError:
            manifest = b""
    if b"Class-Path:" not in manifest:
        return src
    return write_jar(build_dir / name, _jar_entries(src))


# --- reference data ---


def _closest_reference(directory: Path, version: str, suffix: str) -> Path:
    """The file for version, else the one of the closest lower version, else the lowest."""
    found: dict[tuple[int, ...], Path] = {}
    for path in directory.glob(f"*{suffix}"):
        found[version_tuple(path.name[: -len(suffix)])] = path
    if not found:
        raise MirrorError(f"no *{suffix} in {directory}: expected the vendored Apache files")
    wanted = version_tuple(version)
    lower = [v for v in found if v <= wanted]
    return found[max(lower)] if lower else found[min(found)]


def storm_defaults_file(version: str) -> Path:
    return _closest_reference(REFERENCE_DIR / "storm-defaults", version, ".yaml")


def zoo_sample_file(version: str) -> Path:
    return _closest_reference(REFERENCE_DIR / "zookeeper-samples", version, "-zoo_sample.cfg")


# --- Storm stand-in ---


@dataclasses.dataclass(frozen=True)
class StormEra:
    """What differs between Storm releases in layout and launcher."""

    python_launcher_only: bool  # 0.9.x: bin/storm is the Python script itself
    storm_py_shebang: str
    python_candidates: str  # tried by the bin/storm shell wrapper when $PYTHON is unset
    jar_artifact: str
    logging: str  # "logback" or "log4j2"
    storm_env_ini: bool
    nimbus_key_example: str


_STORM_1X = StormEra(
    python_launcher_only=False,
    storm_py_shebang="#!/usr/bin/python",
    python_candidates="python2.6 python",
    jar_artifact="storm-core",
    logging="log4j2",
    storm_env_ini=True,
    nimbus_key_example='nimbus.seeds: ["host1", "host2", "host3"]',
)


def storm_era(version: str) -> StormEra:
    v = version_tuple(version)
    nimbus_host = 'nimbus.host: "nimbus"'
    if v < (0, 10):
        return dataclasses.replace(
            _STORM_1X,
            python_launcher_only=True,
            python_candidates="",
            logging="logback",
            storm_env_ini=False,
            nimbus_key_example=nimbus_host,
        )
    if v < (1, 0):
        return dataclasses.replace(_STORM_1X, storm_env_ini=False, nimbus_key_example=nimbus_host)
    if v < (2, 0):
        return _STORM_1X
    storm_2x = dataclasses.replace(_STORM_1X, jar_artifact="storm-client")
    if v < (2, 5):
        return dataclasses.replace(
            storm_2x, storm_py_shebang="#!/usr/bin/env python", python_candidates="python"
        )
    return dataclasses.replace(
        storm_2x, storm_py_shebang="#!/usr/bin/env python3", python_candidates="python3"
    )


STORM_YAML = """\
# Stand-in for Storm's conf/storm.yaml: everything is commented out, as in a release.

########### These MUST be filled in for a storm configuration
# storm.zookeeper.servers:
#     - "server1"
#     - "server2"
#
# {nimbus_key_example}
#
#
# ##### These may optionally be filled in:
#
## List of custom serializations
# topology.kryo.register:
#     - org.mycompany.MyType
#     - org.mycompany.MyType2: org.mycompany.MyType2Serializer
#
## Locations of the drpc servers
# drpc.servers:
#     - "server1"
#     - "server2"
"""

STORM_ENV_INI = """\
# Environment variables in the following section will be used
# in storm python script. They override the environment variables
# set in the shell.
[environment]

# The java implementation to use. If JAVA_HOME is not set, it will
# be taken from the shell.
#JAVA_HOME:/path/to/java
"""

LOGBACK_CLUSTER = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- stand-in: the daemons of this stand-in write one line per event, not through logback -->
<configuration scan="true" scanPeriod="60 seconds">
  <appender name="A1" class="ch.qos.logback.core.FileAppender">
    <file>${storm.log.dir}/${logfile.name}</file>
    <encoder><pattern>%d{yyyy-MM-dd HH:mm:ss} %c{1} [%p] %m%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="A1"/></root>
</configuration>
"""

LOG4J2_TEMPLATE = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- stand-in: the daemons of this stand-in write one line per event, not through log4j2 -->
<configuration monitorInterval="60">
  <properties>
    <property name="pattern">%d{{yyyy-MM-dd HH:mm:ss.SSS}} %c{{1.}} %t [%p] %msg%n</property>
  </properties>
  <appenders>
    <File name="A1" fileName="${{sys:storm.log.dir}}/${{sys:logfile.name}}">
      <PatternLayout><pattern>${{pattern}}</pattern></PatternLayout>
    </File>
  </appenders>
  <loggers>
    <root level="info"><appender-ref ref="A1"/></root>
  </loggers>
</configuration>
<!-- {which} -->
"""

STORM_INDEX_HTML = """\
<!DOCTYPE html>
<html><head><title>Storm UI (stand-in)</title></head>
<body><h1>Storm UI stand-in</h1><p>Storm {version} layout; not Apache Storm.</p></body></html>
"""

STORM_STANDIN_TXT = """\
This is a STAND-IN for Apache Storm {version}, built for tests. It is not Apache Storm.

It has the file layout of Storm {version} and the behaviour of its bin/storm launcher: config
from $STORM_CONF_DIR or conf/storm.yaml (and ~/.storm/storm.yaml when that exists), the
[environment] section of conf/storm_env.ini loaded into the environment, JAVA_HOME honoured,
`storm version`, and `storm nimbus|supervisor|ui|logviewer|drpc` ending in os.execvp(java, ...).
The daemons are small Java classes (org.apache.storm.standin.StandinDaemon and Registry in
lib/{jar}): nimbus and drpc hold their Thrift port (no Thrift is spoken), ui and logviewer
answer HTTP on theirs, supervisor listens on nothing and keeps
storm.local.dir/supervisor/standin-heartbeat fresh. defaults.yaml inside that jar is the real
defaults.yaml of Storm {defaults_version}.

ZooKeeper, as a cluster sees it: nimbus and supervisor connect to storm.zookeeper.servers
(storm.zookeeper.port, storm.zookeeper.session.timeout) with the ZooKeeper client in lib/
({client_jars}, Debian's ZooKeeper 3.8.0 client) and hold ephemeral znodes under
storm.zookeeper.root (default /storm) for as long as they run, in the layout of Storm 1.x and
later whatever the version above:

  ROOT/supervisors/<supervisor id>   the id is kept in storm.local.dir/supervisor/
                                     standin-supervisor-id across restarts
  ROOT/nimbuses/<host>:<thrift port>

Their data is JSON ({{"id", "host", "slotsTotal", "ports", "version", ...}}), not Storm's Thrift.
The host is storm.local.hostname when set, else the kernel's host name. A daemon stopped with
SIGTERM closes its session, so its znodes go at once; one killed outright leaves them until its
session times out, or until it comes back and replaces them. A lost session is made again.

The ui answers GET /api/v1/cluster/summary with what it finds there ("supervisors",
"nimbuses" and "slotsTotal" are counts, "zookeeper" says whether it could look), and
/api/v1/supervisor/summary and /api/v1/nimbus/summary with the znodes' JSON as lists.
Topologies, workers and Thrift are not stood in for.
"""


# Apache's release carries its own log4j2/cluster.xml and worker.xml (from Storm's source tree,
# not on Maven Central); these are written for the test mirror and log where those do: daemons
# to storm.log.dir/logfile.name, workers to their workers-artifacts folder, where the
# supervisor, the logviewer and an operator look for them.
APACHE_LOG4J2_CLUSTER = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written for the test mirror (Apache's own file is not on Maven Central): daemons' logs. -->
<configuration monitorInterval="60" shutdownHook="disable">
  <properties>
    <property name="pattern">%d{yyyy-MM-dd HH:mm:ss.SSS} %c{1.} %t [%p] %msg%n</property>
  </properties>
  <appenders>
    <RollingFile name="A1" fileName="${sys:storm.log.dir}/${sys:logfile.name}"
        filePattern="${sys:storm.log.dir}/${sys:logfile.name}.%i.gz">
      <PatternLayout><pattern>${pattern}</pattern></PatternLayout>
      <Policies><SizeBasedTriggeringPolicy size="100 MB"/></Policies>
      <DefaultRolloverStrategy max="9"/>
    </RollingFile>
  </appenders>
  <loggers>
    <root level="info"><appender-ref ref="A1"/></root>
  </loggers>
</configuration>
"""

APACHE_LOG4J2_WORKER = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- Written for the test mirror (Apache's own file is not on Maven Central): workers' logs,
     in the worker's artifacts folder; STDOUT and STDERR are what LogWriter passes on. -->
<configuration monitorInterval="60" shutdownHook="disable">
  <properties>
    <property name="pattern">%d{yyyy-MM-dd HH:mm:ss.SSS} %c{1.} %t [%p] %msg%n</property>
    <property name="dir">${sys:workers.artifacts}/${sys:storm.id}/${sys:worker.port}</property>
  </properties>
  <appenders>
    <RollingFile name="A1" fileName="${dir}/${sys:logfile.name}"
        filePattern="${dir}/${sys:logfile.name}.%i.gz">
      <PatternLayout><pattern>${pattern}</pattern></PatternLayout>
      <Policies><SizeBasedTriggeringPolicy size="100 MB"/></Policies>
      <DefaultRolloverStrategy max="9"/>
    </RollingFile>
  </appenders>
  <loggers>
    <root level="info"><appender-ref ref="A1"/></root>
    <Logger name="STDERR" level="INFO" additivity="false"><appender-ref ref="A1"/></Logger>
    <Logger name="STDOUT" level="INFO" additivity="false"><appender-ref ref="A1"/></Logger>
  </loggers>
</configuration>
"""

APACHE_STORM_TXT = """\
This tarball is assembled for tests. It is not Apache's release tarball, but its daemons are:

lib/ holds Apache Storm {version}'s storm-server and the jars its POM declares (from Maven
Central) with storm-core (the storm command's classes, fetched alone: its POM reaches Clojars);
lib-worker/ holds storm-client and its jars. Nimbus, the supervisors and the workers they start
are Apache's. Written for the tests in place of Apache's files: bin/storm and bin/storm.py (they
start Apache's main classes as Apache's launcher does), log4j2/*.xml and conf/storm.yaml.
Stand-ins: the UI, logviewer and DRPC server (storm-webapp is not on Maven Central) are the
test mirror's stand-in daemon (lib-webapp/{jar}, with a ZooKeeper client: {client_jars}).
"""


def _storm_client_jars(version: str, dest: Path) -> list[Path]:
    """What a topology compiles and runs against: storm-client (2.x) or storm-core (1.x), with
    their runtime jars."""
    if version_tuple(version) >= (2,):
        return runtime_jars(STORM_GROUP, "storm-client", version, dest)
    return runtime_jars(STORM_GROUP, "storm-core", version, dest, exclusions=STORM_1X_EXCLUSIONS)


APACHE_STORM_1X_TXT = """\
This tarball is assembled for tests. It is not Apache's release tarball, but its daemons are:

lib/ holds Apache Storm {version}'s storm-core and the jars its POM declares (from Maven
Central; ring-cors, which its POM names, is shaded inside storm-core and lives on Clojars, so it
is left out, as Apache's release leaves it out). Nimbus, the supervisors, the workers they
start, the UI, the logviewer and the DRPC server are Apache's. Written for the tests in place of
Apache's files: bin/storm and bin/storm.py (they start Apache's main classes as Apache's
launcher does), log4j2/*.xml, conf/storm.yaml and public/index.html (the UI's pages; its REST
API is Apache's).
"""


def _apache_storm_libs(version: str, tree: Tree, work: Path) -> None:
    """lib/ (and for 2.x lib-worker/) of an APACHE_STORM release, from Maven Central."""
    if version_tuple(version) < (2,):
        for jar in _storm_client_jars(version, work / "lib"):
            tree.add(f"lib/{jar.name}", jar)
    else:
        for folder, artifact in (("lib", "storm-server"), ("lib-worker", "storm-client")):
            for jar in runtime_jars(STORM_GROUP, artifact, version, work / folder):
                tree.add(f"{folder}/{jar.name}", jar)
        core = single_jar(STORM_GROUP, "storm-core", version, work / "core")
        tree.add(f"lib/{core.name}", core)
    tree.add("log4j2/cluster.xml", APACHE_LOG4J2_CLUSTER)
    tree.add("log4j2/worker.xml", APACHE_LOG4J2_WORKER)


STARTER_POM = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- Test mirror: a stand-in for storm-starter {version} (not Apache's artifact). -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>org.apache.storm</groupId>
  <artifactId>storm-starter</artifactId>
  <version>{version}</version>
  <packaging>jar</packaging>
</project>
"""


def storm_starter_jar(version: str, dest_dir: Path) -> Path:
    """dest_dir/storm-starter-VERSION.jar: the stand-in ExclamationTopology (standin/starter/),
    compiled for Java 8 against Apache's storm-client (2.x) or storm-core (1.x) of that
    version."""
    sources = sorted((STANDIN_DIR / "starter").rglob("*.java"))
    with tempfile.TemporaryDirectory(prefix="starter-", dir=dest_dir) as work:
        jars = _storm_client_jars(version, Path(work) / "lib")
        out = Path(work) / "classes"
        classpath, srcs = ":".join(map(str, jars)), map(str, sources)
        subprocess.run(
            [_need("javac"), "--release", "8", "-nowarn", "-d", str(out), "-cp", classpath, *srcs],
            check=True,
            capture_output=True,
        )
        manifest = (
            "Manifest-Version: 1.0\r\n"
            f"Implementation-Title: storm-starter {version} stand-in (not Apache's)\r\n"
            f"Implementation-Version: {version}\r\n\r\n"
        )
        entries = [("META-INF/", b""), ("META-INF/MANIFEST.MF", manifest.encode())]
        entries += [
            (path.relative_to(out).as_posix(), path.read_bytes())
            for path in sorted(out.rglob("*.class"))
        ]
        return write_jar(dest_dir / f"storm-starter-{version}.jar", entries)


def _padding_file(path: Path, pad_mb: int, seed: str) -> Path:
    """pad_mb MiB of incompressible bytes that depend only on seed."""
    with open(path, "wb") as out:
        for block in range(pad_mb):
            out.write(hashlib.shake_256(f"{seed}:{block}".encode()).digest(1 << 20))
    return path


def storm_standin_jar(version: str, dest: Path) -> Path:
    era = storm_era(version)
    defaults = storm_defaults_file(version)
    manifest = (
        "Manifest-Version: 1.0\r\n"
        f"Implementation-Title: Storm {version} stand-in (not Apache Storm)\r\n"
        f"Implementation-Version: {version}\r\n\r\n"
    )
    props = f"version={version}\nstandin=true\ndefaults.from={defaults.stem}\n"
    entries = [
        ("META-INF/", b""),
        ("META-INF/MANIFEST.MF", manifest.encode()),
        ("defaults.yaml", defaults.read_bytes()),
        (f"{era.jar_artifact}-version-info.properties", props.encode()),
        *standin_classes(),
    ]
    return write_jar(dest, entries)


def storm_standin_tarball(version: str, dest_dir: Path, pad_mb: int = 0) -> Path:
    """apache-storm-<version>.tar.gz in dest_dir, unpacking to apache-storm-<version>/."""
    era = storm_era(version)
    top = f"apache-storm-{version}"
    jar_name = f"{era.jar_artifact}-{version}-standin.jar"
    launcher = (STANDIN_DIR / "storm" / "storm.py").read_text()
    launcher = era.storm_py_shebang + "\n" + launcher.split("\n", 1)[1]
    apache = version in APACHE_STORM
    # Where stand-in daemons are left (2.x's UI, logviewer, DRPC), they live apart from its jars.
    standin_dir = "lib-webapp" if apache else "lib"
    all_apache = apache and version_tuple(version) < (2,)
    tree = Tree(top)
    with tempfile.TemporaryDirectory(prefix="storm-standin-", dir=dest_dir) as work:
        work_dir = Path(work)
        if apache:
            _apache_storm_libs(version, tree, work_dir)
        client_jars = []
        if not all_apache:
            jar = storm_standin_jar(version, work_dir / jar_name)
            tree.add(f"{standin_dir}/{jar_name}", jar)
            for stem in STORM_ZK_CLIENT_JARS:
                src, name = _debian_jar(stem)
                tree.add(f"{standin_dir}/{name}", _jar_member_bytes(src, work_dir, name))
                client_jars.append(f"{standin_dir}/{name}")
        if pad_mb > 0:
            padding = _padding_file(work_dir / "padding.bin", pad_mb, f"storm-{version}")
            tree.add("lib/standin-padding.bin", padding)
        if era.python_launcher_only:
            tree.add("bin/storm", launcher, 0o755)
            tree.add("RELEASE", f"{version}\n")
        else:
            wrapper = (STANDIN_DIR / "storm" / "storm.sh").read_text()
            wrapper = wrapper.replace("@PYTHON_CANDIDATES@", era.python_candidates)
            tree.add("bin/storm", wrapper, 0o755)
            tree.add("bin/storm.py", launcher, 0o755)
        tree.add("conf/storm.yaml", STORM_YAML.format(nimbus_key_example=era.nimbus_key_example))
        if era.storm_env_ini:
            tree.add("conf/storm_env.ini", STORM_ENV_INI)
        if era.logging == "logback":
            tree.add("logback/cluster.xml", LOGBACK_CLUSTER)
        elif not apache:
            tree.add("log4j2/cluster.xml", LOG4J2_TEMPLATE.format(which="daemons"))
            tree.add("log4j2/worker.xml", LOG4J2_TEMPLATE.format(which="workers"))
        tree.add("public/index.html", STORM_INDEX_HTML.format(version=version))
        tree.add("examples/storm-starter/README.markdown", "Stand-in: no examples inside.\n")
        tree.add("external/README.markdown", "Stand-in: no external modules inside.\n")
        if all_apache:
            about = APACHE_STORM_1X_TXT.format(version=version)
        elif apache:
            about = APACHE_STORM_TXT.format(
                version=version, jar=jar_name, client_jars=" ".join(client_jars)
            )
        else:
            about = STORM_STANDIN_TXT.format(
                version=version,
                jar=jar_name,
                defaults_version=storm_defaults_file(version).stem,
                client_jars=" ".join(client_jars),
            )
        tree.add("STANDIN.txt", about)
        return tree.write(dest_dir / f"{top}.tar.gz")


# --- ZooKeeper stand-in ---

ZK_LOG4J_PROPERTIES = """\
# Stand-in for ZooKeeper's conf/log4j.properties (read by log4j 1.2 through slf4j-log4j12).
zookeeper.root.logger=INFO, CONSOLE
zookeeper.console.threshold=INFO
zookeeper.log.dir=.
zookeeper.log.file=zookeeper.log
zookeeper.log.threshold=DEBUG
zookeeper.log.pattern=%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n

log4j.rootLogger=${zookeeper.root.logger}

log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.Threshold=${zookeeper.console.threshold}
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=${zookeeper.log.pattern}

log4j.appender.ROLLINGFILE=org.apache.log4j.RollingFileAppender
log4j.appender.ROLLINGFILE.Threshold=${zookeeper.log.threshold}
log4j.appender.ROLLINGFILE.File=${zookeeper.log.dir}/${zookeeper.log.file}
log4j.appender.ROLLINGFILE.MaxFileSize=10MB
log4j.appender.ROLLINGFILE.layout=org.apache.log4j.PatternLayout
log4j.appender.ROLLINGFILE.layout.ConversionPattern=${zookeeper.log.pattern}
"""

ZK_LOGBACK_XML = """\
<!-- ZooKeeper's conf/logback.xml, as the release's: to the console (supervisord's log). -->
<configuration>
  <property name="zookeeper.console.threshold" value="INFO" />
  <appender name="CONSOLE" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="CONSOLE" /></root>
</configuration>
"""

ZK_STANDIN_TXT = """\
This tarball is assembled for tests. It is not Apache's release tarball, but its server is:

The jars are Apache ZooKeeper {version}'s own, from Maven Central (the release's artifact and
the jars its binary release's lib/ holds), in the Apache binary layout of {version}:
bin/zkServer.sh start-foreground execs java with org.apache.zookeeper.server.quorum.QuorumPeerMain
of ZooKeeper {version}. bin/zkServer.sh (start-foreground, version), bin/zkEnv.sh and bin/zkCli.sh
are small POSIX sh scripts written for the tests in place of Apache's. {logging}
Jars: {jars}
"""


def _zk_layout_is_34(version: str) -> bool:
    return version_tuple(version) < (3, 5)


def _zk_uses_logback(version: str) -> bool:
    return version_tuple(version) >= (3, 8)


def zookeeper_jars(version: str, dest: Path) -> list[Path]:
    """Apache's jars of ZooKeeper version, as its binary release's lib/ holds them."""
    if _zk_layout_is_34(version):
        return runtime_jars(ZK_GROUP, "zookeeper", version, dest, exclude=ZK_NOT_SHIPPED)
    parent = f"{ZK_GROUP}:parent:{version}"
    return runtime_jars(ZK_GROUP, "zookeeper", version, dest, parent=parent, extra=ZK_PROVIDED)


def zookeeper_standin_tarball(version: str, dest_dir: Path, file_name: str, top: str) -> Path:
    """dest_dir/file_name: ZooKeeper version's own jars in its binary layout, under top/, with
    stand-in bin/ scripts."""
    layout_34 = _zk_layout_is_34(version)
    logback = _zk_uses_logback(version)
    tree = Tree(top)
    jar_names: list[str] = []
    with tempfile.TemporaryDirectory(prefix="zk-jars-", dir=dest_dir) as work:
        for jar in zookeeper_jars(version, Path(work)):
            # 3.4 shipped its own jar at the top, the rest in lib/; 3.5+ all in lib/.
            own = jar.name == f"zookeeper-{version}.jar"
            name = jar.name if layout_34 and own else f"lib/{jar.name}"
            tree.add(name, jar.read_bytes())
            jar_names.append(name)
        for script in ("zkServer.sh", "zkEnv.sh", "zkCli.sh"):
            text = (STANDIN_DIR / "zookeeper" / script).read_text()
            text = text.replace("@ZK_VERSION@", version)
            tree.add(f"bin/{script}", text, 0o755)
        tree.add("conf/zoo_sample.cfg", zoo_sample_file(version).read_bytes())
        if logback:
            tree.add("conf/logback.xml", ZK_LOGBACK_XML)
            logging = "Logging goes through logback with conf/logback.xml."
        else:
            tree.add("conf/log4j.properties", ZK_LOG4J_PROPERTIES)
            logging = "Logging goes through log4j 1.2 with conf/log4j.properties."
        tree.add(
            "STANDIN.txt",
            ZK_STANDIN_TXT.format(version=version, logging=logging, jars=" ".join(jar_names)),
        )
        return tree.write(dest_dir / file_name)


ZK_SOURCE_POM = """\
<?xml version="1.0" encoding="UTF-8"?>
<!-- Stand-in for the SOURCE release of ZooKeeper {version}: nothing here runs. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>org.apache.zookeeper</groupId>
  <artifactId>parent</artifactId>
  <version>{version}</version>
  <packaging>pom</packaging>
</project>
"""

ZK_SOURCE_JAVA = """\
package org.apache.zookeeper.server.quorum;

/** Stand-in source file: this tarball is the source release, with nothing to run. */
public class QuorumPeerMain {
}
"""


def zookeeper_source_tarball(version: str, dest_dir: Path) -> Path:
    """The decoy: apache-zookeeper-<version>.tar.gz, a source release with nothing to run."""
    top = f"apache-zookeeper-{version}"
    tree = Tree(top)
    tree.add("pom.xml", ZK_SOURCE_POM.format(version=version))
    tree.add(
        "zookeeper-server/src/main/java/org/apache/zookeeper/server/quorum/QuorumPeerMain.java",
        ZK_SOURCE_JAVA,
    )
    tree.add("README.md", f"Stand-in for the ZooKeeper {version} SOURCE release (no binaries).\n")
    return tree.write(dest_dir / f"{top}.tar.gz")


# --- checksums and signatures ---


def _digest(path: Path, algorithm: str) -> str:
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _gpg_print_md(artifact: Path, algorithm: str) -> str:
    gpg = _need("gpg")
    with tempfile.TemporaryDirectory(prefix="gpg-print-md-") as home:
        result = subprocess.run(
            [gpg, "--homedir", home, "--batch", "--print-md", algorithm.upper(), artifact.name],
            cwd=artifact.parent,
            check=True,
            capture_output=True,
            text=True,
        )
    return result.stdout


def write_checksum(artifact: Path, algorithm: str, style: str) -> Path:
    """Write <artifact>.<algorithm> in one of STYLES and return its path."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, not {algorithm!r}")
    digest = _digest(artifact, algorithm)
    name = artifact.name
    if style == "coreutils":
        text = f"{digest}  {name}\n"
    elif style == "coreutils-binary":
        text = f"{digest} *{name}\n"
    elif style == "bsd":
        text = f"{algorithm.upper()} ({name}) = {digest}\n"
    elif style == "bare":
        text = f"{digest}\n"
    elif style == "gpg":
        text = _gpg_print_md(artifact, algorithm)
        printed = re.sub(r"\s+", "", text.split(":", 1)[1]).lower()
        if printed != digest:
            raise MirrorError(f"gpg --print-md gave {printed}, hashlib {digest} for {artifact}")
    else:
        raise ValueError(f"style must be one of {STYLES}, not {style!r}")
    dest = artifact.with_name(f"{name}.{algorithm}")
    with _atomic_path(dest) as tmp:
        tmp.write_text(text)
    return dest


def _gpg(home: Path, *args: str, stdin: str | None = None) -> str:
    env = {**os.environ, "GNUPGHOME": str(home)}
    result = subprocess.run(
        [_need("gpg"), "--homedir", str(home), "--batch", "--no-tty", *args],
        input=stdin,
        env=env,
        check=False,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise MirrorError(f"gpg {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def _stop_agent(home: Path) -> None:
    gpgconf = shutil.which("gpgconf")
    if gpgconf is not None:
        subprocess.run(
            [gpgconf, "--homedir", str(home), "--kill", "gpg-agent"],
            env={**os.environ, "GNUPGHOME": str(home)},
            check=False,
            capture_output=True,
        )


# Throwaway keys without a passphrase, used without a terminal.
_UNATTENDED = ("--pinentry-mode", "loopback", "--passphrase", "")


@contextmanager
def _gnupg_home(keys_from: Path | None = None) -> Iterator[Path]:
    """A throwaway gpg homedir under /tmp, holding a copy of keys_from's keys.

    gpg-agent puts its sockets in the homedir and a socket path must stay under ~107 bytes,
    which a homedir deep inside a build or pytest directory exceeds.
    """
    home = Path(tempfile.mkdtemp(prefix="gpg-", dir="/tmp" if os.path.isdir("/tmp") else None))
    home.chmod(0o700)
    try:
        if keys_from is not None:
            shutil.copytree(keys_from, home, dirs_exist_ok=True, ignore=_GNUPG_RUNTIME)
        yield home
    finally:
        _stop_agent(home)
        shutil.rmtree(home, ignore_errors=True)


_GNUPG_RUNTIME = shutil.ignore_patterns("S.*", "*.lock", ".#*")


def _create_keys(home: Path) -> None:
    for uid in SIGNING_KEYS.values():
        _gpg(home, *_UNATTENDED, "--quick-gen-key", uid, "ed25519", "sign", "never")


def _email(key: str) -> str:
    if key not in SIGNING_KEYS:
        raise ValueError(f"key must be one of {sorted(SIGNING_KEYS)}, not {key!r}")
    return f"{key}@standin.invalid"


def _sign_with(home: Path, artifact: Path, key: str) -> Path:
    dest = artifact.with_name(artifact.name + ".asc")
    with _atomic_path(dest) as tmp:
        options = ["--yes", *_UNATTENDED, "--local-user", _email(key), "--armor"]
        _gpg(home, *options, "--detach-sign", "--output", str(tmp), str(artifact))
    return dest


def sign(mirror: Path, artifact: Path, key: str = "release") -> Path:
    """Write <artifact>.asc, signed by the mirror's "release" (in KEYS) or "intruder" key."""
    with _gnupg_home(mirror / ".signing-gnupg") as home:
        return _sign_with(home, artifact, key)


KEYS_HEADER = """\
This file contains the PGP keys used to sign the stand-in releases of this TEST mirror.
They are throwaway keys made when the mirror was built: they are not Apache's keys.

Users:    gpg --import KEYS
Signers:  gpg --list-sigs <your name> && gpg --armor --export <your name>

"""


def _keys_file(home: Path) -> str:
    email = _email("release")
    listing = _gpg(home, "--list-sigs", email)
    armored = _gpg(home, "--armor", "--export", email)
    return KEYS_HEADER + listing.strip() + "\n\n" + armored


# --- the mirror ---


def _sources_fingerprint() -> str:
    hasher = hashlib.sha256(str(MIRROR_FORMAT).encode())
    sources = [Path(__file__).resolve(), SUPPORT_DIR / "maven.py"]
    for path in [*sources, *sorted(STANDIN_DIR.rglob("*"))]:
        if path.is_file():
            hasher.update(path.relative_to(SUPPORT_DIR).as_posix().encode())
            hasher.update(path.read_bytes())
    return hasher.hexdigest()


def _marker(storm_pad_mb: int) -> dict[str, object]:
    return {"fingerprint": _sources_fingerprint(), "storm_pad_mb": storm_pad_mb}


def mirror_is_current(out: Path, storm_pad_mb: int = 0) -> bool:
    """True when out holds a finished mirror built by these sources with this padding."""
    try:
        found = json.loads((out / ".complete").read_text())
    except (OSError, ValueError):
        return False
    return bool(found == _marker(storm_pad_mb))


MIRROR_README = """\
TEST MIRROR of STAND-INS, laid out like https://archive.apache.org/dist (storm/, zookeeper/).

Nothing here is an Apache release. The ZooKeeper tarballs hold a real server assembled from
Debian's ZooKeeper 3.8.0 jars in Apache's binary layout; the Storm tarballs have Storm's layout
and launcher with a small stand-in daemon class. KEYS holds a throwaway key made when this mirror
was built; its secret half is in .signing-gnupg/, with a second "intruder" key that is not in
KEYS. Built by tests/support/make_mirror.py; see STANDIN.txt inside each tarball.
"""


def _populate(root: Path, storm_pad_mb: int) -> None:
    with _gnupg_home() as home:
        _create_keys(home)
        _populate_with_keys(root, home, storm_pad_mb)
        shutil.copytree(home, root / ".signing-gnupg", ignore=_GNUPG_RUNTIME)
    (root / ".signing-gnupg").chmod(0o700)
    (root / "README.txt").write_text(MIRROR_README)
    (root / ".complete").write_text(json.dumps(_marker(storm_pad_mb)) + "\n")


def _populate_with_keys(root: Path, home: Path, storm_pad_mb: int) -> None:
    keys = _keys_file(home)
    for project in ("storm", "zookeeper", "keys"):
        (root / project).mkdir()
        (root / project / "KEYS").write_text(keys)

    def release(project: str, version: str) -> Path:
        prefix = "apache-storm" if project == "storm" else project
        directory = root / project / f"{prefix}-{version}"
        directory.mkdir()
        return directory

    # (artifact, [(algorithm, style)]) per release, as Apache published them in each era.
    published: list[tuple[Path, list[tuple[str, str]]]] = [
        (
            storm_standin_tarball("0.9.5", release("storm", "0.9.5"), storm_pad_mb),
            [("sha512", "gpg"), ("md5", "gpg")],
        ),
        (
            storm_standin_tarball("1.2.4", release("storm", "1.2.4"), storm_pad_mb),
            [("sha512", "bsd"), ("md5", "bare")],
        ),
        (
            storm_standin_tarball("2.6.4", release("storm", "2.6.4"), storm_pad_mb),
            [("sha512", "coreutils")],
        ),
    ]
    for version, styles in (
        ("3.4.6", [("md5", "bare"), ("sha1", "coreutils-binary")]),
        ("3.4.14", [("md5", "gpg"), ("sha1", "bsd")]),
    ):
        tarball = zookeeper_standin_tarball(
            version,
            release("zookeeper", version),
            f"zookeeper-{version}.tar.gz",
            f"zookeeper-{version}",
        )
        published.append((tarball, styles))
    zk38 = release("zookeeper", "3.8.4")
    binary = zookeeper_standin_tarball(
        "3.8.4", zk38, "apache-zookeeper-3.8.4-bin.tar.gz", "apache-zookeeper-3.8.4-bin"
    )
    published.append((binary, [("sha512", "coreutils")]))
    published.append((zookeeper_source_tarball("3.8.4", zk38), [("sha512", "coreutils")]))

    # A Maven repository beside the releases (maven2/, as Central lays it out) holding the
    # example topology of each APACHE_STORM release, with Maven's .sha1 and .md5 and an .asc.
    for version in APACHE_STORM:
        folder = root / "maven2" / "org" / "apache" / "storm" / "storm-starter" / version
        folder.mkdir(parents=True)
        pom = folder / f"storm-starter-{version}.pom"
        pom.write_text(STARTER_POM.format(version=version))
        jar = storm_starter_jar(version, folder)
        published += [(pom, [("sha1", "bare"), ("md5", "bare")])]
        published += [(jar, [("sha1", "bare"), ("md5", "bare")])]

    for artifact, styles in published:
        for algorithm, style in styles:
            write_checksum(artifact, algorithm, style)
        _sign_with(home, artifact, "release")


def build_mirror(out: Path, storm_pad_mb: int = 0) -> Path:
    """Build the mirror into a temp dir beside out, then put it in place of out."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.build-", dir=out.parent))
    tmp.chmod(0o755)
    try:
        _populate(tmp, storm_pad_mb)
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        if out.exists():
            os.replace(out, old)
        os.replace(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, required=True, help="mirror directory to create")
    parser.add_argument(
        "--storm-pad-mb",
        type=int,
        default=0,
        help="add N MiB of incompressible bytes per Storm tarball",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if already built")
    args = parser.parse_args(argv)
    if args.storm_pad_mb < 0:
        parser.error("--storm-pad-mb must be >= 0")
    if not args.force and (args.out / ".complete").exists():
        if mirror_is_current(args.out, args.storm_pad_mb):
            print(f"{args.out}: already built", file=sys.stderr)
            return 0
        print(f"{args.out}: built by other sources or padding; rebuilding", file=sys.stderr)
    try:
        out = build_mirror(args.out, args.storm_pad_mb)
    except (MirrorError, subprocess.CalledProcessError) as error:
        print(f"make_mirror: {error}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
