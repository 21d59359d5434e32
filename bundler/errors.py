"""Every failure bundler reports, and the exit code each maps to.

Messages are one line: what was expected, what was found, and what to do next.
"""

from __future__ import annotations

from enum import IntEnum

from bundler.onhost.contract import contract


class ExitCode(IntEnum):
    """The one exit-code table (bundler/onhost/contract/contract.py), shared with the installer."""

    OK = contract.EXIT_OK
    ERROR = contract.EXIT_ERROR
    USAGE = contract.EXIT_USAGE
    INTEGRITY = contract.EXIT_INTEGRITY
    PREREQ = contract.EXIT_PREREQ
    UNHEALTHY = contract.EXIT_UNHEALTHY
    INTERRUPTED = contract.EXIT_INTERRUPTED


# Every row of the table is a member, by name and code; a row added there fails here at import.
if [(e.name, e.value) for e in ExitCode] != [(n, c) for n, c, _ in contract.EXIT_CODES]:
    raise ImportError("bundler.errors.ExitCode differs from contract.EXIT_CODES")


class BundlerError(Exception):
    """Root of every error bundler reports; anything else is a bug."""

    exit_code: ExitCode = ExitCode.ERROR


class UsageError(BundlerError):
    """The command line asks for something that cannot be done (unknown version, bad option)."""

    exit_code = ExitCode.USAGE


class RecipeError(BundlerError):
    """A file under recipes/ is malformed or missing."""


class DownloadError(BundlerError):
    """No mirror served a file, and none served bytes that failed verification."""


class KeysUnavailableError(BundlerError):
    """`--gpg require` was asked but no trusted KEYS or no gpg could be had."""


class IntegrityError(BundlerError):
    """Bytes did not match a checksum, a pinned hash, a signature or a manifest."""

    exit_code = ExitCode.INTEGRITY


class SignatureError(IntegrityError):
    """A signature was bad, or made by a key not in the project's KEYS."""


class UnknownSignerError(SignatureError):
    """A signature was made by a key the KEYS file does not hold (`key`: its id or fingerprint)."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


class UnsafeArchiveError(IntegrityError):
    """A tarball has an entry that would land outside its folder, or the wrong top folder."""


class BundleFormatError(BundlerError):
    """A file given as a bundle is not one (no manifest, unknown schema)."""


class FilesystemError(BundlerError):
    """A folder bundler writes cannot take it: disk full, read-only, a file where a folder
    belongs, no permission."""

    exit_code = ExitCode.PREREQ
