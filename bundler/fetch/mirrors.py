"""Release tarballs from mirrors in order, verified, into the shared cache.

For each artifact, each mirror in turn: fetch the checksum files and the signature, stream
the tarball to a staging folder while hashing it and reading its tar headers, compare the
strongest published checksum and the recipe's pin, check the signature against the
project's KEYS, and only then move it into the cache. A mirror that lacks a file is skipped;
one that serves bad bytes is reported, and the next one is tried.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bundler.errors import (
    DownloadError,
    IntegrityError,
    SignatureError,
    UnsafeArchiveError,
)
from bundler.fetch import checksums
from bundler.fetch.cache import Cache, fingerprint
from bundler.fetch.fanout import Fanout
from bundler.fetch.http import Downloaded, Http, HttpFailure, NotFound, Stalled
from bundler.fetch.keys import Keys, _sha256
from bundler.fetch.tarscan import ArchiveSummary, TarScanner
from bundler.progress import Progress
from bundler.recipes.recipes import Artifact, Component, Pin
from bundler.redact import redact

DEFAULT_MIRRORS = ("https://dlcdn.apache.org", "https://archive.apache.org/dist")
# 2: records keep the tarball's stat fingerprint and the sidecars' sha256 (self-healing cache).
RECORD_SCHEMA = 2


@dataclass
class FetchedArtifact:
    component: Component
    entry: Path
    record: dict[str, Any]
    signature: dict[str, Any] = field(default_factory=dict)
    from_cache: bool = False  # found in the cache: no mirror served it in this run

    @property
    def artifact(self) -> Artifact:
        return self.component.artifact

    @property
    def file(self) -> Path:
        return self.entry / self.artifact.file

    def sidecars(self) -> list[Path]:
        return [self.entry / name for name in self.record["sidecars"]]


class Tee(Protocol):
    """Takes a copy of a download's bytes in order; never raises (a failure is its own)."""

    def feed(self, chunk: bytes) -> None: ...

    def restart(self) -> None: ...


class MirrorOutcome(Exception):
    """Why one mirror did not yield a verified artifact."""

    def __init__(
        self, reason: str, integrity: bool, stalled: bool = False, absent: bool = False
    ) -> None:
        super().__init__(reason)
        self.integrity = integrity
        self.stalled = stalled  # the mirror has the file but stopped sending it
        self.absent = absent  # the mirror answered that it lacks the file


