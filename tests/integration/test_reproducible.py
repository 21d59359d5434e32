"""Same verified inputs, same bundle bytes: whichever mirror, cache, umask, time zone, locale or
output folder. Where the files came from is in the provenance beside the bundle, and it names
what really served each file. Real builds against real mirror servers on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import jsonschema
import pytest

from tests.support.cli import provenance, release_args
from tests.support.cli import provenance_sources as served
from tests.support.mirror_server import MirrorServer

ROOT = Path(__file__).resolve().parents[2]
STORM = "apache-storm-0.9.5.tar.gz"
ZK = "zookeeper-3.4.6.tar.gz"
BUNDLE = "storm-0.9.5-zk-3.4.6.tar"
# Every entry of the test mirror's release tarballs has this mtime (tests/support/make_mirror.py).
RELEASE_MTIME = 1420070400


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without SOURCE_DATE_EPOCH or pip settings of the machine."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k != "SOURCE_DATE_EPOCH"
    }
    env["PIP_CONFIG_FILE"] = os.devnull
    env.update(extra)
    return env


def build(
    mirror_url: str,
    mirror_dir: Path,
    cache: Path,
    out: Path,
    *extra: str | Path,
    env: dict[str, str] | None = None,
    umask: str = "022",
) -> Path:
    proc = run_build(mirror_url, mirror_dir, cache, out, *extra, env=env, umask=umask)
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.strip().splitlines()[-1])


def run_build(
    mirror_url: str,
    mirror_dir: Path,
    cache: Path,
    out: Path,
    *extra: str | Path,
    env: dict[str, str] | None = None,
    umask: str = "022",
) -> subprocess.CompletedProcess[str]:
    release = release_args(mirror_url, mirror_dir)
    args = [*release, "--cache-dir", cache, "--out", out, *extra]
    return subprocess.run(
        ["sh", "-c", f'umask {umask}; exec "$@"', "sh", sys.executable, "-m", "bundler"]
        + [str(a) for a in args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env or clean_env(),
        timeout=300,
        check=False,
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def other_mirror(mirror_dir: Path, tmp_path: Path) -> Path:
    """A copy of the two releases' folders and the KEYS, every file dated 2031 instead: the
    same bytes with another Last-Modified."""
    root = tmp_path / "other-mirror"
    for rel in ("storm/apache-storm-0.9.5", "zookeeper/zookeeper-3.4.6", "keys"):
        shutil.copytree(mirror_dir / rel, root / rel)
    for path in root.rglob("*"):
        os.utime(path, (1924992000, 1924992000))
    return root


def test_same_bytes_through_two_mirrors_any_cache_umask_tz_locale_or_folder(
    mirror_dir: Path, wheelhouse: Path, other_mirror: Path, tmp_path: Path
) -> None:
    links = ("--find-links", wheelhouse)
    with MirrorServer(mirror_dir) as first, MirrorServer(other_mirror) as second:
        first_url, second_url = first.url, second.url
        assert first_url != second_url
        a = build(first.url, mirror_dir, tmp_path / "cache-a", tmp_path / "out-a", *links)
        # Cold, another mirror (other port, other Last-Modified), umask, time zone, locale
        # and output folder.
        b = build(
            second.url,
            mirror_dir,
            tmp_path / "cache-b",
            tmp_path / "elsewhere" / "deeper" / "out-b",
            *links,
            env=clean_env(TZ="Asia/Kolkata", LC_ALL="C.UTF-8", LANG="C.UTF-8"),
            umask="077",
        )
        assert [r.path for r in second.requests if r.path.endswith(".tar.gz")]
        # Warm: the cache filled through the first mirror, the second mirror named; one
        # record as an older bundler wrote it, without the release's newest mtime and jars.
        records = sorted((tmp_path / "cache-a").glob("*/artifacts/**/record.json"))
        assert len(records) == 2
        old = json.loads(records[0].read_text())
        del old["archive"]["newest_mtime"]
        jars = old["archive"].pop("jars")
        records[0].write_text(json.dumps(old))
        second.clear_requests()
        c = build(second.url, mirror_dir, tmp_path / "cache-a", tmp_path / "out-c", *links)
        assert not [r.path for r in second.requests if r.path.endswith(".tar.gz")]

    assert a.name == b.name == c.name == BUNDLE
    assert sha256(a) == sha256(b) == sha256(c)
    rescanned = json.loads(records[0].read_text())["archive"]
    assert (rescanned["newest_mtime"], rescanned["jars"]) == (RELEASE_MTIME, jars)

    # The provenance says what really served each file, in each build.
    assert served(a)[STORM] == (f"{first_url}/storm/apache-storm-0.9.5/{STORM}", first_url)
    assert served(a)[ZK][1] == first_url
    assert served(b)[STORM] == (f"{second_url}/storm/apache-storm-0.9.5/{STORM}", second_url)
    assert served(b)[ZK][1] == second_url
    # Warm: no mirror served it this time; the URI is where the cached copy came from.
    assert served(c)[STORM] == (f"{first_url}/storm/apache-storm-0.9.5/{STORM}", "cache")
    wheel = next(name for name in served(a) if name.startswith("supervisor-"))
    assert served(a)[wheel][1] == wheelhouse.resolve().as_uri()
    assert served(c)[wheel] == (None, "cache")

    for bundle in (a, b, c):
        statement = provenance(bundle)
        assert statement["_type"] == "https://in-toto.io/Statement/v1"
        assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
        assert statement["subject"] == [{"name": BUNDLE, "digest": {"sha256": sha256(a)}}]
        assert not bundle.with_name(f".{bundle.name}.provenance.json.{os.getpid()}.part").exists()

    # The epoch is the releases' own date, not the mirror's Last-Modified (2031 on the second).
    with tarfile.open(b) as tar:
        assert {m.mtime for m in tar.getmembers()} == {RELEASE_MTIME}
        raw = tar.extractfile(f"{BUNDLE[:-4]}/bundle.json")
        assert raw is not None
        manifest = json.load(raw)
    assert manifest["source_date_epoch"] == RELEASE_MTIME
    internal = provenance(b)["predicate"]["buildDefinition"]["internalParameters"]
    assert internal["epoch_from"] == "release tarballs"
    schema = json.loads(
        (ROOT / "bundler" / "onhost" / "contract" / "bundle.schema.json").read_text()
    )
    jsonschema.validate(manifest, schema)
    assert first_url not in json.dumps(manifest) and second_url not in json.dumps(manifest)


def test_wheels_from_an_index_chosen_only_by_pip_settings(
    mirror_dir: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    """No --index-url or --find-links: PIP_INDEX_URL picks the index, then a pip.conf named by
    PIP_CONFIG_FILE does, with [install] over [global] and keys we do not use ignored."""
    with MirrorServer(mirror_dir, wheelhouse=wheelhouse) as server:
        url = server.url
        index = f"{url}/simple"
        by_env = build(
            server.url,
            mirror_dir,
            tmp_path / "cache-env",
            tmp_path / "out-env",
            env=clean_env(PIP_INDEX_URL=index),
        )
        assert any(r.path.startswith("/simple/supervisor/") for r in server.requests)

        conf = tmp_path / "pip.conf"
        conf.write_text(
            "[global]\n"
            "index-url = http://127.0.0.1:9/simple\n"
            "constraint = /nonexistent/constraints.txt\n"
            "timeout = 5\n"
            f"[install]\nindex-url = {index}\n"
        )
        server.clear_requests()
        by_conf = build(
            server.url,
            mirror_dir,
            tmp_path / "cache-conf",
            tmp_path / "out-conf",
            env=clean_env(PIP_CONFIG_FILE=str(conf)),
        )
        assert any(r.path.startswith("/simple/supervisor/") for r in server.requests)

        # no-index: the find-links only, here an empty folder, so the index is never asked
        # and the build says where it looked.
        empty = tmp_path / "no-wheels"
        empty.mkdir()
        offline = tmp_path / "offline.conf"
        offline.write_text(f"[global]\nindex-url = {index}\nno-index = yes\nfind-links = {empty}\n")
        server.clear_requests()
        refused = run_build(
            server.url,
            mirror_dir,
            tmp_path / "cache-links",
            tmp_path / "out-links",
            env=clean_env(PIP_CONFIG_FILE=str(offline)),
        )
        assert refused.returncode == 1, refused.stderr
        assert f"in {empty};" in refused.stderr
        assert not any(r.path.startswith("/simple/") for r in server.requests)

    assert sha256(by_env) == sha256(by_conf)
    for bundle in (by_env, by_conf):
        chosen = provenance(bundle)["predicate"]["buildDefinition"]["internalParameters"]["index"]
        # (The machine's own global pip.conf may add a cert: pip reads it beside PIP_CONFIG_FILE.)
        assert {k: chosen[k] for k in ("index_url", "extra_index_urls", "find_links", "from")} == {
            "index_url": index,
            "extra_index_urls": [],
            "find_links": [],
            "from": "pip configuration",
        }
        wheel = next(name for name in served(bundle) if name.startswith("supervisor-"))
        uri, by = served(bundle)[wheel]
        # Served by the index that listed it, from the URL its page gave.
        assert by == index
        assert uri == f"{url}/wheelhouse/{wheel}"
    assert (
        provenance(by_conf)["predicate"]["buildDefinition"]["internalParameters"]["index"][
            "timeout"
        ]
        == 5
    )
