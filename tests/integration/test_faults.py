"""Fault injection against the build: hostile archives, stalled and cut mirrors, a rotten
cache, and a filesystem that says no. Each test reproduces the fault for real (a real HTTP
server on 127.0.0.1, real files, a real tmpfs) and checks what the user sees and what is left."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from bundler.onhost.contract import archive
from tests.support.cli import STORM_PATH, Run, build_args, bundler, cache_entries
from tests.support.make_mirror import evil_tarball, sign, write_checksum
from tests.support.mirror_server import MirrorServer

STORM_TOP = "apache-storm-0.9.5"
STORM_FILE = "apache-storm-0.9.5.tar.gz"
FAST = ("--read-timeout", "2")  # stalls found in 2 s instead of the default 15 s


def error_line(run: Run) -> str:
    """The one error line; fails when there is not exactly one, or no clean exit."""
    errors = [line for line in run.err.splitlines() if line.startswith("bundler: ")]
    assert len(errors) == 1, run
    assert "Traceback" not in run.err and "internal error" not in run.err, run
    return errors[0]


def storm_entry(workdir: Path) -> Path:
    return workdir / "cache" / "v1" / "artifacts" / STORM_PATH.lstrip("/")


def flip_byte(path: Path, offset: int) -> None:
    """Change one byte in place, same size, and put the old mtime back."""
    st = path.stat()
    with open(path, "r+b") as fh:
        fh.seek(offset)
        byte = fh.read(1)
        fh.seek(offset)
        fh.write(bytes([byte[0] ^ 0x01]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


# --- 1. one archive judge: the build refuses what the installer would refuse ---

CHAIN = f"{STORM_TOP}/lib/b/c/d/e/f/g/h"
# A signed tarball whose links are each lexically inside the folder, but chain out of it:
# a -> lib/, so a/x -> ../../../../../../../../tmp is /tmp, and a file is written through it.
CHAINED_OUT = {
    "symlinks": {
        f"{CHAIN}/a": "../../../../../../..",
        f"{CHAIN}/a/x": "../../../../../../../../tmp",
    },
    "entries": [f"{STORM_TOP}/bin/storm", f"{CHAIN}/a/x/pwned"],
}
# No link inside a linked folder, yet `u` resolves outside once `s` is followed (the kernel
# follows s before it applies the ..): lexically a/b/s/../.. is a/.
THROUGH_A_LINK = {
    "symlinks": {f"{STORM_TOP}/a/b/s": "../..", f"{STORM_TOP}/u": "a/b/s/../../.."},
    "entries": [f"{STORM_TOP}/bin/storm"],
}


def signed_evil_mirror(mirror_dir: Path, tmp_path: Path, layout: dict[str, object]) -> Path:
    copy = tmp_path / "evil-mirror"
    shutil.copytree(mirror_dir, copy, symlinks=True)
    tarball = copy / STORM_PATH.lstrip("/")
    for old in tarball.parent.iterdir():
        old.unlink()
    symlinks = layout["symlinks"]
    entries = layout["entries"]
    assert isinstance(symlinks, dict) and isinstance(entries, list)
    evil_tarball(tarball, STORM_TOP, entries, symlinks=symlinks)
    write_checksum(tarball, "sha512", "coreutils")
    sign(copy, tarball)
    return copy


@pytest.mark.parametrize(
    ("layout", "names"),
    [(CHAINED_OUT, f"{CHAIN}/a/x"), (THROUGH_A_LINK, f"{STORM_TOP}/u")],
    ids=["chained-links", "through-a-link"],
)
def test_links_that_escape_once_followed_never_get_into_a_bundle(
    mirror_dir: Path,
    wheelhouse: Path,
    workdir: Path,
    tmp_path: Path,
    layout: dict[str, object],
    names: str,
) -> None:
    evil = signed_evil_mirror(mirror_dir, tmp_path, layout)
    with MirrorServer(evil) as server:
        run = bundler(*build_args(server.url, evil, wheelhouse, workdir))
    assert run.code == 3, run
    line = error_line(run)
    assert STORM_FILE in line and repr(names) in line, line
    assert list((workdir / "out").iterdir()) == []
    assert not any("apache-storm" in e for e in cache_entries(workdir))
    # The installer's extract() is the same judge: it refuses the same tarball, keeping nothing.
    releases = tmp_path / "releases"
    tarball = evil / STORM_PATH.lstrip("/")
    with pytest.raises(archive.UnsafeArchive, match="link"):
        archive.extract(str(tarball), str(releases), STORM_TOP)
    assert list(releases.iterdir()) == []


def test_real_release_tarballs_still_pass_the_judge(mirror_dir: Path) -> None:
    tarballs = sorted(mirror_dir.rglob("*.tar.gz"))
    assert tarballs
    for path in tarballs:
        with tarfile.open(path) as tar:
            members = tar.getmembers()
        top = members[0].name.split("/")[0]
        judge = archive.Judge(top)
        problems = [judge.add(m.name, archive.kind_of(m.type), m.linkname) for m in members]
        assert [p for p in problems if p] == [] and judge.finish() is None, path


# --- 2. stalls are failures, reported as they happen ---


def two_mirrors(
    server: MirrorServer, mirror_dir: Path, wheelhouse: Path, workdir: Path
) -> list[str | Path]:
    return build_args(
        f"{server.url}/m1", mirror_dir, wheelhouse, workdir, "--mirror", server.url, *FAST
    )


def storm_mirror(run: Run) -> str:
    """The mirror that served Storm's tarball, from the provenance beside the bundle."""
    bundle = Path(run.out.strip())
    statement = json.loads(bundle.with_name(bundle.name + ".provenance.json").read_text())
    deps = statement["predicate"]["buildDefinition"]["resolvedDependencies"]
    return str(
        next(d for d in deps if d["name"].startswith("apache-storm-"))["annotations"]["servedBy"]
    )


