"""Hand gpg a detached signature and its file as one signed message, so gpg hashes in blocks.

gpg 2.2 hashes the file of a detached signature one byte at a time (about 260 MB/s here);
the contents of a literal data packet it hashes a buffer at a time (about 1.4 GB/s). A v4
signature of class 0x00 (a binary document) covers exactly the document's bytes, and the same
signature after a one-pass header and a literal data packet covers exactly the literal's
contents (RFC 4880 5.2.4, 5.4, 5.9): so the bytes are framed as such a message and gpg checks
the very same signature over the very same bytes, only faster. Anything else (several
signatures, another version or class, a packet this reader does not expect, an armor other
than the plain one gpg writes) is left to the detached check: `Framing.of` returns None.

Only the framing is built here; every cryptographic check stays gpg's.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

_SIGNATURE, _ONE_PASS, _LITERAL = 2, 4, 11
_ARMOR_BEGIN = b"-----BEGIN PGP SIGNATURE-----"
_ARMOR_END = b"-----END PGP SIGNATURE-----"
_ISSUER, _ISSUER_FPR = 16, 33  # signature subpacket types
PART = 20  # literal data goes out in partial bodies of 2**PART bytes (RFC 4880 4.2.2.4)


class _Malformed(ValueError):
    pass


def _crc24(data: bytes) -> int:
    """The armor checksum (RFC 4880 6.1)."""
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def _dearmor(text: bytes) -> bytes:
    """The binary packets of an ASCII-armored signature; binary input is returned as is.

    Only the plain shape gpg writes is read: nothing but blank lines around one signature
    block, optional `Key: value` headers and the blank line after them, base64 lines and the
    CRC-24 line, which must match. gpg reads a whole file and would refuse (or look further
    into) anything else, so anything else is left to the detached check, which is gpg's."""
    if text[:1] and text[0] & 0x80:
        return text
    lines = [line.rstrip() for line in text.split(b"\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    if len(lines) < 4 or lines[0] != _ARMOR_BEGIN or lines[-1] != _ARMOR_END:
        raise _Malformed("not one armored signature block alone")
    body = lines[1:-1]
    if any(line.startswith(b"-----") for line in body):
        raise _Malformed("another armor line inside the block")
    while body and body[0] and b": " in body[0]:
        body.pop(0)  # armor headers
    if not body or body[0]:
        raise _Malformed("no blank line after the armor headers")
    data, checksum = body[1:-1], body[-1]
    if not data or len(checksum) != 5 or not checksum.startswith(b"="):
        raise _Malformed("no armor checksum line")
    try:
        packets = base64.b64decode(b"".join(data), validate=True)
        crc = base64.b64decode(checksum[1:], validate=True)
    except binascii.Error:
        raise _Malformed("bad base64 in the armor") from None
    if int.from_bytes(crc, "big") != _crc24(packets):
        raise _Malformed("armor checksum mismatch")
    return packets


def _packets(data: bytes) -> Iterator[tuple[int, bytes, bytes]]:
    """(tag, whole packet, body) for each packet; definite lengths only."""
    pos = 0
    while pos < len(data):
        start, first = pos, data[pos]
        if not first & 0x80:
            raise _Malformed("not a packet")
        if first & 0x40:  # new format
            tag, octet = first & 0x3F, _byte(data, pos + 1)
            if octet < 192:
                length, pos = octet, pos + 2
            elif octet < 224:
                length, pos = ((octet - 192) << 8) + _byte(data, pos + 2) + 192, pos + 3
            elif octet == 255:
                length, pos = _int(data, pos + 2, 4), pos + 6
            else:
                raise _Malformed("partial length outside literal data")
        else:  # old format
            tag, kind = (first >> 2) & 0x0F, first & 0x03
            if kind == 3:
                raise _Malformed("indeterminate length")
            size = 1 << kind
            length, pos = _int(data, pos + 1, size), pos + 1 + size
        if pos + length > len(data):
            raise _Malformed("packet runs past the end")
        yield tag, data[start : pos + length], data[pos : pos + length]
        pos += length


def _byte(data: bytes, pos: int) -> int:
    if pos >= len(data):
        raise _Malformed("truncated")
    return data[pos]


def _int(data: bytes, pos: int, size: int) -> int:
    if pos + size > len(data):
        raise _Malformed("truncated")
    return int.from_bytes(data[pos : pos + size], "big")


def _subpackets(area: bytes) -> Iterator[tuple[int, bytes]]:
    pos = 0
    while pos < len(area):
        octet = area[pos]
        if octet < 192:
            length, pos = octet, pos + 1
        elif octet < 255:
            length, pos = ((octet - 192) << 8) + _byte(area, pos + 1) + 192, pos + 2
        else:
            length, pos = _int(area, pos + 1, 4), pos + 5
        if length == 0 or pos + length > len(area):
            raise _Malformed("bad subpacket")
        yield area[pos] & 0x7F, area[pos + 1 : pos + length]
        pos += length


def _one_pass(body: bytes) -> bytes:
    """The one-pass signature packet announcing the v4 binary-document signature `body`."""
    if len(body) < 6 or body[0] != 4 or body[1] != 0x00:
        raise _Malformed("not a v4 signature of a binary document")
    sigclass, pubkey_algo, hash_algo = body[1], body[2], body[3]
    hashed_len = _int(body, 4, 2)
    hashed = body[6 : 6 + hashed_len]
    unhashed_len = _int(body, 6 + hashed_len, 2)
    unhashed = body[8 + hashed_len : 8 + hashed_len + unhashed_len]
    if len(unhashed) != unhashed_len:
        raise _Malformed("truncated signature")
    key_id = bytes(8)  # "any key" when the signature names none; gpg takes the issuer anyway
    for kind, value in [*_subpackets(hashed), *_subpackets(unhashed)]:
        if kind == _ISSUER and len(value) == 8:
            key_id = value
        elif kind == _ISSUER_FPR and len(value) >= 9 and key_id == bytes(8):
            key_id = value[-8:]
    # version 3, class, hash, public-key algorithm, key id, "last one-pass before the data"
    body = bytes([3, sigclass, hash_algo, pubkey_algo]) + key_id + b"\x01"
    return bytes([0xC0 | _ONE_PASS, len(body)]) + body


def _length(n: int) -> bytes:
    """A new-format definite body length."""
    if n < 192:
        return bytes([n])
    if n < 8384:
        n -= 192
        return bytes([(n >> 8) + 192, n & 0xFF])
    return b"\xff" + struct.pack(">I", n)


@dataclass(frozen=True)
class Framing:
    """What goes before and after the document's bytes to make them a signed message."""

    head: bytes  # one-pass packet, literal packet tag, its metadata (binary, no name, no date)
    signature: bytes  # the signature packet, unchanged

    @classmethod
    def of(cls, asc: bytes) -> Framing | None:
        """The framing for this signature file, or None when it must be checked detached."""
        try:
            packets = list(_packets(_dearmor(asc)))
            if len(packets) != 1 or packets[0][0] != _SIGNATURE:
                return None
            _, whole, body = packets[0]
            head = _one_pass(body) + bytes([0xC0 | _LITERAL])
        except _Malformed:
            return None
        return cls(head=head, signature=whole)

    def writer(self, write: Callable[[bytes | memoryview], object]) -> LiteralWriter:
        return LiteralWriter(self, write)


class LiteralWriter:
    """Frames a document streamed through feed() as the literal data of a signed message."""

    def __init__(self, framing: Framing, write: Callable[[bytes | memoryview], object]) -> None:
        self._framing = framing
        self._write = write
        self._pending = bytearray(b"b\x00\x00\x00\x00\x00")  # format, name length, date
        write(framing.head)

    def feed(self, chunk: bytes) -> None:
        pending = self._pending
        pending += chunk
        size = 1 << PART
        # At least one byte stays pending: the last part must have a definite length.
        if len(pending) > size:
            view = memoryview(pending)
            start = 0
            while len(pending) - start > size:
                self._write(bytes([224 + PART]))
                self._write(view[start : start + size])
                start += size
            view.release()
            del pending[:start]

    def close(self) -> None:
        self._write(_length(len(self._pending)) + bytes(self._pending))
        self._write(self._framing.signature)
        self._pending = bytearray()
