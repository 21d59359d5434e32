"""`bundler split` / `bundler join` and the plain-sh join recipe, on real files under dash."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.support.cli import bundler

NAME = "storm-9.9.9-zk-9.9.9"


def make_tar(folder: Path, seed: str, size: int = 250_000) -> Path:
    """A bundle-shaped tar of pseudo-random bytes (incompressible, like a real bundle)."""
    folder.mkdir(parents=True, exist_ok=True)
    data = b"".join(hashlib.sha256(f"{seed}{i}".encode()).digest() for i in range(size // 32 + 1))[
        :size
    ]
    dest = folder / f"{NAME}.tar"
    with tarfile.open(dest, "w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(f"{NAME}/payload.bin")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return dest


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def carry(src: Path, dest: Path, names: list[str]) -> Path:
    """What the operator copies to the target: the parts, the .parts file and the script."""
    dest.mkdir(parents=True)
    for name in names:
        shutil.copy2(src / name, dest / name)
    return dest


def parts_of(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".part-" in p.name or p.suffix == ".parts")


def test_three_parts_join_back_with_bundler_and_with_sh(tmp_path: Path) -> None:
    bundle = make_tar(tmp_path / "out", "a")
    run = bundler("split", bundle, "--size", "100K")
    assert run.code == 0, run
    listing = Path(run.out.strip())
    assert listing == tmp_path / "out" / f"{NAME}.parts"
    names = [f"{NAME}.tar.part-00{i}" for i in (1, 2, 3)]
    assert parts_of(tmp_path / "out") == [f"{NAME}.parts", *names]
    assert [(tmp_path / "out" / n).stat().st_size for n in names[:2]] == [102400, 102400]
    text = listing.read_text()
    assert f"bundle {sha256(bundle)} {bundle.stat().st_size} {NAME}.tar\n" in text
    for n in names:
        assert f"part {sha256(tmp_path / 'out' / n)} " in text
    script = tmp_path / "out" / f"{NAME}.join.sh"
    lint = subprocess.run(["shellcheck", "-s", "sh", str(script)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout

    carried = [*names, f"{NAME}.parts", f"{NAME}.join.sh"]
    assert f"carry   {' '.join(carried)}\n" in run.err, run  # what split says to copy
    sidecar = f"{sha256(bundle)}  {NAME}.tar\n"  # as `bundler build` writes it
    joined = sorted([*carried, f"{NAME}.tar", f"{NAME}.tar.sha256"])
    target = carry(tmp_path / "out", tmp_path / "host1", carried)
    run = bundler("join", target / f"{NAME}.parts")
    assert run.code == 0, run
    assert sha256(target / f"{NAME}.tar") == sha256(bundle)
    assert (target / f"{NAME}.tar.sha256").read_text() == sidecar
    (target / f"{NAME}.tar.sha256").unlink()
    again = bundler("join", target / f"{NAME}.parts")  # a second run changes nothing
    assert again.code == 0 and "already there" in again.err, again
    assert sha256(target / f"{NAME}.tar") == sha256(bundle)
    assert sorted(os.listdir(target)) == joined  # ... but puts back a missing .sha256

    target = carry(tmp_path / "out", tmp_path / "host2", carried)
    for _ in range(2):  # the recipe agrees with `bundler join`, a second run included
        proc = subprocess.run(
            ["dash", f"{NAME}.join.sh"], cwd=target, capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, proc.stderr
        assert sha256(target / f"{NAME}.tar") == sha256(bundle)
        assert (target / f"{NAME}.tar.sha256").read_text() == sidecar
        assert sorted(os.listdir(target)) == joined
        (target / f"{NAME}.tar.sha256").unlink()
    assert proc.stdout == f"{NAME}.tar: already there, unchanged\n", proc


@pytest.mark.parametrize("fault", ["missing", "truncated", "foreign"])
def test_a_bad_part_is_named_and_nothing_is_written(fault: str, tmp_path: Path) -> None:
    bundle = make_tar(tmp_path / "out", "a")
    assert bundler("split", bundle, "--size", "100K").code == 0
    other = make_tar(tmp_path / "other", "b")  # another bundle, same name and size
    assert bundler("split", other, "--size", "100K").code == 0
    carried = [f"{NAME}.tar.part-00{i}" for i in (1, 2, 3)] + [f"{NAME}.parts", f"{NAME}.join.sh"]
    for tool in ("bundler", "sh"):
        target = carry(tmp_path / "out", tmp_path / f"host-{tool}", carried)
        part = target / f"{NAME}.tar.part-002"
        if fault == "missing":
            part.unlink()
        elif fault == "truncated":
            part.write_bytes(part.read_bytes()[:-1000])
        else:
            shutil.copy2(tmp_path / "other" / part.name, part)
        before = sorted(os.listdir(target))
        if tool == "bundler":
            run = bundler("join", target / f"{NAME}.parts")
            assert run.code == 3, run
            assert f"{NAME}.tar.part-002: " in run.err
            assert {"missing": "missing", "truncated": "truncated", "foreign": "another bundle"}[
                fault
            ] in run.err
            assert "part-001" not in run.err and "part-003" not in run.err
        else:
            proc = subprocess.run(
                ["dash", f"{NAME}.join.sh"], cwd=target, capture_output=True, text=True
            )
            assert proc.returncode != 0
            assert f"{NAME}.tar.part-002: FAILED" in proc.stdout + proc.stderr
        assert sorted(os.listdir(target)) == before  # no bundle, no temp file


def test_the_sh_recipe_follows_no_planted_link(tmp_path: Path) -> None:
    """Whoever else can write in the folder plants links where a join writes: at the fixed
    temporary name earlier scripts used, at the bundle's own name (dangling), at a folder under
    the bundle's name. Each target keeps its bytes; the join refuses or writes only its own."""
    bundle = make_tar(tmp_path / "out", "a")
    assert bundler("split", bundle, "--size", "100K").code == 0
    carried = [f"{NAME}.tar.part-00{i}" for i in (1, 2, 3)] + [f"{NAME}.parts", f"{NAME}.join.sh"]
    sentinel = tmp_path / "sentinel"
    sentinel.write_bytes(b"root's own\n")
    sentinel.chmod(0o600)

    def join(target: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["dash", f"{NAME}.join.sh"], cwd=target, capture_output=True, text=True
        )

    target = carry(tmp_path / "out", tmp_path / "old-name", carried)
    (target / f".{NAME}.tar.joining").symlink_to(sentinel)
    proc = join(target)
    assert proc.returncode == 0, proc.stderr
    assert sha256(target / f"{NAME}.tar") == sha256(bundle)
    assert sentinel.read_bytes() == b"root's own\n"
    assert not [n for n in os.listdir(target) if n.startswith(f".{NAME}.tar.joining.")]

    target = carry(tmp_path / "out", tmp_path / "dangling", carried)
    (target / f"{NAME}.tar").symlink_to(tmp_path / "nowhere")
    proc = join(target)
    assert proc.returncode == 1 and "already exists" in proc.stderr, proc
    assert not (tmp_path / "nowhere").exists()

    target = carry(tmp_path / "out", tmp_path / "into-folder", carried)
    (tmp_path / "elsewhere").mkdir()
    (target / f"{NAME}.tar").symlink_to(tmp_path / "elsewhere")
    proc = join(target)
    assert proc.returncode == 1, proc
    assert os.listdir(tmp_path / "elsewhere") == []
    assert sentinel.read_bytes() == b"root's own\n"