@pytest.mark.parametrize(
    ("fault", "says"),
    [
        ("stall:0", "stopped sending: no data for 2 s after 0 of"),
        ("stall:300000", "stopped sending: no data for 2 s after 300000 of"),
        ("hang:30", "no answer within 2 s"),
    ],
    ids=["headers-then-nothing", "stalled-mid-file", "no-headers"],
)
def test_a_stalled_mirror_is_named_and_left_for_the_next(
    mirror_dir: Path,
    mirror_server: MirrorServer,
    wheelhouse: Path,
    workdir: Path,
    fault: str,
    says: str,
) -> None:
    mirror_server.set_fault_forever(f"/m1{STORM_PATH}", fault)
    run = bundler(*two_mirrors(mirror_server, mirror_dir, wheelhouse, workdir))
    assert run.code == 0, run
    warning = next(line for line in run.err.splitlines() if "stalled" in line)
    assert warning.startswith(f"WARNING: {mirror_server.url}/m1 stalled on {STORM_FILE}: "), run
    assert says in warning and warning.endswith("moving on to the next mirror"), warning
    assert storm_mirror(run) == mirror_server.url
    # Not waited on again: one request to the stalled mirror for the tarball.
    assert len(mirror_server.requests_for(f"/m1{STORM_PATH}")) == 1


def test_only_a_stalled_mirror_says_it_stopped_sending_not_that_it_lacks_the_file(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, workdir: Path
) -> None:
    mirror_server.set_fault_forever(STORM_PATH, "stall:1000")
    run = bundler(*build_args(mirror_server.url, mirror_dir, wheelhouse, workdir, *FAST))
    assert run.code == 1, run
    line = error_line(run)
    assert line.startswith(f"bundler: error: no mirror delivered {STORM_FILE}: "), line
    assert "stopped sending" in line and "no mirror has" not in line
    assert "no other mirror to try" in run.err
    assert list((workdir / "out").iterdir()) == []
    assert not any((workdir / "cache" / "v1" / "tmp").iterdir())


def test_the_per_mirror_deadline_bounds_a_slow_mirror(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, workdir: Path
) -> None:
    # Answers after 4 s each time: never silent for --read-timeout 10, but past the deadline.
    mirror_server.set_fault_forever(f"/m1{STORM_PATH}", "hang:4")
    args = build_args(
        f"{mirror_server.url}/m1", mirror_dir, wheelhouse, workdir, "--mirror", mirror_server.url
    )
    run = bundler(*args, "--read-timeout", "10", "--mirror-deadline", "2")
    assert run.code == 0, run
    assert "not finished within the per-mirror deadline of 2 s" in run.err, run
    assert storm_mirror(run) == mirror_server.url


