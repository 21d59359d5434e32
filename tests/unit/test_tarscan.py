"""The streaming tar check refuses entries that escape, and finds the top folder."""

from __future__ import annotations

import io
import tarfile

import pytest

from bundler.errors import UnsafeArchiveError
from bundler.fetch.tarscan import TarScanner


def make_tgz(entries: list[tuple[str, bytes | str | None]], fmt: int = tarfile.GNU_FORMAT) -> bytes:
    """entries: (name, bytes) file, (name, None) dir, (name, 'link:target') symlink."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=fmt) as tar:
        for name, data in entries:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif isinstance(data, str):
                kind, _, target = data.partition(":")
                info.type = tarfile.SYMTYPE if kind == "link" else tarfile.LNKTYPE
                info.linkname = target
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def scan(data: bytes, top: str | None = "pkg-1.0", chunk: int = 7) -> TarScanner:
    scanner = TarScanner("test.tar.gz", expected_top=top)
    for i in range(0, len(data), chunk):
        scanner.feed(data[i : i + chunk])
    scanner.finish()
    return scanner


def test_good_archive_in_odd_chunks() -> None:
    big = bytes(range(256)) * 5000
    data = make_tgz(
        [
            ("pkg-1.0/", None),
            ("pkg-1.0/bin/run", b"#!/bin/sh\n"),
            ("pkg-1.0/lib/big.jar", big),
            ("pkg-1.0/lib/current", "link:big.jar"),
            ("pkg-1.0/lib/again.jar", "hard:pkg-1.0/lib/big.jar"),
            ("pkg-1.0/" + "d" * 120 + "/long-name.txt", b"x"),
        ]
    )
    scanner = scan(data, chunk=4097)
    assert scanner.summary.tops == {"pkg-1.0"}
    assert "pkg-1.0/bin/run" in scanner.summary.names
    assert "pkg-1.0/" + "d" * 120 + "/long-name.txt" in scanner.summary.names
    assert scanner.summary.entries == 6


def test_pax_long_names() -> None:
    long = "pkg-1.0/" + "p" * 200 + "/f"
    scanner = scan(make_tgz([(long, b"1")], fmt=tarfile.PAX_FORMAT))
    assert long in scanner.summary.names


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([("pkg-1.0/ok", b"1"), ("../escape.txt", b"x")], "climbs out"),
        ([("pkg-1.0/../../etc/x", b"x")], "climbs out"),
        ([("/etc/evil", b"x")], "absolute path"),
        ([("pkg-1.0/link", "link:/etc/passwd")], "absolute"),
        ([("pkg-1.0/link", "link:../../outside")], "leaves the release folder"),
        ([("pkg-1.0/hard", "hard:other/file")], "leaves the release folder"),
        ([("pkg-1.0/a", b"1"), ("other-1.0/b", b"2")], "expected everything under pkg-1.0/"),
        ([("pkg-1.0-src/a", b"1")], "not the release's binary tarball"),
    ],
)
def test_refused(entries: list[tuple[str, bytes | str | None]], message: str) -> None:
    with pytest.raises(UnsafeArchiveError, match=message):
        scan(make_tgz(entries))


def test_truncated_and_not_gzip() -> None:
    data = make_tgz([("pkg-1.0/a", b"x" * 100000)])
    with pytest.raises(UnsafeArchiveError):
        scan(data[: len(data) // 2])
    with pytest.raises(UnsafeArchiveError, match="not a gzip stream"):
        scan(b"<html>404</html>" * 10)


def test_restart_forgets_partial_state() -> None:
    data = make_tgz([("pkg-1.0/a", b"x" * 1000)])
    scanner = TarScanner("t", expected_top="pkg-1.0")
    scanner.feed(data[:30])
    scanner.restart()
    scanner.feed(data)
    assert scanner.finish().entries == 1
