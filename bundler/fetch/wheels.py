"""supervisord's wheels for every target Python, exactly as the committed locks say.

Each lock (recipes/python/supervisor-<v>/py<X.Y>.txt) was compiled by pip-tools under that
Python, with hashes. For every locked requirement we take a wheel that installs on that
Python and whose sha256 is one the lock lists: from the find-links locations first, then the
package indexes (PEP 691 JSON or PEP 503 HTML), each over HTTP(S) or on disk (`file://` or a
path: the pages, or a plain folder of wheels), as pip's settings say (bundler.recipes.pipconf). A
location that fails is named in a warning and the others still serve. Wheels are cached by
hash, so a warm build asks no index anything, nor pip for its settings.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit
from urllib.request import url2pathname

from packaging.tags import Tag, compatible_tags
from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import Version

from bundler.errors import DownloadError, IntegrityError, UsageError
from bundler.fetch.cache import Cache, fingerprint
from bundler.fetch.http import (
    Http,
    HttpConfig,
    HttpFailure,
    NotFound,
    Stalled,
    check_pem,
    default_verify,
)
from bundler.fetch.licences import LICENCE_READER, licence_of
from bundler.progress import Progress
from bundler.recipes.pipconf import IndexSettings, Lazy
from bundler.recipes.recipes import RECIPES_DIR, SupervisorRecipe
from bundler.redact import redact

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
    source: str  # URL or path it came from ("cache": none in this build)
    size: int
    verified: dict[str, int] | None = None  # fingerprint when this build hashed it (bundle.py)
    # The licence its METADATA declares (None: none), when known without opening the wheel:
    # read once, on the thread that downloaded it, and kept in its cache record.
    licence: str | None = None
    licence_read: bool = False
    served_by: str = "cache"  # the index or find-links location that listed it


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
    served_by: str = ""  # the index or find-links location that listed it


class Unavailable(Exception):
    """One index or find-links location could not be read (`reason`: why, for reports)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
        filename = unquote(os.path.basename(urlsplit(base).path)) or text
        sha = fragment[7:].lower() if fragment.startswith("sha256=") else None
        out.append(Candidate(filename, _local(base) or base, sha))
    return out


def _from_json(page_url: str, text: str) -> list[Candidate]:
    """A PEP 691 project page."""
    out = []
    for f in json.loads(text).get("files", []):
        url = urljoin(page_url, f["url"])
        sha = f.get("hashes", {}).get("sha256")
        out.append(Candidate(f["filename"], _local(url) or url, sha))
    return out


def _parse(page_url: str, body: bytes) -> list[Candidate]:
    text = body.decode("utf-8", "replace")
    try:
        if text.lstrip().startswith("{"):
            return _from_json(page_url, text)
        return _from_html(page_url, text)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Unavailable(f"not an index page ({type(exc).__name__}: {exc})") from None


def _local(location: str) -> str | None:
    """The path a file: URL or a plain path names; None for an http(s) URL."""
    if location.startswith(("http://", "https://")):
        return None
    if location.startswith("file:"):
        return url2pathname(urlsplit(location).path)
    return location


def _read_local(path: Path, index_page: bool) -> list[Candidate]:
    """A page on disk (a folder's index.html or index.json, as pip reads a file: index) or
    a plain folder of files. A project folder an index lacks is no candidate, not a fault."""
    if path.is_dir():
        for page in ("index.html", "index.json"):
            if (path / page).is_file():
                return _read_local(path / page, index_page)
        try:
            files = sorted(p for p in path.iterdir() if p.is_file())
        except OSError as exc:
            raise Unavailable(f"cannot list {path} ({exc.strerror or exc})") from None
        return [Candidate(p.name, str(p), None) for p in files]
    if index_page and not path.exists():
        if path.parent.is_dir():
            return []
        raise Unavailable(f"no such folder: {path.parent}")
    try:
        body = path.read_bytes()
    except OSError as exc:
        raise Unavailable(f"cannot read {path} ({exc.strerror or exc})") from None
    return _parse(path.resolve().as_uri(), body)


def index_http(settings: IndexSettings, base: HttpConfig) -> Http:
    """The HTTP client pip's settings make: its CA bundle, client certificate, trusted hosts,
    proxy, timeout and retries over the build's own timeouts."""
    if settings.cert:
        check_pem(settings.cert, "pip's cert setting", "a PEM file of CA certificates")
    if settings.client_cert:
        check_pem(settings.client_cert, "pip's client-cert setting", "a PEM file with a key")
    timeout = settings.timeout
    return Http(
        replace(
            base,
            verify=default_verify(settings.cert),
            client_cert=settings.client_cert,
            trusted_hosts=settings.trusted_hosts,
            proxy=settings.proxy,
            connect_timeout=timeout or base.connect_timeout,
            read_timeout=timeout or base.read_timeout,
            attempts=base.attempts if settings.retries is None else settings.retries + 1,
            tls_hint="set pip's cert (pip.conf or PIP_CERT) to the CA that signed it",
        )
    )


