"""On the target: check the operator's signature over the bundle before anything else.

    python bundlesig.py --bundle-dir DIR [--signer-key FILE] [--require-signature] [--archive FILE]

The operator copies NAME.tar and NAME.tar.asc (the signature `bundler sign` made) to the host
and unpacks NAME.tar beside them, so the archive is found next to the unpacked folder:
DIR/../NAME.tar (or NAME.tar.gz) with its .asc; --archive FILE names it when it lives elsewhere.
The check, in a throwaway gpg keyring holding only the keys of --signer-key FILE:

1. the .asc is a good signature over the archive by one of those keys;
2. the SHA256SUMS inside the signed archive is byte for byte the SHA256SUMS of the folder.

The installer then checks every file of the folder against that SHA256SUMS, which completes
the chain from the operator's key to each installed byte.

Exit 0: good signature, or not checked and not required (the reason is printed: gpg absent,
no --signer-key, archive or .asc not beside the folder). Exit 3: a bad signature, a key not in
--signer-key, a folder that is not the signed archive's, or not checked under --require-signature.
Exit 2: usage (a --signer-key file that does not exist).

Standard library only; runs on Python 2.7 and 3.6 to 3.13.
"""

from __future__ import absolute_import, print_function

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, Optional  # noqa: F401

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTEGRITY = 3
SUMS = "SHA256SUMS"
PREFIX = "bundle signature: "


def _say(out, text):
    out.write(PREFIX + text + "\n")
    out.flush()


def _which(names, path=None):
    for folder in (path or os.environ.get("PATH") or "/usr/bin:/bin").split(os.pathsep):
        for name in names:
            candidate = os.path.join(folder, name)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return candidate
    return None


def find_archive(bundle_dir):
    """(archive, signature) beside the unpacked folder; None for what is not there."""
    folder = os.path.abspath(bundle_dir).rstrip(os.sep)
    for suffix in (".tar", ".tar.gz"):
        archive = folder + suffix
        if os.path.isfile(archive):
            asc = archive + ".asc"
            return archive, (asc if os.path.isfile(asc) else None)
    return None, None


class _Keyring(object):
    """A temporary GNUPGHOME holding only the given keys; gpg's agent, if any, is stopped."""

    def __init__(self, gpg, keys):
        self.gpg = gpg
        # Short path: gpg puts sockets here and a socket path must stay under ~107 bytes.
        self.home = tempfile.mkdtemp(
            prefix="bundlesig-", dir="/tmp" if os.path.isdir("/tmp") else None
        )
        os.chmod(self.home, 0o700)
        code, _, err = self.run(["--import", keys])
        if code not in (0, 2):  # 2: a KEYS file with text besides the keys
            raise ValueError("gpg could not import %s: %s" % (keys, _last(err)))

    def run(self, args):
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LC_ALL": "C",
            "GNUPGHOME": self.home,
        }
        proc = subprocess.Popen(
            [self.gpg, "--homedir", self.home, "--batch", "--no-tty"] + args,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        out, err = proc.communicate()
        return proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

    def close(self):
        gpgconf = _which(["gpgconf"])
        if gpgconf is not None:
            with open(os.devnull, "wb") as devnull:
                subprocess.call(
                    [gpgconf, "--homedir", self.home, "--kill", "all"],
                    stdout=devnull,
                    stderr=devnull,
                    env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "GNUPGHOME": self.home},
                )
        shutil.rmtree(self.home, True)


def _last(text):
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def _status(stdout):
    status = {}  # type: Dict[str, Any]
    for line in stdout.splitlines():
        if line.startswith("[GNUPG:] "):
            parts = line[9:].split(" ")
            status.setdefault(parts[0], parts[1:])
    return status


def verify_signature(gpg, keys, archive, asc):
    """(True, description) for a good signature by a key in `keys`, else (False, reason)."""
    try:
        ring = _Keyring(gpg, keys)
    except ValueError as exc:
        return False, str(exc)
    try:
        code, out, err = ring.run(["--status-fd", "1", "--verify", asc, archive])
    finally:
        ring.close()
    status = _status(out)
    name = os.path.basename(archive)
    if "BADSIG" in status:
        return False, "BAD signature over %s: it was altered after it was signed" % name
    if "NO_PUBKEY" in status:
        key = (status["NO_PUBKEY"] or ["?"])[0]
        return False, "%s is signed by key %s, which is not in %s" % (name, key, keys)
    for word in ("EXPKEYSIG", "REVKEYSIG", "EXPSIG"):
        if word in status:
            return False, "%s: signature by an expired or revoked key (%s)" % (name, word)
    if code != 0 or "VALIDSIG" not in status or "GOODSIG" not in status:
        return False, "%s: signature did not verify: %s" % (name, _last(err))
    valid = status["VALIDSIG"]
    fingerprint = valid[-1] if len(valid) >= 10 else valid[0]
    signer = " ".join(status["GOODSIG"][1:])
    return True, "good signature over %s by %s (key %s)" % (name, signer, fingerprint)


