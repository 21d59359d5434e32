"""bundle.write_archive with an archive begun while its lead downloaded, on a small tmpfs that
fills up and behind a bind mount of the same disk (both need root to mount; the rest of the
copy's rules: tests/unit/test_bundle_copy.py)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from bundler.pack import bundle
from bundler.pack.bundle import write_archive
from tests.support.archive_members import LEAD, PAYLOAD, archive_members


def test_a_begun_archive_that_ran_out_of_space_gives_it_back_and_is_not_used(
    tmp_path: Path, small_disk: Callable[..., Path]
) -> None:
    """A full disk while the lead downloads: the copy stops there, and its space is freed
    before the bundle is written the usual way on the same disk (which could not hold both)."""
    members = archive_members(tmp_path)
    expected_path = tmp_path / "copied.tar"
    expected = write_archive(expected_path, "top", members, 946684800, lead=LEAD)
    disk = small_disk("disk", 3600)
    filler = disk / "filler"
    filler.write_bytes(bytes(2 << 20))
    (disk / "staging").mkdir()
    prefix = bundle.Prefix(disk / "staging", "top", LEAD)
    try:
        prefix.feed(PAYLOAD)
        assert prefix.broken
        filler.unlink()
        dest = disk / "out.tar"
        assert write_archive(dest, "top", members, 946684800, "tar", LEAD, prefix) == expected
        assert dest.read_bytes() == expected_path.read_bytes()
    finally:
        prefix.discard()
    assert sorted(p.name for p in disk.iterdir()) == ["out.tar"]


def test_a_begun_archive_behind_another_mount_of_the_same_disk_is_not_used(
    tmp_path: Path,
) -> None:
    """Two mounts of one filesystem (a bind mount, as containers make) share st_dev but refuse
    a rename between them: the bundle is then written the usual way."""
    if os.geteuid() != 0:
        pytest.skip("a bind mount needs root")
    members = archive_members(tmp_path)
    copied = tmp_path / "copied.tar"
    expected = write_archive(copied, "top", members, 946684800, lead=LEAD)
    outside, inside = tmp_path / "outside", tmp_path / "inside"
    outside.mkdir()
    inside.mkdir()
    subprocess.run(["mount", "--bind", outside, inside], check=True)
    try:
        assert os.stat(inside).st_dev == os.stat(tmp_path).st_dev
        (tmp_path / "staging").mkdir()
        prefix = bundle.Prefix(tmp_path / "staging", "top", LEAD)
        try:
            prefix.feed(PAYLOAD)
            dest = inside / "out.tar"
            assert write_archive(dest, "top", members, 946684800, "tar", LEAD, prefix) == expected
            assert dest.read_bytes() == copied.read_bytes()
        finally:
            prefix.discard()
        assert [p.name for p in inside.iterdir()] == ["out.tar"]
    finally:
        subprocess.run(["umount", inside], check=True)
    assert not (tmp_path / "staging").exists()
