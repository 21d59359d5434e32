"""storm-starter from a Maven repository (bundler/fetch/maven.py), with the repository in memory
and signature checks off (--gpg off): checksums, the 404 note, the cache, and the manifest's
smoke component."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from bundler.errors import IntegrityError
from bundler.fetch import maven
from bundler.fetch.cache import Cache
from bundler.fetch.http import Downloaded, NotFound
from bundler.fetch.keys import Keys, Trust
from bundler.onhost.contract import manifest as wire
from bundler.pack import manifest
from bundler.progress import Progress

REPO = "http://maven.invalid/maven2"
VERSION = "2.6.4"
JAR = b"PK\x03\x04 a stand-in jar\n"
URL = f"{REPO}/{maven.jar_path(VERSION)}"


class Repository:
    """What a Maven repository serves, by URL; everything else is a 404."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.asked: list[str] = []

    def deadline(self) -> float | None:
        return None

    def get_bytes(self, url: str, limit: int = 1 << 20, deadline: float | None = None) -> bytes:
        self.asked.append(url)
        if url not in self.files:
            raise NotFound(url, "404 Not Found")
        return self.files[url]

    def download(
        self,
        url: str,
        out: BinaryIO,
        on_data: Callable[[bytes], None],
        on_restart: Callable[[], None],
        on_total: Callable[[int | None], None] = lambda total: None,
        deadline: float | None = None,
    ) -> Downloaded:
        data = self.get_bytes(url)
        out.write(data)
        on_data(data)
        return Downloaded(len(data), None, 0, url)


def published(jar: bytes = JAR) -> dict[str, bytes]:
    return {
        URL: jar,
        f"{URL}.sha1": hashlib.sha1(JAR).hexdigest().encode(),
        f"{URL}.md5": hashlib.md5(JAR).hexdigest().encode() + b"\n",
    }


def fetcher(tmp_path: Path, repo: Repository) -> tuple[maven.StarterFetcher, io.StringIO]:
    err = io.StringIO()
    progress = Progress(stream=err)
    cache = Cache(tmp_path / "cache")
    keys = Keys(Trust("off", (), False), repo, cache, progress)  # type: ignore[arg-type]
    keys.prepare(maven.PROJECT, ())
    return maven.StarterFetcher(REPO + "/", repo, cache, keys, progress), err  # type: ignore[arg-type]


def test_the_jar_is_checked_against_every_checksum_published_and_cached(tmp_path: Path) -> None:
    repo = Repository(published())
    fetch, err = fetcher(tmp_path, repo)
    jar = fetch.fetch(VERSION)
    assert jar is not None
    assert jar.file.read_bytes() == JAR
    assert jar.sha256 == hashlib.sha256(JAR).hexdigest()
    assert [c["algorithm"] for c in jar.record["checked"]] == ["sha1", "md5"]
    assert {c["source"] for c in jar.record["checked"]} == {"maven"}
    assert [p.name for p in jar.sidecars()] == [
        "storm-starter-2.6.4.jar.md5",
        "storm-starter-2.6.4.jar.sha1",
    ]
    assert jar.signature["status"] == "off"
    assert "checked storm-starter-2.6.4.jar: sha1 (maven), md5 (maven)" in err.getvalue()

    repo.asked.clear()
    again = fetch.fetch(VERSION)
    assert again is not None and again.from_cache
    assert repo.asked == []  # warm: no request


def test_a_sha1_mismatch_is_fatal_and_leaves_nothing_in_the_cache(tmp_path: Path) -> None:
    files = published()
    files[URL] = JAR + b"tampered"
    fetch, _ = fetcher(tmp_path, Repository(files))
    with pytest.raises(IntegrityError, match=r"storm-starter-2.6.4.jar \(maven\): sha1 mismatch"):
        fetch.fetch(VERSION)
    assert list((tmp_path / "cache").rglob("record.json")) == []


