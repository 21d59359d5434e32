"""HTTP with the failure handling a flaky mirror needs: retry, resume, fail fast on dead hosts.

- 404/410 is an answer ("this mirror does not have it"), not a failure to retry.
- Connection errors and 5xx are retried with exponential backoff.
- A body cut short is resumed with a Range request (If-Range guards against a changed file);
  a server that ignores Range makes us start over, never splice two different files.
- A host that cannot be connected to after the retries is remembered as down for the rest
  of the build, so later files go straight to the next mirror.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlsplit

import requests
import urllib3

from bundler import __version__

CHUNK = 1 << 20
USER_AGENT = f"bundler/{__version__}"


class HttpFailure(Exception):
    """A request that did not produce the file; `reason` is one short phrase for reports."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class NotFound(HttpFailure):
    pass


class Unreachable(HttpFailure):
    pass


@dataclass(frozen=True)
class Downloaded:
    size: int
    last_modified: str | None
    resumed: int  # how many times the body was resumed with a Range request


@dataclass
class HttpConfig:
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    attempts: int = 4
    backoff: float = 0.25


class Http:
    def __init__(self, config: HttpConfig | None = None) -> None:
        self.config = config or HttpConfig()
        self._local = threading.local()
        self._down: set[str] = set()
        self._lock = threading.Lock()
        self.requests_made = 0

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            # Proxies from the environment still apply; .netrc and friends too.
            self._local.session = session
        return session

    def _host(self, url: str) -> str:
        return urlsplit(url).netloc

    def _request(self, url: str, headers: dict[str, str] | None = None) -> requests.Response:
        if self._host(url) in self._down:
            raise Unreachable(url, "host did not answer earlier in this build")
        cfg = self.config
        last: HttpFailure | None = None
        for attempt in range(cfg.attempts):
            if attempt:
                time.sleep(cfg.backoff * (2 ** (attempt - 1)))
            with self._lock:
                self.requests_made += 1
            try:
                response = self._session().get(
                    url,
                    headers=headers,
                    stream=True,
                    timeout=(cfg.connect_timeout, cfg.read_timeout),
                    allow_redirects=True,
                )
            except requests.exceptions.ConnectionError as exc:
                last = Unreachable(url, f"cannot connect ({_short(exc)})")
                continue
            except requests.exceptions.Timeout:
                last = Unreachable(url, "timed out")
                continue
            except requests.exceptions.RequestException as exc:
                raise HttpFailure(url, _short(exc)) from None
            if response.status_code in (404, 410):
                response.close()
                raise NotFound(url, f"HTTP {response.status_code}")
            if response.status_code >= 500 or response.status_code == 429:
                response.close()
                last = HttpFailure(url, f"HTTP {response.status_code}")
                continue
            if response.status_code >= 400:
                response.close()
                raise HttpFailure(url, f"HTTP {response.status_code}")
            return response
        assert last is not None
        if isinstance(last, Unreachable):
            with self._lock:
                self._down.add(self._host(url))
        raise last

    def get_bytes(self, url: str, limit: int = 16 << 20) -> bytes:
        """A small file (checksum, signature, KEYS, index page) in memory."""
        with self._request(url) as response:
            data = bytearray()
            try:
                for chunk in response.iter_content(CHUNK):
                    data += chunk
                    if len(data) > limit:
                        raise HttpFailure(url, f"larger than {limit} bytes, not a small file")
            except requests.exceptions.RequestException as exc:
                raise HttpFailure(url, f"transfer failed ({_short(exc)})") from None
            return bytes(data)

    def download(
        self,
        url: str,
        out: BinaryIO,
        on_data: Callable[[bytes], None],
        on_restart: Callable[[], None],
        on_total: Callable[[int | None], None] = lambda total: None,
    ) -> Downloaded:
        """Stream `url` into `out`, passing each chunk to `on_data` (hashing, progress).

        `on_restart` is called when the server cannot resume and the body starts over, so the
        caller resets whatever it computed from the chunks so far.
        """
        received = 0
        resumed = 0
        validator: str | None = None
        last_modified: str | None = None
        total: int | None = None
        failures = 0
        while True:
            headers = {}
            if received:
                headers["Range"] = f"bytes={received}-"
                if validator:
                    headers["If-Range"] = validator
            response = self._request(url, headers)
            with response:
                if received and response.status_code == 206:
                    start = _content_range_start(response.headers.get("Content-Range"))
                    if start != received:
                        raise HttpFailure(url, "server answered a different range than asked")
                    resumed += 1
                elif received:
                    # Range ignored (200) or the file changed (If-Range failed): start over.
                    out.seek(0)
                    out.truncate()
                    received = 0
                    on_restart()
                if not received:
                    length = response.headers.get("Content-Length")
                    total = int(length) if length and length.isdigit() else None
                    on_total(total)
                    validator = response.headers.get("ETag") or response.headers.get(
                        "Last-Modified"
                    )
                    last_modified = response.headers.get("Last-Modified")
                try:
                    # The stored bytes, as they arrive (read1): a cut connection loses nothing
                    # already received, and a Content-Encoding never alters what is hashed.
                    raw = response.raw
                    while chunk := raw.read1(CHUNK, decode_content=False):
                        out.write(chunk)
                        on_data(chunk)
                        received += len(chunk)
                except (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError) as exc:
                    failures += 1
                    if failures >= self.config.attempts:
                        raise HttpFailure(
                            url, f"transfer kept failing after {received} bytes ({_short(exc)})"
                        ) from None
                    continue
            if total is not None and received < total:
                failures += 1
                if failures >= self.config.attempts:
                    raise HttpFailure(url, f"got {received} of {total} bytes")
                continue
            out.flush()
            return Downloaded(size=received, last_modified=last_modified, resumed=resumed)


def _content_range_start(value: str | None) -> int | None:
    # "bytes 100-199/200"
    if not value or not value.startswith("bytes "):
        return None
    first = value[6:].split("-", 1)[0]
    return int(first) if first.isdigit() else None


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) < 160 else text[:157] + "..."
