"""`bundler build` fetching storm-starter, the topology of `stormctl smoke`, from the test mirror's
Maven repository (maven2/) over HTTP: carried and listed when there, a note when the repository
has no such version, exit 3 when its bytes fail their checksum or signature."""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
from pathlib import Path

import jsonschema
import pytest

from tests.support.cli import build_args, bundler, provenance_sources
from tests.support.make_mirror import write_checksum
from tests.support.mirror_server import MirrorServer

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "bundler" / "onhost" / "contract" / "bundle.schema.json"
STARTER = "org/apache/storm/storm-starter/2.6.4/storm-starter-2.6.4.jar"
TOP = "storm-2.6.4-zk-3.8.4"
NOTE_095 = "note: no storm-starter 0.9.5 at {url}/maven2: the bundle has no smoke topology"


def storm_264(args: list[str | Path]) -> list[str | Path]:
    """build_args() for Storm 2.6.4 and ZooKeeper 3.8.4, whose storm-starter the mirror has."""
    swapped = {"0.9.5": "2.6.4", "3.4.6": "3.8.4"}
    return [swapped.get(a, a) if isinstance(a, str) else a for a in args]


def member(bundle: Path, rel: str) -> bytes:
    with tarfile.open(bundle) as tar:
        handle = tar.extractfile(f"{bundle.name.removesuffix('.tar')}/{rel}")
        assert handle is not None
        return handle.read()


def names(bundle: Path) -> list[str]:
    with tarfile.open(bundle) as tar:
        return [m.name.split("/", 1)[-1] for m in tar.getmembers()]


def test_the_bundle_carries_the_verified_storm_starter_listed_everywhere(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, workdir: Path
) -> None:
    args = storm_264(build_args(mirror_server.url, mirror_dir, wheelhouse, workdir))
    run = bundler(*args)
    assert run.code == 0, run
    bundle = Path(run.out.strip().splitlines()[-1])
    assert bundle.name == f"{TOP}.tar"
    assert "checked storm-starter-2.6.4.jar: sha1 (maven), md5 (maven)" in run.err
    assert "signed  storm-starter-2.6.4.jar: good signature" in run.err

    jar = (mirror_dir / "maven2" / STARTER).read_bytes()
    sha256 = hashlib.sha256(jar).hexdigest()
    rel = "artifacts/smoke/storm-starter-2.6.4.jar"
    assert member(bundle, rel) == jar
    assert {f"{rel}.sha1", f"{rel}.md5", f"{rel}.asc"} <= set(names(bundle))

    manifest = json.loads(member(bundle, "bundle.json"))
    jsonschema.validate(manifest, json.loads(SCHEMA.read_text()))
    assert manifest["components"]["smoke"] == {"version": "2.6.4", "artifact": rel}
    (entry,) = [a for a in manifest["artifacts"] if a["component"] == "smoke"]
    assert entry["path"] == rel and entry["sha256"] == sha256
    assert entry["verification"]["signature"]["status"] == "good"
    assert entry["verification"]["signature"]["keys"] == ["keys/storm.KEYS"]
    assert [c["algorithm"] for c in entry["verification"]["checked"]] == ["sha1", "md5"]
    assert manifest["files"][rel]["sha256"] == sha256
    assert f"{sha256}  {rel}\n" in member(bundle, "SHA256SUMS").decode()

    sbom = json.loads(member(bundle, "sbom.cdx.json"))
    (starter,) = [c for c in sbom["components"] if c["name"] == "storm-starter"]
    assert starter["purl"] == "pkg:maven/org.apache.storm/storm-starter@2.6.4"
    assert {"alg": "SHA-256", "content": sha256} in starter["hashes"]

    uri, served = provenance_sources(bundle)["storm-starter-2.6.4.jar"]
    assert uri == f"{mirror_server.url}/maven2/{STARTER}"
    assert served == f"{mirror_server.url}/maven2"

    verify = bundler("verify", bundle)
    assert verify.code == 0, verify

    # Warm: the jar comes from the cache, and the bytes are the same.
    digest = hashlib.sha256(bundle.read_bytes()).hexdigest()
    mirror_server.clear_requests()
    warm = bundler(*args)
    assert warm.code == 0, warm
    assert mirror_server.requests == []
    assert "cached  storm-starter-2.6.4.jar (no download)" in warm.err
    assert hashlib.sha256(bundle.read_bytes()).hexdigest() == digest