class ArtifactFetcher:
    def __init__(
        self,
        mirrors: list[str],
        http: Http,
        cache: Cache,
        keys: Keys,
        progress: Progress,
        use_pins: bool = True,
        on_download: Callable[[], None] = lambda: None,
        tee: Callable[[Artifact], Tee | None] = lambda artifact: None,
    ) -> None:
        self.mirrors = [m.rstrip("/") for m in mirrors]
        self.on_download = on_download  # called before a release is fetched from a mirror
        # Where else a release's bytes go as they arrive (the bundle's Prefix), if anywhere:
        # asked at the start of each download, which begins it anew.
        self.tee = tee
        self.http = http
        self.cache = cache
        self.keys = keys
        self.progress = progress
        self.use_pins = use_pins

    def fetch(self, component: Component) -> FetchedArtifact:
        artifact = component.artifact
        entry = self.cache.artifact_dir(artifact.path)
        with self.cache.locked(f"artifact:{artifact.path}"):
            record = self.cache.read_record(entry)
            if record is not None and self._record_usable(record, artifact, entry):
                rotten = self.cache.rotten(entry, record, self.progress.info)
                if rotten is not None:
                    self.progress.warn(
                        f"cached {rotten}; evicting it and fetching {artifact.file} again"
                    )
                    self.cache.evict(entry)
                    return self._from_mirrors(component, entry)
                fetched = FetchedArtifact(component, entry, record, from_cache=True)
                try:
                    fetched.signature = self._signature(fetched)
                    self.progress.info(f"cached  {artifact.file} (no download)")
                    return fetched
                except SignatureError:
                    # The cached bytes fail a check they were never put through (other KEYS
                    # now): drop them and fetch anew, so the mirrors decide.
                    self.cache.evict(entry)
            elif entry.exists():
                self.cache.evict(entry)
            return self._from_mirrors(component, entry)

    def _record_usable(self, record: dict[str, Any], artifact: Artifact, entry: Path) -> bool:
        if record.get("schema") != RECORD_SCHEMA:
            return False
        pin = artifact.pin
        if self.use_pins and pin is not None:
            digest = record.get("digests", {}).get(pin.algorithm)
            if digest is None:
                return False
            if not checksums.same(pin.digest, digest):
                return False
        return True

    def _signature(self, fetched: FetchedArtifact) -> dict[str, Any]:
        record = fetched.record
        asc_name = record.get("signature_file")
        asc = fetched.entry / asc_name if asc_name else None
        project = fetched.artifact.project
        cached = record.get("signatures", {})
        if self.keys.files(project) and asc is not None:
            known = cached.get(self.keys.digest(project))
            if known:
                return dict(known)
        result = self.keys.verify(fetched.file, asc, fetched.artifact.file, project)
        if result.get("status") == "good":
            cached[result["keys_sha256"]] = result
            record["signatures"] = cached
            self.cache.update_record(fetched.entry, record)
        return result

    def _from_mirrors(self, component: Component, entry: Path) -> FetchedArtifact:
        artifact = component.artifact
        self.on_download()
        outcomes: list[str] = []
        integrity = False
        stalled = False
        absent = True  # until a mirror fails otherwise than by lacking the file
        for number, mirror in enumerate(self.mirrors, 1):
            staged = self.cache.tmpdir()
            try:
                record = self._try_mirror(mirror, artifact, staged)
                fetched = FetchedArtifact(component, staged, record)
                fetched.signature = self._signature_staged(fetched)
                self._report(fetched)
                record.setdefault("signatures", {})
                # Taken before the rename, which keeps the file's inode and ctime.
                record["fingerprint"] = fingerprint(staged / artifact.file)
                if fetched.signature.get("status") == "good":
                    record["signatures"][fetched.signature["keys_sha256"]] = fetched.signature
                self.cache.commit(staged, entry, record)
                fetched.entry = entry
                return fetched
            except MirrorOutcome as outcome:
                outcomes.append(f"{mirror}: {outcome}")
                integrity = integrity or outcome.integrity
                absent = absent and outcome.absent
                if outcome.stalled:
                    stalled = True
                    after = (
                        "moving on to the next mirror"
                        if number < len(self.mirrors)
                        else "no other mirror to try"
                    )
                    self.progress.warn(f"{mirror} stalled on {artifact.file}: {outcome}; {after}")
            except IntegrityError as exc:
                outcomes.append(f"{mirror}: {exc}")
                integrity = True
            finally:
                if staged.exists():
                    shutil.rmtree(staged, ignore_errors=True)
        summary = " | ".join(outcomes) or "no mirrors configured"
        if integrity:
            raise IntegrityError(f"no mirror served a verified {artifact.file}: {summary}")
        if stalled:
            raise DownloadError(
                f"no mirror delivered {artifact.file}: {summary}; a mirror that stopped sending "
                "has the file but is slow or overloaded: try again later, pass another "
                "--mirror URL, or raise --read-timeout / --mirror-deadline"
            )
        if absent:
            raise DownloadError(
                f"no mirror has {artifact.file} (looked for {artifact.path}): {summary}; "
                "check the version or pass --mirror URL"
            )
        raise DownloadError(
            f"no mirror served {artifact.file}: {summary}; fix what the mirror's reason names, "
            "or pass another --mirror URL"
        )

    def _report(self, fetched: FetchedArtifact) -> None:
        name = fetched.artifact.file
        signature = fetched.signature
        if signature.get("status") == "good":
            self.progress.info(f"signed  {name}: good signature, key {signature['fingerprint']}")
            return
        strong = [c for c in fetched.record["checked"] if c["algorithm"] not in checksums.WEAK]
        if not strong:
            self.progress.warn(
                f"{name}: only {fetched.record['checked'][0]['algorithm']} was checked and no "
                "signature: that detects corruption, not tampering; use --apache-keys or "
                "--gpg require"
            )

    def _signature_staged(self, fetched: FetchedArtifact) -> dict[str, Any]:
        streamed = fetched.record.pop("streamed_signature", None)
        if streamed is not None:
            return dict(streamed)
        asc_name = fetched.record.get("signature_file")
        asc = fetched.entry / asc_name if asc_name else None
        return self.keys.verify(fetched.file, asc, fetched.artifact.file, fetched.artifact.project)

    def _get_small(self, url: str, deadline: float | None) -> bytes | None:
        try:
            return self.http.get_bytes(url, limit=1 << 20, deadline=deadline)
        except NotFound:
            return None

    def _sidecars(
        self, url: str, artifact: Artifact, deadline: float | None
    ) -> tuple[list[bytes | None], bytes | None]:
        """The checksum files (None where the mirror has none) and the signature, asked for
        all at once: on a distant mirror each request is a round trip before the download.
        The first goes on this thread, whose connection the download then reuses."""
        exts = [*artifact.checksums, *([artifact.signature] if artifact.signature else [])]
        if not exts:
            return [], None

        def get(ext: str) -> bytes | None:
            return self._get_small(f"{url}.{ext}", deadline)

        with ThreadPoolExecutor(max(1, len(exts) - 1), thread_name_prefix="sidecar") as pool:
            others = [pool.submit(get, ext) for ext in exts[1:]]
            bodies = [get(exts[0]), *(f.result() for f in others)]
        sums = bodies[: len(artifact.checksums)]
        return sums, (bodies[-1] if artifact.signature else None)

    def _try_mirror(self, mirror: str, artifact: Artifact, staged: Path) -> dict[str, Any]:
        """One mirror's copy of a release, staged and verified; its cache record."""
        url = f"{mirror}/{artifact.path}"
        deadline = self.http.deadline()
        pin = artifact.pin if self.use_pins else None
        try:
            side = self._stage_sidecars(url, artifact, staged, pin, deadline)
            best = side.best()
            asc = staged / side.signature_file if side.signature_file else None
            stream = _Stream(self.keys, artifact, _algorithms(best, pin), asc, self.tee)
            got = self._download(url, artifact, staged, stream, deadline)
            scan_error = stream.finish()
        except NotFound as exc:
            raise MirrorOutcome(f"not found ({exc.url})", False, absent=True) from None
        except Stalled as exc:
            raise MirrorOutcome(f"{exc.reason} ({exc.url})", False, stalled=True) from None
        except HttpFailure as exc:
            raise MirrorOutcome(exc.reason, False) from None
        try:
            digests = stream.digests()
            checked = self._verify(artifact, best, pin, digests, scan_error)
            summary = self._check_tar(artifact, stream.scanner, checked)
            signature = self._finish_signature(artifact, staged, asc, stream)
        finally:
            stream.abandon()
        return _record(mirror, url, artifact, got, side, digests, checked, summary, signature)

    def _stage_sidecars(
        self,
        url: str,
        artifact: Artifact,
        staged: Path,
        pin: Pin | None,
        deadline: float | None,
    ) -> _Sidecars:
        """The checksum files and the signature beside the release, written into `staged`;
        a mirror with no checksum file (and no pin to check against) lacks the release."""
        side = _Sidecars()
        sums, asc_body = self._sidecars(url, artifact, deadline)
        for ext, body in zip(artifact.checksums, sums, strict=True):
            if body is None:
                continue
            name = f"{artifact.file}.{ext}"
            side.keep(staged, name, body)
            for entry in checksums.for_file(body.decode("utf-8", "replace"), artifact.file):
                side.published.append(
                    {"file": name, "algorithm": entry.algorithm, "digest": entry.digest}
                )
        if not side.published and pin is None:
            tried = ", ".join(f".{e}" for e in artifact.checksums)
            raise MirrorOutcome(
                f"no checksum file next to {artifact.file} (tried {tried})", False, absent=True
            )
        if artifact.signature and asc_body is not None:
            side.signature_file = f"{artifact.file}.{artifact.signature}"
            side.keep(staged, side.signature_file, asc_body)
        return side

    def _download(
        self, url: str, artifact: Artifact, staged: Path, stream: _Stream, deadline: float | None
    ) -> Downloaded:
        """The release into `staged`, each chunk to the stream's consumers as it arrives."""
        bar = self.progress.bar(artifact.file)
        self.progress.info(f"fetch   {url}")

        def on_data(chunk: bytes) -> None:
            stream.feed(chunk)
            bar.update(len(chunk))

        def on_restart() -> None:
            stream.restart()
            bar.reset()

        try:
            with open(staged / artifact.file, "w+b") as out:
                return self.http.download(
                    url, out, on_data, on_restart, bar.total, deadline=deadline
                )
        except BaseException:
            stream.stop()
            raise
        finally:
            bar.close()

    def _verify(
        self,
        artifact: Artifact,
        best: checksums.Checksum | None,
        pin: Pin | None,
        digests: dict[str, str],
        scan_error: BaseException | None,
    ) -> list[dict[str, str]]:
        """The published checksum, then the recipes' pin, then the tar check's failure if it
        had one (bad bytes break the gzip stream too: a mismatch is named as one first)."""
        checked: list[dict[str, str]] = []
        if best is not None:
            checksums.check(artifact.file, best.algorithm, best.digest, digests[best.algorithm])
            checked.append({"source": "apache", "algorithm": best.algorithm})
        if pin is not None:
            if not checksums.same(pin.digest, digests[pin.algorithm]):
                raise IntegrityError(pin_mismatch(artifact.file, pin, digests, best))
            checked.append({"source": "recipes-pin", "algorithm": pin.algorithm})
        if scan_error is not None:
            if isinstance(scan_error, UnsafeArchiveError):
                raise scan_error
            raise IntegrityError(f"{artifact.file}: could not be read as a tarball ({scan_error})")
        return checked

    def _check_tar(
        self, artifact: Artifact, scanner: TarScanner, checked: list[dict[str, str]]
    ) -> ArchiveSummary:
        """The release's binary tarball, with its launcher; said once checked."""
        summary = scanner.finish()
        launcher = artifact.launcher
        if launcher and f"{artifact.top}/{launcher}" not in summary.names:
            raise IntegrityError(
                f"{artifact.file}: has no {artifact.top}/{launcher}; "
                "this is not the release's binary tarball"
            )
        self.progress.info(
            f"checked {artifact.file}: "
            + ", ".join(f"{c['algorithm']} ({c['source']})" for c in checked)
        )
        return summary

    def _finish_signature(
        self, artifact: Artifact, staged: Path, asc: Path | None, stream: _Stream
    ) -> dict[str, Any] | None:
        """The signature checked as the bytes streamed, now judged; None when none was."""
        streamed, stream.gpg = stream.gpg, None
        if streamed is None:
            return None
        assert asc is not None
        return self.keys.finish(
            streamed, staged / artifact.file, asc, artifact.file, artifact.project
        )


