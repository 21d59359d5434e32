"""The HTTP layer against a real server on 127.0.0.1: resume, retry, parallel parts."""

from __future__ import annotations

import hashlib
import io
import random
from pathlib import Path

import pytest

from bundler.fetch.http import Http, HttpConfig, HttpFailure, NotFound, Unreachable
from tests.support.mirror_server import MirrorServer


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("site")
    rng = random.Random(7)
    (root / "big.bin").write_bytes(rng.randbytes(12 << 20))
    (root / "small.txt").write_bytes(b"hello\n")
    return root


def fetch(http: Http, url: str) -> tuple[bytes, str, int]:
    out = io.BytesIO()
    seen = hashlib.sha256()
    restarts = 0

    def restart() -> None:
        nonlocal seen, restarts
        seen = hashlib.sha256()
        restarts += 1

    http.download(url, out, seen.update, restart)
    return out.getvalue(), seen.hexdigest(), restarts


def test_slow_transfer_is_split_across_connections(site: Path, tmp_path: Path) -> None:
    expected = (site / "big.bin").read_bytes()
    with MirrorServer(site, throttle_bytes_per_sec=2 << 20) as server:
        http = Http(HttpConfig(segments=4, slow_seconds=1.0, min_split=1 << 20))
        target = tmp_path / "big.bin"
        seen = hashlib.sha256()
        with open(target, "w+b") as out:
            got = http.download(f"{server.url}/big.bin", out, seen.update, lambda: None)
        ranged = sorted(r.range for r in server.requests if r.range)
    assert got.size == len(expected)
    assert target.read_bytes() == expected
    # Every byte reached the caller once, in order.
    assert seen.hexdigest() == hashlib.sha256(expected).hexdigest()
    assert len(ranged) >= 3, ranged


def test_fast_transfer_stays_one_stream(site: Path) -> None:
    with MirrorServer(site) as server:
        data, digest, _ = fetch(Http(), f"{server.url}/big.bin")
        assert [r.range for r in server.requests] == [None]
    assert digest == hashlib.sha256(data).hexdigest()


def test_cut_part_resumes(site: Path, tmp_path: Path) -> None:
    expected = (site / "big.bin").read_bytes()
    with MirrorServer(site, throttle_bytes_per_sec=2 << 20) as server:
        # The second request to the file is the first part: cut it once.
        server.add_fault("/big.bin", "ok", "drop:100000")
        http = Http(HttpConfig(segments=3, slow_seconds=1.0, min_split=1 << 20))
        with open(tmp_path / "big.bin", "w+b") as out:
            http.download(f"{server.url}/big.bin", out, lambda c: None, lambda: None)
        cut = next(r for r in server.requests if r.fault == "drop:100000")
        assert cut.range is not None
        first = int(cut.range.split("=")[1].split("-")[0])
        resumed = [r.range for r in server.requests if r.range and r.status == 206]
        assert any(r.startswith(f"bytes={first + 100000}-") for r in resumed), resumed
    assert (tmp_path / "big.bin").read_bytes() == expected


def test_not_found_and_unreachable(site: Path) -> None:
    http = Http(HttpConfig(attempts=2, backoff=0.01))
    with MirrorServer(site) as server:
        with pytest.raises(NotFound):
            http.get_bytes(f"{server.url}/nope")
        assert http.get_bytes(f"{server.url}/small.txt") == b"hello\n"
    with pytest.raises(Unreachable):
        http.get_bytes("http://127.0.0.1:9/x")
    before = http.requests_made
    # Remembered as down: no new connection attempt.
    with pytest.raises(Unreachable, match="earlier in this build"):
        http.get_bytes("http://127.0.0.1:9/y")
    assert http.requests_made == before


def test_persistent_500_gives_up(site: Path) -> None:
    http = Http(HttpConfig(attempts=3, backoff=0.01))
    with MirrorServer(site) as server:
        server.set_fault_forever("/small.txt", "500")
        with pytest.raises(HttpFailure, match="HTTP 500"):
            http.get_bytes(f"{server.url}/small.txt")
        assert len(server.requests) == 3