def test_a_jar_without_any_checksum_beside_it_is_refused(tmp_path: Path) -> None:
    fetch, _ = fetcher(tmp_path, Repository({URL: JAR}))
    with pytest.raises(IntegrityError, match="no checksum file beside it"):
        fetch.fetch(VERSION)


def test_a_repository_without_the_version_is_a_note_remembered_for_a_day(tmp_path: Path) -> None:
    repo = Repository({})
    fetch, err = fetcher(tmp_path, repo)
    assert fetch.fetch(VERSION) is None
    note = (
        f"note: no storm-starter {VERSION} at {REPO}: the bundle has no smoke topology; "
        "`stormctl smoke --jar` takes one"
    )
    assert err.getvalue().splitlines() == [f"fetch   {URL}", note]
    repo.asked.clear()
    assert fetch.fetch(VERSION) is None
    assert repo.asked == []
    assert err.getvalue().splitlines()[-1] == note
    # Another repository is asked anew, and its jar is used.
    other = Repository({k.replace("/maven2/", "/m2/"): v for k, v in published().items()})
    elsewhere = maven.StarterFetcher(
        REPO.replace("maven2", "m2"),
        other,  # type: ignore[arg-type]
        fetch.cache,
        fetch.keys,
        fetch.progress,
    )
    assert elsewhere.fetch(VERSION) is not None


def test_a_changed_cached_jar_is_fetched_again(tmp_path: Path) -> None:
    repo = Repository(published())
    fetch, err = fetcher(tmp_path, repo)
    jar = fetch.fetch(VERSION)
    assert jar is not None
    jar.file.write_bytes(b"rot")
    again = fetch.fetch(VERSION)
    assert again is not None and not again.from_cache
    assert again.file.read_bytes() == JAR
    assert "no longer matches the sha256 it was verified with" in err.getvalue()


def test_the_manifest_carries_the_smoke_component_both_sides_read() -> None:
    artifact = manifest.Artifact(
        component="smoke",
        path="artifacts/smoke/storm-starter-2.6.4.jar",
        size=len(JAR),
        sha256=hashlib.sha256(JAR).hexdigest(),
        signature=manifest.Signature("off", reason="signature checks turned off (--gpg off)"),
        top=None,
        sidecars=("artifacts/smoke/storm-starter-2.6.4.jar.sha1",),
        checked=(manifest.Checked("maven", "sha1"),),
    )
    data = artifact.to_json()
    assert "archive" not in data["verification"]
    assert manifest.Artifact.from_json(data) == artifact
    smoke = manifest.Smoke("2.6.4", "artifacts/smoke/storm-starter-2.6.4.jar")
    assert smoke.to_json() == {"version": "2.6.4", "artifact": smoke.artifact}


def release(project: str) -> dict[str, Any]:
    return {
        "version": "2.6.4",
        "line": "2.6",
        "known_release": True,
        "rules": [],
        "artifact": f"artifacts/{project}.tar.gz",
        "top": project,
        "facts": {},
    }


def test_the_installer_reads_the_smoke_component() -> None:
    data: dict[str, Any] = {
        "schema": 1,
        "name": "b",
        "source_date_epoch": 0,
        "components": {
            "storm": release("storm"),
            "zookeeper": release("zookeeper"),
            "supervisor": {"version": "4.3.0", "pythons": {}},
            "smoke": {"version": "2.6.4", "artifact": "artifacts/smoke/storm-starter-2.6.4.jar"},
        },
        "artifacts": [],
        "policy": {"pins": True, "gpg": "auto"},
        "files": {},
    }
    parsed = wire.parse(data)
    assert parsed.smoke == wire.Smoke("2.6.4", "artifacts/smoke/storm-starter-2.6.4.jar")
    data["components"]["smoke"]["artifact"] = "lib/smoke/../../x.jar"
    with pytest.raises(wire.ManifestError, match=r"components\.smoke\.artifact"):
        wire.parse(data)
