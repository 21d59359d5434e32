"""A real package index (pypiserver, from PyPI) over HTTPS with basic auth, on 127.0.0.1.

    python -m tests.support.pypi_index --root DIR --htpasswd FILE --cert PEM --key PEM
        [--host 127.0.0.1] [--port N] --port-file FILE

pypiserver's own WSGI app serves DIR's wheels (PEP 503 pages with sha256 fragments) and asks
for the htpasswd file's credentials on every request (list, download and update); it never
falls back to PyPI. pypiserver has no TLS of its own, so its app runs under the standard
library's WSGI server with the listening socket wrapped in TLS. Start it with `PypiIndex` (a
subprocess, so that it can run inside a network namespace too) and stop it with stop().
"""

from __future__ import annotations

import argparse
import os
import signal
import socketserver
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from tests.support.procs import end

ROOT = Path(__file__).resolve().parents[2]


def htpasswd(path: Path, user: str, password: str) -> Path:
    """An Apache htpasswd file with one user (bcrypt-free apr1, which passlib reads)."""
    from passlib.apache import HtpasswdFile  # type: ignore[import-untyped]

    file = HtpasswdFile(str(path), new=True, default_scheme="apr_md5_crypt")
    file.set_password(user, password)
    file.save()
    return path


class _Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def serve(args: argparse.Namespace) -> None:
    import pypiserver  # type: ignore[import-untyped]

    app = pypiserver.app(
        roots=[Path(args.root).resolve()],
        password_file=str(args.htpasswd),
        authenticate=["download", "list", "update"],
        hash_algo="sha256",
        disable_fallback=True,
    )
    server = make_server(args.host, args.port, app, _Server, _Quiet)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    # The handshake happens on the handler's thread, not in the accept loop.
    server.socket = context.wrap_socket(
        server.socket, server_side=True, do_handshake_on_connect=False
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tmp = Path(f"{args.port_file}.tmp")
    tmp.write_text(f"{server.server_address[1]}\n")
    tmp.replace(args.port_file)
    stop.wait()
    server.shutdown()


class PypiIndex:
    """pypiserver in a subprocess (optionally run through `prefix`, e.g. `ip netns exec NS`)."""

    def __init__(
        self,
        root: Path,
        password_file: Path,
        cert: Path,
        key: Path,
        workdir: Path,
        prefix: tuple[str, ...] = (),
        host: str = "127.0.0.1",
    ) -> None:
        self.port_file = workdir / "pypi-index.port"
        self.port_file.unlink(missing_ok=True)
        self.host = host
        args = ["--root", root, "--htpasswd", password_file, "--cert", cert, "--key", key]
        args += ["--host", host, "--port-file", self.port_file]
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "tests.support.pypi_index", *map(str, args)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while not self.port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"pypiserver did not start: {self.proc.stderr.read()}")  # type: ignore[union-attr]
            time.sleep(0.1)
        self.port = int(self.port_file.read_text())

    def url(self, credentials: str = "") -> str:
        """The index's simple API, with `user:password@` when given."""
        return f"https://{credentials}{self.host}:{self.port}/simple"

    def stop(self) -> None:
        end(self.proc)
        if self.proc.stderr is not None:
            self.proc.stderr.close()

    def __enter__(self) -> PypiIndex:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="pypiserver over HTTPS with basic auth.")
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--htpasswd", type=Path, required=True)
    parser.add_argument("--cert", type=Path, required=True)
    parser.add_argument("--key", type=Path, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", type=Path, required=True)
    serve(parser.parse_args(argv))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
