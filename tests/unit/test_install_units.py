"""The installer's parts that need no running services and start nothing: safe extraction
(archive.py) and the version rules (versions.py). install.sh's command line under dash and the
code on every target Python: tests/integration/test_install_units.py."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from bundler.onhost.contract import archive, versions

# --- version rules ---


@pytest.mark.parametrize(
    ("version", "spec", "ok"),
    [
        ((2, 7, 18), ">=2.6,<3", True),
        ((3, 11, 2), ">=2.6,<3", False),
        ((2, 6), ">=2.6,<3", True),
        ((3, 6, 15), ">=3", True),
        ((2, 7), ">=3", False),
        ((3, 13, 0), ">=2.7", True),
        ((3, 9), "==3.*", True),
        ((2, 7), "==3.*", False),
        ((3, 9, 1), "~=3.9", True),
        ((4, 0), "~=3.9", False),
        ((3, 0, 0), "!=3.0", False),
    ],
)
def test_launcher_python_specifiers(version: tuple[int, ...], spec: str, ok: bool) -> None:
    assert versions.satisfies(version, spec) is ok


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('java version "1.8.0_392"\nJava(TM) SE Runtime Environment', 8),
        ('openjdk version "1.7.0_95"', 7),
        ('openjdk version "11.0.2" 2019-01-15', 11),
        ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Runtime Environment', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('openjdk version "9-ea"', 9),
        ("Error: could not find libjava.so", None),
    ],
)
def test_java_version_output_of_every_era(output: str, major: int | None) -> None:
    assert versions.parse_java_version(output) == major


# --- archive.py: nothing leaves the release folder ---

TOP = "apache-storm-9.9.9"


def tarball(path: Path, *entries: tarfile.TarInfo | tuple[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for entry in entries:
            if isinstance(entry, tarfile.TarInfo):
                tar.addfile(entry)
            else:
                name, data = entry
                info = tarfile.TarInfo(name)
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
    return path


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def special(name: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    return info


@pytest.mark.parametrize(
    ("entries", "says"),
    [
        ([("/etc/evil", b"x")], "absolute"),
        ([(f"{TOP}/../evil", b"x")], "'..'"),
        ([("other-top/file", b"x")], "outside the release folder"),
        ([link(f"{TOP}/bin/up", "../../..")], "leaves the release folder"),
        ([link(f"{TOP}/abs", "/etc/passwd")], "absolute"),
        ([link(f"{TOP}/hard", "/etc/passwd", tarfile.LNKTYPE)], "leaves the release folder"),
        ([link(f"{TOP}/hard", "other/x", tarfile.LNKTYPE)], "leaves the release folder"),
        ([special(f"{TOP}/dev/sda", tarfile.BLKTYPE)], "special file"),
        ([special(f"{TOP}/dev/tty", tarfile.CHRTYPE)], "special file"),
        ([special(f"{TOP}/fifo", tarfile.FIFOTYPE)], "special file"),
        # Lexically inside, really one level up: a link under a folder that is itself a link.
        ([link(f"{TOP}/s", "."), link(f"{TOP}/s/up", "../x")], "inside a linked folder"),
    ],
)
def test_unsafe_entries_are_refused_and_nothing_is_kept(
    tmp_path: Path, entries: list[tarfile.TarInfo | tuple[str, bytes]], says: str
) -> None:
    tar = tarball(tmp_path / "evil.tar.gz", (f"{TOP}/bin/storm", b"#!/bin/sh\n"), *entries)
    releases = tmp_path / "releases"
    with pytest.raises(archive.UnsafeArchive, match=says):
        archive.extract(str(tar), str(releases), TOP)
    assert list(releases.iterdir()) == []
    assert not (tmp_path / "evil").exists() and not Path("/etc/evil").exists()


def test_a_release_unpacks_whole_with_safe_modes_and_in_tree_links(tmp_path: Path) -> None:
    setuid = tarfile.TarInfo(f"{TOP}/bin/su")
    setuid.mode = 0o4777
    setuid.size = 2
    with tarfile.open(tmp_path / "ok.tar.gz", "w:gz") as tar:
        tar.addfile(setuid, io.BytesIO(b"#!"))
        for name, data in ((f"./{TOP}/conf/defaults.yaml", b"a: 1\n"), (f"{TOP}/lib/x.jar", b"j")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o666
            tar.addfile(info, io.BytesIO(data))
        tar.addfile(link(f"{TOP}/lib/current.jar", "x.jar"))
        tar.addfile(link(f"{TOP}/lib/same.jar", f"{TOP}/lib/x.jar", tarfile.LNKTYPE))
    releases = tmp_path / "releases"
    final = Path(archive.extract(str(tmp_path / "ok.tar.gz"), str(releases), TOP))
    assert final == releases / TOP
    assert sorted(p.name for p in releases.iterdir()) == [TOP]
    assert (final / "conf" / "defaults.yaml").read_text() == "a: 1\n"
    assert (final / "bin" / "su").stat().st_mode & 0o7777 == 0o755
    assert (final / "lib" / "x.jar").stat().st_mode & 0o7777 == 0o644
    assert os.readlink(final / "lib" / "current.jar") == "x.jar"
    assert (final / "lib" / "same.jar").read_bytes() == b"j"
    # A release folder that exists is complete: it is never extracted over.
    with pytest.raises(OSError):
        archive.extract(str(tmp_path / "ok.tar.gz"), str(releases), TOP)


def test_read_member_reads_one_file_without_extracting(tmp_path: Path) -> None:
    tar = tarball(tmp_path / "z.tar.gz", (f"{TOP}/bin/zkServer.sh", b"#!/usr/bin/env bash\nx\n"))
    assert archive.read_member(str(tar), f"{TOP}/bin/zkServer.sh", 20) == b"#!/usr/bin/env bash\n"
    assert archive.read_member(str(tar), f"{TOP}/missing", 20) is None
