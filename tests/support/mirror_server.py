"""A real HTTP server on 127.0.0.1 that serves mirror trees, with fault injection.

    python -m tests.support.mirror_server --root DIR [--wheelhouse DIR] [--mount PREFIX=DIR]...
        [--port N] [--port-file FILE] [--throttle BPS] [--verbose] [--host ADDR]
        [--tls CERT KEY] [--auth-file FILE] [--redirect-to URL]

GET and HEAD with Accept-Ranges, Content-Length, Last-Modified, ETag and single byte ranges
(206, or 416 when unsatisfiable); no directory listings; dot-files and paths outside the served
directories are 404. Faults are queued per URL path and consumed one per request:
"404", "500", "503" (any 4xx/5xx code), "drop:N" (headers with the full length, N body bytes,
then the connection is closed), "stall:N" (headers with the full length, N body bytes, then
silence with the connection held open until the server stops), "corrupt" (same length, some
bytes flipped), "hang:SECS" (wait, then answer normally) and "ok". A throttle limits each
connection's body rate separately, like a real throttled mirror. With a wheelhouse, /simple/
is a PEP 503 index of its files.

Sites' ways too: HTTPS with a given certificate (`tls`), basic auth on every request (`auth`;
401 without it), and `redirect_to`: every request answered 302 to the same path under that
base URL, as Apache's closer.lua?action=download sends a download to the chosen mirror.
"""

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import email.utils
import hashlib
import html
import re
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.parse
import zipfile
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

_ACTION = re.compile(r"(?:[45]\d\d|ok|corrupt|drop:\d+|stall:\d+|hang:\d+(?:\.\d+)?)")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_TEXT_SUFFIXES = (".asc", ".md5", ".sha1", ".sha256", ".sha512", ".txt", ".html", "KEYS")
_CHUNK = 256 * 1024
_CORRUPT_STRIDE = 64 * 1024


@dataclass
class RequestRecord:
    """One request as the server saw it; status and bytes_sent fill in as it is answered."""

    method: str
    path: str
    range: str | None
    status: int = 0
    bytes_sent: int = 0
    fault: str | None = None


class _Unsatisfiable(Exception):
    """The Range header asks for bytes past the end: answer 416."""


class _TokenBucket:
    """Paces one connection to `rate` bytes per second, allowing a burst of one chunk."""

    def __init__(self) -> None:
        self._tokens = 0.0
        self._stamp = time.monotonic()

    def consume(self, amount: int, rate: int, stopping: threading.Event) -> None:
        now = time.monotonic()
        self._tokens = min(float(amount), self._tokens + (now - self._stamp) * rate)
        self._stamp = now
        if self._tokens < amount:
            stopping.wait((amount - self._tokens) / rate)
            self._stamp = time.monotonic()
            self._tokens = 0.0
        else:
            self._tokens -= amount