def test_a_repository_without_the_version_is_one_note_and_no_jar(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, workdir: Path
) -> None:
    run = bundler(*build_args(mirror_server.url, mirror_dir, wheelhouse, workdir), "--quiet")
    assert run.code == 0, run
    note = NOTE_095.format(url=mirror_server.url)
    assert [line for line in run.err.splitlines() if line.startswith("note: ")] == [
        f"{note}; `stormctl smoke --jar` takes one"
    ]
    bundle = Path(run.out.strip().splitlines()[-1])
    assert not [n for n in names(bundle) if n.startswith("artifacts/smoke")]
    manifest = json.loads(member(bundle, "bundle.json"))
    assert "smoke" not in manifest["components"]
    assert {a["component"] for a in manifest["artifacts"]} == {"storm", "zookeeper"}
    asked = [r for r in mirror_server.requests if r.path.startswith("/maven2/")]
    assert [(r.path, r.status) for r in asked] == [
        (f"/maven2/{STARTER.replace('2.6.4', '0.9.5')}", 404)
    ]


def test_no_smoke_topology_asks_no_maven_repository(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, workdir: Path
) -> None:
    args = storm_264(build_args(mirror_server.url, mirror_dir, wheelhouse, workdir))
    run = bundler(*args, "--no-smoke-topology")
    assert run.code == 0, run
    assert not [r for r in mirror_server.requests if r.path.startswith("/maven2/")]
    bundle = Path(run.out.strip().splitlines()[-1])
    assert not [n for n in names(bundle) if n.startswith("artifacts/smoke")]
    assert "note: " not in run.err


def tampered_repository(mirror_dir: Path, root: Path, rehash: bool) -> Path:
    """A copy of the mirror's maven2/ whose storm-starter 2.6.4 has one more byte; with
    rehash, its .sha1 and .md5 say so too (so only the signature can tell)."""
    folder = root / "maven2" / Path(STARTER).parent
    shutil.copytree(mirror_dir / "maven2" / Path(STARTER).parent, folder)
    jar = folder / Path(STARTER).name
    jar.write_bytes(jar.read_bytes() + b"\0")
    if rehash:
        for algorithm in ("sha1", "md5"):
            write_checksum(jar, algorithm, "bare")
    return root


@pytest.mark.parametrize(
    ("rehash", "said"),
    [
        (False, "storm-starter-2.6.4.jar (maven): sha1 mismatch"),
        (True, "storm-starter-2.6.4.jar"),
    ],
)
def test_a_tampered_jar_is_fatal_with_exit_3_and_no_bundle(
    mirror_dir: Path,
    mirror_server: MirrorServer,
    wheelhouse: Path,
    workdir: Path,
    tmp_path: Path,
    rehash: bool,
    said: str,
) -> None:
    root = tampered_repository(mirror_dir, tmp_path / "evil", rehash)
    with MirrorServer(root) as evil:
        args = storm_264(build_args(mirror_server.url, mirror_dir, wheelhouse, workdir))
        args[args.index("--maven-mirror") + 1] = f"{evil.url}/maven2"
        run = bundler(*args)
    assert run.code == 3, run
    errors = [line for line in run.err.splitlines() if line.startswith("bundler: ")]
    assert len(errors) == 1 and said in errors[0], run
    assert "Traceback" not in run.err
    if rehash:
        assert "signature" in errors[0].lower(), errors[0]
    assert list((workdir / "out").iterdir()) == []
