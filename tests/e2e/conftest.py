"""Fixtures of the e2e tier: the headline bundle (Storm 2.6.4 + ZooKeeper 3.8.4) built once from
the test mirror, and a fresh unpacked copy of it per test in a folder every user can reach."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.bundles import build_bundle, public_dir, unpack


@pytest.fixture(scope="session")
def bundle_tar(mirror_dir: Path, wheelhouse: Path) -> Path:
    return build_bundle(mirror_dir, wheelhouse)


@pytest.fixture
def bundle_dir(bundle_tar: Path) -> Iterator[Path]:
    where = public_dir("bundle")
    try:
        yield unpack(bundle_tar, where)
    finally:
        shutil.rmtree(where, ignore_errors=True)
