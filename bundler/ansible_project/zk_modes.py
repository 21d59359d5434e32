"""Ask each ZooKeeper member `srvr` and print what the ensemble looks like, as JSON.

Arguments: NAME=ADDRESS:PORT per member. Runs on the managed host under its own Python (2.7 or
3.6+), stdlib only. Exit 0 whatever the answers; the playbook decides what is enough.
"""

import json
import socket
import sys


def mode(address, port):
    try:
        sock = socket.create_connection((address, int(port)), 3)
    except (socket.error, ValueError):  # noqa: UP024 (Python 2.7: not an OSError)
        return None
    try:
        sock.settimeout(3)
        sock.sendall(b"srvr")
        data = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.error:  # noqa: UP024
        return None
    finally:
        sock.close()
    for line in data.decode("utf-8", "replace").splitlines():
        if line.startswith("Mode:"):
            return line.split(":", 1)[1].strip()
    return None


def main(args):
    members = {}
    for arg in args:
        name, _, where = arg.partition("=")
        address, _, port = where.rpartition(":")
        members[name] = mode(address, port)
    serving = [m for m in members.values() if m in ("leader", "follower", "standalone")]
    report = {
        "members": members,
        "serving": len(serving),
        "quorum": len(members) // 2 + 1,
        "leaders": len([m for m in serving if m in ("leader", "standalone")]),
    }
    sys.stdout.write(json.dumps(report, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
