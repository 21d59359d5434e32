"""KEYS come from apache.org over HTTPS only, are cached, and vouch for signatures."""

from __future__ import annotations

import http.server
import shutil
import ssl
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bundler.errors import KeysUnavailableError, SignatureError
from bundler.fetch.cache import Cache
from bundler.fetch.http import Http, HttpConfig
from bundler.fetch.keys import Keys, Trust
from bundler.fetch.signatures import Keyring
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


@pytest.fixture
def stale_keys(mirror_dir: Path, tmp_path: Path) -> bytes:
    """A KEYS file like the project's a year ago: it holds a key, but not the release
    manager's who signed the tarball (the mirror's "intruder" key stands in for an old one)."""
    home = Path(tempfile.mkdtemp(prefix="gpg-keys-", dir="/tmp"))
    try:
        shutil.copytree(
            mirror_dir / ".signing-gnupg", home, dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("S.*", "*.lock", ".#*"),
        )  # fmt: skip
        proc = subprocess.run(
            ["gpg", "--homedir", str(home), "--batch", "--armor", "--export",
             "intruder@standin.invalid"],
            capture_output=True, check=True,
        )  # fmt: skip
        return b"Old KEYS: the release managers of last year\n\n" + proc.stdout
    finally:
        subprocess.run(
            ["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"],
            check=False, capture_output=True,
        )  # fmt: skip
        shutil.rmtree(home, ignore_errors=True)


def test_stale_cached_keys_are_fetched_again_once(
    https_keys: tuple[str, list[str]], stale_keys: bytes, tmp_path: Path, mirror_dir: Path
) -> None:
    base, seen = https_keys
    served = tmp_path / "site" / "storm" / "KEYS"
    served.write_bytes(stale_keys)
    keys = keys_for(tmp_path)
    keys.prepare("storm", (f"{base}/storm/KEYS",))
    assert seen == ["/storm/KEYS"]
    # A new release manager's key is published after our cache was filled.
    served.write_bytes((mirror_dir / "storm" / "KEYS").read_bytes())

    tarball = mirror_dir / "storm" / "apache-storm-0.9.5" / "apache-storm-0.9.5.tar.gz"
    asc = Path(f"{tarball}.asc")
    stream = keys.stream("storm", asc, tarball.name)
    assert stream is not None
    stream.feed(tarball.read_bytes())  # as the download does
    record = keys.finish(stream, tarball, asc, tarball.name, "storm")
    keys.close()
    assert record["status"] == "good"
    assert seen == ["/storm/KEYS", "/storm/KEYS"]
    (path,) = keys.files("storm")
    assert path.read_bytes() == served.read_bytes()  # the cache holds the new KEYS


def test_a_key_missing_even_from_fresh_keys_is_named(
    https_keys: tuple[str, list[str]], stale_keys: bytes, tmp_path: Path, mirror_dir: Path
) -> None:
    base, seen = https_keys
    (tmp_path / "site" / "storm" / "KEYS").write_bytes(stale_keys)
    keys = keys_for(tmp_path)
    keys.prepare("storm", (f"{base}/storm/KEYS",))
    tarball = mirror_dir / "storm" / "apache-storm-0.9.5" / "apache-storm-0.9.5.tar.gz"
    asc = Path(f"{tarball}.asc")
    with pytest.raises(SignatureError) as caught:
        keys.verify(tarball, asc, tarball.name, "storm")
    with Keyring([mirror_dir / "storm" / "KEYS"], "gpg") as ring:
        signer = ring.verify(asc, tarball, tarball.name).fingerprint
    message = str(caught.value)
    assert f"signed by key {signer[-16:]}" in message, message
    assert "fetched again" in message
    assert seen == ["/storm/KEYS", "/storm/KEYS"]
    with pytest.raises(SignatureError):  # once per build: no second fetch
        keys.verify(tarball, asc, tarball.name, "storm")
    keys.close()
    assert seen == ["/storm/KEYS", "/storm/KEYS"]


def test_user_keys_are_not_fetched_again(
    tmp_path: Path, mirror_dir: Path, stale_keys: bytes
) -> None:
    user_keys = tmp_path / "my-KEYS"
    user_keys.write_bytes(stale_keys)
    http = Http(HttpConfig(attempts=1))
    trust = Trust("auto", (user_keys,), True)
    keys = Keys(trust, http, Cache(tmp_path / "cache"), Progress(quiet=True))
    keys.prepare("storm", ("https://127.0.0.1:9/storm/KEYS",))
    tarball = mirror_dir / "storm" / "apache-storm-0.9.5" / "apache-storm-0.9.5.tar.gz"
    with pytest.raises(SignatureError, match=r"signed by key [0-9A-F]{16}, which is not in"):
        keys.verify(tarball, Path(f"{tarball}.asc"), tarball.name, "storm")
    keys.close()
    assert http.requests_made == 0
