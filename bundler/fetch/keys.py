"""The trusted KEYS each project's signatures are checked against, and their keyrings."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bundler.errors import KeysUnavailableError, SignatureError, UnknownSignerError
from bundler.fetch.cache import Cache
from bundler.fetch.http import Http, HttpFailure
from bundler.fetch.signatures import Keyring, SignatureResult, StreamingVerify, gpg_path
from bundler.progress import Progress

GpgMode = Literal["auto", "require", "off"]


@dataclass(frozen=True)
class Trust:
    """Where trusted KEYS come from, decided once per build."""

    gpg_mode: GpgMode
    keys_files: tuple[Path, ...]  # --apache-keys: used for every project instead of apache.org
    fetch_keys: bool  # allowed to fetch KEYS from apache.org


class Keys:
    """The KEYS file each project's signatures are checked against, and the keyring."""

    def __init__(self, trust: Trust, http: Http, cache: Cache, progress: Progress) -> None:
        self.trust = trust
        self.http = http
        self.cache = cache
        self.progress = progress
        self.gpg = gpg_path()
        self._files: dict[str, list[Path]] = {}
        self._unavailable: dict[str, str] = {}
        self._rings: dict[str, Keyring] = {}
        self._rings_lock = threading.Lock()
        self._urls: dict[str, tuple[str, ...]] = {}
        self._refreshed: set[str] = set()

    def prepare(self, project: str, urls: tuple[str, ...]) -> None:
        """Find KEYS for `project`, or note why signatures cannot be checked."""
        trust = self.trust
        if trust.gpg_mode == "off":
            self._unavailable[project] = "signature checks turned off (--gpg off)"
            return
        if self.gpg is None:
            self._unavailable[project] = "gpg is not installed"
        elif trust.keys_files:
            self._files[project] = list(trust.keys_files)
        elif not trust.fetch_keys:
            self._unavailable[project] = (
                "no trusted KEYS: --no-default-mirrors forbids apache.org; pass --apache-keys FILE"
            )
        else:
            self._urls[project] = urls
            path = self._fetch_keys(project, urls)
            if path is not None:
                self._files[project] = [path]
        if project in self._unavailable and trust.gpg_mode == "require":
            raise KeysUnavailableError(
                f"--gpg require: cannot check {project} signatures: {self._unavailable[project]}"
            )

    def _fetch_keys(
        self, project: str, urls: tuple[str, ...], refresh: bool = False
    ) -> Path | None:
        entry = self.cache.keys_dir(project)
        with self.cache.locked(f"keys:{project}"):
            if not refresh and (entry / "KEYS").is_file():
                return entry / "KEYS"
            reasons = []
            for url in urls:
                if not url.startswith("https://"):
                    reasons.append(f"{url}: not HTTPS")
                    continue
                try:
                    data = self.http.get_bytes(url)
                except HttpFailure as exc:
                    reasons.append(exc.reason)
                    continue
                staged = self.cache.tmpdir()
                (staged / "KEYS").write_bytes(data)
                self.cache.commit(staged, entry, {"url": url, "sha256": _sha256(data)})
                self.progress.info(f"fetched {project} KEYS from {url}")
                return entry / "KEYS"
            self._unavailable[project] = (
                "could not fetch KEYS from apache.org (" + "; ".join(reasons) + ")"
            )
            return None

    def refresh(self, project: str, key: str) -> bool:
        """KEYS fetched again, once per build, bypassing the cache: new release managers join
        every year, so a cached KEYS can predate the key that signed a release. False when the
        KEYS are the user's (--apache-keys), or were fetched again already, or cannot be."""
        if project not in self._urls or project in self._refreshed:
            return False
        self._refreshed.add(project)
        self.progress.info(
            f"{project} KEYS (cached) has no key {key}: fetching the project's KEYS again"
        )
        if self._fetch_keys(project, self._urls[project], refresh=True) is None:
            # Not a reason to skip the check: the signature stays refused.
            reason = self._unavailable.pop(project, "")
            self.progress.warn(f"{project} KEYS could not be fetched again: {reason}")
            return False
        with self._rings_lock:
            ring = self._rings.pop(project, None)
        if ring is not None:
            ring.close()
        return True

    def _still_unknown(self, project: str, exc: UnknownSignerError, what: str) -> SignatureError:
        where = " (the KEYS was fetched again just now)" if project in self._refreshed else ""
        return SignatureError(
            f"{what}: signed by key {exc.key}, which is not in the project's KEYS{where}; "
            "do not use this file (or pass --apache-keys with a KEYS that has the release "
            "manager's key)"
        )

    def finish(
        self, stream: StreamingVerify, file: Path, asc: Path, what: str, project: str
    ) -> dict[str, Any]:
        """The record of a signature checked while downloading; an unknown signer gets one
        more check after the KEYS are fetched again."""
        try:
            return self.record(project, stream.finish())
        except UnknownSignerError as exc:
            if not self.refresh(project, exc.key):
                raise self._still_unknown(project, exc, what) from None
        return self.verify(file, asc, what, project)

    def files(self, project: str) -> list[Path]:
        return self._files.get(project, [])

    def unavailable(self, project: str) -> str | None:
        return self._unavailable.get(project)

    def digest(self, project: str) -> str:
        h = hashlib.sha256()
        for path in self.files(project):
            h.update(path.read_bytes())
        return h.hexdigest()

    def _ring(self, project: str) -> Keyring:
        """One throwaway keyring per project per build, holding only its KEYS."""
        with self._rings_lock:
            if project not in self._rings:
                assert self.gpg is not None
                self._rings[project] = Keyring(self.files(project), self.gpg)
            return self._rings[project]

    def close(self) -> None:
        for ring in self._rings.values():
            ring.close()
        self._rings.clear()

    def stream(self, project: str, asc: Path | None, what: str) -> StreamingVerify | None:
        """A verifier to feed while downloading, when a signature can be checked at all."""
        if asc is None or self.unavailable(project) is not None:
            return None
        return self._ring(project).stream(asc, what)

    def record(self, project: str, result: SignatureResult) -> dict[str, Any]:
        return {
            "status": "good",
            "fingerprint": result.fingerprint,
            "signer": result.signer,
            "keys_sha256": self.digest(project),
        }

    def verify(
        self, fetched_file: Path, asc: Path | None, what: str, project: str
    ) -> dict[str, Any]:
        """Check one signature; returns the record for the manifest or raises SignatureError."""
        reason = self.unavailable(project)
        if reason is None and asc is None:
            reason = "no .asc signature published on the mirror"
        if reason is not None:
            if self.trust.gpg_mode == "require":
                raise SignatureError(f"--gpg require: {what}: {reason}")
            if self.trust.gpg_mode == "auto":
                self.progress.warn(f"signature of {what} NOT verified: {reason}")
            status = "off" if self.trust.gpg_mode == "off" else "unverified"
            return {"status": status, "reason": reason}
        assert asc is not None
        for _ in range(2):
            try:
                return self.record(project, self._ring(project).verify(asc, fetched_file, what))
            except UnknownSignerError as exc:
                if not self.refresh(project, exc.key):
                    raise self._still_unknown(project, exc, what) from None
        raise AssertionError("unreachable: refresh() succeeds at most once per project")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