def test_resplit_removes_the_old_parts_and_never_mixes(tmp_path: Path) -> None:
    bundle = make_tar(tmp_path / "out", "a")
    assert bundler("split", bundle, "--size", "100K").code == 0
    old_part = (tmp_path / "out" / f"{NAME}.tar.part-001").read_bytes()
    run = bundler("split", bundle, "--size", "200K")
    assert run.code == 0, run
    assert f"removed {tmp_path / 'out' / NAME}.tar.part-003" in run.err
    assert parts_of(tmp_path / "out") == [
        f"{NAME}.parts",
        f"{NAME}.tar.part-001",
        f"{NAME}.tar.part-002",
    ]
    # A part left over from the old split, copied in by mistake, is refused by name.
    target = carry(tmp_path / "out", tmp_path / "host", parts_of(tmp_path / "out"))
    (target / f"{NAME}.tar.part-001").write_bytes(old_part)
    run = bundler("join", target / f"{NAME}.parts")
    assert run.code == 3 and f"{NAME}.tar.part-001: " in run.err, run
    assert not (target / f"{NAME}.tar").exists()
    # A different bundle already at the destination is never overwritten.
    (target / f"{NAME}.tar").write_bytes(b"not this bundle")
    shutil.copy2(tmp_path / "out" / f"{NAME}.tar.part-001", target / f"{NAME}.tar.part-001")
    run = bundler("join", target / f"{NAME}.parts")
    assert run.code == 1 and "already exists" in run.err, run
    assert (target / f"{NAME}.tar").read_bytes() == b"not this bundle"


def test_bad_size_is_a_usage_error(tmp_path: Path) -> None:
    bundle = make_tar(tmp_path / "out", "a")
    run = bundler("split", bundle, "--size", "lots")
    assert run.code == 2 and "--size 'lots'" in run.err, run
    assert parts_of(tmp_path / "out") == []


def test_join_to_a_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    bundle = make_tar(tmp_path / "out", "a")
    assert bundler("split", bundle, "--size", "100K").code == 0
    run = bundler("join", tmp_path / "out" / f"{NAME}.parts", "--out", tmp_path / "no" / "x.tar")
    assert run.code == 2 and "create it first" in run.err, run
    assert not (tmp_path / "no").exists()
