"""Ask Nimbus what it knows, over its own Thrift API: the cluster's supervisors and their slots,
the Nimbus hosts and which leads, the topologies and their executors' counts; and kill a
topology. `stormctl status` and `stormctl smoke` use it, so health comes from the daemons
themselves, not only from open ports.

Nimbus speaks Thrift's binary protocol over framed transport (Storm's SimpleTransportPlugin,
the default `storm.thrift.transport` of 0.9 to 2.x). Thrift's structs carry their field ids and
types, so this reads any answer generically into {field id: value} and names only the fields
it uses (storm.thrift's numbering, the same from 0.9 to 2.x). Standard library only; runs on
Python 2.7 and 3.6+.
"""

from __future__ import absolute_import

import socket
import struct

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional, Tuple  # noqa: F401

# Thrift's type ids.
STOP, BOOL, BYTE, DOUBLE, I16, I32, I64, STRING, STRUCT, MAP, SET, LIST = (
    0, 2, 3, 4, 6, 8, 10, 11, 12, 13, 14, 15
)  # fmt: skip
CALL, REPLY, EXCEPTION = 1, 2, 3
VERSION_1 = 0x80010000
# An answer larger than this is not Nimbus's (nimbus.thrift.max_buffer_size is 1 MiB by default).
MAX_FRAME = 64 << 20


class NimbusError(Exception):
    """Nimbus did not answer, or answered with an error."""


class _Reader(object):
    def __init__(self, data):
        # type: (bytes) -> None
        self.data = data
        self.at = 0

    def take(self, size):
        # type: (int) -> bytes
        if self.at + size > len(self.data):
            raise NimbusError("Nimbus's answer ends early")
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk

    def unpack(self, fmt):
        # type: (str) -> Any
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self):
        # type: () -> Any
        raw = self.take(self.unpack("!i"))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw

    def value(self, kind):
        # type: (int) -> Any
        if kind == BOOL:
            return self.unpack("!b") != 0
        if kind in (BYTE, I16, I32, I64, DOUBLE):
            return self.unpack({BYTE: "!b", I16: "!h", I32: "!i", I64: "!q", DOUBLE: "!d"}[kind])
        if kind == STRING:
            return self.string()
        if kind == STRUCT:
            return self.struct()
        if kind == MAP:
            key_kind, value_kind, size = self.unpack("!b"), self.unpack("!b"), self.unpack("!i")
            pairs = [(self.value(key_kind), self.value(value_kind)) for _ in range(size)]
            return dict((_hashable(k), v) for k, v in pairs)
        if kind in (SET, LIST):
            item_kind, size = self.unpack("!b"), self.unpack("!i")
            return [self.value(item_kind) for _ in range(size)]
        raise NimbusError("Nimbus's answer holds Thrift type %d, which this does not read" % kind)

    def struct(self):
        # type: () -> Dict[int, Any]
        fields = {}  # type: Dict[int, Any]
        while True:
            kind = self.unpack("!b")
            if kind == STOP:
                return fields
            field = self.unpack("!h")
            fields[field] = self.value(kind)


def _hashable(value):
    # type: (Any) -> Any
    """A struct used as a map key (GlobalStreamId) becomes a sorted tuple of its fields."""
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    return value


def _string_field(field, text):
    # type: (int, str) -> bytes
    raw = text.encode("utf-8")
    return struct.pack("!bhi", STRING, field, len(raw)) + raw


def _message(name, args):
    # type: (str, bytes) -> bytes
    """A framed CALL of method name with the encoded fields of its argument struct."""
    raw = name.encode("ascii")
    body = struct.pack("!Ii", VERSION_1 | CALL, len(raw)) + raw + struct.pack("!i", 0)
    body += args + struct.pack("!b", STOP)
    return struct.pack("!i", len(body)) + body


