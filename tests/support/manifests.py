"""A sample bundle.json written through the typed model, for the manifest tests of both tiers."""

from __future__ import annotations

from bundler.pack.manifest import (
    Artifact,
    Checked,
    ClusterRef,
    FileEntry,
    Jdk,
    Manifest,
    Policy,
    Published,
    PythonWheels,
    Release,
    Signature,
    Supervisor,
)
from bundler.recipes.recipes import Recipe

SHA = "ab" * 32


def sample() -> Manifest:
    """A manifest of every kind of part: a signed release, a JDK given with --jdk, the
    supervisord wheels of one Python, an inventory."""
    storm = Release.of(Recipe.load("storm").resolve("2.6.4"))
    zookeeper = Release.of(Recipe.load("zookeeper").resolve("3.8.4"))
    wheels = ("python/wheels/pip-24.0-py3-none-any.whl", "python/wheels/supervisor.whl")
    return Manifest(
        name="storm-2.6.4-zk-3.8.4-book",
        source_date_epoch=1420070400,
        storm=storm,
        zookeeper=zookeeper,
        supervisor=Supervisor(
            "4.2.5", {"3.12": PythonWheels("python/locks/py3.12.txt", wheels[0], wheels)}
        ),
        artifacts=(
            Artifact(
                component="storm",
                path=storm.artifact,
                size=10,
                sha256=SHA,
                signature=Signature(
                    "good", fingerprint="F" * 40, signer="A <a@b>", keys=("keys/storm.KEYS",)
                ),
                top=storm.top,
                sidecars=(f"{storm.artifact}.sha512",),
                published=(Published(f"{storm.artifact}.sha512", "sha512", "00"),),
                checked=(Checked("apache", "sha512"),),
                entries=3,
            ),
            Artifact(
                component="jdk",
                path="artifacts/jdk.tar.gz",
                size=5,
                sha256=SHA,
                signature=Signature("unverified", reason="supplied with --jdk"),
                top="jdk-17",
                checked=(Checked("user-supplied", "sha256"),),
            ),
        ),
        policy=Policy(pins=True, gpg="auto"),
        files={storm.artifact: FileEntry(10, SHA), "cluster.json": FileEntry(2, SHA)},
        jdk=Jdk("17.0.1", 17, "artifacts/jdk.tar.gz", "jdk-17"),
        cluster=ClusterRef("cluster.json", "book", ("a", "b")),
    )
