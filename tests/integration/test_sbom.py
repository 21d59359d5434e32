"""The SBOM every bundle carries: valid CycloneDX, complete against SHA256SUMS, reproducible."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

from bundler.fetch.licences import wheel_licence
from bundler.pack import sbom
from tests.support.cli import build_args, bundler
from tests.support.mirror_server import MirrorServer

TOP = "storm-0.9.5-zk-3.4.6"


def _member(bundle: Path, rel: str) -> bytes:
    with tarfile.open(bundle) as tar:
        stream = tar.extractfile(f"{TOP}/{rel}")
        assert stream is not None
        return stream.read()


def test_sbom_is_valid_complete_and_reproducible(
    mirror_dir: Path,
    mirror_server: MirrorServer,
    wheelhouse: Path,
    tmp_path: Path,
    jdk_tarball: Path,
) -> None:
    outs = []
    for i, url in enumerate((f"{mirror_server.url}/m1", f"{mirror_server.url}/m2")):
        work = tmp_path / f"w{i}"
        (work / "out").mkdir(parents=True)
        # Different mirrors and caches: the SBOM must not depend on which one served a file.
        run = bundler(*build_args(url, mirror_dir, wheelhouse, work, "--jdk", jdk_tarball))
        assert run.code == 0, run
        outs.append(Path(run.out.strip().splitlines()[-1]))
    first, second = outs
    data = _member(first, sbom.SBOM_FILE)
    assert data == _member(second, sbom.SBOM_FILE)

    assert sbom.validate(data) == []
    doc = json.loads(data)
    assert doc["specVersion"] == "1.6"
    assert doc["metadata"]["component"]["name"] == TOP
    assert doc["metadata"]["timestamp"].startswith("20")

    sums = {}
    for line in _member(first, "SHA256SUMS").decode().splitlines():
        digest, _, rel = line.partition("  ")
        sums[rel] = digest
    assert sums[sbom.SBOM_FILE] == hashlib.sha256(data).hexdigest()
    wanted = {
        rel
        for rel in sums
        if rel.startswith("python/wheels/")
        or (rel.startswith("artifacts/") and rel.endswith(".tar.gz"))
    }
    by_path = {}
    for comp in doc["components"]:
        (prop,) = [p["value"] for p in comp["properties"] if p["name"] == "bundler:path"]
        by_path[prop] = comp
    assert set(by_path) == wanted
    assert f"artifacts/{jdk_tarball.name}" in by_path
    for rel, comp in by_path.items():
        hashes = {h["alg"]: h["content"] for h in comp["hashes"]}
        assert hashes["SHA-256"] == sums[rel], rel

    storm = by_path["artifacts/apache-storm-0.9.5.tar.gz"]
    assert storm["purl"] == "pkg:generic/apache/storm@0.9.5"
    assert storm["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    assert "SHA-512" in {h["alg"] for h in storm["hashes"]}
    (dist,) = storm["externalReferences"]
    assert dist == {
        "type": "distribution",
        "url": "https://archive.apache.org/dist/storm/apache-storm-0.9.5/apache-storm-0.9.5.tar.gz",
    }
    wheel = next(c for c in doc["components"] if c["name"] == "supervisor")
    assert wheel["purl"].startswith("pkg:pypi/supervisor@")
    assert wheel["licenses"], "licence read from the wheel's metadata"
    assert mirror_server.url not in data.decode()

    printed = bundler("sbom", first)
    assert printed.code == 0, printed
    assert printed.out.encode() == data
    inspected = bundler("inspect", first)
    assert inspected.code == 0, inspected
    assert "CycloneDX 1.6" in inspected.out and "Apache-2.0" in inspected.out
    assert f"{len(wanted)} components" in inspected.out


def _cold_build(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, tmp_path: Path
) -> tuple[list[str | Path], Path, bytes]:
    """A cold build's arguments, its bundle and the SBOM it rendered."""
    args = build_args(mirror_server.url, mirror_dir, wheelhouse, tmp_path)
    cold = bundler(*args)
    assert cold.code == 0, cold
    bundle = Path(cold.out.strip().splitlines()[-1])
    return args, bundle, _member(bundle, sbom.SBOM_FILE)


