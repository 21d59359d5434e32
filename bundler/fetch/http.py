"""HTTP with the failure handling a flaky mirror needs: retry, resume, fail fast on dead hosts.

- 404/410 is an answer ("this mirror does not have it"), not a failure to retry.
- Connection errors and 5xx are retried with exponential backoff.
- A body cut short is resumed with a Range request (If-Range guards against a changed file);
  a server that ignores Range makes us start over, never splice two different files.
- A host that cannot be connected to after the retries is remembered as down for the rest
  of the build, so later files go straight to the next mirror.
- A mirror that goes silent (no byte for `read_timeout` seconds, before or after the headers)
  has stalled: that is a failure at once, not retried, so the caller moves on to the next
  mirror. A per-mirror deadline bounds the whole of one file from one mirror (a trickle).
- Sites: a CA bundle (or the environment's REQUESTS_CA_BUNDLE / SSL_CERT_FILE), a client
  certificate, hosts trusted without verification, one proxy for every request (pip's
  `proxy`) or the environment's HTTPS_PROXY / HTTP_PROXY / NO_PROXY, credentials from the URL
  (kept for later URLs on the same host, as pip does) or ~/.netrc, redirects followed.
- No URL leaves this module with its password: failures carry it redacted.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO
from urllib.parse import unquote, urlsplit, urlunsplit

from bundler import __version__
from bundler.errors import UsageError
from bundler.redact import redact, secret

# requests and urllib3 are imported by the methods that reach the network: a build from a warm
# cache makes no request and does not pay for their import (about 0.1 s).
if TYPE_CHECKING:
    import requests


CHUNK = 1 << 20
USER_AGENT = f"bundler/{__version__}"


class HttpFailure(Exception):
    """A request that did not produce the file; `reason` is one short phrase for reports."""

    def __init__(self, url: str, reason: str) -> None:
        url, reason = redact(url), redact(reason)
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class NotFound(HttpFailure):
    pass


class Unreachable(HttpFailure):
    pass


class Stalled(HttpFailure):
    """The mirror answered, then stopped sending (or took past the per-mirror deadline)."""


@dataclass(frozen=True)
class Downloaded:
    size: int
    last_modified: str | None
    resumed: int  # how many times the body was resumed with a Range request
    url: str = ""  # where the body came from, after any redirect (without credentials)


@dataclass
class HttpConfig:
    connect_timeout: float = 5.0
    # Seconds of silence on one read before the mirror counts as stalled.
    read_timeout: float = 15.0
    # Seconds one mirror gets for one file, all requests and retries included; 0: no limit.
    mirror_deadline: float = 600.0
    attempts: int = 4
    backoff: float = 0.25
    # Parallel connections for one slow file: split when the rest would take longer than
    # slow_seconds at the current rate and is at least min_split bytes.
    segments: int = 4
    slow_seconds: float = 3.0
    min_split: int = 8 << 20
    # TLS: a CA bundle file (True: the default one), a client certificate (PEM with its key),
    # hosts (host or host:port) whose certificate is not checked; what to do when one fails.
    verify: bool | str = True
    client_cert: str | None = None
    trusted_hosts: tuple[str, ...] = ()
    tls_hint: str = "pass --ca-bundle FILE with the CA that signed it"
    # One proxy for every request (pip's `proxy`), else the environment's *_PROXY/NO_PROXY.
    proxy: str | None = None


def default_verify(ca_bundle: str | None, env: dict[str, str] | None = None) -> bool | str:
    """The CA bundle a request checks servers against: the one given, else the environment's
    REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE or SSL_CERT_FILE, else the default one (True)."""
    environ = os.environ if env is None else env
    for value in (ca_bundle, *(environ.get(v) for v in _CA_VARIABLES)):
        if value:
            return value
    return True


_CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE")


def check_pem(path: str, what: str, expected: str) -> None:
    """Refuse, before any download, a CA bundle or client certificate that TLS cannot load."""
    import ssl

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        if "key" in expected:
            context.load_cert_chain(path)
        elif os.path.isdir(path):
            context.load_verify_locations(capath=path)
        else:
            context.load_verify_locations(cafile=path)
    except FileNotFoundError:
        raise UsageError(f"{what} {path}: no such file; expected {expected}") from None
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"{what} {path}: cannot be loaded ({exc}); expected {expected}") from None


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """url without its user:password@, and the (decoded) user and password it held."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    info, _, host = parts.netloc.rpartition("@")
    user, _, password = info.partition(":")
    secret(unquote(password))
    return urlunsplit(parts._replace(netloc=host)), (unquote(user), unquote(password))


