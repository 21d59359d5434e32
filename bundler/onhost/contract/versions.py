"""Version numbers: PEP 440-ish specifiers (enough for the recipes' ">=2.6,<3") and the
major version in `java -version` output."""

from __future__ import absolute_import, print_function

import re

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, List, Optional, Sequence, Set, Tuple, Union  # noqa: F401


def version_tuple(text):
    # type: (str) -> Tuple[int, ...]
    return tuple(int(p) for p in re.findall(r"\d+", text))


# --- PEP 440-ish specifiers, enough for the recipes' ">=2.6,<3" ---


def _cmp(a, b):
    # type: (Sequence[int], Sequence[int]) -> int
    width = max(len(a), len(b))
    a = tuple(a) + (0,) * (width - len(a))
    b = tuple(b) + (0,) * (width - len(b))
    return (a > b) - (a < b)


def satisfies(version, spec):
    # type: (Sequence[int], str) -> bool
    """True when the version tuple matches every clause of spec (">=2.6,<3", "==3.*", ...)."""
    for clause in [c.strip() for c in spec.split(",") if c.strip()]:
        match = re.match(r"^(~=|==|!=|<=|>=|<|>)\s*([0-9][0-9.]*)(\.\*)?$", clause)
        if not match:
            raise ValueError("unsupported version specifier %r" % clause)
        op, text, wildcard = match.groups()
        want = version_tuple(text)
        if wildcard:
            prefix_equal = tuple(version[: len(want)]) == want
            if (op == "==" and not prefix_equal) or (op == "!=" and prefix_equal):
                return False
            if op not in ("==", "!="):
                raise ValueError("wildcard only with == or != in %r" % clause)
            continue
        c = _cmp(version, want)
        ok = {
            "==": c == 0,
            "!=": c != 0,
            "<": c < 0,
            "<=": c <= 0,
            ">": c > 0,
            ">=": c >= 0,
            "~=": c >= 0 and tuple(version[: len(want) - 1]) == want[:-1],
        }[op]
        if not ok:
            return False
    return True


def parse_java_version(text):
    # type: (str) -> Optional[int]
    """The major version in `java -version` output: 1.8.0_392 is 8; 9 and later print 11.0.2,
    17, 21-ea. None when there is none."""
    match = re.search(r'version "([^"]+)"', text)
    parts = version_tuple(match.group(1)) if match else ()
    if not parts:
        return None
    return parts[1] if parts[0] == 1 and len(parts) > 1 else parts[0]
