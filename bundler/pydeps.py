"""supervisord's wheels for every target Python, exactly as the committed locks say.

Each lock (recipes/python/supervisor-<v>/py<X.Y>.txt) was compiled by pip-tools under that
Python, with hashes. For every locked requirement we take a wheel that installs on that
Python and whose sha256 is one the lock lists: from --find-links folders first, then the
package index (PEP 691 JSON or PEP 503 HTML). Wheels are cached by hash, so a warm build
asks no index anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from packaging.tags import Tag, compatible_tags
from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import Version

from bundler.cache import Cache, fingerprint
from bundler.errors import DownloadError, IntegrityError, UsageError
from bundler.http import Http, HttpFailure, NotFound, Stalled
from bundler.pipconf import DEFAULT_INDEX
from bundler.progress import Progress
from bundler.recipes import RECIPES_DIR, SupervisorRecipe
from bundler.sbom import LICENCE_READER, licence_of

_HASH = re.compile(r"--hash[= ]sha256:([0-9a-fA-F]{64})")


@dataclass(frozen=True)
class Locked:
    name: str  # canonical
    version: str
    hashes: frozenset[str]


@dataclass(frozen=True)
class Lock:
    python: str
    path: Path
    requirements: tuple[Locked, ...]


@dataclass(frozen=True)
class Wheel:
    filename: str
    sha256: str
    path: Path  # in the cache
    source: str  # URL or folder it came from
    size: int
    verified: dict[str, int] | None = None  # fingerprint when this build hashed it (bundle.py)
    # The licence its METADATA declares (None: none), when known without opening the wheel:
    # read once, on the thread that downloaded it, and kept in its cache record.
    licence: str | None = None
    licence_read: bool = False


@dataclass
class PythonSet:
    """What one target Python gets: its lock and the wheels that satisfy it."""

    python: str
    lock: Lock
    wheels: list[Wheel] = field(default_factory=list)

    @property
    def pip_wheel(self) -> Wheel:
        for wheel in self.wheels:
            if canonicalize_name(parse_wheel_filename(wheel.filename)[0]) == "pip":
                return wheel
        raise UsageError(f"lock {self.lock.path} does not lock pip; regenerate it (make locks)")


def parse_lock(text: str, python: str, path: Path) -> Lock:
    requirements = []
    logical = re.sub(r"\\\s*\n", " ", text)
    for line in logical.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#") or line.startswith("-"):
            continue
        spec = line.split("--hash", 1)[0].split(";", 1)[0].strip()
        name, sep, version = spec.partition("==")
        hashes = frozenset(h.lower() for h in _HASH.findall(line))
        if not sep or not hashes:
            raise UsageError(
                f"{path}: line {spec!r} is not pinned with == and --hash; regenerate (make locks)"
            )
        requirements.append(Locked(canonicalize_name(name.strip()), version.strip(), hashes))
    if not requirements:
        raise UsageError(f"{path}: lock is empty; regenerate it (make locks)")
    return Lock(python, path, tuple(requirements))


def load_locks(supervisor: str, recipes_dir: Path = RECIPES_DIR) -> list[Lock]:
    recipe = SupervisorRecipe.load(recipes_dir)
    if not recipe.supports(supervisor):
        raise UsageError(
            f"supervisor {supervisor} is not supported (recipes/supervisor.toml covers 4.x); "
            f"use --supervisor {recipe.default}"
        )
    folder = recipe.lock_dir(supervisor, recipes_dir)
    locks = []
    missing = []
    for python in recipe.pythons:
        path = folder / f"py{python}.txt"
        if not path.is_file():
            missing.append(python)
            continue
        locks.append(parse_lock(path.read_text(encoding="utf-8"), python, path))
    if missing:
        raise UsageError(
            f"no lock for supervisor {supervisor} on Python {', '.join(missing)} in {folder}; "
            f"run `make locks SUPERVISOR={supervisor}` or use --supervisor {recipe.default}"
        )
    return locks


def _tags(python: str) -> frozenset[Tag]:
    major, minor = (int(p) for p in python.split("."))
    return frozenset(compatible_tags((major, minor), f"cp{major}{minor}", ["any"]))


def installable(filename: str, python: str) -> bool:
    try:
        _, _, _, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return False
    return bool(tags & _tags(python))


@dataclass(frozen=True)
class Candidate:
    filename: str
    url: str  # http(s) URL or local path
    sha256: str | None


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href")
            self._text = ""

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href:
            self.links.append((self._href, self._text.strip()))
            self._href = None


def _from_html(page_url: str, html: str) -> list[Candidate]:
    parser = _Anchors()
    parser.feed(html)
    out = []
    for href, text in parser.links:
        url = urljoin(page_url, href)
        base, _, fragment = url.partition("#")
        filename = os.path.basename(urlsplit(base).path) or text
        sha = fragment[7:].lower() if fragment.startswith("sha256=") else None
        out.append(Candidate(filename, base, sha))
    return out


class WheelResolver:
    def __init__(
        self,
        http: Http,
        cache: Cache,
        progress: Progress,
        index_url: str = DEFAULT_INDEX,
        find_links: Iterable[str] = (),
        extra_index_urls: Iterable[str] = (),
        no_index: bool = False,  # pip's no-index: find-links only
    ) -> None:
        self.http = http
        self.cache = cache
        self.progress = progress
        self.index_url = index_url.rstrip("/")
        self.find_links = list(find_links)
        self.indexes = [self.index_url, *(u.rstrip("/") for u in extra_index_urls)]
        if no_index:
            self.indexes = []
        self._pages: dict[str, list[Candidate]] = {}

    def cached(self, req: Locked, python: str, heal: bool = False) -> Wheel | None:
        """A cached wheel whose bytes still match its hash, or None.

        Without `heal` (no lock held) only a wheel whose stat fingerprint still holds counts;
        with it, others are re-hashed, and a rotten one is evicted so it is fetched again."""
        for sha in sorted(req.hashes):
            folder = self.cache.wheel_dir(sha)
            if not folder.is_dir():
                continue
            for path in folder.iterdir():
                if path.suffix != ".whl" or not installable(path.name, python):
                    continue
                record = self.cache.read_record(folder) or {}
                ours = record.get("sha256") == sha
                known = record.get("fingerprint") if ours else None
                read, licence = _recorded_licence(record) if ours else (False, None)
                try:
                    if not heal:
                        if self.cache.paranoid or fingerprint(path) != known:
                            return None  # decided under the lock
                        size = path.stat().st_size
                        return Wheel(
                            path.name, sha, path, "cache", size, licence=licence, licence_read=read
                        )
                    state, now = self.cache.freshness(path, sha, known)
                except FileNotFoundError:
                    return None
                if state == "changed":
                    self.progress.warn(
                        f"cached {path.name} no longer matches the sha256 it was verified with; "
                        "evicting it and fetching it again"
                    )
                    self.cache.evict(folder)
                    break
                if self.cache.paranoid:
                    read, licence = licence_of(path)  # no record trusted: read again
                if state == "rehashed":
                    update = _wheel_record(path.name, sha, now, read, licence)
                    self.cache.update_record(folder, update)
                    self.progress.info(f"re-hashed cached {path.name}: unchanged")
                size = path.stat().st_size
                return Wheel(
                    path.name, sha, path, "cache", size, licence=licence, licence_read=read
                )
        return None

    def _find_links_candidates(self, name: str) -> list[Candidate]:
        out: list[Candidate] = []
        for location in self.find_links:
            if location.startswith(("http://", "https://")):
                out += self._page(location)
            else:
                folder = Path(location)
                if not folder.is_dir():
                    raise UsageError(f"--find-links {location}: not a folder")
                out += [Candidate(p.name, str(p), None) for p in sorted(folder.iterdir())]
        return [c for c in out if _wheel_name(c.filename) == name]

    def _page(self, url: str) -> list[Candidate]:
        if url not in self._pages:
            try:
                body = self.http.get_bytes(url)
            except NotFound:
                body = b""
            text = body.decode("utf-8", "replace")
            if text.lstrip().startswith("{"):
                data = json.loads(text)
                self._pages[url] = [
                    Candidate(
                        f["filename"], urljoin(url, f["url"]), f.get("hashes", {}).get("sha256")
                    )
                    for f in data.get("files", [])
                ]
            else:
                self._pages[url] = _from_html(url, text)
        return self._pages[url]

    def _index_candidates(self, name: str) -> list[Candidate]:
        # pip looks at the index and every extra index alike; the lock's hashes decide.
        return [
            c
            for index in self.indexes
            for c in self._page(f"{index}/{name}/")
            if _wheel_name(c.filename) == name
        ]

    def resolve(self, req: Locked, python: str) -> Wheel:
        wheel = self.cached(req, python)
        if wheel is not None:
            return wheel
        with self.cache.locked(f"wheel:{req.name}=={req.version}"):
            wheel = self.cached(req, python, heal=True)
            if wheel is not None:
                return wheel
            problems: list[str] = []
            tampered = False
            for source in (self._find_links_candidates, self._index_candidates):
                try:
                    candidates = source(req.name)
                except HttpFailure as exc:
                    problems.append(exc.reason)
                    continue
                for cand in candidates:
                    if not installable(cand.filename, python):
                        continue
                    if _wheel_version(cand.filename) != Version(req.version):
                        continue
                    if cand.sha256 and cand.sha256.lower() not in req.hashes:
                        continue
                    try:
                        return self._take(cand, req)
                    except IntegrityError as exc:
                        problems.append(str(exc))
                        tampered = True
                    except HttpFailure as exc:
                        problems.append(f"{exc.url}: {exc.reason}")
                        if isinstance(exc, Stalled):
                            self.progress.warn(
                                f"{exc.url} stalled: {exc.reason}; trying the next source"
                            )
        where = ", ".join([*self.find_links, *self.indexes])
        detail = f" ({'; '.join(problems)})" if problems else ""
        if tampered:
            raise IntegrityError(
                f"no wheel of {req.name}=={req.version} for Python {python} matched the lock's "
                f"hashes{detail}"
            )
        raise DownloadError(
            f"no wheel of {req.name}=={req.version} for Python {python} with a locked hash "
            f"in {where}{detail}; pass --find-links DIR or --index-url URL that has it"
        )

    def _stage(self, cand: Candidate, target: Path) -> str:
        """Copy or download one candidate to `target`; its sha256."""
        h = hashlib.sha256()
        if cand.url.startswith(("http://", "https://")):

            def restart() -> None:
                nonlocal h
                h = hashlib.sha256()

            with open(target, "wb") as out:
                self.http.download(
                    cand.url,
                    out,
                    lambda chunk: h.update(chunk),
                    restart,
                    deadline=self.http.deadline(),
                )
        else:
            with open(cand.url, "rb") as src, open(target, "wb") as out:
                while chunk := src.read(1 << 20):
                    h.update(chunk)
                    out.write(chunk)
        return h.hexdigest()

    def _take(self, cand: Candidate, req: Locked) -> Wheel:
        staged = self.cache.tmpdir()
        try:
            digest = self._stage(cand, staged / cand.filename)
            if digest not in req.hashes:
                raise IntegrityError(
                    f"{cand.filename} from {cand.url}: sha256 {digest} is not one the lock "
                    f"allows for {req.name}=={req.version}"
                )
            final = self.cache.wheel_dir(digest)
            stat = fingerprint(staged / cand.filename)
            # Read here, while the releases still stream in, rather than when the SBOM is
            # rendered after them: opening a wheel parses its whole zip directory.
            read, licence = licence_of(staged / cand.filename)
            record = _wheel_record(cand.filename, digest, stat, read, licence)
            self.cache.commit(staged, final, record)
        finally:
            # Whatever failed (bad bytes, a stall, a full disk): no half-written wheel stays.
            if staged.exists():
                shutil.rmtree(staged, ignore_errors=True)
        self.progress.info(f"wheel   {cand.filename}")
        path = final / cand.filename
        size = path.stat().st_size
        return Wheel(cand.filename, digest, path, cand.url, size, stat, licence, read)


def _wheel_record(
    filename: str, sha256: str, stat: dict[str, int], read: bool, licence: str | None
) -> dict[str, object]:
    """A wheel's cache record; with `read`, also the licence its METADATA declares, and
    which code read it."""
    record: dict[str, object] = {"schema": 1, "file": filename, "sha256": sha256}
    record["fingerprint"] = stat
    if read:
        record["licence"] = licence
        record["licence_reader"] = LICENCE_READER
    return record


def _recorded_licence(record: dict[str, Any]) -> tuple[bool, str | None]:
    """Whether the record holds the wheel's licence (null: it declares none) as this
    bundler's code reads it, and which."""
    value = record.get("licence", False)
    if record.get("licence_reader") != LICENCE_READER:
        return False, None
    return (True, value) if value is None or isinstance(value, str) else (False, None)


def _wheel_name(filename: str) -> str | None:
    try:
        return canonicalize_name(parse_wheel_filename(filename)[0])
    except InvalidWheelFilename:
        return None


def _wheel_version(filename: str) -> Version | None:
    try:
        return parse_wheel_filename(filename)[1]
    except InvalidWheelFilename:
        return None