class WheelResolver:
    def __init__(
        self,
        settings: Lazy | IndexSettings,
        base: HttpConfig,
        cache: Cache,
        progress: Progress,
    ) -> None:
        """`settings`: where and how to fetch (pip's, read when a wheel is first missing from
        the cache); `base`: the build's timeouts, under pip's own."""
        self._settings = settings
        self._base = base
        self.cache = cache
        self.progress = progress
        self._lock = threading.Lock()
        self._http: Http | None = None
        self._cancelled = False
        self._pages: dict[str, list[Candidate] | Unavailable] = {}
        self._warned: set[str] = set()
        self._announced = False

    @property
    def settings(self) -> IndexSettings:
        source = self._settings
        settings = source.get() if isinstance(source, Lazy) else source
        with self._lock:
            if not self._announced:
                self._announced = True
                if settings.origin == "pip configuration":
                    self.progress.info(f"index   {settings.describe()} (pip's configuration)")
                for warning in settings.warnings:
                    self.progress.warn(warning)
        return settings

    @property
    def http(self) -> Http:
        """The index's HTTP client, made from pip's settings the first time it is needed."""
        settings = self.settings
        with self._lock:
            if self._http is None:
                self._http = index_http(settings, self._base)
                if self._cancelled:
                    self._http.cancel()
            return self._http

    @property
    def requests_made(self) -> int:
        return self._http.requests_made if self._http is not None else 0

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            if self._http is not None:
                self._http.cancel()

    def sources(self) -> list[tuple[str, str]]:
        """(kind, location) in the order they are asked: find-links, then the indexes."""
        settings = self.settings
        out = [("find-links", link) for link in settings.find_links]
        if not settings.no_index:
            indexes = (settings.index_url, *settings.extra_index_urls)
            out += [("index", index.rstrip("/")) for index in indexes]
        return out

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

    def _listing(self, kind: str, location: str, name: str) -> list[Candidate]:
        """The files one location offers for project `name`, each naming that location."""
        if kind == "index":
            page = f"{location}/{name}/"
            found = self._page(page, index_page=True)
        else:
            found = [c for c in self._page(location, index_page=False) if _wheel_name(c.filename)]
        return [
            Candidate(c.filename, c.url, c.sha256, location)
            for c in found
            if _wheel_name(c.filename) == name
        ]

    def _page(self, location: str, index_page: bool) -> list[Candidate]:
        """One page (or folder), read once per build; a failure is remembered too."""
        with self._lock:
            known = self._pages.get(location)
        if known is None:
            try:
                known = self._read(location, index_page)
            except Unavailable as exc:
                known = exc
            with self._lock:
                self._pages[location] = known
        if isinstance(known, Unavailable):
            raise known
        return known

    def _read(self, location: str, index_page: bool) -> list[Candidate]:
        path = _local(location)
        if path is not None:
            if not index_page and not Path(path).exists():
                raise Unavailable(f"no such folder or file: {path}")
            return _read_local(Path(path), index_page)
        try:
            body = self.http.get_bytes(location)
        except NotFound:
            if not index_page:
                raise Unavailable("HTTP 404") from None
            return []  # the index has no such project
        except HttpFailure as exc:
            raise Unavailable(exc.reason) from None
        return _parse(location, body)

    def _candidates(self, name: str, problems: list[str]) -> list[Candidate]:
        """Every location's files for `name`; a location that fails is reported and left."""
        out: list[Candidate] = []
        for kind, location in self.sources():
            try:
                out += self._listing(kind, location, name)
            except Unavailable as exc:
                where = f"{kind} {redact(location)}"
                problems.append(f"{where}: {exc.reason}")
                with self._lock:
                    first = where not in self._warned
                    self._warned.add(where)
                if first:
                    self.progress.warn(f"{where}: {exc.reason}; the other locations still serve")
        return out

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
            for cand in self._candidates(req.name, problems):
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
                except Unavailable as exc:
                    problems.append(f"{redact(cand.url)}: {exc.reason}")
        where = ", ".join(redact(location) for _, location in self.sources()) or "nowhere"
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
            try:
                src = open(cand.url, "rb")  # noqa: SIM115 (closed below; its errors are the source's)
            except OSError as exc:
                raise Unavailable(f"cannot read it ({exc.strerror or exc})") from None
            with src, open(target, "wb") as out:
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
            served = redact(cand.served_by)
            record = _wheel_record(cand.filename, digest, stat, read, licence)
            self.cache.commit(staged, final, record)
        finally:
            # Whatever failed (bad bytes, a stall, a full disk): no half-written wheel stays.
            if staged.exists():
                shutil.rmtree(staged, ignore_errors=True)
        self.progress.info(f"wheel   {cand.filename}")
        path = final / cand.filename
        size = path.stat().st_size
        source = redact(cand.url)
        return Wheel(cand.filename, digest, path, source, size, stat, licence, read, served)


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