def test_a_transfer_cut_again_and_again_moves_to_the_next_mirror(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, workdir: Path
) -> None:
    mirror_server.set_fault_forever(f"/m1{STORM_PATH}", "drop:20000")
    run = bundler(*two_mirrors(mirror_server, mirror_dir, wheelhouse, workdir))
    assert run.code == 0, run
    cut = mirror_server.requests_for(f"/m1{STORM_PATH}")
    assert len(cut) > 1 and cut[1].range == "bytes=20000-"  # resumed first, then given up
    assert storm_mirror(run) == mirror_server.url


@pytest.mark.parametrize("value", ["0", "-1", "nan"])
def test_bad_read_timeout_is_a_usage_error(workdir: Path, value: str) -> None:
    run = bundler(
        "build", "--storm", "0.9.5", "--zk", "3.4.6", "--read-timeout", value, "--no-pins"
    )
    assert run.code == 2, run
    assert "--read-timeout" in error_line(run)


# --- 3 and 5. the cache trusts a stat fingerprint, re-hashes when it changed, heals itself ---


@pytest.fixture
def warm(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, workdir: Path
) -> list[str | Path]:
    """A build whose cache is filled; returns the arguments for the next one."""
    args = build_args(mirror_server.url, mirror_dir, wheelhouse, workdir)
    run = bundler(*args)
    assert run.code == 0, run
    mirror_server.clear_requests()
    return args


def tarball_requests(server: MirrorServer) -> list[str]:
    return [r.path for r in server.requests if r.path.endswith((".tar.gz", ".whl"))]


def test_a_warm_build_trusts_an_unchanged_fingerprint(
    warm: list[str | Path], mirror_server: MirrorServer
) -> None:
    run = bundler(*warm)
    assert run.code == 0, run
    assert "re-hashed" not in run.err and tarball_requests(mirror_server) == []


def test_a_touched_but_identical_file_is_rehashed_and_accepted(
    warm: list[str | Path], mirror_server: MirrorServer, workdir: Path
) -> None:
    os.utime(storm_entry(workdir) / STORM_FILE)
    run = bundler(*warm)
    assert run.code == 0, run
    assert f"re-hashed cached {STORM_FILE}: unchanged" in run.err
    assert tarball_requests(mirror_server) == []
    again = bundler(*warm)  # the new fingerprint was recorded
    assert again.code == 0 and "re-hashed" not in again.err, again


def test_a_flipped_byte_with_the_mtime_put_back_is_caught_by_the_ctime_and_healed(
    warm: list[str | Path], mirror_server: MirrorServer, workdir: Path
) -> None:
    flip_byte(storm_entry(workdir) / STORM_FILE, 5000)
    run = bundler(*warm)
    assert run.code == 0, run
    assert (
        f"WARNING: cached {STORM_FILE} no longer matches the sha256 it was verified with; "
        f"evicting it and fetching {STORM_FILE} again"
    ) in run.err
    assert tarball_requests(mirror_server) == [STORM_PATH]
    assert bundler("verify", run.out.strip()).code == 0


def test_rot_the_fingerprint_cannot_see_is_caught_by_paranoid(
    warm: list[str | Path], mirror_server: MirrorServer, workdir: Path
) -> None:
    entry = storm_entry(workdir)
    flip_byte(entry / STORM_FILE, 5000)
    # As if the disk itself rotted: the record's fingerprint matches the file's stat again.
    record = json.loads((entry / "record.json").read_text())
    st = (entry / STORM_FILE).stat()
    record["fingerprint"] = {
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "ino": st.st_ino,
        "ctime_ns": st.st_ctime_ns,
    }
    (entry / "record.json").write_text(json.dumps(record))
    before = {p.name: p.read_bytes() for p in (workdir / "out").iterdir()}
    trusting = bundler(*warm)
    # Trusted, but the bundle writer hashes what it copies: refused, the last bundle kept.
    assert trusting.code == 3, trusting
    assert "--paranoid" in error_line(trusting)
    assert {p.name: p.read_bytes() for p in (workdir / "out").iterdir()} == before
    paranoid = bundler(*warm, "--paranoid")
    assert paranoid.code == 0, paranoid
    assert f"cached {STORM_FILE} no longer matches" in paranoid.err
    assert bundler("verify", paranoid.out.strip()).code == 0


