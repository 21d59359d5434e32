"""Is it really up? supervisord states over XML-RPC, ZooKeeper four-letter words, TCP and HTTP.

`supervisorctl status` exits 0 while a program is STARTING or in BACKOFF, so it proves
nothing; these probes ask the processes themselves. No proxy settings are read: every probe
talks to the address it is given.

Standard library only; runs on Python 2.7 and 3.6+.
"""

from __future__ import absolute_import, print_function

import socket
import time

from . import boundary

try:  # Python 3
    import http.client as httplib
    import xmlrpc.client as xmlrpclib
except ImportError:  # Python 2
    import httplib  # type: ignore[no-redef,import-not-found]
    import xmlrpclib  # type: ignore[no-redef,import-not-found]

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import List, Optional  # noqa: F401

# supervisord process states (supervisor/states.py)
STOPPED = 0
STARTING = 10
RUNNING = 20
BACKOFF = 30
STOPPING = 40
EXITED = 100
FATAL = 200
UNKNOWN = 1000

Fault = xmlrpclib.Fault
ProtocolError = xmlrpclib.ProtocolError


class _UnixHTTPConnection(httplib.HTTPConnection):
    def __init__(self, path, timeout, strict):
        httplib.HTTPConnection.__init__(self, "localhost", timeout=timeout)
        self.unix_path = path
        self.strict = strict

    def connect(self):
        # Only a socket of root's in root's folders: never a server the service user put there
        # (its answers name the PIDs a stop signals).
        if self.strict:
            boundary.check_socket(self.unix_path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.unix_path)
        except Exception:
            sock.close()
            raise
        self.sock = sock


class _UnixTransport(xmlrpclib.Transport):
    def __init__(self, path, timeout, strict):
        xmlrpclib.Transport.__init__(self)
        self.unix_path = path
        self.timeout = timeout
        self.strict = strict

    def make_connection(self, host):
        # A fresh connection per call: supervisord closes it after each response anyway.
        return _UnixHTTPConnection(self.unix_path, self.timeout, self.strict)


def supervisor(socket_path, timeout=30.0, strict=True):
    """An XML-RPC proxy to supervisord listening on the unix socket `socket_path`; strict: as
    root, only on root's own socket in root's folders (boundary.check_socket)."""
    return xmlrpclib.ServerProxy(
        "http://localhost/RPC2", transport=_UnixTransport(socket_path, timeout, strict)
    )


def stop_program(proxy, name):
    """Stop one program and wait for it; one that is not running (or not known) is stopped."""
    try:
        proxy.supervisor.stopProcess(name, True)
    except Fault as exc:
        if "NOT_RUNNING" not in exc.faultString and "BAD_NAME" not in exc.faultString:
            raise


def supervisord_state(socket_path, timeout=5.0):
    """supervisord's own state name (RUNNING, RESTARTING, SHUTDOWN...), None when it does
    not answer on the socket."""
    try:
        return supervisor(socket_path, timeout).supervisor.getState()["statename"]
    except (socket.error, OSError, IOError, Fault, ProtocolError, httplib.HTTPException):
        return None


def process_infos(proxy):
    """{name: info} for every process; info as supervisor.getProcessInfo returns it."""
    return dict((info["name"], info) for info in proxy.supervisor.getAllProcessInfo())


def four_letter(host, port, word, timeout=5.0):
    # type: (str, int, str, float) -> str
    """ZooKeeper's answer to a four-letter word, as text ('' when it closed without one)."""
    sock = socket.create_connection((host, port), timeout)
    try:
        sock.sendall(word.encode("ascii"))
        chunks = []  # type: List[bytes]
        while True:
            data = sock.recv(4096)
            if not data:
                break
            chunks.append(data)
    finally:
        sock.close()
    return b"".join(chunks).decode("utf-8", "replace")


def srvr_field(host, port, name, timeout=5.0):
    # type: (str, int, str, float) -> Optional[str]
    """A field of ZooKeeper's answer to `srvr` (Mode, Zxid...), None when it gives none."""
    answer = four_letter(host, port, "srvr", timeout)  # type: str
    for line in answer.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    return None


def zookeeper_mode(host, port, timeout=5.0):
    """The `Mode:` ZooKeeper reports through `srvr` (standalone, leader, follower), or None
    while it does not serve (a quorum member before its ensemble has a leader)."""
    return srvr_field(host, port, "Mode", timeout)


def zookeeper_mode_or_none(host, port, timeout=3.0):
    # type: (str, int, float) -> Optional[str]
    """zookeeper_mode, None also when nothing answers."""
    try:
        mode = zookeeper_mode(host, port, timeout)  # type: Optional[str]
    except (socket.error, OSError, IOError):
        return None
    return mode


def tcp_open(host, port, timeout=3.0):
    try:
        sock = socket.create_connection((host, port), timeout)
    except (socket.error, OSError):
        return False
    sock.close()
    return True


def http_status(host, port, path="/", timeout=5.0):
    """The HTTP status of GET path, or None when nothing answers."""
    conn = httplib.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        return conn.getresponse().status
    except (socket.error, OSError, httplib.HTTPException):
        return None
    finally:
        conn.close()


def wait(check, deadline, interval=0.5):
    """Call check() until it returns something true or time.time() passes deadline; returns
    the last result."""
    while True:
        result = check()
        if result or time.time() >= deadline:
            return result
        time.sleep(interval)


def tail(path, lines=30, max_bytes=64 << 10):
    """The last lines of a text file, '' when it cannot be read."""
    try:
        data = boundary.tail(path, max_bytes)
    except (IOError, OSError, boundary.Untrusted):
        return ""
    text = data.decode("utf-8", "replace")
    return "\n".join(text.splitlines()[-lines:])
