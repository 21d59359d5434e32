"""Apache's own jars for the test mirror, from a Maven repository (Maven Central unless
BUNDLER_TEST_MAVEN_MIRROR names another), fetched by Maven itself into build/m2 once: a second
build of the mirror downloads nothing.

    runtime_jars("org.apache.zookeeper", "zookeeper", "3.4.14", dest)

copies that artifact and every runtime dependency its POM declares into dest, as a release's
lib/ holds them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL_REPO = ROOT / "build" / "m2"
POM = """\
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
{parent}  <groupId>local.test-mirror</groupId>
  <artifactId>jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
{dependencies}  </dependencies>
</project>
"""
DEPENDENCY = """\
    <dependency>
      <groupId>{0}</groupId>
      <artifactId>{1}</artifactId>
{2}    </dependency>
"""
# The plugin Maven runs, pinned so that its own download happens once too.
COPY_GOAL = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies"


class MavenError(Exception):
    """Maven is missing, or the artifacts cannot be had."""


def _settings(work: Path) -> list[str]:
    mirror = os.environ.get("BUNDLER_TEST_MAVEN_MIRROR")
    if not mirror:
        return []
    settings = work / "settings.xml"
    settings.write_text(
        "<settings><mirrors><mirror><id>test</id><mirrorOf>*</mirrorOf>"
        f"<url>{mirror}</url></mirror></mirrors></settings>\n"
    )
    return ["-s", str(settings)]


def _exclusions(exclusions: tuple[str, ...]) -> str:
    if not exclusions:
        return ""
    inner = "".join(
        "<exclusion><groupId>{}</groupId><artifactId>{}</artifactId></exclusion>".format(
            *coords.split(":")
        )
        for coords in exclusions
    )
    return f"      <exclusions>{inner}</exclusions>\n"


def _pom(
    group: str,
    artifact: str,
    version: str,
    parent: str | None,
    extra: tuple[str, ...],
    exclusions: tuple[str, ...] = (),
) -> str:
    own = f"      <version>{version}</version>\n" + _exclusions(exclusions)
    deps = DEPENDENCY.format(group, artifact, own)
    # The release's "provided" jars, at the versions its parent POM manages.
    deps += "".join(DEPENDENCY.format(*coords.split(":"), "") for coords in extra)
    head = ""
    if parent:
        g, a, v = parent.split(":")
        head = f"  <parent><groupId>{g}</groupId><artifactId>{a}</artifactId><version>{v}</version>"
        head += "<relativePath/></parent>\n"
    return POM.format(parent=head, dependencies=deps)


def runtime_jars(
    group: str,
    artifact: str,
    version: str,
    dest: Path,
    parent: str | None = None,
    extra: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    exclusions: tuple[str, ...] = (),
) -> list[Path]:
    """group:artifact:version and its runtime dependencies, copied into dest (sorted); extra
    artifacts ("group:artifact") at the versions the parent POM manages; exclude: artifact ids
    the release's own lib/ leaves out; exclusions: dependencies ("group:artifact") not even
    resolved (ones that live outside the Maven repository)."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MavenError("mvn is missing: install Debian's maven package (make deps does)")
    dest.mkdir(parents=True, exist_ok=True)
    LOCAL_REPO.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mvn-") as work:
        pom = Path(work) / "pom.xml"
        pom.write_text(_pom(group, artifact, version, parent, extra, exclusions))
        cmd = [mvn, "-B", "-q", "--no-transfer-progress", "-f", str(pom)]
        cmd += [f"-Dmaven.repo.local={LOCAL_REPO}", *_settings(Path(work)), COPY_GOAL]
        cmd += ["-DincludeScope=runtime", f"-DoutputDirectory={dest}"]
        if exclude:
            cmd.append("-DexcludeArtifactIds=" + ",".join(exclude))
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900)
    if proc.returncode != 0:
        raise MavenError(
            f"mvn could not fetch {group}:{artifact}:{version}: "
            + (proc.stdout + proc.stderr).strip()[-2000:]
        )
    return sorted(dest.glob("*.jar"))


COPY_ONE_GOAL = "org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy"


def single_jar(group: str, artifact: str, version: str, dest: Path) -> Path:
    """group:artifact:version's own jar alone (no dependencies), copied into dest: for an
    artifact whose POM names dependencies outside the Maven repository (Storm 2.x's
    storm-core reaches Clojars through storm-clojure, which its release's lib/ leaves out)."""
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MavenError("mvn is missing: install Debian's maven package (make deps does)")
    dest.mkdir(parents=True, exist_ok=True)
    LOCAL_REPO.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mvn-") as work:
        pom = Path(work) / "pom.xml"
        pom.write_text(POM.format(parent="", dependencies=""))
        cmd = [mvn, "-B", "-q", "--no-transfer-progress", "-f", str(pom)]
        cmd += [f"-Dmaven.repo.local={LOCAL_REPO}", *_settings(Path(work)), COPY_ONE_GOAL]
        cmd += [f"-Dartifact={group}:{artifact}:{version}", f"-DoutputDirectory={dest}"]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=900)
    if proc.returncode != 0:
        raise MavenError(
            f"mvn could not fetch {group}:{artifact}:{version}: "
            + (proc.stdout + proc.stderr).strip()[-2000:]
        )
    return dest / f"{artifact}-{version}.jar"
