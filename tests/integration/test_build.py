"""`bundler build` end to end against a real HTTP mirror on 127.0.0.1, as a user runs it."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import jsonschema
import pytest

from tests.support.cli import (
    STORM_PATH,
    ZK_PATH,
    build_args,
    bundler,
    cache_entries,
    provenance_sources,
)
from tests.support.make_mirror import evil_tarball, sign, write_checksum
from tests.support.mirror_server import MirrorServer

ROOT = Path(__file__).resolve().parents[2]


def artifact_requests(server: MirrorServer) -> list[str]:
    return [r.path for r in server.requests if r.path.endswith(".tar.gz")]


def test_cold_build_makes_a_complete_verified_bundle(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, workdir: Path
) -> None:
    run = bundler(*build_args(mirror_server.url, mirror_dir, wheelhouse, workdir))
    assert run.code == 0, run
    bundle = Path(run.out.strip().splitlines()[-1])
    assert bundle == workdir / "out" / "storm-0.9.5-zk-3.4.6.tar"
    digest = hashlib.sha256(bundle.read_bytes()).hexdigest()
    sidecar = bundle.with_name(bundle.name + ".sha256")
    assert sidecar.read_text() == f"{digest}  {bundle.name}\n"
    provenance = bundle.with_name(bundle.name + ".provenance.json")
    assert sorted(p.name for p in (workdir / "out").iterdir()) == sorted(
        [bundle.name, sidecar.name, provenance.name]
    )

    with tarfile.open(bundle) as tar:
        members = tar.getmembers()
        names = [m.name for m in members]
        # Storm's release and its folders first (begun while it downloads), the rest sorted.
        lead = "storm-0.9.5-zk-3.4.6/artifacts/apache-storm-0.9.5.tar.gz"
        assert names[:3] == [lead.split("/")[0], lead.rsplit("/", 1)[0], lead]
        assert names[3:] == sorted(names[3:])
        assert all(m.uid == 0 and m.gid == 0 and m.uname == "root" for m in members)
        assert len({m.mtime for m in members}) == 1
        top = "storm-0.9.5-zk-3.4.6"
        for expected in (
            "install.sh",
            "bundle.json",
            "SHA256SUMS",
            "artifacts/apache-storm-0.9.5.tar.gz",
            "artifacts/apache-storm-0.9.5.tar.gz.sha512",
            "artifacts/apache-storm-0.9.5.tar.gz.asc",
            "artifacts/zookeeper-3.4.6.tar.gz",
            "artifacts/zookeeper-3.4.6.tar.gz.sha1",
            "artifacts/zookeeper-3.4.6.tar.gz.asc",
            "keys/storm.KEYS",
            "python/locks/py2.7.txt",
            "python/locks/py3.13.txt",
            "onhost/sha256check.py",
            "onhost/contract/manifest.py",
            "onhost/contract/bundle.schema.json",
        ):
            assert f"{top}/{expected}" in names, expected
        assert tar.getmember(f"{top}/install.sh").mode == 0o755
        manifest = json.load(tar.extractfile(f"{top}/bundle.json"))  # type: ignore[arg-type]

    assert manifest["schema"] == 1
    schema = json.loads(
        (ROOT / "bundler" / "onhost" / "contract" / "bundle.schema.json").read_text()
    )
    jsonschema.validate(manifest, schema)
    # Where the files came from is provenance, beside the bundle: not in it.
    assert mirror_server.url not in json.dumps(manifest)
    arts = {a["component"]: a for a in manifest["artifacts"]}
    storm = arts["storm"]
    served = provenance_sources(bundle)
    assert served["apache-storm-0.9.5.tar.gz"] == (
        f"{mirror_server.url}{STORM_PATH}",
        mirror_server.url,
    )
    assert storm["verification"]["checked"] == [{"source": "apache", "algorithm": "sha512"}]
    assert storm["verification"]["signature"]["status"] == "good"
    assert len(storm["verification"]["signature"]["fingerprint"]) == 40
    # ZooKeeper 3.4 publishes md5 and sha1 only: the stronger one is checked.
    assert arts["zookeeper"]["verification"]["checked"] == [
        {"source": "apache", "algorithm": "sha1"}
    ]
    assert "NOT verified" not in run.err
    assert manifest["components"]["storm"]["facts"]["nimbus_key"] == "nimbus.host"
    pythons = manifest["components"]["supervisor"]["pythons"]
    assert set(pythons) == {"2.7", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13"}
    assert pythons["2.7"]["pip"].startswith("python/wheels/pip-20.3.4-")
    assert manifest["files"]["artifacts/apache-storm-0.9.5.tar.gz"]["sha256"] == storm["sha256"]


def test_same_inputs_same_bytes_whatever_cache_umask_or_timezone(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, workdir: Path
) -> None:
    first = bundler(*build_args(mirror_server.url, mirror_dir, wheelhouse, workdir))
    assert first.code == 0, first
    bundle = Path(first.out.strip().splitlines()[-1])
    digest = hashlib.sha256(bundle.read_bytes()).hexdigest()

    # Warm: nothing is fetched at all, and the bytes are the same.
    mirror_server.clear_requests()
    warm = bundler(*build_args(mirror_server.url, mirror_dir, wheelhouse, workdir))
    assert warm.code == 0, warm
    assert mirror_server.requests == []
    assert hashlib.sha256(bundle.read_bytes()).hexdigest() == digest

    # Cold again in another cache, under another umask and time zone.
    other = workdir / "other"
    args = build_args(mirror_server.url, mirror_dir, wheelhouse, other)
    proc = subprocess.run(
        [
            "sh",
            "-c",
            'umask 077; exec "$@"',
            "sh",
            sys.executable,
            "-m",
            "bundler",
            *map(str, args),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TZ": "Asia/Kolkata"},
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    again = other / "out" / bundle.name
    assert hashlib.sha256(again.read_bytes()).hexdigest() == digest


def test_source_date_epoch_sets_every_mtime(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, workdir: Path
) -> None:
    run = bundler(
        *build_args(mirror_server.url, mirror_dir, wheelhouse, workdir, "--format", "tar.gz"),
        env={"SOURCE_DATE_EPOCH": "1234567890"},
    )
    assert run.code == 0, run
    bundle = Path(run.out.strip().splitlines()[-1])
    assert bundle.name.endswith(".tar.gz")
    raw = bundle.read_bytes()
    assert raw[4:8] == b"\0\0\0\0"  # no gzip timestamp
    with tarfile.open(bundle) as tar:
        assert {m.mtime for m in tar.getmembers()} == {1234567890}


def test_404_on_first_mirror_moves_to_the_next(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, workdir: Path
) -> None:
    mirror_server.add_fault(f"/m1{STORM_PATH}", "404")
    mirror_server.add_fault(f"/m1{ZK_PATH}", "404")
    run = bundler(
        *build_args(
            f"{mirror_server.url}/m1",
            mirror_dir,
            wheelhouse,
            workdir,
            "--mirror",
            mirror_server.url,
        )
    )
    assert run.code == 0, run
    served = provenance_sources(Path(run.out.strip()))
    assert served["apache-storm-0.9.5.tar.gz"][1] == mirror_server.url
    assert served["zookeeper-3.4.6.tar.gz"][1] == mirror_server.url


def test_dropped_connection_resumes_with_range(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, workdir: Path
) -> None:
    mirror_server.add_fault(STORM_PATH, "drop:4096")
    run = bundler(*build_args(mirror_server.url, mirror_dir, wheelhouse, workdir))
    assert run.code == 0, run
    ranged = [r for r in mirror_server.requests if r.path == STORM_PATH and r.range]
    assert ranged and ranged[0].range == "bytes=4096-"
    assert ranged[0].status == 206


def test_server_error_is_retried(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, workdir: Path
) -> None:
    mirror_server.add_fault(STORM_PATH, "500", "503")
    run = bundler(*build_args(mirror_server.url, mirror_dir, wheelhouse, workdir))
    assert run.code == 0, run
    statuses = [r.status for r in mirror_server.requests if r.path == STORM_PATH]
    assert statuses == [500, 503, 200]


def test_wrong_bytes_exit_3_and_leave_nothing(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, workdir: Path
) -> None:
    mirror_server.set_fault_forever(STORM_PATH, "corrupt")
    run = bundler(*build_args(mirror_server.url, mirror_dir, wheelhouse, workdir))
    assert run.code == 3, run
    assert "sha512 mismatch" in run.err
    assert mirror_server.url in run.err
    errors = [line for line in run.err.splitlines() if line.startswith("bundler: error:")]
    assert len(errors) == 1 and run.err.strip().endswith(errors[0])
    assert "Traceback" not in run.err
    assert list((workdir / "out").iterdir()) == []
    assert "storm/apache-storm-0.9.5/apache-storm-0.9.5.tar.gz/record.json" not in cache_entries(
        workdir
    )
    assert not any((workdir / "cache" / "v1" / "tmp").iterdir())


def test_wrong_bytes_on_one_mirror_good_on_the_next(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, workdir: Path
) -> None:
    mirror_server.set_fault_forever(f"/m1{STORM_PATH}", "corrupt")
    run = bundler(
        *build_args(
            f"{mirror_server.url}/m1",
            mirror_dir,
            wheelhouse,
            workdir,
            "--mirror",
            mirror_server.url,
        )
    )
    assert run.code == 0, run
    served = provenance_sources(Path(run.out.strip()))
    assert served["apache-storm-0.9.5.tar.gz"][1] == mirror_server.url


def test_unreachable_mirror_fails_fast_to_the_next(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, workdir: Path
) -> None:
    args = build_args(
        "http://127.0.0.1:9", mirror_dir, wheelhouse, workdir, "--mirror", mirror_server.url
    )
    args[args.index("--maven-mirror") + 1] = f"{mirror_server.url}/maven2"
    run = bundler(*args)
    assert run.code == 0, run


def test_no_mirror_has_it_is_exit_1_listing_each_mirror(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, workdir: Path
) -> None:
    args = build_args(mirror_server.url, mirror_dir, wheelhouse, workdir)
    args[args.index("0.9.5")] = "0.9.6"
    run = bundler(*args)
    assert run.code == 1, run
    line = run.err.strip().splitlines()[-1]
    assert "no mirror has apache-storm-0.9.6.tar.gz" in line
    assert mirror_server.url in line and "apache.org" not in line


@pytest.fixture
def evil_mirror(mirror_dir: Path, tmp_path: Path) -> Path:
    """A copy of the mirror whose Storm tarball escapes its folder, with valid sums and .asc."""
    copy = tmp_path / "evil-mirror"
    shutil.copytree(mirror_dir, copy, symlinks=True)
    tarball = copy / STORM_PATH.lstrip("/")
    for old in tarball.parent.iterdir():
        old.unlink()
    evil_tarball(tarball, "apache-storm-0.9.5", ["apache-storm-0.9.5/bin/storm", "../escape.txt"])
    write_checksum(tarball, "sha512", "coreutils")
    sign(copy, tarball)
    return copy


def test_archive_with_escaping_entries_is_refused(
    evil_mirror: Path, wheelhouse: Path, workdir: Path
) -> None:
    with MirrorServer(evil_mirror) as server:
        run = bundler(*build_args(server.url, evil_mirror, wheelhouse, workdir))
    assert run.code == 3, run
    assert "climbs out" in run.err
    assert list((workdir / "out").iterdir()) == []
    assert not any("apache-storm" in e for e in cache_entries(workdir))


def test_source_tarball_under_the_bin_name_is_refused(
    mirror_dir: Path, wheelhouse: Path, workdir: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "decoy-mirror"
    shutil.copytree(mirror_dir, copy, symlinks=True)
    folder = copy / "zookeeper" / "zookeeper-3.8.4"
    binary = folder / "apache-zookeeper-3.8.4-bin.tar.gz"
    # The source tarball published under the binary's name, with matching checksum + signature.
    shutil.copyfile(folder / "apache-zookeeper-3.8.4.tar.gz", binary)
    write_checksum(binary, "sha512", "coreutils")
    sign(copy, binary)
    with MirrorServer(copy) as server:
        args = build_args(server.url, copy, wheelhouse, workdir)
        args[args.index("3.4.6")] = "3.8.4"
        run = bundler(*args)
    assert run.code == 3, run
    assert "apache-zookeeper-3.8.4-bin/" in run.err and "binary tarball" in run.err


def test_signature_by_a_key_not_in_keys_is_refused(
    mirror_dir: Path, wheelhouse: Path, workdir: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "intruder-mirror"
    shutil.copytree(mirror_dir, copy, symlinks=True)
    sign(copy, copy / STORM_PATH.lstrip("/"), key="intruder")
    with MirrorServer(copy) as server:
        run = bundler(*build_args(server.url, copy, wheelhouse, workdir))
    assert run.code == 3, run
    assert "not in the project's KEYS" in run.err
    assert list((workdir / "out").iterdir()) == []
    assert not any("apache-storm" in e for e in cache_entries(workdir))


def test_gpg_modes(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, workdir: Path
) -> None:
    base = build_args(mirror_server.url, mirror_dir, wheelhouse, workdir)
    i = base.index("--apache-keys")
    no_keys = base[:i] + base[i + 2 :]
    run = bundler(*no_keys, "--gpg", "require")
    assert run.code == 1, run
    assert "--gpg require" in run.err and "--apache-keys FILE" in run.err
    assert list((workdir / "out").iterdir()) == []

    run = bundler(*no_keys)  # auto: builds, but says loudly what it could not check
    assert run.code == 0, run
    assert "WARNING: signature of apache-storm-0.9.5.tar.gz NOT verified" in run.err

    # A fresh cache, so the files are fetched and judged again.
    run = bundler(*no_keys, "--gpg", "off", "--quiet", "--cache-dir", workdir / "cache-off")
    assert run.code == 0, run
    manifest = json.loads(bundler("inspect", "--json", run.out.strip()).out)
    assert {a["verification"]["signature"]["status"] for a in manifest["artifacts"]} == {"off"}
    # ZooKeeper 3.4 publishes only md5/sha1: with no signature either, the build says so.
    assert "zookeeper-3.4.6.tar.gz: only sha1 was checked and no signature" in run.err


def test_recipe_pin_is_checked(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, workdir: Path
) -> None:
    args = [a for a in build_args(mirror_server.url, mirror_dir, wheelhouse, workdir)]
    args.remove("--no-pins")
    run = bundler(*args)
    # The stand-in zookeeper-3.4.6.tar.gz is not Apache's: the published sha256 catches it.
    assert run.code == 3, run
    assert (
        "recipes pin" in run.err
        and "01b3938547cd620dc4c93efe07c0360411f4a66962a70500b163b59014046994" in run.err
    )
    # One line that says when --no-pins is the answer, and when it is not.
    (error,) = [line for line in run.err.splitlines() if line.startswith("bundler: error:")]
    assert error == run.err.splitlines()[-1]
    assert "checksum file served with them agrees" in error
    assert "rebuilds artifacts on purpose (a test mirror" in error
    assert "build with --no-pins; otherwise do not" in error


def test_two_builds_at_once_share_the_cache(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, workdir: Path
) -> None:
    procs = []
    for n in (1, 2):
        args = build_args(mirror_server.url, mirror_dir, wheelhouse, workdir)
        args[args.index(workdir / "out")] = workdir / f"out{n}"
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "bundler", *map(str, args)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    a, b = (Path(o[0].strip()) for o in outs)
    assert a.read_bytes() == b.read_bytes()
    assert artifact_requests(mirror_server).count(STORM_PATH) == 1


def test_killed_build_leaves_nothing_trusted(
    mirror_dir: Path, wheelhouse: Path, workdir: Path
) -> None:
    # A killed process cannot remove its temporary files: the build's gpg keyring is left in
    # TMPDIR, here the test's own folder rather than the machine's /tmp.
    temp = workdir / "temp"
    temp.mkdir()
    with MirrorServer(mirror_dir, throttle_bytes_per_sec=2048) as server:
        args = build_args(server.url, mirror_dir, wheelhouse, workdir)
        proc = subprocess.Popen(
            [sys.executable, "-m", "bundler", *map(str, args)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "TMPDIR": str(temp)},
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(r.path == STORM_PATH for r in server.requests):
                break
            time.sleep(0.05)
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert all(p.name.startswith("bundler-gpg-") for p in temp.iterdir()), list(temp.iterdir())
    assert list((workdir / "out").iterdir()) == []
    assert cache_entries(workdir) == []
    with MirrorServer(mirror_dir) as server:
        run = bundler(*build_args(server.url, mirror_dir, wheelhouse, workdir))
    assert run.code == 0, run
    assert not any((workdir / "cache" / "v1" / "tmp").iterdir())


def test_wheels_from_an_http_index(mirror_dir: Path, wheelhouse: Path, workdir: Path) -> None:
    with MirrorServer(mirror_dir, wheelhouse=wheelhouse) as server:
        args = build_args(server.url, mirror_dir, wheelhouse, workdir)
        i = args.index("--find-links")
        args[i : i + 2] = ["--index-url", f"{server.url}/simple"]
        run = bundler(*args)
        assert run.code == 0, run
        assert any(r.path == "/simple/supervisor/" for r in server.requests)
        wheels = [r for r in server.requests if r.path.startswith("/wheelhouse/")]
        # Each locked file once, although several Pythons share most of them.
        assert len(wheels) == len({r.path for r in wheels}) == 10


def test_wheel_with_wrong_hash_is_refused(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, workdir: Path
) -> None:
    bad = workdir / "bad-wheels"
    shutil.copytree(wheelhouse, bad)
    supervisor = next(bad.glob("supervisor-4.3.0-*.whl"))
    supervisor.write_bytes(supervisor.read_bytes() + b"\0")
    args = build_args(mirror_server.url, mirror_dir, bad, workdir)
    args += ["--index-url", "http://127.0.0.1:9/simple"]
    run = bundler(*args)
    assert run.code == 3, run
    assert "supervisor" in run.err and "lock" in run.err
    assert list((workdir / "out").iterdir()) == []


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["build", "--storm", "0.8.0", "--zk", "3.4.6"], "not covered by the recipes"),
        (["build", "--storm", "latest", "--zk", "3.4.6"], "not a version number"),
        (["build", "--storm", "0.9.5", "--zk", "3.4.6", "--gpg", "maybe"], "--gpg"),
        (
            ["build", "--storm", "0.9.5", "--zk", "3.4.6", "--supervisor", "3.1.3"],
            "supervisor 3.1.3",
        ),
        (["build", "--storm", "0.9.5"], "--zk"),
    ],
)
def test_usage_errors_exit_2(args: list[str], needle: str, workdir: Path) -> None:
    run = bundler(*args, "--cache-dir", workdir / "cache", "--out", workdir / "out")
    assert run.code == 2, run
    assert needle in run.err
    assert "Traceback" not in run.err


def test_verify_inspect_and_the_bundles_own_check(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, workdir: Path
) -> None:
    run = bundler(*build_args(mirror_server.url, mirror_dir, wheelhouse, workdir))
    assert run.code == 0, run
    bundle = Path(run.out.strip())

    ok = bundler("verify", bundle)
    assert ok.code == 0, ok
    assert "OK" in ok.out and "matches" in ok.out

    text = bundler("inspect", bundle)
    assert text.code == 0, text
    assert "storm 0.9.5" in text.out and "signature good" in text.out
    # The sources come from the provenance beside the bundle.
    assert f"source   {mirror_server.url}{STORM_PATH}" in text.out

    # A provenance that is about other bytes is refused.
    beside = bundle.with_name(bundle.name + ".provenance.json")
    statement = json.loads(beside.read_text())
    good = beside.read_text()
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    beside.write_text(json.dumps(statement))
    stale = bundler("verify", bundle)
    assert stale.code == 3 and "its subject is not this" in stale.err, stale
    beside.write_text(good)

    unpacked = workdir / "unpacked"
    unpacked.mkdir()
    subprocess.run(["tar", "-xf", bundle, "-C", unpacked], check=True)
    top = unpacked / "storm-0.9.5-zk-3.4.6"
    subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=top, check=True)
    assert bundler("verify", top).code == 0
    # One file count everywhere: what is in the folder, what verify and inspect say.
    count = len([p for p in top.rglob("*") if p.is_file()])
    assert f"({ok.out.split('(', 1)[1]}".startswith(f"(storm-0.9.5-zk-3.4.6: {count} files, ")
    assert f"\n{count} files (bundle.json and SHA256SUMS included), " in text.out
    check = subprocess.run(
        ["dash", str(top / "install.sh"), "--check"], capture_output=True, text=True
    )
    # --check also looks at the host's prerequisites (exit 4 when some are missing here);
    # what this test is about is the bundle check, which comes first.
    assert check.returncode in (0, 4), check.stderr
    assert "bundle verified" in check.stderr

    # Tamper with one wheel in the unpacked folder: every checker notices.
    wheel = next((top / "python" / "wheels").glob("supervisor-*.whl"))
    wheel.write_bytes(wheel.read_bytes()[:-1])
    check = subprocess.run(
        ["dash", str(top / "install.sh"), "--check"], capture_output=True, text=True
    )
    assert check.returncode == 3, check.stderr
    assert wheel.name in check.stderr
    assert bundler("verify", top).code == 3

    # Tamper with the archive itself: one byte inside the Storm tarball.
    data = bytearray(bundle.read_bytes())
    header = data.find(b"storm-0.9.5-zk-3.4.6/artifacts/apache-storm-0.9.5.tar.gz\0")
    assert header > 0
    data[header + 512 + 100] ^= 0xFF
    tampered = workdir / "tampered.tar"
    tampered.write_bytes(bytes(data))
    bad = bundler("verify", tampered)
    assert bad.code == 3, bad
    assert "artifacts/apache-storm-0.9.5.tar.gz: altered" in bad.err

    # Truncated archive.
    short = workdir / "short.tar"
    short.write_bytes(bundle.read_bytes()[: len(data) // 2])
    assert bundler("verify", short).code == 3


def test_recipes_command(workdir: Path) -> None:
    run = bundler("recipes", "--json")
    assert run.code == 0, run
    data = json.loads(run.out)
    assert "0.9" in data["storm"] and "2.8" in data["storm"]
    assert data["zookeeper"]["3.4"]["server_line"].startswith("server.{id}")
    # A line's newest release speaks for its Java range: 1.2.4 and 2.3.0 are capped at 13.
    assert (data["storm"]["1.2"]["java_min"], data["storm"]["1.2"]["java_max"]) == (8, 13)
    assert data["storm"]["2.4"]["java_max"] is None
    text = bundler("recipes")
    assert "Storm:" in text.out and "ZooKeeper:" in text.out
    assert re.search(r"\n  2\.3 +2\.3\.0\.\.2\.3\.0 +Java 8-13 ", text.out), text.out


def test_without_gpg_auto_warns_and_require_refuses(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, workdir: Path
) -> None:
    # A PATH with no gpg on it: the build's Python is called by absolute path.
    env = {"PATH": str(workdir / "empty-bin")}
    args = build_args(mirror_server.url, mirror_dir, wheelhouse, workdir)
    run = bundler(*args, env=env)
    assert run.code == 0, run
    assert "NOT verified: gpg is not installed" in run.err
    run = bundler(*args, "--gpg", "require", env=env)
    assert run.code == 1, run
    assert "gpg is not installed" in run.err.strip().splitlines()[-1]


def test_jdk_is_carried_with_its_version(
    mirror_dir: Path,
    mirror_server: MirrorServer,
    wheelhouse: Path,
    workdir: Path,
    jdk_tarball: Path,
) -> None:
    run = bundler(
        *build_args(mirror_server.url, mirror_dir, wheelhouse, workdir, "--jdk", jdk_tarball)
    )
    assert run.code == 0, run
    manifest = json.loads(bundler("inspect", "--json", run.out.strip()).out)
    jdk = manifest["components"]["jdk"]
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr
    assert f'"{jdk["version"]}"' in java
    assert jdk["java_major"] >= 17
    digest = hashlib.sha256(jdk_tarball.read_bytes()).hexdigest()
    assert manifest["files"][jdk["artifact"]]["sha256"] == digest
    assert bundler("verify", run.out.strip()).code == 0


def test_a_jdk_outside_the_releases_java_range_is_refused_and_none_is_noted(
    mirror_dir: Path,
    mirror_server: MirrorServer,
    wheelhouse: Path,
    workdir: Path,
    jdk_tarball: Path,
) -> None:
    """Storm 1.2.4 runs on Java 8 to 13 (recipes: java_max): this machine's JDK 17 is no use
    in its bundle; without --jdk the build says what a host with a newer Java needs."""
    pair = ("--storm", "1.2.4", "--zk", "3.4.14")
    args = build_args(mirror_server.url, mirror_dir, wheelhouse, workdir, *pair)
    refused = bundler(*args, "--jdk", jdk_tarball)
    assert refused.code == 2, refused
    last = refused.err.strip().splitlines()[-1]
    assert "expected a JDK the releases run on (Storm 1.2.4 and ZooKeeper 3.4.14 run on " in last
    assert "Java 8 to 13), found Java 17." in last and last.endswith("pass a JDK of Java 8 to 13")
    assert not (workdir / "out").exists() or not any((workdir / "out").iterdir())
    built = bundler(*args)
    assert built.code == 0, built
    assert "Storm 1.2.4 and ZooKeeper 3.4.14 run on Java 8 to 13 only" in built.err, built
    # Apache's 1.2.4 carries log4j-core 2.8.2: the build names it (recipes/advisories.toml).
    assert (
        "WARNING: apache-storm-1.2.4.tar.gz carries lib/log4j-core-2.8.2.jar (log4j-core "
        "2.8.2): Log4Shell, CVE-2021-44228 and CVE-2021-45046"
    ) in built.err, built.err


def test_jdk_with_absolute_links_is_refused(workdir: Path) -> None:
    jdk = workdir / "jdk"
    (jdk / "bin").mkdir(parents=True)
    (jdk / "bin" / "java").write_text("#!/bin/sh\n")
    (jdk / "release").write_text('JAVA_VERSION="17.0.1"\n')
    (jdk / "conf").symlink_to("/etc")
    tarball = workdir / "jdk.tar.gz"
    subprocess.run(["tar", "-czf", tarball, "-C", workdir, "jdk"], check=True)
    run = bundler("build", "--storm", "0.9.5", "--zk", "3.4.6", "--jdk", tarball)
    assert run.code == 2, run
    assert "absolute" in run.err and "tar -czhf" in run.err


def test_ctrl_c_stops_promptly_and_leaves_nothing(
    mirror_dir: Path, wheelhouse: Path, workdir: Path
) -> None:
    with MirrorServer(mirror_dir, throttle_bytes_per_sec=1024) as server:
        args = build_args(server.url, mirror_dir, wheelhouse, workdir)
        # Ctrl-C as in an operator's terminal: SIGINT at its default in the build, also when
        # this test runs as a background job (whose shell ignores SIGINT, and so would the build).
        proc = subprocess.Popen(
            [sys.executable, "-m", "bundler", *map(str, args)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
            r.path == STORM_PATH for r in server.requests
        ):
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        # At 1 KB/s the download alone would take minutes: returning at all means it stopped.
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err.strip().splitlines()[-1]
    assert list((workdir / "out").iterdir()) == []
    assert cache_entries(workdir) == []


def test_checksum_files_and_signature_are_asked_for_together(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, tmp_path: Path
) -> None:
    """On a distant mirror each small file is a round trip before the download can start, so
    they are asked for at once: shown by holding the answer to the first, .sha512, for a few
    seconds and watching the others arrive while it is held."""
    held = f"{STORM_PATH}.sha512"
    mirror_server.add_fault(held, "hang:3")
    runs = []
    build = threading.Thread(
        target=lambda: runs.append(
            bundler(*build_args(mirror_server.url, mirror_dir, wheelhouse, tmp_path))
        )
    )
    build.start()
    asked_while_held: set[str] = set()
    try:
        while build.is_alive():
            records = mirror_server.requests
            if any(r.path == held and r.status == 0 for r in records):
                asked_while_held |= {r.path for r in records if r.path.startswith(f"{STORM_PATH}.")}
            time.sleep(0.02)
    finally:
        build.join()
    (run,) = runs
    assert run.code == 0, run
    assert {f"{STORM_PATH}.{ext}" for ext in ("asc", "md5")} <= asked_while_held


def test_a_cold_build_writes_the_bundle_while_storm_downloads(
    mirror_dir: Path, wheelhouse: Path, workdir: Path
) -> None:
    """The bundle begins in the cache's tmp/ as Storm's bytes arrive (seen there, growing,
    while the mirror is still sending them) and is the same bundle a warm build writes."""
    begun = workdir / "cache" / "v1" / "tmp"
    storm_size = (mirror_dir / STORM_PATH.lstrip("/")).stat().st_size
    sizes: set[int] = set()
    inodes: set[int] = set()
    runs = []
    with MirrorServer(mirror_dir, throttle_bytes_per_sec=400_000) as server:
        args = build_args(server.url, mirror_dir, wheelhouse, workdir)
        build = threading.Thread(target=lambda: runs.append(bundler(*args)))
        build.start()
        try:
            while build.is_alive():
                storm = [r for r in server.requests if r.path == STORM_PATH]
                if storm and storm[0].status == 200 and storm[0].bytes_sent < storm_size:
                    for path in begun.glob("*/storm-0.9.5-zk-3.4.6.tar"):
                        with contextlib.suppress(FileNotFoundError):
                            stat = path.stat()
                            sizes.add(stat.st_size)
                            inodes.add(stat.st_ino)
                time.sleep(0.02)
        finally:
            build.join()
    (cold,) = runs
    assert cold.code == 0, cold
    assert len(sizes) > 1, sizes  # seen growing before Storm was all sent
    bundle = "storm-0.9.5-zk-3.4.6.tar"
    assert (workdir / "out" / bundle).stat().st_ino in inodes  # and it became the bundle
    assert not any(begun.iterdir())
    warm_out = workdir / "warm"
    warm_out.mkdir()
    i = args.index("--out")
    args[i + 1] = str(warm_out)
    with MirrorServer(mirror_dir) as server:
        warm = bundler(*args)
    assert warm.code == 0, warm
    assert (warm_out / bundle).read_bytes() == (workdir / "out" / bundle).read_bytes()
