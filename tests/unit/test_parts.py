"""`bundler split`'s part sizes as the user writes them (the split and join themselves, on real
files under dash: tests/integration/test_parts.py)."""

from __future__ import annotations

import pytest

from bundler.errors import UsageError
from bundler.tools.parts import parse_size


def test_sizes() -> None:
    assert parse_size("4095M") == 4095 << 20
    assert parse_size("1G") == 1 << 30
    assert parse_size("650MiB") == 650 << 20
    assert parse_size("4096") == 4096
    for bad in ("", "0", "4X", "-1G", "1.5G"):
        with pytest.raises(UsageError):
            parse_size(bad)