def archive_sums(archive):
    """The SHA256SUMS member of the archive (one top folder), or None."""
    with tarfile.open(archive, "r:*") as tar:
        for info in tar:
            parts = info.name.split("/")
            if len(parts) == 2 and parts[1] == SUMS and info.isfile():
                stream = tar.extractfile(info)
                return stream.read() if stream is not None else None
    return None


def check_bundle_signature(bundle_dir, keys=None, require=False, archive=None, out=None):
    # type: (str, Optional[str], bool, Optional[str], Any) -> int
    """The installer's first step; returns the exit code (0, 2 or 3) and prints why."""
    out = out or sys.stderr
    if keys is not None and not os.path.isfile(keys):
        _say(out, "--signer-key %s: no such file; expected the operator's public key(s)" % keys)
        return EXIT_USAGE
    signature = None
    if archive is None:
        archive, signature = find_archive(bundle_dir)
    elif os.path.isfile(archive) and os.path.isfile(archive + ".asc"):
        signature = archive + ".asc"
    folder = os.path.basename(os.path.abspath(bundle_dir).rstrip(os.sep))
    gpg = _which(["gpg", "gpg2"])
    reason = None
    if keys is None:
        reason = "no --signer-key FILE given"
    elif archive is None or not os.path.isfile(archive):
        reason = (
            "no archive %s to check (looked for %s.tar and %s.tar.gz beside the folder); "
            "copy it and its .asc next to %s/ or pass --archive FILE"
            % (archive or folder, folder, folder, folder)
        )
    elif signature is None:
        reason = "no signature %s.asc beside %s; copy it from where the bundle was built" % (
            os.path.basename(archive),
            os.path.basename(archive),
        )
    elif gpg is None:
        reason = "gpg is not installed on this host"
    if reason is not None:
        _say(
            out,
            "NOT checked: %s. Checked: nothing about who made this bundle; its files are "
            "still checked against its SHA256SUMS, which catches damage, not a "
            "substituted bundle." % reason,
        )
        if require:
            _say(out, "refusing: --require-signature and the signature was not checked")
            return EXIT_INTEGRITY
        return EXIT_OK
    good, text = verify_signature(gpg, keys, archive, signature)
    if not good:
        _say(out, "REFUSED: %s; do not install this bundle" % text)
        return EXIT_INTEGRITY
    try:
        signed_sums = archive_sums(archive)
    except (tarfile.TarError, IOError, OSError, EOFError) as exc:
        _say(out, "REFUSED: %s is signed but cannot be read as a tar (%s)" % (archive, exc))
        return EXIT_INTEGRITY
    try:
        with open(os.path.join(bundle_dir, SUMS), "rb") as fh:
            local_sums = fh.read()
    except (IOError, OSError):
        local_sums = None
    if signed_sums is None or signed_sums != local_sums:
        _say(
            out,
            "REFUSED: %s/%s is not the one in the signed %s; unpack that archive "
            "again (tar -xf %s)"
            % (folder, SUMS, os.path.basename(archive), os.path.basename(archive)),
        )
        return EXIT_INTEGRITY
    _say(out, "%s; %s/%s is the signed one" % (text, folder, SUMS))
    return EXIT_OK


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(
        prog="bundlesig.py", description="Check the operator's signature over a bundle."
    )
    parser.add_argument("--bundle-dir", required=True)
    parser.add_argument("--signer-key")
    parser.add_argument("--keys", dest="signer_key", help=argparse.SUPPRESS)  # its old name
    parser.add_argument("--require-signature", action="store_true")
    parser.add_argument("--archive")
    args = parser.parse_args(argv)
    return check_bundle_signature(
        args.bundle_dir, args.signer_key, args.require_signature, args.archive
    )


if __name__ == "__main__":
    sys.exit(main())
