"""The one rule for secrets in anything bundler prints or writes: `user:***@`.

A URL's password (or a token given as its user name) is replaced wherever the URL appears:
messages, progress lines, cache records, the provenance. Secrets that reach bundler without a
URL around them (a password from ~/.netrc, a pip setting) are registered with `secret()` and
replaced wherever they appear as they are.
"""

from __future__ import annotations

import re
import threading

# scheme://user:password@ or scheme://token@ (anything but the delimiters of a netloc).
_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<info>[^/@\s?#]+)@")
MASK = "***"
# Shorter strings are too likely to occur by chance to be replaced wherever they appear.
_MIN_SECRET = 4

_lock = threading.Lock()
_secrets: set[str] = set()


def secret(value: str | None) -> None:
    """Remember a secret that may turn up in text without a URL around it."""
    if value and len(value) >= _MIN_SECRET:
        with _lock:
            _secrets.add(value)


def _userinfo(match: re.Match[str]) -> str:
    user, sep, password = match.group("info").partition(":")
    # A user name alone is a token (pip's rule for https://TOKEN@host).
    shown = f"{user}:{MASK}" if sep else MASK
    secret(password)
    return f"{match.group('scheme')}{shown}@"


def redact(text: str) -> str:
    """`text` with every URL's credentials masked and every known secret replaced."""
    text = _USERINFO.sub(_userinfo, text)
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for value in known:
        text = text.replace(value, MASK)
    return text
