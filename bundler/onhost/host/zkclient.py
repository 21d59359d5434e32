"""A small ZooKeeper client over the wire protocol (jute), standard library only.

Enough to write and read znodes and to open and close sessions, which ZooKeeper logs as
transactions: the installer uses that to make a 3.4 server write a snapshot before an upgrade
(upgrade.py), the tests to prove every znode survives. It talks to 3.4 and 3.5+ servers alike
and, unlike 3.4's one-shot `zkCli.sh CMD`, waits for its session before it asks anything.

Runs on Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, print_function

import socket
import struct

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import List, Optional, Tuple  # noqa: F401

# Operation codes (org.apache.zookeeper.ZooDefs.OpCode).
CREATE, EXISTS, GET_DATA, GET_CHILDREN, CLOSE = 1, 3, 4, 8, -11
# Error codes that callers act on (KeeperException.Code).
NO_NODE, NODE_EXISTS = -101, -110
# world:anyone with every permission: ZooDefs.Ids.OPEN_ACL_UNSAFE.
OPEN_ACL = struct.pack(">iii", 1, 31, 5) + b"world" + struct.pack(">i", 6) + b"anyone"


class ZkError(Exception):
    """The server answered an operation with an error code (`code`)."""

    def __init__(self, code, what):
        # type: (int, str) -> None
        Exception.__init__(self, "ZooKeeper error %d on %s" % (code, what))
        self.code = code


def _string(text):
    # type: (str) -> bytes
    data = text.encode("utf-8")
    return struct.pack(">i", len(data)) + data


def _buffer(data):
    # type: (Optional[bytes]) -> bytes
    if data is None:
        return struct.pack(">i", -1)
    return struct.pack(">i", len(data)) + data


class Session(object):
    """One session with one server; a context manager that closes it (a logged transaction)."""

    def __init__(self, host, port, timeout=10.0, session_ms=30000):
        # type: (str, int, float, int) -> None
        self.sock = socket.create_connection((host, port), timeout)
        self.sock.settimeout(timeout)
        self.xid = 0
        # ConnectRequest: protocol version, last zxid seen, timeout, session id, password.
        self._send(struct.pack(">iqiq", 0, 0, session_ms, 0) + _buffer(b"\0" * 16))
        reply = self._receive()
        _, _, self.session_id = struct.unpack(">iiq", reply[:16])
        if self.session_id == 0:
            raise ZkError(0, "connect (no session: is the server serving?)")

    def __enter__(self):
        # type: () -> Session
        return self

    def __exit__(self, *exc):
        # type: (object) -> None
        self.close()

    def _send(self, body):
        # type: (bytes) -> None
        self.sock.sendall(struct.pack(">i", len(body)) + body)

    def _exactly(self, size):
        # type: (int) -> bytes
        chunks, left = [], size
        while left:
            chunk = self.sock.recv(left)
            if not chunk:
                raise socket.error("the server closed the connection")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _receive(self):
        # type: () -> bytes
        (size,) = struct.unpack(">i", self._exactly(4))
        return self._exactly(size)

    def _call(self, op, body, what):
        # type: (int, bytes, str) -> bytes
        self.xid += 1
        self._send(struct.pack(">ii", self.xid, op) + body)
        while True:
            reply = self._receive()
            xid, _, err = struct.unpack(">iqi", reply[:16])
            if xid == self.xid:  # anything else is a watch event or a ping's answer
                break
        if err:
            raise ZkError(err, what)
        return reply[16:]

    def create(self, path, data=b""):
        # type: (str, bytes) -> None
        body = _string(path) + _buffer(data) + OPEN_ACL + struct.pack(">i", 0)
        self._call(CREATE, body, "create %s" % path)

    def get(self, path):
        # type: (str) -> bytes
        reply = self._call(GET_DATA, _string(path) + b"\0", "get %s" % path)
        (size,) = struct.unpack(">i", reply[:4])
        return reply[4 : 4 + size] if size > 0 else b""

    def exists(self, path):
        # type: (str) -> bool
        try:
            self._call(EXISTS, _string(path) + b"\0", "exists %s" % path)
        except ZkError as exc:
            if exc.code == NO_NODE:
                return False
            raise
        return True

    def children(self, path):
        # type: (str) -> List[str]
        reply = self._call(GET_CHILDREN, _string(path) + b"\0", "children of %s" % path)
        (count,) = struct.unpack(">i", reply[:4])
        names, at = [], 4
        for _ in range(max(count, 0)):
            (size,) = struct.unpack(">i", reply[at : at + 4])
            names.append(reply[at + 4 : at + 4 + size].decode("utf-8"))
            at += 4 + size
        return sorted(names)

    def close(self):
        # type: () -> None
        if self.sock is None:
            return
        try:
            self._call(CLOSE, b"", "close session")
        except (socket.error, ZkError):
            pass
        finally:
            self.sock.close()
            self.sock = None  # type: ignore[assignment]


def tree(host, port, top="/", timeout=10.0):
    # type: (str, int, str, float) -> List[Tuple[str, bytes]]
    """Every znode under top with its data, parents first (ZooKeeper's own /zookeeper left
    out): what must survive an upgrade."""
    found = []  # type: List[Tuple[str, bytes]]
    with Session(host, port, timeout) as zk:
        pending = [top]
        while pending:
            path = pending.pop(0)
            for name in zk.children(path):
                child = (path.rstrip("/") + "/" + name) if path != "/" else "/" + name
                if child == "/zookeeper":
                    continue
                found.append((child, zk.get(child)))
                pending.append(child)
    return found
