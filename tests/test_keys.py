"""KEYS come from apache.org over HTTPS only, are cached, and vouch for signatures."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bundler.cache import Cache
from bundler.errors import KeysUnavailableError
from bundler.fetch import Keys, Trust
from bundler.http import Http, HttpConfig
from bundler.progress import Progress


@pytest.fixture
def https_keys(
    tmp_path: Path, mirror_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, list[str]]]:
    """A real HTTPS server on 127.0.0.1 with a throwaway certificate that requests trusts."""
    root = tmp_path / "site"
    (root / "storm").mkdir(parents=True)
    shutil.copy(mirror_dir / "storm" / "KEYS", root / "storm" / "KEYS")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    seen: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            seen.append(self.path)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def keys_for(tmp_path: Path, mode: str = "auto", fetch: bool = True) -> Keys:
    http = Http(HttpConfig(attempts=1))
    return Keys(Trust(mode, (), fetch), http, Cache(tmp_path / "cache"), Progress(quiet=True))  # type: ignore[arg-type]


def test_keys_fetched_over_https_cached_and_used(
    https_keys: tuple[str, list[str]], tmp_path: Path, mirror_dir: Path
) -> None:
    base, seen = https_keys
    urls = ("http://127.0.0.1:9/storm/KEYS", f"{base}/storm/KEYS")
    keys = keys_for(tmp_path)
    keys.prepare("storm", urls)
    assert keys.unavailable("storm") is None
    (path,) = keys.files("storm")
    assert path.read_bytes() == (mirror_dir / "storm" / "KEYS").read_bytes()
    assert seen == ["/storm/KEYS"]  # the plain-HTTP URL was never asked

    tarball = mirror_dir / "storm" / "apache-storm-0.9.5" / "apache-storm-0.9.5.tar.gz"
    record = keys.verify(tarball, Path(f"{tarball}.asc"), tarball.name, "storm")
    keys.close()
    assert record["status"] == "good" and len(record["fingerprint"]) == 40

    again = keys_for(tmp_path)
    again.prepare("storm", urls)
    assert again.files("storm") == [path]
    assert seen == ["/storm/KEYS"]  # warm: no request


def test_no_keys_anywhere(tmp_path: Path) -> None:
    keys = keys_for(tmp_path)
    keys.prepare("storm", ("https://127.0.0.1:9/storm/KEYS",))
    reason = keys.unavailable("storm")
    assert reason is not None and "could not fetch KEYS" in reason
    with pytest.raises(KeysUnavailableError, match="--gpg require"):
        keys_for(tmp_path / "b", mode="require").prepare(
            "storm", ("https://127.0.0.1:9/storm/KEYS",)
        )
    offline = keys_for(tmp_path / "c", fetch=False)
    offline.prepare("storm", ("https://127.0.0.1:9/storm/KEYS",))
    assert "--no-default-mirrors" in (offline.unavailable("storm") or "")
