"""Fixtures of the integration tier."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A build's folder: its cache goes in cache/, its bundle in out/."""
    (tmp_path / "out").mkdir()
    return tmp_path