def _normalize_project(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _project_of(file_name: str) -> str | None:
    if file_name.endswith(".whl"):
        return _normalize_project(file_name.split("-", 1)[0])
    match = re.fullmatch(r"(.+?)-\d[^-]*\.(?:tar\.gz|zip|tar\.bz2)", file_name)
    return _normalize_project(match.group(1)) if match else None


def _requires_python(path: Path) -> str | None:
    if not path.name.endswith(".whl"):
        return None
    try:
        with zipfile.ZipFile(path) as wheel:
            for name in wheel.namelist():
                if name.count("/") == 1 and name.endswith(".dist-info/METADATA"):
                    for line in wheel.read(name).decode("utf-8", "replace").splitlines():
                        if not line.strip():
                            break
                        if line.lower().startswith("requires-python:"):
                            return line.split(":", 1)[1].strip()
    except (OSError, zipfile.BadZipFile):
        return None
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], mirror: MirrorServer) -> None:
        self.mirror = mirror
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)
        if mirror.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*mirror.tls)
            # The handshake happens on the handler's thread, not in the accept loop.
            self.socket = context.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False
            )

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.mirror.verbose:
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "MirrorServer/1"
    sys_version = ""
    # Idle keep-alive connections are closed after this; it also bounds a stuck client.
    timeout = 60
    server: _Server

    def version_string(self) -> str:
        return self.server_version

    def setup(self) -> None:
        super().setup()
        self.bucket = _TokenBucket()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.mirror.verbose:
            super().log_message(format, *args)

    def do_GET(self) -> None:
        self._answer(head=False)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    # --- request flow ---

    def _answer(self, head: bool) -> None:
        mirror = self.server.mirror
        url_path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        record = RequestRecord(self.command, url_path, self.headers.get("Range"))
        mirror._begin(record)
        try:
            if not self._authorized(record, head):
                return
            if mirror.redirect_to is not None:
                record.status = 302
                self.send_response(302)
                self.send_header("Location", mirror.redirect_to + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            fault = mirror._next_fault(url_path)
            record.fault = fault
            if fault is not None and fault.startswith("hang:"):
                mirror._stopping.wait(float(fault.split(":", 1)[1]))
                if mirror._stopping.is_set():
                    self.close_connection = True
                    return
            if fault is not None and fault[0] in "45":
                self._simple(record, int(fault), f"injected fault {fault}\n", head)
                return
            if url_path == "/simple" or url_path.startswith("/simple/"):
                page = mirror._index_page(url_path)
                if page is not None:
                    self._simple(record, 200, page, head, "text/html; charset=utf-8")
                    return
            target = mirror._resolve(url_path)
            if target is None:
                self._simple(record, 404, "not found\n", head)
                return
            self._send_file(record, target, head, fault)
        except (ConnectionError, TimeoutError, ssl.SSLError):
            self.close_connection = True
        finally:
            mirror._end()

    def _authorized(self, record: RequestRecord, head: bool) -> bool:
        """With `auth`, only requests that carry its credentials; 401 for the others."""
        auth = self.server.mirror.auth
        if auth is None:
            return True
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        if self.headers.get("Authorization") == f"Basic {token}":
            return True
        record.status = 401
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="mirror"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def _simple(
        self,
        record: RequestRecord,
        status: int,
        body: str,
        head: bool,
        content_type: str = "text/plain; charset=utf-8",
    ) -> None:
        data = body.encode()
        record.status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)
            record.bytes_sent = len(data)

    def _send_file(self, record: RequestRecord, path: Path, head: bool, fault: str | None) -> None:
        stat = path.stat()
        size = stat.st_size
        etag = f'"{stat.st_mtime_ns:x}-{size:x}"'
        last_modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
        try:
            span = self._range(size, etag, last_modified)
        except _Unsatisfiable:
            record.status = 416
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start, end = span if span is not None else (0, size - 1)
        length = end - start + 1 if size else 0
        record.status = 206 if span is not None else 200
        self.send_response(record.status)
        self.send_header("Content-Type", _content_type(path.name))
        self.send_header("Content-Length", str(length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Last-Modified", last_modified)
        self.send_header("ETag", etag)
        if span is not None:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if head:
            return
        limit = length
        if fault is not None and fault.startswith(("drop:", "stall:")):
            limit = min(length, int(fault.split(":", 1)[1]))
        self._send_body(record, path, start, length, limit, corrupt=fault == "corrupt")
        if fault is not None and fault.startswith("stall:") and limit < length:
            # A mirror that stops sending but keeps the connection: only a read timeout ends it.
            self.wfile.flush()
            self.server.mirror._stopping.wait()
            self.close_connection = True
            return
        if limit < length:
            # Headers promised `length` bytes: closing now is the injected failure.
            self.wfile.flush()
            self.close_connection = True

    def _range(self, size: int, etag: str, last_modified: str) -> tuple[int, int] | None:
        """(start, end) of a single satisfiable range, or None to send the whole file."""
        header = self.headers.get("Range")
        if header is None or "," in header:
            return None
        if_range = self.headers.get("If-Range")
        if if_range is not None and if_range.strip() not in (etag, last_modified):
            return None
        match = _RANGE.fullmatch(header.strip())
        if match is None or (match.group(1) == "" and match.group(2) == ""):
            return None
        if match.group(1) == "":
            suffix = int(match.group(2))
            if suffix == 0 or size == 0:
                raise _Unsatisfiable
            return max(0, size - suffix), size - 1
        start = int(match.group(1))
        end = int(match.group(2)) if match.group(2) else size - 1
        if start >= size:
            raise _Unsatisfiable
        if end < start:
            return None
        return start, min(end, size - 1)

    def _send_body(
        self, record: RequestRecord, path: Path, start: int, length: int, limit: int, corrupt: bool
    ) -> None:
        mirror = self.server.mirror
        sent = 0
        with open(path, "rb") as handle:
            handle.seek(start)
            while sent < limit and not mirror._stopping.is_set():
                rate = mirror.throttle_bytes_per_sec
                chunk_size = _CHUNK if not rate else max(1024, min(_CHUNK, rate // 20))
                chunk = handle.read(min(chunk_size, limit - sent))
                if not chunk:
                    break
                if corrupt:
                    chunk = _flip(chunk, sent, length)
                if rate:
                    self.bucket.consume(len(chunk), rate, mirror._stopping)
                self.wfile.write(chunk)
                sent += len(chunk)
                record.bytes_sent = sent
        if sent < length:
            self.close_connection = True


def _flip(chunk: bytes, offset: int, length: int) -> bytes:
    """Invert the body's middle byte and one byte in every 64 KiB block of it."""
    targets = {length // 2}
    first = offset - offset % _CORRUPT_STRIDE + 512
    targets.update(range(first, offset + len(chunk), _CORRUPT_STRIDE))
    data = bytearray(chunk)
    for target in targets:
        if offset <= target < offset + len(chunk):
            data[target - offset] ^= 0xFF
    return bytes(data)


def _content_type(name: str) -> str:
    if name.endswith((".tar.gz", ".tgz")):
        return "application/x-gzip"
    if name.endswith(".whl") or name.endswith(".zip"):
        return "application/zip"
    if name.endswith(".html"):
        return "text/html; charset=utf-8"
    if name.endswith(_TEXT_SUFFIXES):
        return "text/plain; charset=utf-8"
    return "application/octet-stream"


class MirrorServer:
    """Serves `root` at "/" (and each of `mounts` at its URL prefix) on 127.0.0.1.

    Use as a context manager or call start() and stop(). `throttle_bytes_per_sec` may be
    changed while running; it applies per connection.
    """

    def __init__(
        self,
        root: Path,
        *,
        wheelhouse: Path | None = None,
        throttle_bytes_per_sec: int | None = None,
        port: int = 0,
        mounts: dict[str, Path] | None = None,
        verbose: bool = False,
        tls: tuple[Path, Path] | None = None,
        auth: tuple[str, str] | None = None,
        redirect_to: str | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.tls = tls  # (certificate, key)
        self.auth = auth  # (user, password) every request must carry
        self.redirect_to = redirect_to
        self.host = host
        self.root = Path(root).resolve()
        self.wheelhouse = Path(wheelhouse).resolve() if wheelhouse is not None else None
        self.throttle_bytes_per_sec = throttle_bytes_per_sec
        self.port = port
        self.verbose = verbose
        self._mounts: dict[str, Path] = {"": self.root}
        for prefix, directory in (mounts or {}).items():
            self._mounts["/" + prefix.strip("/")] = Path(directory).resolve()
        if self.wheelhouse is not None:
            self._mounts["/wheelhouse"] = self.wheelhouse
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._inflight = 0
        self._records: list[RequestRecord] = []
        self._faults: dict[str, collections.deque[str]] = {}
        self._forever: dict[str, str] = {}
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._hashes: dict[tuple[Path, int, int], str] = {}

    # --- lifecycle ---

    def start(self) -> MirrorServer:
        if self._server is not None:
            return self
        self._stopping.clear()
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() waits for one poll
            name=f"mirror-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        # Keep-alive connections would otherwise keep being served after stop().
        with server.connections_lock:
            open_connections = list(server.connections)
        for connection in open_connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> MirrorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("MirrorServer is not running: call start() first")
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    # --- requests seen ---

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def requests_for(self, path: str) -> list[RequestRecord]:
        return [record for record in self.requests if record.path == path]

    def clear_requests(self) -> None:
        with self._lock:
            self._records.clear()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until no request is being answered; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._inflight == 0, timeout)

    def _begin(self, record: RequestRecord) -> None:
        with self._lock:
            self._records.append(record)
            self._inflight += 1

    def _end(self) -> None:
        with self._idle:
            self._inflight -= 1
            self._idle.notify_all()

    # --- faults ---

    def add_fault(self, path: str, *actions: str) -> None:
        """Queue actions for path: each request to it consumes one, then it behaves normally."""
        for action in actions:
            _check_action(action)
        with self._lock:
            self._faults.setdefault(_key(path), collections.deque()).extend(actions)

    def set_fault_forever(self, path: str, action: str) -> None:
        """Apply action to every request to path (after any queued ones) until cleared."""
        _check_action(action)
        with self._lock:
            self._forever[_key(path)] = action

    def clear_faults(self, path: str | None = None) -> None:
        with self._lock:
            if path is None:
                self._faults.clear()
                self._forever.clear()
            else:
                self._faults.pop(_key(path), None)
                self._forever.pop(_key(path), None)

    def _next_fault(self, path: str) -> str | None:
        with self._lock:
            queued = self._faults.get(path)
            if queued:
                return queued.popleft()
            return self._forever.get(path)

    # --- files ---

    def _resolve(self, url_path: str) -> Path | None:
        """The file url_path names, or None (missing, a directory, hidden or outside)."""
        prefix = max(
            (p for p in self._mounts if url_path == p or url_path.startswith(p + "/")),
            key=len,
        )
        base = self._mounts[prefix]
        parts = [part for part in url_path[len(prefix) :].split("/") if part]
        if not parts or any(part.startswith(".") or "\x00" in part for part in parts):
            return None
        target = base.joinpath(*parts).resolve()
        if base not in target.parents or not target.is_file():
            return None
        return target

    def _index_page(self, url_path: str) -> str | None:
        """PEP 503 pages for the wheelhouse; None when there is none or no such project."""
        if self.wheelhouse is None:
            return None
        projects: dict[str, list[Path]] = {}
        for path in sorted(self.wheelhouse.iterdir()):
            project = _project_of(path.name) if path.is_file() else None
            if project is not None:
                projects.setdefault(project, []).append(path)
        rest = url_path[len("/simple") :].strip("/")
        if not rest:
            links = [f'<a href="/simple/{name}/">{name}</a>' for name in sorted(projects)]
            return _html_page("Simple index", links)
        project = _normalize_project(rest)
        files = projects.get(project)
        if files is None:
            return None
        links = []
        for path in files:
            href = f"/wheelhouse/{urllib.parse.quote(path.name)}#sha256={self._sha256(path)}"
            requires = _requires_python(path)
            extra = f' data-requires-python="{html.escape(requires)}"' if requires else ""
            links.append(f'<a href="{href}"{extra}>{html.escape(path.name)}</a>')
        return _html_page(f"Links for {project}", links)

    def _sha256(self, path: Path) -> str:
        stat = path.stat()
        key = (path, stat.st_size, stat.st_mtime_ns)
        with self._lock:
            known = self._hashes.get(key)
        if known is None:
            known = hashlib.sha256(path.read_bytes()).hexdigest()
            with self._lock:
                self._hashes[key] = known
        return known


def _html_page(title: str, links: list[str]) -> str:
    body = "<br/>\n".join(links)
    return (
        '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.0">'
        f"<title>{html.escape(title)}</title></head>\n<body>\n{body}\n</body></html>\n"
    )


def _key(path: str) -> str:
    return "/" + path.lstrip("/")


def _check_action(action: str) -> None:
    if not _ACTION.fullmatch(action):
        raise ValueError(
            f"unknown fault action {action!r}: use 404/500/503 (any 4xx/5xx), drop:N, "
            "stall:N, corrupt, hang:SECS or ok"
        )


def _auth_file(path: Path) -> tuple[str, str]:
    user, _, password = path.read_text().strip().partition(":")
    return user, password


def _mount(text: str) -> tuple[str, Path]:
    prefix, sep, directory = text.partition("=")
    if not sep or not prefix or not directory:
        raise argparse.ArgumentTypeError(f"expected PREFIX=DIR, got {text!r}")
    return prefix, Path(directory)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve mirror trees on 127.0.0.1.")
    parser.add_argument("--root", type=Path, required=True, help="directory served at /")
    parser.add_argument("--wheelhouse", type=Path, help="serve a PEP 503 index at /simple/")
    parser.add_argument(
        "--mount", type=_mount, action="append", default=[], help="PREFIX=DIR, repeatable"
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--port-file", type=Path, help="write the port number here")
    parser.add_argument("--throttle", type=int, help="bytes per second per connection")
    parser.add_argument("--verbose", action="store_true", help="log each request to stderr")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--tls", nargs=2, type=Path, metavar=("CERT", "KEY"), help="serve HTTPS")
    parser.add_argument("--auth-file", type=Path, help="a file of user:password to require")
    parser.add_argument("--redirect-to", help="answer every request 302 to this base URL")
    args = parser.parse_args(argv)
    if not args.root.is_dir():
        parser.error(f"--root {args.root} is not a directory")
    server = MirrorServer(
        args.root,
        wheelhouse=args.wheelhouse,
        throttle_bytes_per_sec=args.throttle,
        port=args.port,
        mounts=dict(args.mount),
        verbose=args.verbose,
        tls=(args.tls[0], args.tls[1]) if args.tls else None,
        auth=_auth_file(args.auth_file) if args.auth_file else None,
        redirect_to=args.redirect_to,
        host=args.host,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        server.start()
    except OSError as error:
        print(f"mirror_server: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 1
    if args.port_file is not None:
        tmp = args.port_file.with_name(args.port_file.name + ".tmp")
        tmp.write_text(f"{server.port}\n")
        tmp.replace(args.port_file)
    print(server.url, flush=True)
    try:
        stop.wait()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