def _receive(sock, size):
    # type: (socket.socket, int) -> bytes
    chunks = []
    while size > 0:
        chunk = sock.recv(min(size, 1 << 16))
        if not chunk:
            raise NimbusError("Nimbus closed the connection before answering")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def call(host, port, name, args=b"", timeout=10.0):
    # type: (str, int, str, bytes, float) -> Dict[int, Any]
    """The result struct of Nimbus method name: {0: the value} or {N: the exception struct}."""
    try:
        sock = socket.create_connection((host, port), timeout)
    except (OSError, socket.error) as error:
        raise NimbusError("no Nimbus at %s:%d (%s)" % (host, port, error))  # noqa: B904 (Python 2 has no raise-from)
    try:
        sock.sendall(_message(name, args))
        size = struct.unpack("!i", _receive(sock, 4))[0]
        if not 0 < size <= MAX_FRAME:
            raise NimbusError(
                "%s:%d did not answer in Thrift (frame of %d bytes)" % (host, port, size)
            )
        reader = _Reader(_receive(sock, size))
    except socket.timeout:
        raise NimbusError("Nimbus at %s:%d did not answer within %g s" % (host, port, timeout))  # noqa: B904 (Python 2 has no raise-from)
    except (OSError, socket.error) as error:
        raise NimbusError("Nimbus at %s:%d: %s" % (host, port, error))  # noqa: B904 (Python 2 has no raise-from)
    finally:
        sock.close()
    version = reader.unpack("!I")
    if version & 0xFFFF0000 != VERSION_1:
        raise NimbusError("%s:%d did not answer in Thrift's binary protocol" % (host, port))
    reader.string()
    reader.unpack("!i")
    result = reader.struct()
    if version & 0xFF == EXCEPTION:
        raise NimbusError("Nimbus: %s" % result.get(1, result))
    return result


def _success(host, port, name, args=b"", timeout=10.0):
    # type: (str, int, str, bytes, float) -> Any
    result = call(host, port, name, args, timeout)
    if 0 not in result:
        errors = [v.get(1, v) if isinstance(v, dict) else v for v in result.values()]
        raise NimbusError(
            "Nimbus %s: %s" % (name, "; ".join(str(e) for e in errors) or "no result")
        )
    return result[0]


def cluster(host, port, timeout=10.0):
    # type: (str, int, float) -> Dict[str, Any]
    """getClusterInfo, named: supervisors (host, slots, used), nimbuses (host, port, leader),
    topologies (id, name, status, workers)."""
    info = _success(host, port, "getClusterInfo", timeout=timeout)
    supervisors = [
        {
            "host": s.get(1),
            "id": s.get(5),
            "slots": s.get(3, 0),
            "used": s.get(4, 0),
            "version": s.get(6),
        }
        for s in info.get(1, [])
    ]
    nimbuses = [
        {"host": n.get(1), "port": n.get(2), "leader": bool(n.get(4)), "version": n.get(5)}
        for n in info.get(4, [])
    ]
    topologies = [
        {"id": t.get(1), "name": t.get(2), "status": t.get(7), "workers": t.get(5, 0)}
        for t in info.get(3, [])
    ]
    return {"supervisors": supervisors, "nimbuses": nimbuses, "topologies": topologies}


def _count(stats):
    # type: (Any) -> int
    """The all-time total of a {window: {stream: count}} statistics map."""
    if not isinstance(stats, dict):
        return 0
    window = stats.get(":all-time") or {}
    return sum(v for k, v in window.items() if not str(k).startswith("__"))


def topology(host, port, topology_id, timeout=10.0):
    # type: (str, int, str, float) -> Dict[str, Any]
    """getTopologyInfo, named: status, and per executor its component, host, port, uptime
    (0 until its worker reports it), and the tuples it emitted and acked (all time, system
    streams left out)."""
    info = _success(host, port, "getTopologyInfo", _string_field(1, topology_id), timeout)
    executors = []
    for e in info.get(4, []):
        stats = e.get(7) or {}
        specific = stats.get(3) or {}
        role_stats = specific.get(1) or specific.get(2) or {}
        executors.append(
            {
                "component": e.get(2),
                "host": e.get(3),
                "port": e.get(4),
                "uptime": e.get(5, 0),
                "emitted": _count(stats.get(1)),
                "acked": _count(role_stats.get(1)),
                "bolt": 1 in specific,
            }
        )
    errors = [
        err.get(1)
        for found in (info.get(6) or {}).values()
        for err in found
        if isinstance(err, dict)
    ]
    return {"status": info.get(5), "executors": executors, "errors": errors}


def kill(host, port, name, wait_secs=0, timeout=10.0):
    # type: (str, int, str, int, float) -> None
    """killTopologyWithOpts: deactivate name, and remove it after wait_secs."""
    options = struct.pack("!bhi", I32, 1, wait_secs) + struct.pack("!b", STOP)
    args = _string_field(1, name) + struct.pack("!bh", STRUCT, 2) + options
    call(host, port, "killTopologyWithOpts", args, timeout)