@dataclass
class _Sidecars:
    """The checksum files and the signature one mirror serves beside a release, as staged."""

    published: list[dict[str, str]] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    sha256: dict[str, str] = field(default_factory=dict)
    signature_file: str | None = None

    def keep(self, staged: Path, name: str, body: bytes) -> None:
        (staged / name).write_bytes(body)
        self.names.append(name)
        self.sha256[name] = _sha256(body)

    def best(self) -> checksums.Checksum | None:
        """The strongest checksum published."""
        return checksums.strongest(
            checksums.Checksum(p["algorithm"], p["digest"], None) for p in self.published
        )


def _algorithms(best: checksums.Checksum | None, pin: Pin | None) -> list[str]:
    """What to hash a release with: sha256 and sha512 always, and whatever is compared."""
    wanted = {"sha256", "sha512"}
    if best is not None:
        wanted.add(best.algorithm)
    if pin is not None:
        wanted.add(pin.algorithm)
    return sorted(wanted)


def _record(
    mirror: str,
    url: str,
    artifact: Artifact,
    got: Downloaded,
    side: _Sidecars,
    digests: dict[str, str],
    checked: list[dict[str, str]],
    summary: ArchiveSummary,
    signature: dict[str, Any] | None,
) -> dict[str, Any]:
    """A verified release's cache record: where it came from and what was checked."""
    return {
        "schema": RECORD_SCHEMA,
        "project": artifact.project,
        "version": artifact.version,
        "file": artifact.file,
        # Kept in the cache and the provenance: never with a password. The URL is the one
        # that served the bytes, after any redirect from the mirror's download link.
        "url": redact(got.url or url),
        "mirror": redact(mirror),
        "size": got.size,
        "last_modified": got.last_modified,
        "resumed": got.resumed,
        "digests": digests,
        "sha256": digests["sha256"],
        "published": side.published,
        "checked": checked,
        "sidecars": sorted(side.names),
        "sidecar_sha256": side.sha256,
        "signature_file": side.signature_file,
        "archive": {
            "top": artifact.top,
            "entries": summary.entries,
            "newest_mtime": summary.newest_mtime,
            # The release's jars (paths under its top folder): matched against known flaws.
            "jars": jars_in(summary, artifact.top),
        },
        "streamed_signature": signature,
    }