def test_a_rotten_sidecar_is_healed(
    warm: list[str | Path], mirror_server: MirrorServer, workdir: Path
) -> None:
    flip_byte(storm_entry(workdir) / f"{STORM_FILE}.asc", 40)
    run = bundler(*warm)
    assert run.code == 0, run
    assert f"cached {STORM_FILE}.asc no longer matches" in run.err
    assert tarball_requests(mirror_server) == [STORM_PATH]


def test_a_rotten_wheel_is_evicted_and_taken_again(warm: list[str | Path], workdir: Path) -> None:
    wheel = next((workdir / "cache" / "v1" / "wheels").glob("*/supervisor-*.whl"))
    flip_byte(wheel, 100)
    run = bundler(*warm)
    assert run.code == 0, run
    assert f"WARNING: cached {wheel.name} no longer matches the sha256" in run.err
    assert f"wheel   {wheel.name}" in run.err
    assert bundler("verify", run.out.strip()).code == 0


def test_a_rotten_entry_with_no_mirror_left_fails_and_says_so(
    warm: list[str | Path], mirror_server: MirrorServer, workdir: Path
) -> None:
    flip_byte(storm_entry(workdir) / STORM_FILE, 5000)
    mirror_server.set_fault_forever(STORM_PATH, "404")
    before = {p.name: p.read_bytes() for p in (workdir / "out").iterdir()}
    run = bundler(*warm)
    assert run.code == 1, run
    assert f"cached {STORM_FILE} no longer matches" in run.err
    assert f"no mirror has {STORM_FILE}" in error_line(run)
    assert {p.name: p.read_bytes() for p in (workdir / "out").iterdir()} == before
    assert not storm_entry(workdir).exists()


# --- 4. the filesystem says no: one line with the path and a fix, exit 4, nothing half-made ---


def with_dirs(
    args: list[str | Path], cache: Path | None = None, out: Path | None = None
) -> list[str | Path]:
    args = list(args)
    if cache is not None:
        args[args.index("--cache-dir") + 1] = cache
    if out is not None:
        args[args.index("--out") + 1] = out
    return args


def record_holds(entry: Path) -> bool:
    record: dict[str, str] = json.loads((entry / "record.json").read_text())
    data = (entry / record["file"]).read_bytes()
    return hashlib.sha256(data).hexdigest() == record["sha256"]


def test_output_disk_full_leaves_no_part_and_a_sound_cache(
    warm: list[str | Path], mirror_server: MirrorServer, small_disk: Callable[..., Path]
) -> None:
    out = small_disk("out-disk", 4096)  # the bundle is ~17 MB
    run = bundler(*with_dirs(warm, out=out))
    assert run.code == 4, run
    line = error_line(run)
    assert f"no space left on the device holding the output folder {out}" in line, line
    assert "--out" in line
    assert list(out.iterdir()) == []
    again = bundler(*warm)
    assert again.code == 0 and tarball_requests(mirror_server) == [], again


def test_cache_disk_full_leaves_only_complete_entries(
    mirror_dir: Path,
    mirror_server: MirrorServer,
    wheelhouse: Path,
    workdir: Path,
    small_disk: Callable[..., Path],
) -> None:
    cache = small_disk("cache-disk", 3072)  # the artifacts and wheels are ~12 MB
    args = with_dirs(build_args(mirror_server.url, mirror_dir, wheelhouse, workdir), cache=cache)
    run = bundler(*args, "--jobs", "1")
    assert run.code == 4, run
    line = error_line(run)
    assert f"no space left on the device holding the cache {cache}" in line, line
    assert "--cache-dir" in line
    assert list((workdir / "out").iterdir()) == []
    root = cache / "v1"
    assert list((root / "tmp").iterdir()) == []
    for entry in [
        *(root / "artifacts").rglob("record.json"),
        *(root / "wheels").rglob("record.json"),
    ]:
        assert record_holds(entry.parent), entry
    # Given room, the same cache finishes the build: nothing in it was half-written.
    subprocess.run(["mount", "-o", "remount,size=100m", cache], check=True)
    assert bundler(*args).code == 0


