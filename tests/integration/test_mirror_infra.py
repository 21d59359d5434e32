"""Tests of the test infrastructure: the stand-in mirror, its servers and the HTTP mirror, and
the stand-ins running (what starts nothing: tests/unit/test_mirror_infra.py)."""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tarfile
import threading
import time
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bundler.onhost.host import health
from tests.support import debian_java, make_mirror
from tests.support.archive_members import tar_members
from tests.support.bundles import pyenv_python
from tests.support.mirror_server import MirrorServer
from tests.support.procs import end

STORM_095 = "/storm/apache-storm-0.9.5/apache-storm-0.9.5.tar.gz"
ZK_346 = "/zookeeper/zookeeper-3.4.6/zookeeper-3.4.6.tar.gz"
ZK_BIN = "/zookeeper/zookeeper-3.8.4/apache-zookeeper-3.8.4-bin.tar.gz"

needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="needs a JDK")
needs_gpg = pytest.mark.skipif(shutil.which("gpg") is None, reason="needs gpg")


# --- helpers ---


def fetch(
    server: MirrorServer, path: str, method: str = "GET", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def four_letter_word(port: int, word: str) -> str:
    return health.four_letter("127.0.0.1", port, word)


def wait_for(
    check: Callable[[], bool], timeout: float, what: str, proc: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{what}: process exited with {proc.returncode}")
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{what}: not ready after {timeout}s")


@contextmanager
def running(
    cmd: list[str], cwd: Path, name: str, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start cmd with its output in cwd/<name>.log; always stop it, by its pid, on the way out."""
    log_path = cwd / f"{name}.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed in finally
    proc = subprocess.Popen(
        cmd, cwd=cwd, env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        yield proc
    except BaseException:
        log.flush()
        sys.stderr.write(f"--- {name} output ---\n")
        sys.stderr.write(log_path.read_text(errors="replace")[-4000:])
        raise
    finally:
        end(proc)
        log.close()


def unpack(tarball: Path, dest: Path) -> Path:
    with tarfile.open(tarball) as tar:
        tops = {name.split("/")[0] for name in tar.getnames()}
        assert len(tops) == 1, tops
        tar.extractall(dest, filter="tar")
    return dest / tops.pop()


def digest_in(text: str) -> str:
    """The rule that reads every Apache checksum style: drop up to a colon, squeeze, lower."""
    if "(" in text and ") =" in text:
        text = text.split("=", 1)[1]
    elif ":" in text:
        text = text.split(":", 1)[1]
    else:
        text = text.split()[0] if len(text.split()) == 2 else text
    return re.sub(r"\s+", "", text).lower()


# --- the HTTP mirror ---


def test_serves_files_with_validators(mirror_server: MirrorServer, mirror_dir: Path) -> None:
    body = (mirror_dir / STORM_095.lstrip("/")).read_bytes()
    status, headers, got = fetch(mirror_server, STORM_095)
    assert status == 200 and got == body
    assert headers["Content-Length"] == str(len(body))
    assert headers["Accept-Ranges"] == "bytes"
    assert headers["ETag"].startswith('"') and headers["Last-Modified"].endswith("GMT")
    status, headers, got = fetch(mirror_server, STORM_095, "HEAD")
    assert status == 200 and got == b"" and headers["Content-Length"] == str(len(body))


def test_range_requests(mirror_server: MirrorServer, mirror_dir: Path) -> None:
    body = (mirror_dir / STORM_095.lstrip("/")).read_bytes()
    size = len(body)
    status, headers, got = fetch(mirror_server, STORM_095, headers={"Range": "bytes=10-19"})
    assert (status, got) == (206, body[10:20])
    assert headers["Content-Range"] == f"bytes 10-19/{size}"
    status, _, got = fetch(mirror_server, STORM_095, headers={"Range": "bytes=100-"})
    assert (status, got) == (206, body[100:])
    status, _, got = fetch(mirror_server, STORM_095, headers={"Range": "bytes=-7"})
    assert (status, got) == (206, body[-7:])
    status, _, got = fetch(mirror_server, STORM_095, headers={"Range": f"bytes=5-{size + 50}"})
    assert (status, got) == (206, body[5:])
    status, headers, _ = fetch(mirror_server, STORM_095, headers={"Range": f"bytes={size}-"})
    assert status == 416 and headers["Content-Range"] == f"bytes */{size}"
    # A resume against a file that changed must get the whole new file.
    stale = {"Range": "bytes=10-", "If-Range": '"not-the-etag"'}
    status, _, got = fetch(mirror_server, STORM_095, headers=stale)
    assert (status, got) == (200, body)
    records = mirror_server.requests
    assert [r.range for r in records[:2]] == ["bytes=10-19", "bytes=100-"]
    assert records[0].status == 206 and records[0].bytes_sent == 10


def test_no_listings_no_escape(mirror_server: MirrorServer) -> None:
    for path in (
        "/",
        "/storm/",
        "/storm",
        "/missing.tar.gz",
        "/.signing-gnupg/pubring.kbx",
        "/.complete",
        "/storm/../../etc/passwd",
        "/storm/%2e%2e/%2e%2e/etc/passwd",
    ):
        assert fetch(mirror_server, path)[0] == 404, path


def test_status_faults_are_consumed_in_order(mirror_server: MirrorServer) -> None:
    mirror_server.add_fault(STORM_095, "503", "500", "404", "ok")
    statuses = [fetch(mirror_server, STORM_095)[0] for _ in range(5)]
    assert statuses == [503, 500, 404, 200, 200]
    assert [r.fault for r in mirror_server.requests_for(STORM_095)] == [
        "503",
        "500",
        "404",
        "ok",
        None,
    ]
    with pytest.raises(ValueError):
        mirror_server.add_fault(STORM_095, "explode")


def test_drop_closes_after_n_bytes(mirror_server: MirrorServer, mirror_dir: Path) -> None:
    body = (mirror_dir / ZK_346.lstrip("/")).read_bytes()
    mirror_server.add_fault(ZK_346, "drop:1000")
    conn = http.client.HTTPConnection("127.0.0.1", mirror_server.port, timeout=10)
    conn.request("GET", ZK_346)
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Length") == str(len(body))
    with pytest.raises(http.client.IncompleteRead) as error:
        response.read()
    assert error.value.partial == body[:1000]
    conn.close()
    # The resume that follows is served normally.
    status, _, got = fetch(mirror_server, ZK_346, headers={"Range": "bytes=1000-"})
    assert (status, got) == (206, body[1000:])


def test_corrupt_keeps_length_changes_bytes(mirror_server: MirrorServer, mirror_dir: Path) -> None:
    body = (mirror_dir / ZK_346.lstrip("/")).read_bytes()
    mirror_server.add_fault(ZK_346, "corrupt")
    status, _, got = fetch(mirror_server, ZK_346)
    assert status == 200 and len(got) == len(body) and got != body
    assert sum(a != b for a, b in zip(got, body, strict=True)) >= 2
    assert fetch(mirror_server, ZK_346)[2] == body


def test_hang_delays_the_answer(mirror_server: MirrorServer) -> None:
    mirror_server.add_fault("/storm/KEYS", "hang:0.6")
    started = time.monotonic()
    assert fetch(mirror_server, "/storm/KEYS")[0] == 200
    assert time.monotonic() - started >= 0.6
    mirror_server.add_fault("/storm/KEYS", "hang:5")
    conn = http.client.HTTPConnection("127.0.0.1", mirror_server.port, timeout=0.3)
    with pytest.raises(TimeoutError):
        conn.request("GET", "/storm/KEYS")
        conn.getresponse()
    conn.close()


def test_mounts_fail_independently(mirror_dir: Path) -> None:
    with MirrorServer(mirror_dir, mounts={"/m1": mirror_dir, "m2/": mirror_dir}) as server:
        server.set_fault_forever("/m1" + STORM_095, "503")
        assert fetch(server, "/m1" + STORM_095)[0] == 503
        assert fetch(server, "/m1" + STORM_095)[0] == 503
        assert fetch(server, "/m2" + STORM_095)[0] == 200
        assert fetch(server, STORM_095)[0] == 200
        server.clear_faults("/m1" + STORM_095)
        assert fetch(server, "/m1" + STORM_095)[0] == 200


def test_throttle_is_per_connection(mirror_dir: Path) -> None:
    rate, amount = 1_000_000, 400_000
    with MirrorServer(mirror_dir, throttle_bytes_per_sec=rate) as server:
        ranged = {"Range": f"bytes=0-{amount - 1}"}
        started = time.monotonic()
        assert len(fetch(server, ZK_BIN, headers=ranged)[2]) == amount
        single = time.monotonic() - started
        assert single >= 0.8 * amount / rate

        results: list[int] = []
        threads = [
            threading.Thread(
                target=lambda: results.append(len(fetch(server, ZK_BIN, headers=ranged)[2]))
            )
            for _ in range(3)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        parallel = time.monotonic() - started
    assert results == [amount] * 3
    # Three connections move three times the bytes in about the time of one.
    assert parallel < 2 * single


def test_stop_closes_kept_alive_connections(mirror_dir: Path) -> None:
    server = MirrorServer(mirror_dir).start()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/storm/KEYS")
    conn.getresponse().read()
    server.stop()
    with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
        conn.request("GET", "/storm/KEYS")
        conn.getresponse().read()
    conn.close()
    with pytest.raises(RuntimeError):
        _ = server.url


def test_simple_index(tmp_path: Path, mirror_dir: Path) -> None:
    wheelhouse = tmp_path / "wheelhouse"
    wheelhouse.mkdir()
    wheel = wheelhouse / "Foo_Bar-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(
            "Foo_Bar-1.0.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: Foo-Bar\nVersion: 1.0\nRequires-Python: >=3.8\n\nx\n",
        )
    (wheelhouse / "baz-2.0.tar.gz").write_bytes(b"sdist")
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    with MirrorServer(mirror_dir, wheelhouse=wheelhouse) as server:
        status, _, page = fetch(server, "/simple/")
        assert status == 200
        assert b'href="/simple/foo-bar/"' in page and b'href="/simple/baz/"' in page
        status, headers, page = fetch(server, "/simple/foo-bar/")
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        href = f'href="/wheelhouse/{wheel.name}#sha256={sha}"'
        assert href.encode() in page
        assert b'data-requires-python="&gt;=3.8"' in page
        assert fetch(server, "/simple/Foo.Bar/")[2] == page
        assert fetch(server, "/simple/nope/")[0] == 404
        assert fetch(server, f"/wheelhouse/{wheel.name}")[2] == wheel.read_bytes()
        # The index is what pip reads: make sure urllib can too.
        with urllib.request.urlopen(f"{server.url}/simple/baz/", timeout=5) as response:
            assert b"baz-2.0.tar.gz" in response.read()


def test_cli_prints_url_and_stops_on_sigterm(tmp_path: Path, mirror_dir: Path) -> None:
    port_file = tmp_path / "port"
    server = [sys.executable, "-m", "tests.support.mirror_server"]
    proc = subprocess.Popen(
        [*server, "--root", str(mirror_dir), "--port-file", str(port_file)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=make_mirror.SUPPORT_DIR.parents[1],
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url == f"http://127.0.0.1:{port_file.read_text().strip()}"
        with urllib.request.urlopen(url + "/storm/KEYS", timeout=5) as response:
            assert b"BEGIN PGP PUBLIC KEY BLOCK" in response.read()
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0


# --- the mirror's files ---


def test_layout(mirror_dir: Path) -> None:
    expected = {
        "storm/apache-storm-0.9.5": ["tar.gz", "tar.gz.sha512", "tar.gz.md5", "tar.gz.asc"],
        "storm/apache-storm-1.2.4": ["tar.gz", "tar.gz.sha512", "tar.gz.md5", "tar.gz.asc"],
        "storm/apache-storm-2.6.4": ["tar.gz", "tar.gz.sha512", "tar.gz.asc"],
        "zookeeper/zookeeper-3.4.6": ["tar.gz", "tar.gz.md5", "tar.gz.sha1", "tar.gz.asc"],
        "zookeeper/zookeeper-3.4.14": ["tar.gz", "tar.gz.md5", "tar.gz.sha1", "tar.gz.asc"],
    }
    for directory, suffixes in expected.items():
        base = directory.split("/")[1]
        found = sorted(p.name for p in (mirror_dir / directory).iterdir())
        assert found == sorted(f"{base}.{suffix}" for suffix in suffixes)
    zk38 = sorted(p.name for p in (mirror_dir / "zookeeper/zookeeper-3.8.4").iterdir())
    assert zk38 == sorted(
        f"{name}{suffix}"
        for name in ("apache-zookeeper-3.8.4-bin.tar.gz", "apache-zookeeper-3.8.4.tar.gz")
        for suffix in ("", ".sha512", ".asc")
    )
    keys = (mirror_dir / "storm" / "KEYS").read_text()
    assert "pub   ed25519" in keys and "BEGIN PGP PUBLIC KEY BLOCK" in keys
    assert (mirror_dir / "zookeeper" / "KEYS").read_text() == keys
    assert (mirror_dir / "keys" / "KEYS").read_text() == keys
    assert (mirror_dir / ".signing-gnupg").stat().st_mode & 0o777 == 0o700
    assert "stand-in" in (mirror_dir / "README.txt").read_text().lower()


def test_checksum_files_parse_to_the_digest(mirror_dir: Path) -> None:
    files = sorted(mirror_dir.glob("*/*/*.tar.gz.*[0-9]"))
    assert len(files) == 11
    for checksum in files:
        artifact = checksum.with_suffix("")
        algorithm = checksum.suffix[1:]
        wanted = hashlib.new(algorithm, artifact.read_bytes()).hexdigest()
        assert digest_in(checksum.read_text()) == wanted, checksum
    gpg_style = mirror_dir / "storm/apache-storm-0.9.5/apache-storm-0.9.5.tar.gz.sha512"
    lines = gpg_style.read_text().splitlines()
    assert len(lines) == 3 and lines[0].startswith("apache-storm-0.9.5.tar.gz: ")
    assert lines[1].startswith(" " * len("apache-storm-0.9.5.tar.gz: "))


@needs_gpg
@pytest.mark.parametrize("style", make_mirror.STYLES)
@pytest.mark.parametrize("algorithm", make_mirror.ALGORITHMS)
def test_write_checksum_styles(tmp_path: Path, algorithm: str, style: str) -> None:
    artifact = tmp_path / "some-release-1.0.tar.gz"
    artifact.write_bytes(b"release bytes\n" * 1000)
    digest = hashlib.new(algorithm, artifact.read_bytes()).hexdigest()
    path = make_mirror.write_checksum(artifact, algorithm, style)
    assert path.name == f"some-release-1.0.tar.gz.{algorithm}"
    text = path.read_text()
    assert digest_in(text) == digest
    if style == "gpg":
        group = {"md5": 2, "sha1": 4, "sha256": 8, "sha512": 8}[algorithm]
        groups = text.split(":", 1)[1].split()
        assert all(len(g) == group and g == g.upper() for g in groups)
    elif style == "bsd":
        assert text.startswith(f"{algorithm.upper()} (some-release-1.0.tar.gz) = ")
    elif style == "coreutils-binary":
        assert text == f"{digest} *some-release-1.0.tar.gz\n"


def gpg_verify(home: Path, keys: Path, signature: Path, artifact: Path) -> bool:
    home.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "GNUPGHOME": str(home)}
    subprocess.run(
        ["gpg", "--batch", "--import", str(keys)], env=env, check=True, capture_output=True
    )
    result = subprocess.run(
        ["gpg", "--batch", "--verify", str(signature), str(artifact)], env=env, capture_output=True
    )
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True)
    return result.returncode == 0


@needs_gpg
def test_signatures_verify_against_keys(tmp_path: Path, mirror_dir: Path) -> None:
    keys = mirror_dir / "keys" / "KEYS"
    signatures = sorted(mirror_dir.glob("*/*/*.asc"))
    assert len(signatures) == 7
    for signature in signatures:
        assert gpg_verify(tmp_path / "home", keys, signature, signature.with_suffix("")), signature

    copy = tmp_path / "apache-storm-0.9.5.tar.gz"
    shutil.copy(mirror_dir / STORM_095.lstrip("/"), copy)
    intruder = make_mirror.sign(mirror_dir, copy, key="intruder")
    assert intruder == tmp_path / "apache-storm-0.9.5.tar.gz.asc"
    assert not gpg_verify(tmp_path / "home2", keys, intruder, copy)
    # A tampered artifact fails against the genuine signature.
    genuine = mirror_dir / (STORM_095.lstrip("/") + ".asc")
    copy.write_bytes(copy.read_bytes() + b"\0")
    assert not gpg_verify(tmp_path / "home3", keys, genuine, copy)


def read_member(tarball: Path, name: str) -> bytes:
    with tarfile.open(tarball) as tar:
        handle = tar.extractfile(name)
        assert handle is not None
        return handle.read()


def test_tarball_layouts(mirror_dir: Path) -> None:
    zk34 = tar_members(mirror_dir / ZK_346.lstrip("/"))
    assert {"zookeeper-3.4.6/zookeeper-3.4.6.jar", "zookeeper-3.4.6/bin/zkServer.sh"} <= set(zk34)
    assert "zookeeper-3.4.6/conf/log4j.properties" in zk34
    zkbin = tar_members(mirror_dir / ZK_BIN.lstrip("/"))
    top = "apache-zookeeper-3.8.4-bin"
    assert {f"{top}/lib/zookeeper-3.8.4.jar", f"{top}/conf/logback.xml"} <= set(zkbin)
    assert zkbin[f"{top}/bin/zkServer.sh"].mode == 0o755
    source = tar_members(mirror_dir / "zookeeper/zookeeper-3.8.4/apache-zookeeper-3.8.4.tar.gz")
    assert all(
        name.startswith("apache-zookeeper-3.8.4/") or name == "apache-zookeeper-3.8.4"
        for name in source
    )
    assert not any("/bin/" in name or name.endswith(".jar") for name in source)
    for info in list(zk34.values()) + list(zkbin.values()):
        assert (info.uid, info.gid, info.mtime) == (0, 0, make_mirror.FIXED_MTIME)

    storm095 = mirror_dir / STORM_095.lstrip("/")
    assert read_member(storm095, "apache-storm-0.9.5/bin/storm").startswith(b"#!/usr/bin/python\n")
    assert "apache-storm-0.9.5/logback/cluster.xml" in tar_members(storm095)
    storm124 = mirror_dir / "storm/apache-storm-1.2.4/apache-storm-1.2.4.tar.gz"
    assert read_member(storm124, "apache-storm-1.2.4/bin/storm").startswith(b"#!/bin/sh\n")
    assert "apache-storm-1.2.4/conf/storm_env.ini" in tar_members(storm124)
    storm264 = mirror_dir / "storm/apache-storm-2.6.4/apache-storm-2.6.4.tar.gz"
    script = read_member(storm264, "apache-storm-2.6.4/bin/storm.py")
    assert script.startswith(b"#!/usr/bin/env python3\n")
    names = tar_members(storm264)
    assert {"apache-storm-2.6.4/log4j2/worker.xml", "apache-storm-2.6.4/public/index.html"} <= set(
        names
    )
    # Apache's daemons in lib/ and lib-worker/; the stand-in UI, logviewer and DRPC apart.
    assert {
        "apache-storm-2.6.4/lib/storm-server-2.6.4.jar",
        "apache-storm-2.6.4/lib/storm-core-2.6.4.jar",
    } <= set(names)
    assert "apache-storm-2.6.4/lib-worker/storm-client-2.6.4.jar" in names
    assert not [n for n in names if n.startswith("apache-storm-2.6.4/lib/") and "standin" in n]
    jar = read_member(storm264, "apache-storm-2.6.4/lib-webapp/storm-client-2.6.4-standin.jar")
    with zipfile.ZipFile(io.BytesIO(jar)) as archive:
        defaults = archive.read("defaults.yaml")
        assert "org/apache/storm/standin/StandinDaemon.class" in archive.namelist()
    assert defaults == make_mirror.storm_defaults_file("2.6.4").read_bytes()


def test_rebuild_gives_identical_bytes(tmp_path: Path, mirror_dir: Path) -> None:
    rebuilt = make_mirror.storm_standin_tarball("0.9.5", tmp_path)
    assert rebuilt.read_bytes() == (mirror_dir / STORM_095.lstrip("/")).read_bytes()
    rebuilt = make_mirror.zookeeper_standin_tarball(
        "3.4.6", tmp_path, "zookeeper-3.4.6.tar.gz", "zookeeper-3.4.6"
    )
    assert rebuilt.read_bytes() == (mirror_dir / ZK_346.lstrip("/")).read_bytes()


def test_storm_padding_is_incompressible_and_seeded(tmp_path: Path) -> None:
    builds = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        builds.append(make_mirror.storm_standin_tarball("0.9.5", tmp_path / name, pad_mb=1))
    assert builds[0].read_bytes() == builds[1].read_bytes()
    padding = read_member(builds[0], "apache-storm-0.9.5/lib/standin-padding.bin")
    assert len(padding) == 1 << 20
    assert builds[0].stat().st_size > 1 << 20


def test_cli_builds_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "mirror"
    assert make_mirror.main(["--out", str(out)]) == 0
    marker = (out / ".complete").stat().st_mtime_ns
    assert make_mirror.mirror_is_current(out)
    assert make_mirror.main(["--out", str(out)]) == 0
    assert "already built" in capsys.readouterr().err
    assert (out / ".complete").stat().st_mtime_ns == marker
    assert not make_mirror.mirror_is_current(out, storm_pad_mb=1)
    assert not list(tmp_path.glob(".mirror*")), "no temp dirs left behind"


# --- the stand-ins really run ---


@needs_java
@pytest.mark.parametrize(
    ("tarball", "cfg_extra"),
    [
        (ZK_346, ""),  # 3.4 allowed ruok without a whitelist
        (ZK_BIN, "4lw.commands.whitelist=ruok,srvr\nadmin.enableServer=false\n"),
    ],
    ids=["3.4.6", "3.8.4-bin"],
)
def test_zookeeper_standin_answers(
    tmp_path: Path, mirror_dir: Path, tarball: str, cfg_extra: str
) -> None:
    home = unpack(mirror_dir / tarball.lstrip("/"), tmp_path)
    port = free_port()
    (home / "conf" / "zoo.cfg").write_text(
        f"tickTime=2000\ndataDir={tmp_path / 'data'}\nclientPort={port}\n"
        f"clientPortAddress=127.0.0.1\n{cfg_extra}"
    )
    assert (
        "stand-in"
        in subprocess.run(
            ["sh", str(home / "bin" / "zkServer.sh"), "version"], capture_output=True, text=True
        ).stdout
    )
    server = ["sh", str(home / "bin" / "zkServer.sh"), "start-foreground"]
    with running(server, tmp_path, "zookeeper") as proc:
        wait_for(lambda: four_letter_word(port, "ruok") == "imok", 60, "zookeeper", proc)
        # imok only says the process runs; srvr says when it serves.
        wait_for(lambda: "Mode: standalone" in four_letter_word(port, "srvr"), 30, "srvr", proc)
        # start-foreground execs java: the supervised pid is the JVM.
        assert Path(f"/proc/{proc.pid}/exe").resolve().name == "java"


@pytest.mark.parametrize("version", ["2.7", "3.6"])
def test_storm_launcher_runs_on_old_pythons(tmp_path: Path, mirror_dir: Path, version: str) -> None:
    python = str(pyenv_python(version))  # skipped, saying so, where this Python is missing
    home = unpack(mirror_dir / STORM_095.lstrip("/"), tmp_path)
    (home / "conf" / "storm.yaml").write_text("nimbus.thrift.port: 7627\n")
    (home / "conf" / "storm_env.ini").write_text("[environment]\nJAVA_HOME:/nonexistent\n")

    def storm(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "HOME": str(tmp_path)}
        cmd = [python, str(home / "bin" / "storm"), *args]
        return subprocess.run(cmd, capture_output=True, text=True, env=env)

    assert storm("version").stdout.strip() == "0.9.5"
    assert (
        storm("localconfvalue", "nimbus.thrift.port").stdout.strip() == "nimbus.thrift.port: 7627"
    )
    assert (
        storm("-c", "ui.port=9090", "localconfvalue", "ui.port").stdout.strip() == "ui.port: 9090"
    )
    # storm_env.ini reaches the environment: the bad JAVA_HOME stops the daemon before exec.
    failed = storm("nimbus")
    assert failed.returncode == 1 and "JAVA_HOME is invalid" in failed.stderr


def storm_command(home: Path, *args: str) -> list[str]:
    script = home / "bin" / ("storm.py" if (home / "bin" / "storm.py").exists() else "storm")
    return [sys.executable, str(script), *args]


@needs_java
def test_storm_095_nimbus_listens(tmp_path: Path, mirror_dir: Path) -> None:
    home = unpack(mirror_dir / STORM_095.lstrip("/"), tmp_path)
    port = free_port()
    (home / "conf" / "storm.yaml").write_text(
        'storm.zookeeper.servers:\n    - "127.0.0.1"\nnimbus.host: "127.0.0.1"\n'
        f'nimbus.thrift.port: {port}  # a comment\nstorm.local.dir: "{tmp_path / "data"}"\n'
    )
    version = subprocess.run(storm_command(home, "version"), capture_output=True, text=True)
    assert version.stdout.strip() == "0.9.5"
    unknown = subprocess.run(storm_command(home, "frobnicate"), capture_output=True, text=True)
    assert unknown.returncode == 1 and "Unknown command" in unknown.stdout
    with running(storm_command(home, "nimbus"), tmp_path, "nimbus") as proc:
        wait_for(lambda: port_open(port), 30, "nimbus", proc)
        assert Path(f"/proc/{proc.pid}/exe").resolve().name == "java"
        cmdline = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert b"-Dstorm.standin.for=backtype.storm.daemon.nimbus" in cmdline
    assert "listening on 0.0.0.0:" in (home / "logs" / "nimbus.log").read_text()


def ui_summary(port: int, what: str) -> Any:
    """The Storm UI's /api/v1/<what>/summary on a loopback port."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/{what}/summary", timeout=2) as r:
        return json.load(r)


def zookeeper_for_storm(tmp_path: Path, mirror_dir: Path) -> tuple[list[str], int]:
    """The mirror's ZooKeeper 3.8.4 (Apache's jars) on a free loopback port: its command."""
    zk_home = unpack(mirror_dir / ZK_BIN.lstrip("/"), tmp_path / "zk")
    zk_port = free_port()
    (zk_home / "conf" / "zoo.cfg").write_text(
        f"tickTime=2000\ndataDir={tmp_path / 'zkdata'}\nclientPort={zk_port}\n"
        "clientPortAddress=127.0.0.1\n4lw.commands.whitelist=ruok,srvr\n"
        "admin.enableServer=false\n"
    )
    return ["sh", str(zk_home / "bin" / "zkServer.sh"), "start-foreground"], zk_port


@needs_java
def test_storm_124_is_apaches_and_needs_a_java_before_14(
    tmp_path: Path, mirror_dir: Path, java11_jre: Path
) -> None:
    """The mirror's 1.2.4 runs Apache's Nimbus, supervisor and UI (the UI's REST API reports
    them, no stand-in field) on Java 11; on this machine's Java 17 Apache's Nimbus halts, its
    ZooKeeper 3.4.14 client unable to connect (ZOOKEEPER-3779): the recipes' java_max."""
    home = unpack(mirror_dir / "storm/apache-storm-1.2.4/apache-storm-1.2.4.tar.gz", tmp_path)
    assert not list(home.rglob("*standin*.jar")) and (home / "lib/storm-core-1.2.4.jar").is_file()
    zk, zk_port = zookeeper_for_storm(tmp_path, mirror_dir)
    nimbus_port, ui_port = free_port(), free_port()
    (home / "conf" / "storm.yaml").write_text(
        f'storm.zookeeper.servers: ["127.0.0.1"]\nstorm.zookeeper.port: {zk_port}\n'
        f'nimbus.seeds: ["127.0.0.1"]\nnimbus.thrift.port: {nimbus_port}\n'
        f"ui.host: 127.0.0.1\nui.port: {ui_port}\nstorm.local.dir: {tmp_path / 'data'}\n"
        f'storm.local.hostname: "127.0.0.1"\nsupervisor.slots.ports: [{free_port()}]\n'
        f'storm.log.dir: "{tmp_path / "logs"}"\n'
    )
    wrapper = ["sh", str(home / "bin" / "storm")]
    java11 = {"PYTHON": sys.executable, "JAVA_HOME": str(debian_java.java_home(java11_jre.parent))}
    version = subprocess.run([*wrapper, "version"], capture_output=True, text=True, check=False)
    assert "Storm 1.2.4" in version.stdout, version

    with running(zk, tmp_path, "zookeeper") as zk_proc:
        wait_for(lambda: "Mode: standalone" in four_letter_word(zk_port, "srvr"), 60, "zk", zk_proc)
        with running([*wrapper, "nimbus"], tmp_path, "nimbus17", {"PYTHON": sys.executable}) as n:
            assert n.wait(timeout=120) != 0  # Apache's Nimbus halts itself
        nimbus_log = (tmp_path / "logs" / "nimbus.log").read_text()
        assert "Unable to canonicalize address 127.0.0.1/<unresolved>" in nimbus_log
        with (
            running([*wrapper, "nimbus"], tmp_path, "nimbus", java11) as nimbus,
            running([*wrapper, "ui"], tmp_path, "ui", java11) as ui,
            running([*wrapper, "supervisor"], tmp_path, "supervisor", java11),
        ):
            wait_for(lambda: port_open(nimbus_port), 120, "nimbus", nimbus)
            wait_for(lambda: ui_summary(ui_port, "cluster")["supervisors"] == 1, 120, "ui", ui)
            cluster = ui_summary(ui_port, "cluster")
            assert cluster["stormVersion"] == "1.2.4" and "standin" not in cluster, cluster
            (leader,) = ui_summary(ui_port, "nimbus")["nimbuses"]
            assert (leader["port"], leader["status"]) == (nimbus_port, "Leader"), leader


@needs_java
def test_storm_standin_registers_in_zookeeper(tmp_path: Path, mirror_dir: Path) -> None:
    """Nimbus and supervisor hold ephemeral znodes under storm.zookeeper.root; the UI reports
    what it finds there; a supervisor stopped with SIGTERM leaves at once."""
    home = unpack(mirror_dir / STORM_095.lstrip("/"), tmp_path)
    zk, zk_port = zookeeper_for_storm(tmp_path, mirror_dir)
    nimbus_port, ui_port = free_port(), free_port()
    (home / "conf" / "storm.yaml").write_text(
        f'storm.zookeeper.servers: ["127.0.0.1"]\nstorm.zookeeper.port: {zk_port}\n'
        f'storm.zookeeper.root: "/standin-test"\nnimbus.seeds: ["127.0.0.1"]\n'
        f"nimbus.thrift.port: {nimbus_port}\nui.host: 127.0.0.1\nui.port: {ui_port}\n"
        f'storm.local.dir: {tmp_path / "data"}\nstorm.local.hostname: "node-a"\n'
        "supervisor.slots.ports: [6700, 6701]\n"
    )

    with running(zk, tmp_path, "zookeeper") as zk_proc:
        wait_for(lambda: "Mode: standalone" in four_letter_word(zk_port, "srvr"), 60, "zk", zk_proc)
        with (
            running(storm_command(home, "nimbus"), tmp_path, "nimbus"),
            running(storm_command(home, "ui"), tmp_path, "ui") as ui,
        ):
            with running(storm_command(home, "supervisor"), tmp_path, "supervisor"):
                wait_for(lambda: ui_summary(ui_port, "cluster")["supervisors"] == 1, 30, "ui", ui)
                wait_for(lambda: ui_summary(ui_port, "cluster")["nimbuses"] == 1, 30, "ui", ui)
                cluster = ui_summary(ui_port, "cluster")
                assert (cluster["slotsTotal"], cluster["zookeeper"]) == (2, "connected")
                (supervisor,) = ui_summary(ui_port, "supervisor")["supervisors"]
                kept = (tmp_path / "data" / "supervisor" / "standin-supervisor-id").read_text()
                assert supervisor["id"] == kept.strip()
                assert (supervisor["host"], supervisor["ports"]) == ("node-a", [6700, 6701])
                (nimbus,) = ui_summary(ui_port, "nimbus")["nimbuses"]
                assert (nimbus["host"], nimbus["port"]) == ("node-a", nimbus_port)
            # SIGTERM: the daemon closes its session, so its znode goes at once.
            wait_for(lambda: ui_summary(ui_port, "cluster")["supervisors"] == 0, 5, "ui", ui)
