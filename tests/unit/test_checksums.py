"""Every checksum format Apache has published parses to the right (algorithm, digest)."""

from __future__ import annotations

import hashlib

import pytest

from bundler.errors import IntegrityError
from bundler.fetch import checksums

DATA = b"apache storm release bytes\n"
MD5 = hashlib.md5(DATA).hexdigest()
SHA1 = hashlib.sha1(DATA).hexdigest()
SHA256 = hashlib.sha256(DATA).hexdigest()
SHA512 = hashlib.sha512(DATA).hexdigest()
NAME = "apache-storm-0.9.5.tar.gz"


def gpg_style(name: str, digest: str, group: int, per_line: int) -> str:
    """The layout `gpg --print-md` writes: upper-case groups wrapped under the first one."""
    groups = [digest[i : i + group].upper() for i in range(0, len(digest), group)]
    lead = f"{name}: "
    lines = [" ".join(groups[i : i + per_line]) for i in range(0, len(groups), per_line)]
    return lead + ("\n" + " " * len(lead)).join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "algorithm", "digest"),
    [
        (f"{SHA512}  {NAME}\n", "sha512", SHA512),
        (f"{SHA256} *{NAME}\n", "sha256", SHA256),
        (f"SHA512 ({NAME}) = {SHA512}\n", "sha512", SHA512),
        (f"SHA1({NAME})= {SHA1}\n", "sha1", SHA1),
        (f"MD5 ({NAME}) = {MD5}\n", "md5", MD5),
        (gpg_style(NAME, SHA512, 8, 6), "sha512", SHA512),
        (gpg_style(NAME, SHA1, 4, 10), "sha1", SHA1),
        (gpg_style(NAME, MD5, 2, 16), "md5", MD5),
        (gpg_style(NAME, MD5, 2, 8), "md5", MD5),
        (f"{MD5}\n", "md5", MD5),
        (f"{SHA512.upper()}\r\n", "sha512", SHA512),
        (f"{NAME}: SHA512 = {SHA512.upper()}\n", "sha512", SHA512),
    ],
    ids=[
        "coreutils",
        "coreutils-binary",
        "bsd",
        "openssl-no-spaces",
        "bsd-md5",
        "gpg-sha512",
        "gpg-sha1",
        "gpg-md5-pairs",
        "gpg-md5-wrapped",
        "bare",
        "bare-upper-crlf",
        "gpg-print-mds",
    ],
)
def test_formats(text: str, algorithm: str, digest: str) -> None:
    entries = checksums.for_file(text, NAME)
    assert [(e.algorithm, e.digest) for e in entries] == [(algorithm, digest)]


def test_reference_gpg_example_is_one_sha512() -> None:
    text = (
        "apache-storm-x.tar.gz: E7C22B99 4C59D9CF 2B48E549 B1E24666 63604593 0D3DA7C1\n"
        "                       ACB299D1 C3B7F931 F94AAE41 EDDA2C2B 207A36E1 0F8BCB8D\n"
        "                       45223E54 878F5B31 6E7CE3B6 BC019629\n"
    )
    (entry,) = checksums.for_file(text, "apache-storm-x.tar.gz")
    assert entry.algorithm == "sha512"
    assert entry.digest.startswith("e7c22b994c59d9cf") and entry.digest.endswith("bc019629")


def test_multi_file_picks_the_named_entry() -> None:
    other = hashlib.sha512(b"other").hexdigest()
    text = f"{other}  apache-zookeeper-3.8.4.tar.gz\n{SHA512}  apache-zookeeper-3.8.4-bin.tar.gz\n"
    entries = checksums.for_file(text, "apache-zookeeper-3.8.4-bin.tar.gz")
    assert [e.digest for e in entries] == [SHA512]


def test_entry_for_another_file_only_is_not_used_when_several() -> None:
    text = f"{SHA512}  a.tar.gz\n{SHA256}  b.tar.gz\n"
    assert checksums.for_file(text, NAME) == []


def test_garbage_yields_nothing() -> None:
    assert checksums.parse("<html><body>404 Not Found</body></html>\n") == []
    assert checksums.parse("deadbeef  short.tar.gz\n") == []


def test_strongest_prefers_sha512() -> None:
    entries = checksums.parse(f"{MD5}\n") + checksums.parse(f"{SHA512}  {NAME}\n")
    best = checksums.strongest(entries)
    assert best is not None and best.algorithm == "sha512"


def test_multihash_and_check() -> None:
    h = checksums.MultiHash(["sha512", "md5"])
    h.update(DATA[:5])
    h.update(memoryview(DATA[5:]))
    assert h.hexdigests() == {"md5": MD5, "sha512": SHA512}
    checksums.check("x", "sha512", SHA512.upper(), SHA512)
    with pytest.raises(IntegrityError, match="sha512 mismatch"):
        checksums.check("x", "sha512", SHA512, SHA256 * 2)