@pytest.mark.parametrize("which", ["output", "cache"])
def test_read_only_folder_fails_before_any_download(
    warm: list[str | Path],
    mirror_server: MirrorServer,
    small_disk: Callable[..., Path],
    which: str,
) -> None:
    folder = small_disk("ro", 1024, ro=True) / "sub"
    args = with_dirs(warm, **{"out" if which == "output" else "cache": folder})
    mirror_server.clear_requests()
    run = bundler(*args)
    assert run.code == 4, run
    line = error_line(run)
    assert f"cannot write in {folder.parent} (read-only or no permission)" in line, line
    assert ("--out" if which == "output" else "--cache-dir") in line
    assert mirror_server.requests == []


@pytest.mark.parametrize("where", ["file", "file/sub"])
@pytest.mark.parametrize("option", ["--out", "--cache-dir"])
def test_a_file_where_a_folder_belongs(
    mirror_dir: Path,
    mirror_server: MirrorServer,
    wheelhouse: Path,
    workdir: Path,
    where: str,
    option: str,
) -> None:
    blocker = workdir / "file"
    blocker.write_text("mine\n")
    args = build_args(mirror_server.url, mirror_dir, wheelhouse, workdir)
    args[args.index(option) + 1] = workdir / where
    run = bundler(*args)
    assert run.code == 4, run
    line = error_line(run)
    assert f"{blocker} is a file, expected a folder" in line and option in line, line
    assert blocker.read_text() == "mine\n"
    assert mirror_server.requests == []


def test_a_folder_where_the_bundle_goes_is_left_alone(
    warm: list[str | Path], workdir: Path
) -> None:
    for old in (workdir / "out").iterdir():
        old.unlink()
    squatter = workdir / "out" / "storm-0.9.5-zk-3.4.6.tar"
    (squatter / "inside").mkdir(parents=True)
    run = bundler(*warm)
    assert run.code == 4, run
    assert f"{squatter} is a folder where the output folder needs to write a file" in error_line(
        run
    )
    assert [p.name for p in (workdir / "out").iterdir()] == [squatter.name]
    assert [p.name for p in squatter.iterdir()] == ["inside"]


def test_missing_output_folders_are_made(warm: list[str | Path], workdir: Path) -> None:
    deep = workdir / "new" / "deeper"
    run = bundler(*with_dirs(warm, out=deep))
    assert run.code == 0, run
    assert bundler("verify", run.out.strip()).code == 0


# --- verify: anything damaged or cut short is exit 3 ---


def test_verify_exits_3_for_any_cut_and_for_a_manifest_that_is_not_json(
    warm: list[str | Path], workdir: Path
) -> None:
    bundle = next((workdir / "out").glob("*.tar"))
    data = bundle.read_bytes()
    for cut in (0, 100, 512, 1024, len(data) // 2, len(data) - 12000, len(data) - 700):
        short = workdir / f"cut-{cut}.tar"
        short.write_bytes(data[:cut])
        run = bundler("verify", short)
        assert run.code == 3, (cut, run)
        assert str(short) in error_line(run)
    gz = workdir / "whole.tar.gz"
    gz.write_bytes(gzip.compress(data))
    assert bundler("verify", gz).code == 0
    cut_gz = workdir / "cut.tar.gz"
    cut_gz.write_bytes(gz.read_bytes()[:-9])
    assert bundler("verify", cut_gz).code == 3
    # A bundle whose bundle.json is not JSON.
    broken = workdir / "broken.tar"
    with tarfile.open(bundle) as src, tarfile.open(broken, "w") as dst:
        for member in src:
            if member.name.endswith("/bundle.json"):
                text = b"{not json"
                member.size = len(text)
                dst.addfile(member, io.BytesIO(text))
            else:
                dst.addfile(member, src.extractfile(member) if member.isfile() else None)
    run = bundler("verify", broken)
    assert run.code == 3, run
    assert "bundle.json: expected JSON" in error_line(run)
