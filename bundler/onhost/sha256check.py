"""Check files against a SHA256SUMS file when the host has no sha256sum.

Usage: python sha256check.py SHA256SUMS   (run from the folder the sums are relative to)
Exit 0 when every listed file matches, 3 otherwise, printing one line per problem.
Standard library only; runs on Python 2.7 and 3.6+.
"""

import hashlib
import sys


def digest(path):
    # type: (str) -> str
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(1 << 20)
            if not chunk:
                break
            h.update(chunk)
    return h.hexdigest()


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: sha256check.py SHA256SUMS\n")
        return 2
    bad = 0
    with open(argv[1]) as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line:
                continue
            expected, name = line.split("  ", 1)
            if name.startswith("/") or ".." in name.split("/"):
                sys.stderr.write("%s: unsafe path in SHA256SUMS\n" % name)
                bad += 1
                continue
            try:
                actual = digest(name)
            except (IOError, OSError):
                sys.stderr.write("%s: MISSING\n" % name)
                bad += 1
                continue
            if actual != expected:
                sys.stderr.write("%s: FAILED\n" % name)
                bad += 1
    return 3 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
