"""storm-starter from a Maven repository: the example topology `stormctl smoke` submits.

`bundler build` fetches org/apache/storm/storm-starter/V/storm-starter-V.jar for the Storm
release it bundles, from `--maven-mirror` (Maven Central unless given), with the `.sha1` and
`.md5` Maven publishes beside it and Apache's `.asc`. Every checksum published must match, and
the signature is checked against the same Storm KEYS the release tarball is checked with, under
the build's `--gpg` mode. Only then is the jar moved into the cache (one rename, as for the
releases: cache.py), where a warm build finds it without a request.

A repository without that version (404 for the jar: Central has none after 1.2.2) is not an
error: `StarterFetcher.fetch` returns None and the build says so once and goes on without it.
The cache remembers that answer for a day (per repository), so a warm build still makes no
request.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bundler.errors import DownloadError, IntegrityError
from bundler.fetch import checksums
from bundler.fetch.cache import Cache, fingerprint, write_json
from bundler.fetch.http import Http, HttpFailure, NotFound
from bundler.fetch.keys import Keys
from bundler.progress import Progress
from bundler.redact import redact

MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
GROUP_PATH = "org/apache/storm"
ARTIFACT_ID = "storm-starter"
PROJECT = "storm"  # whose KEYS sign it
CHECKSUMS = ("sha1", "md5")  # what Maven publishes beside every file, strongest first
SIGNATURE = "asc"
ALGORITHMS = ("sha256", "sha512", *CHECKSUMS)
LICENCE = "Apache-2.0"
# 1: the first layout of a storm-starter cache record.
RECORD_SCHEMA = 1
# How long a repository's 404 for a version is taken as its answer without asking again.
ABSENT_FOR = 24 * 3600.0


def jar_name(version: str) -> str:
    return f"{ARTIFACT_ID}-{version}.jar"


def jar_path(version: str) -> str:
    """The jar's path below a Maven repository's root."""
    return f"{GROUP_PATH}/{ARTIFACT_ID}/{version}/{jar_name(version)}"


def canonical_url(version: str) -> str:
    """Where Maven Central has (or would have) it: the SBOM's URL, whatever mirror served it."""
    return f"{MAVEN_CENTRAL}/{jar_path(version)}"


def missing_note(version: str, repository: str) -> str:
    return (
        f"no {ARTIFACT_ID} {version} at {redact(repository)}: the bundle has no smoke "
        "topology; `stormctl smoke --jar` takes one"
    )


@dataclass
class StarterJar:
    """A verified storm-starter jar in the cache, and its record."""

    version: str
    entry: Path
    record: dict[str, Any]
    signature: dict[str, Any] = field(default_factory=dict)
    from_cache: bool = False

    @property
    def file_name(self) -> str:
        return jar_name(self.version)

    @property
    def file(self) -> Path:
        return self.entry / self.file_name

    @property
    def sha256(self) -> str:
        return str(self.record["sha256"])

    @property
    def size(self) -> int:
        return int(self.record["size"])

    def sidecars(self) -> list[Path]:
        return [self.entry / name for name in self.record["sidecars"]]