class Http:
    def __init__(self, config: HttpConfig | None = None) -> None:
        self.config = config or HttpConfig()
        self._local = threading.local()
        self._down: set[str] = set()
        self._lock = threading.Lock()
        self._cancelled = threading.Event()
        self._credentials: dict[str, tuple[str, str]] = {}  # netloc -> from an earlier URL
        self.requests_made = 0
        if self.config.trusted_hosts:
            import urllib3

            # The user asked for these hosts to go unchecked; one line each is no news.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    def _session(self) -> requests.Session:
        import requests

        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            # Proxies and CA bundles from the environment still apply, and so does ~/.netrc
            # for a host no URL gave credentials for.
            session.cert = self.config.client_cert
            self._local.session = session
        return session

    def cancel(self) -> None:
        """Make every transfer under way, and every later request, fail at once."""
        self._cancelled.set()

    def _check_cancelled(self, url: str) -> None:
        if self._cancelled.is_set():
            raise HttpFailure(url, "cancelled")

    def _host(self, url: str) -> str:
        return urlsplit(url).netloc.rpartition("@")[2]

    def deadline(self) -> float | None:
        """The monotonic time by which one mirror must have delivered one file, or None."""
        limit = self.config.mirror_deadline
        return time.monotonic() + limit if limit > 0 else None

    def _check_deadline(self, url: str, deadline: float | None, received: int = 0) -> None:
        if deadline is not None and time.monotonic() > deadline:
            raise Stalled(
                url,
                f"not finished within the per-mirror deadline of "
                f"{self.config.mirror_deadline:g} s after {received} bytes (--mirror-deadline)",
            )

    def _silence(self, url: str, received: int, total: int | None) -> Stalled:
        of = f" of {total}" if total is not None else ""
        return Stalled(
            url,
            f"stopped sending: no data for {self.config.read_timeout:g} s after "
            f"{received}{of} bytes (--read-timeout)",
        )

    def _request(
        self, url: str, headers: dict[str, str] | None = None, deadline: float | None = None
    ) -> requests.Response:
        import requests

        self._check_cancelled(url)
        if self._host(url) in self._down:
            raise Unreachable(url, "host did not answer earlier in this build")
        cfg = self.config
        bare, auth = self._auth(url)
        proxies = {"http": cfg.proxy, "https": cfg.proxy} if cfg.proxy else None
        last: HttpFailure | None = None
        for attempt in range(cfg.attempts):
            if attempt:
                time.sleep(cfg.backoff * (2 ** (attempt - 1)))
            self._check_deadline(url, deadline)
            with self._lock:
                self.requests_made += 1
            try:
                response = self._session().get(
                    bare,
                    headers=headers,
                    stream=True,
                    timeout=(cfg.connect_timeout, cfg.read_timeout),
                    allow_redirects=True,
                    auth=auth,
                    verify=self._verify(bare),
                    proxies=proxies,
                )
            except requests.exceptions.SSLError as exc:
                # Not worth a retry: the same certificate comes back.
                raise HttpFailure(
                    url, f"TLS verification failed ({_short(exc)}); {cfg.tls_hint}"
                ) from None
            except requests.exceptions.ProxyError as exc:
                last = Unreachable(url, f"the proxy failed ({_short(exc)})")
                continue
            except requests.exceptions.ConnectionError as exc:
                last = Unreachable(url, f"cannot connect ({_short(exc)})")
                continue
            except requests.exceptions.Timeout:
                # Connected, then no answer: a stalled mirror, not worth another wait.
                raise Stalled(
                    url, f"no answer within {cfg.read_timeout:g} s (--read-timeout)"
                ) from None
            except requests.exceptions.RequestException as exc:
                raise HttpFailure(url, _short(exc)) from None
            if response.status_code in (404, 410):
                response.close()
                raise NotFound(url, f"HTTP {response.status_code}")
            if response.status_code >= 500 or response.status_code == 429:
                response.close()
                last = HttpFailure(url, f"HTTP {response.status_code}")
                continue
            if response.status_code == 401:
                response.close()
                given = "were refused" if auth or _netrc_auth(bare) else "are needed"
                raise HttpFailure(
                    url,
                    f"HTTP {response.status_code}: credentials {given}; put user:password@ in "
                    "the URL or the host in ~/.netrc",
                )
            if response.status_code >= 400:
                response.close()
                raise HttpFailure(url, f"HTTP {response.status_code}")
            return response
        assert last is not None
        if isinstance(last, Unreachable):
            with self._lock:
                self._down.add(self._host(url))
        raise last

    def _auth(self, url: str) -> tuple[str, tuple[str, str] | None]:
        """The URL to ask without its credentials, and the credentials to send: its own,
        else those an earlier URL gave for the same host (a file an index page links to on
        its own host), else None, which leaves ~/.netrc to requests."""
        bare, given = split_credentials(url)
        netloc = urlsplit(bare).netloc
        with self._lock:
            if given is not None:
                self._credentials[netloc] = given
            return bare, self._credentials.get(netloc)

    def _verify(self, url: str) -> bool | str:
        parts = urlsplit(url)
        trusted = self.config.trusted_hosts
        if parts.hostname in trusted or parts.netloc in trusted:
            return False
        return self.config.verify

    def get_bytes(self, url: str, limit: int = 16 << 20, deadline: float | None = None) -> bytes:
        """A small file (checksum, signature, KEYS, index page) in memory."""
        import requests
        import urllib3

        with self._request(url, deadline=deadline) as response:
            data = bytearray()
            try:
                for chunk in response.iter_content(CHUNK):
                    data += chunk
                    if len(data) > limit:
                        raise HttpFailure(url, f"larger than {limit} bytes, not a small file")
                    self._check_deadline(url, deadline, len(data))
            except requests.exceptions.ConnectionError as exc:
                causes = (*exc.args, exc.__context__)
                if any(isinstance(c, urllib3.exceptions.ReadTimeoutError) for c in causes):
                    raise self._silence(url, len(data), None) from None
                raise HttpFailure(url, f"transfer failed ({_short(exc)})") from None
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
        deadline: float | None = None,
    ) -> Downloaded:
        """Stream `url` into `out`, passing each chunk to `on_data` (hashing, progress).

        `on_restart` is called when the server cannot resume and the body starts over, so the
        caller resets whatever it computed from the chunks so far.

        When the transfer is slow and the server takes ranges (a throttled mirror), the rest
        of the file is split: this stream stops at the first split point and other
        connections fetch the later parts in parallel, written in place. Those parts are then
        read back from the page cache and given to `on_data` in order, so the caller still
        sees every byte once, in order.

        A stall (no byte for read_timeout seconds) or a passed `deadline` raises Stalled
        at once: a silent mirror is left for the next one, not waited on again.
        """
        body = _Body(url, out, on_data, on_restart, on_total, deadline, served=url)
        # Parts fetched by other connections are read back from `out`, so it must be readable.
        body.splittable = out.readable() and out.seekable()
        try:
            self._until_complete(url, lambda: self._attempt(body))
            out.flush()
            for part_start, part_end, future in body.parts:
                future.result()
                body.received += _feed_back(out, part_start, part_end, on_data)
            return Downloaded(body.received, body.last_modified, body.resumed, body.served)
        finally:
            body.stop_parts()

    def _until_complete(self, url: str, attempt: Callable[[], str | None]) -> None:
        """The one retry rule for a body cut short, for a whole file as for each of its parts:
        `attempt` asks again from where the last one stopped and returns None once the bytes
        are all here, else why not; after `attempts` cuts, the last reason is the failure. A
        stall, a refusal or a changed file raise at once, from `attempt`."""
        cuts = 0
        while (reason := attempt()) is not None:
            cuts += 1
            if cuts >= self.config.attempts:
                raise HttpFailure(url, reason)

    def _attempt(self, body: _Body) -> str | None:
        """One request for the rest of the file: None once it is all here, else why not."""
        import urllib3

        headers = _ranged(body.received, body.limit, body.validator) if body.received else {}
        response = self._request(body.url, headers, body.deadline)
        with response:
            self._take(body, response)
            try:
                self._read(body, response)
            except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
                raise self._silence(body.url, body.received, body.total) from None
            except (urllib3.exceptions.HTTPError, ConnectionError) as exc:
                return f"transfer kept failing after {body.received} bytes ({_short(exc)})"
        expected = body.limit if body.limit is not None else body.total
        if expected is not None and body.received < expected:
            return f"got {body.received} of {expected} bytes"
        return None

    def _take(self, body: _Body, response: requests.Response) -> None:
        """Where this answer's bytes go: after those received (206 from there), else from the
        start again when the server ignored the range or the file changed."""
        if body.received and response.status_code == 206:
            start = _content_range_start(response.headers.get("Content-Range"))
            if start != body.received:
                raise HttpFailure(body.url, "server answered a different range than asked")
            body.resumed += 1
        elif body.received:
            if body.parts:
                raise HttpFailure(body.url, "file changed while it was fetched in parts")
            # Range ignored (200) or the file changed (If-Range failed): start over.
            body.out.seek(0)
            body.out.truncate()
            body.received = 0
            body.on_restart()
        if not body.received:
            body.begin(response)

    def _read(self, body: _Body, response: requests.Response) -> None:
        """The stored bytes, as they arrive (read1): a cut connection loses nothing already
        received, and a Content-Encoding never alters what is hashed."""
        raw = response.raw
        while True:
            want = CHUNK if body.limit is None else min(CHUNK, body.limit - body.received)
            if want <= 0:
                break
            chunk = raw.read1(want, decode_content=False)
            if not chunk:
                break
            self._check_cancelled(body.url)
            body.out.write(chunk)
            body.on_data(chunk)
            body.received += len(chunk)
            self._check_deadline(body.url, body.deadline, body.received)
            if body.limit is None and body.ranges and body.total is not None and body.splittable:
                self._maybe_split(body, body.total)

    def _maybe_split(self, body: _Body, total: int) -> None:
        """Hand the rest of a slow file to other connections, in parts, when it pays."""
        split = self._split_point(body.received, total, body.started)
        if split is None:
            return
        body.limit = split
        body.out.flush()
        body.pool = ThreadPoolExecutor(self.config.segments)
        body.parts = self._fetch_parts(
            body.pool, body.url, body.out, body.validator, split, total, body.deadline
        )

    def _split_point(self, received: int, total: int, started: float) -> int | None:
        """Where to stop this stream when the rest would take long at this rate, else None."""
        cfg = self.config
        elapsed = time.monotonic() - started
        remaining = total - received
        if cfg.segments < 2 or elapsed < 0.5 or remaining < cfg.min_split:
            return None
        if remaining / max(received / elapsed, 1.0) < cfg.slow_seconds:
            return None
        return received + remaining // cfg.segments

    def _fetch_parts(
        self,
        pool: ThreadPoolExecutor,
        url: str,
        out: BinaryIO,
        validator: str | None,
        split: int,
        total: int,
        deadline: float | None,
    ) -> list[tuple[int, int, Future[None]]]:
        n = self.config.segments - 1
        size = (total - split + n - 1) // n
        parts = []
        for start in range(split, total, size):
            end = min(start + size, total)
            future = pool.submit(
                self._fetch_range, url, out.fileno(), start, end, validator, deadline
            )
            parts.append((start, end, future))
        return parts

    def _fetch_range(
        self,
        url: str,
        fd: int,
        start: int,
        end: int,
        validator: str | None,
        deadline: float | None,
    ) -> None:
        """Fetch bytes [start, end) into fd at their offset, resuming where a cut left off."""
        import urllib3

        pos = start

        def attempt() -> str | None:
            nonlocal pos
            response = self._request(url, _ranged(pos, end, validator), deadline)
            with response:
                if response.status_code != 206 or (
                    _content_range_start(response.headers.get("Content-Range")) != pos
                ):
                    raise HttpFailure(url, "server stopped honouring ranges mid-file")
                try:
                    raw = response.raw
                    while pos < end and (chunk := raw.read1(min(CHUNK, end - pos), False)):
                        self._check_cancelled(url)
                        os.pwrite(fd, chunk, pos)
                        pos += len(chunk)
                        self._check_deadline(url, deadline, pos - start)
                except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
                    raise self._silence(url, pos, end) from None
                except (urllib3.exceptions.HTTPError, ConnectionError) as exc:
                    return f"part transfer kept failing ({_short(exc)})"
            return None if pos >= end else f"part {start}-{end} came short"

        self._until_complete(url, attempt)


