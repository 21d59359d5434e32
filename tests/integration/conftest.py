"""Fixtures of the integration tier."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A build's folder: its cache goes in cache/, its bundle in out/."""
    (tmp_path / "out").mkdir()
    return tmp_path


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """mount(name, kib, ro=False): a tmpfs of that size under tmp_path, unmounted after."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mounted: list[Path] = []

    def mount(name: str, kib: int, ro: bool = False) -> Path:
        point = tmp_path / name
        point.mkdir()
        options = f"size={kib}k,mode=0755" + (",ro" if ro else "")
        subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", point], check=True)
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", point], check=True)