class StarterFetcher:
    def __init__(
        self, repository: str, http: Http, cache: Cache, keys: Keys, progress: Progress
    ) -> None:
        self.repository = repository.rstrip("/")
        self.http = http
        self.cache = cache
        self.keys = keys
        self.progress = progress

    def fetch(self, version: str) -> StarterJar | None:
        """The verified jar, from the cache or the repository; None when the repository has
        no such version. A checksum or signature mismatch raises IntegrityError."""
        path = jar_path(version)
        entry = self.cache.artifact_dir(f"maven/{path}")
        absent = entry.with_name(f"{entry.name}.absent.json")
        with self.cache.locked(f"maven:{path}"):
            if self._known_absent(absent):
                self.progress.note(missing_note(version, self.repository))
                return None
            record = self.cache.read_record(entry)
            if record is not None and record.get("schema") == RECORD_SCHEMA:
                rotten = self.cache.rotten(entry, record, self.progress.info)
                if rotten is None:
                    jar = StarterJar(version, entry, record, from_cache=True)
                    signature = self._cached_signature(jar)
                    if signature is not None:
                        jar.signature = signature
                        self.progress.info(f"cached  {jar.file_name} (no download)")
                        return jar
                else:
                    self.progress.warn(
                        f"cached {rotten}; evicting it and fetching {jar_name(version)} again"
                    )
            self.cache.evict(entry)
            fetched = self._from_repository(version, entry)
            if fetched is None:
                absent.parent.mkdir(parents=True, exist_ok=True)
                write_json(absent, {"repository": redact(self.repository), "at": time.time()})
                self.progress.note(missing_note(version, self.repository))
            else:
                absent.unlink(missing_ok=True)
            return fetched

    def _known_absent(self, absent: Path) -> bool:
        """Whether this repository answered 404 for the jar within ABSENT_FOR."""
        record = self.cache.read_record_file(absent)
        if record is None or record.get("repository") != redact(self.repository):
            return False
        return bool(0 <= time.time() - float(record.get("at", 0)) < ABSENT_FOR)

    def _cached_signature(self, jar: StarterJar) -> dict[str, Any] | None:
        """The signature's result for the cached jar under this build's KEYS (checked again
        when the KEYS differ); None when it fails now, so the repository decides anew."""
        asc = jar.record.get("signature_file")
        known = jar.record.get("signatures", {})
        if self.keys.files(PROJECT) and asc:
            hit = known.get(self.keys.digest(PROJECT))
            if hit:
                return dict(hit)
        try:
            result = self._verify_signature(jar.file, jar.entry / asc if asc else None)
        except IntegrityError:
            return None
        if result.get("status") == "good":
            known[result["keys_sha256"]] = result
            jar.record["signatures"] = known
            self.cache.update_record(jar.entry, jar.record)
        return result

    def _verify_signature(self, file: Path, asc: Path | None) -> dict[str, Any]:
        return self.keys.verify(file, asc, file.name, PROJECT)

    def _from_repository(self, version: str, entry: Path) -> StarterJar | None:
        name = jar_name(version)
        url = f"{self.repository}/{jar_path(version)}"
        staged = self.cache.tmpdir()
        try:
            deadline = self.http.deadline()
            hashes = [checksums.MultiHash(ALGORITHMS)]

            def restart() -> None:  # the body starts over: so do the digests
                hashes[0] = checksums.MultiHash(ALGORITHMS)

            self.progress.info(f"fetch   {redact(url)}")
            try:
                with open(staged / name, "w+b") as out:
                    got = self.http.download(
                        url, out, lambda chunk: hashes[0].update(chunk), restart, deadline=deadline
                    )
            except NotFound:
                return None
            except HttpFailure as exc:
                raise DownloadError(
                    f"{name}: {exc}; fix what it names, pass another --maven-mirror URL, or "
                    "build with --no-smoke-topology"
                ) from None
            digests = hashes[0].hexdigests()
            published, checked, sidecar_sha256 = self._checksums(url, name, digests, staged)
            asc = self._small(f"{url}.{SIGNATURE}")
            signature_file = None
            if asc is not None:
                signature_file = f"{name}.{SIGNATURE}"
                (staged / signature_file).write_bytes(asc)
                sidecar_sha256[signature_file] = hashlib.sha256(asc).hexdigest()
            signature = self._verify_signature(
                staged / name, staged / signature_file if signature_file else None
            )
            self.progress.info(
                f"checked {name}: " + ", ".join(f"{c['algorithm']} (maven)" for c in checked)
            )
            if signature.get("status") == "good":
                key = signature["fingerprint"]
                self.progress.info(f"signed  {name}: good signature, key {key}")
            record: dict[str, Any] = {
                "schema": RECORD_SCHEMA,
                "project": ARTIFACT_ID,
                "version": version,
                "file": name,
                "url": redact(got.url or url),
                "mirror": redact(self.repository),
                "size": got.size,
                "sha256": digests["sha256"],
                "digests": digests,
                "published": published,
                "checked": checked,
                "sidecars": sorted(sidecar_sha256),
                "sidecar_sha256": sidecar_sha256,
                "signature_file": signature_file,
                "signatures": {},
                "fingerprint": fingerprint(staged / name),
            }
            if signature.get("status") == "good":
                record["signatures"][signature["keys_sha256"]] = signature
            self.cache.commit(staged, entry, record)
            return StarterJar(version, entry, record, signature)
        finally:
            if staged.exists():
                shutil.rmtree(staged, ignore_errors=True)

    def _checksums(
        self, url: str, name: str, digests: dict[str, str], staged: Path
    ) -> tuple[list[dict[str, str]], list[dict[str, str]], dict[str, str]]:
        """Every checksum file Maven publishes beside the jar, each compared with the bytes;
        at least one must be there."""
        published: list[dict[str, str]] = []
        checked: list[dict[str, str]] = []
        kept: dict[str, str] = {}
        for ext in CHECKSUMS:
            body = self._small(f"{url}.{ext}")
            if body is None:
                continue
            side = f"{name}.{ext}"
            entries = [
                e
                for e in checksums.for_file(body.decode("utf-8", "replace"), name)
                if e.algorithm == ext
            ]
            if not entries:
                raise IntegrityError(
                    f"{name}.{ext}: expected a {ext} digest, found none; the repository "
                    "serves a damaged checksum file: pass another --maven-mirror URL"
                )
            for found in entries:
                checksums.check(f"{name} (maven)", ext, found.digest, digests[ext])
                published.append({"file": side, "algorithm": ext, "digest": found.digest})
            checked.append({"source": "maven", "algorithm": ext})
            (staged / side).write_bytes(body)
            kept[side] = hashlib.sha256(body).hexdigest()
        if not checked:
            tried = ", ".join(f".{e}" for e in CHECKSUMS)
            raise IntegrityError(
                f"{name}: no checksum file beside it at {redact(url)} (tried {tried}), so it "
                "cannot be verified; pass another --maven-mirror URL or build with "
                "--no-smoke-topology"
            )
        return published, checked, kept

    def _small(self, url: str) -> bytes | None:
        try:
            return self.http.get_bytes(url, limit=1 << 20, deadline=self.http.deadline())
        except NotFound:
            return None
        except HttpFailure as exc:
            raise DownloadError(
                f"{exc}; pass another --maven-mirror URL, or build with --no-smoke-topology"
            ) from None
