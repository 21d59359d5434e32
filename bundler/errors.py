"""Every failure bundler reports, and the exit code each maps to.

Messages are one line: what was expected, what was found, and what to do next.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1
    USAGE = 2
    INTEGRITY = 3
    UNHEALTHY = 5  # bundler rehearse: the bundle did not install healthy
    INTERRUPTED = 130


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


class UnsafeArchiveError(IntegrityError):
    """A tarball has an entry that would land outside its folder, or the wrong top folder."""


class BundleFormatError(BundlerError):
    """A file given as a bundle is not one (no manifest, unknown schema)."""
