"""The signed-message framing of bundler/fetch/openpgp.py, read back packet by packet: the literal
data is the document, byte for byte, whatever its size and however it arrives, and what the
reader does not understand is left to the detached check (None)."""

from __future__ import annotations

import base64
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from bundler.fetch.openpgp import PART, Framing, _crc24

# A v4 EdDSA signature packet of class 0x00 (binary document), SHA-256, issuer fingerprint in
# the hashed area and issuer key id in the unhashed one, as gpg 2.2 writes them.
_FPR = bytes.fromhex("2D68EECFA26F8C6DF483CA77D082C67A1B0DFA4E")
_HASHED = bytes([22, 33, 4]) + _FPR + bytes([5, 2, 0x6B, 0x0F, 0x3C, 0x1E])
_UNHASHED = bytes([9, 16]) + _FPR[-8:]
_MPIS = b"\x00\x08\xff" + b"\x00\x08\xee"


def _signature(version: int = 4, sigclass: int = 0x00) -> bytes:
    body = bytes([version, sigclass, 22, 8])
    body += struct.pack(">H", len(_HASHED)) + _HASHED
    body += struct.pack(">H", len(_UNHASHED)) + _UNHASHED
    body += b"\x1a\xcc" + _MPIS
    return bytes([0xC2, len(body)]) + body


def _crc_line(data: bytes) -> str:
    # _crc24 itself meets gpg's own armor in tests/integration/test_signature_stream.py.
    return base64.b64encode(_crc24(data).to_bytes(3, "big")).decode()


def _armor(packets: bytes, headers: str = "", crc: str | None = None) -> bytes:
    text = base64.b64encode(packets).decode()
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return (
        "-----BEGIN PGP SIGNATURE-----\n"
        + headers
        + "\n"
        + "\n".join(lines)
        + f"\n={crc or _crc_line(packets)}\n-----END PGP SIGNATURE-----\n"
    ).encode()


def _read_message(stream: bytes) -> tuple[bytes, bytes, bytes]:
    """(one-pass packet body, literal contents, trailing signature packet) of a framed stream."""
    assert stream[0] == 0xC4
    one_pass = stream[2 : 2 + stream[1]]
    pos = 2 + stream[1]
    assert stream[pos] == 0xCB  # literal data, new format
    pos += 1
    literal = bytearray()
    while True:
        octet = stream[pos]
        if 224 <= octet < 255:  # partial body
            size = 1 << (octet & 0x1F)
            assert size == 1 << PART
            literal += stream[pos + 1 : pos + 1 + size]
            pos += 1 + size
            continue
        if octet < 192:
            size, pos = octet, pos + 1
        elif octet < 224:
            size, pos = ((octet - 192) << 8) + stream[pos + 1] + 192, pos + 2
        else:
            size, pos = struct.unpack(">I", stream[pos + 1 : pos + 5])[0], pos + 5
        literal += stream[pos : pos + size]
        pos += size
        break
    assert literal[:6] == b"b\x00\x00\x00\x00\x00"  # binary, no file name, no date
    return one_pass, bytes(literal[6:]), stream[pos:]


def _frame(framing: Framing, chunks: list[bytes]) -> bytes:
    out = bytearray()
    writer = framing.writer(out.extend)
    for chunk in chunks:
        writer.feed(chunk)
    writer.close()
    return bytes(out)


def test_one_pass_header_names_the_signature_and_the_signature_follows_unchanged() -> None:
    signature = _signature()
    framing = Framing.of(_armor(signature, headers="Version: GnuPG v2\nComment: x\n"))
    assert framing is not None
    one_pass, literal, tail = _read_message(_frame(framing, [b"hello"]))
    # version 3, class 0, SHA-256 (8), EdDSA (22), issuer key id, last one-pass
    assert one_pass == bytes([3, 0, 8, 22]) + _FPR[-8:] + b"\x01"
    assert literal == b"hello" and tail == signature


def test_binary_signature_files_are_framed_too() -> None:
    binary = Framing.of(_signature())
    assert binary is not None and binary == Framing.of(_armor(_signature()))


@settings(max_examples=60, deadline=None)
@given(
    size=st.one_of(
        st.integers(0, 3000),
        st.integers((1 << PART) - 8, (1 << PART) + 8),
        st.integers(2 << PART, (2 << PART) + 300),
    ),
    cuts=st.lists(st.integers(1, 1 << 21), max_size=6),
)
def test_the_literal_is_the_document_whatever_the_size_and_chunks(
    size: int, cuts: list[int]
) -> None:
    data = bytes(i * 7 % 251 for i in range(size))
    chunks, pos = [], 0
    for cut in cuts:
        chunks.append(data[pos : pos + cut])
        pos += cut
    chunks.append(data[pos:])
    framing = Framing.of(_signature())
    assert framing is not None
    _, literal, tail = _read_message(_frame(framing, chunks))
    assert literal == data and tail == _signature()


def test_what_the_reader_does_not_handle_is_left_to_the_detached_check() -> None:
    two = _signature() + _signature()
    assert Framing.of(_armor(two)) is None  # two signatures
    assert Framing.of(_armor(_signature()) * 2) is None  # two armored blocks
    assert Framing.of(_armor(_signature(sigclass=0x01))) is None  # canonical text
    assert Framing.of(_armor(_signature(version=3))) is None
    assert Framing.of(_signature()[:-3]) is None  # truncated
    assert Framing.of(b"not a signature\n") is None
    assert Framing.of(b"") is None
    good = _armor(_signature())
    assert Framing.of(good) is not None
    crc = good.split(b"\n=", 1)[1][:4]
    assert Framing.of(good.replace(b"\n=" + crc, b"\n!!!!\n=" + crc)) is None  # bad base64
    # gpg reads the whole file: an armor it would read differently is left to it, detached.
    assert Framing.of(_armor(_signature(), crc="AAAA")) is None  # wrong checksum
    assert Framing.of(good.replace(b"=" + crc + b"\n", b"")) is None  # no checksum
    assert Framing.of(good.replace(b"\n", b"\n  ")) is None  # indented
    assert Framing.of(b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nhi\n" + good) is None
    assert Framing.of(b"text first\n" + good) is None
    assert Framing.of(good + b"and after\n") is None
    message = good.replace(b"SIGNATURE", b"MESSAGE")
    assert Framing.of(good + message) is None and Framing.of(message + good) is None
    assert Framing.of(b"\n\n" + good.replace(b"\n", b"\r\n") + b"\n") is not None  # CRLF