def jars_in(summary: ArchiveSummary, top: str) -> list[str]:
    """The .jar entries of an archive, as paths under its top folder, sorted."""
    prefix = top + "/"
    return sorted(
        n[len(prefix) :] for n in summary.names if n.startswith(prefix) and n.endswith(".jar")
    )


class _Stream:
    """Where a release's bytes go as they download: one hasher per algorithm, each on its own
    thread, the tar check on another (the bytes are read once and the work spreads over the
    cores), the signature check when there is one, and the bundle's head start (a Tee) when
    it takes them. All begun anew when the download starts over."""

    def __init__(
        self,
        keys: Keys,
        artifact: Artifact,
        algorithms: list[str],
        asc: Path | None,
        tee: Callable[[Artifact], Tee | None],
    ) -> None:
        self.keys = keys
        self.artifact = artifact
        self.algorithms = algorithms
        self.asc = asc
        self.scanner = TarScanner(artifact.file, expected_top=artifact.top)
        self.gpg = keys.stream(artifact.project, asc, artifact.file)
        self.tee = tee(artifact)
        self._start()

    def _start(self) -> None:
        self.hashers = [checksums.MultiHash([alg]) for alg in self.algorithms]
        consumers: list[Callable[[bytes], None]] = [h.update for h in self.hashers]
        consumers.append(self.scanner.feed)
        if self.gpg is not None:
            consumers.append(self.gpg.feed)
        if self.tee is not None:
            consumers.append(self.tee.feed)
        self.fanout = Fanout(consumers)

    def feed(self, chunk: bytes) -> None:
        self.fanout.feed(chunk)

    def restart(self) -> None:
        self.fanout.close()
        self.scanner.restart()
        if self.gpg is not None:
            self.gpg.abandon()
            self.gpg = self.keys.stream(self.artifact.project, self.asc, self.artifact.file)
        if self.tee is not None:
            self.tee.restart()
        self._start()

    def finish(self) -> BaseException | None:
        """Wait for every consumer. A hasher's failure is raised; the tar check's is returned,
        to be judged after the checksums: bad bytes usually break the gzip stream before the
        hash can be compared, and the report should say "checksum mismatch" when it is one."""
        errors = self.fanout.close()
        for error in errors[: len(self.hashers)]:
            if error is not None:
                self.abandon()  # no signature check follows a failed hash
                raise error
        return errors[len(self.hashers)]

    def digests(self) -> dict[str, str]:
        return {alg: d for h in self.hashers for alg, d in h.hexdigests().items()}

    def stop(self) -> None:
        """After a failed download: the consumers stopped, their failures moot."""
        self.fanout.close()
        self.abandon()

    def abandon(self) -> None:
        """Stop a signature check that will not be finished."""
        if self.gpg is not None:
            self.gpg.abandon()
            self.gpg = None


def pin_mismatch(file: str, pin: Any, digests: dict[str, str], apache: Any) -> str:
    """One line for bytes that are not the ones the recipes pin, saying when --no-pins is
    the answer: only for a mirror that serves rebuilt artifacts on purpose."""
    said = (
        f"the {apache.algorithm} checksum file served with them agrees, so these are other "
        "bytes than Apache published, with a checksum made to match"
        if apache is not None
        else "no checksum file vouches for them"
    )
    return (
        f"{file} (recipes pin): {pin.algorithm} mismatch: expected {pin.digest}, got "
        f"{digests[pin.algorithm]}; {said}. If this mirror rebuilds artifacts on purpose (a "
        "test mirror, a trusted internal rebuild), build with --no-pins; otherwise do not: the "
        "bytes are corrupt or tampered with, use another --mirror"
    )