@dataclass
class _Body:
    """One download's state across its requests."""

    url: str
    out: BinaryIO
    on_data: Callable[[bytes], None]
    on_restart: Callable[[], None]
    on_total: Callable[[int | None], None]
    deadline: float | None
    served: str = ""  # the URL that answered first, after redirects, without credentials
    received: int = 0
    resumed: int = 0
    validator: str | None = None  # the ETag or Last-Modified a resumed request must match
    last_modified: str | None = None
    total: int | None = None
    ranges: bool = False  # the server takes Range requests
    splittable: bool = False  # `out` can be read back, so the rest can come in parts
    started: float = 0.0
    limit: int | None = None  # where this stream stops once the rest is split off
    parts: list[tuple[int, int, Future[None]]] = field(default_factory=list)
    pool: ThreadPoolExecutor | None = None

    def begin(self, response: requests.Response) -> None:
        """The file as this first (or restarted) answer describes it."""
        length = response.headers.get("Content-Length")
        self.total = int(length) if length and length.isdigit() else None
        self.on_total(self.total)
        self.validator = response.headers.get("ETag") or response.headers.get("Last-Modified")
        self.last_modified = response.headers.get("Last-Modified")
        self.served = redact(response.url)
        self.ranges = response.headers.get("Accept-Ranges", "").lower() == "bytes"
        self.started = time.monotonic()

    def stop_parts(self) -> None:
        if self.pool is not None:
            for _, _, future in self.parts:
                future.cancel()
            self.pool.shutdown(wait=True)


def _ranged(start: int, end: int | None, validator: str | None) -> dict[str, str]:
    """The headers asking for bytes [start, end) (to the end of the file when end is None),
    and only while the file is the one `validator` names."""
    headers = {"Range": f"bytes={start}-{'' if end is None else end - 1}"}
    if validator:
        headers["If-Range"] = validator
    return headers


def _feed_back(out: BinaryIO, start: int, end: int, on_data: Callable[[bytes], None]) -> int:
    """Give bytes fetched by other connections to on_data, in order, from the file."""
    fd = out.fileno()
    pos = start
    while pos < end:
        chunk = os.pread(fd, min(CHUNK, end - pos), pos)
        if not chunk:
            raise HttpFailure("", f"file ended at {pos}, expected {end}")
        on_data(chunk)
        pos += len(chunk)
    out.seek(end)
    return end - start


def _content_range_start(value: str | None) -> int | None:
    # "bytes 100-199/200"
    if not value or not value.startswith("bytes "):
        return None
    first = value[6:].split("-", 1)[0]
    return int(first) if first.isdigit() else None


def _netrc_auth(url: str) -> bool:
    from requests.utils import get_netrc_auth

    return get_netrc_auth(url) is not None


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) < 160 else text[:157] + "..."