def test_a_warm_build_takes_the_sbom_it_rendered_before_unless_the_record_rotted(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, tmp_path: Path
) -> None:
    args, bundle, rendered = _cold_build(mirror_dir, mirror_server, wheelhouse, tmp_path)
    (memo,) = (tmp_path / "cache").glob("v1/sbom/*.json")
    assert json.loads(memo.read_text())["sbom"].encode() == rendered

    # A record whose text no longer matches its sha256 is not used: rendered anew, rewritten.
    record = json.loads(memo.read_text())
    record["sbom"] = record["sbom"].replace("supervisor", "supervisar")
    memo.write_text(json.dumps(record))
    warm = bundler(*args)
    assert warm.code == 0, warm
    assert _member(bundle, sbom.SBOM_FILE) == rendered
    assert json.loads(memo.read_text())["sbom"].encode() == rendered

    # A record that holds: its bytes are what the bundle carries (tampered here to show it is
    # the record that was used, with a matching sha256 as a real earlier render would have).
    record = json.loads(memo.read_text())
    record["sbom"] = record["sbom"].replace('"specVersion"', '"specVersion" ')
    record["sha256"] = hashlib.sha256(record["sbom"].encode()).hexdigest()
    memo.write_text(json.dumps(record))
    again = bundler(*args)
    assert again.code == 0, again
    assert _member(bundle, sbom.SBOM_FILE) == record["sbom"].encode()
    # --paranoid trusts no record: rendered anew.
    paranoid = bundler(*args, "--paranoid")
    assert paranoid.code == 0, paranoid
    assert _member(bundle, sbom.SBOM_FILE) == rendered


def test_wheel_licences_are_read_when_downloaded_and_kept_in_the_cache_records(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, tmp_path: Path
) -> None:
    args, bundle, rendered = _cold_build(mirror_dir, mirror_server, wheelhouse, tmp_path)
    records = {}
    for path in (tmp_path / "cache").glob("v1/wheels/*/record.json"):
        record = json.loads(path.read_text())
        wheel = path.parent / record["file"]
        assert record["licence"] == wheel_licence(wheel), wheel.name
        records[record["file"]] = path
    (supervisor,) = [p for name, p in records.items() if name.startswith("supervisor-")]

    def render_anew(*extra: str) -> bytes:
        """Build again with no SBOM memo to take: the SBOM this build rendered."""
        for memo in (tmp_path / "cache").glob("v1/sbom/*.json"):
            memo.unlink()
        run = bundler(*args, *extra)
        assert run.code == 0, run
        return _member(bundle, sbom.SBOM_FILE)

    # A later render takes each licence from the record: changed here to show it is the record
    # that was used.
    record = json.loads(supervisor.read_text())
    record["licence"] = "LicenseRef-from-the-record"
    supervisor.write_text(json.dumps(record))
    doc = json.loads(render_anew())
    (component,) = [c for c in doc["components"] if c["name"] == "supervisor"]
    assert "LicenseRef-from-the-record" in json.dumps(component["licenses"])

    # --paranoid trusts no record: every licence is read from its wheel again, and recorded.
    assert render_anew("--paranoid") == rendered
    assert json.loads(supervisor.read_text())["licence"] == wheel_licence(
        supervisor.parent / record["file"]
    )

    # A licence read by other code (another bundler) is not trusted either.
    record = json.loads(supervisor.read_text())
    record["licence"] = "LicenseRef-from-other-code"
    record["licence_reader"] = "0" * 64
    supervisor.write_text(json.dumps(record))
    assert render_anew() == rendered

    # Records written before licences were kept hold none: the wheel is read, as before.
    for path in records.values():
        record = json.loads(path.read_text())
        del record["licence"]
        path.write_text(json.dumps(record))
    assert render_anew() == rendered
