"""Builds on a site's machine: pip settings of every kind, indexes on disk, private CAs,
credentials, a redirecting download link; and no password anywhere.

Everything runs on 127.0.0.1: the test mirror (over HTTP, or HTTPS with basic auth), a real
pypiserver over HTTPS with an htpasswd file, package indexes written to disk. Each build runs
with the machine's pip settings and proxies set aside, with its own HOME (for ~/.netrc), and
with HTTP(S)_PROXY pointing at a closed port so that nothing but 127.0.0.1 can be reached.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import STORM_PATH, Run, bundler, provenance, provenance_sources
from tests.support.mirror_server import MirrorServer
from tests.support.pypi_index import PypiIndex, htpasswd
from tests.support.tlscerts import CA

PROJECTS = ("pip", "setuptools", "supervisor")


def site_env(home: Path, pip_conf: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment of a build on a site: no pip settings, CA bundles or proxies of this
    machine; a dead proxy for anything that is not 127.0.0.1; its own HOME."""
    drop = ("PIP_", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE", "NETRC")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env = {k: v for k, v in env.items() if "proxy" not in k.lower()}
    home.mkdir(parents=True, exist_ok=True)
    env.update(HOME=str(home), HTTP_PROXY="http://127.0.0.1:9", HTTPS_PROXY="http://127.0.0.1:9")
    env.update(NO_PROXY="127.0.0.1", PIP_CONFIG_FILE=str(pip_conf or os.devnull))
    env.update(extra)
    return env


def build(mirror: str, keys: Path, work: Path, env: dict[str, str], *extra: str | Path) -> Run:
    """`bundler build` of Storm 0.9.5 + ZooKeeper 3.4.6 from `mirror` alone, with no wheel
    location on the command line: pip's settings in `env` decide."""
    return bundler(
        "build", "--storm", "0.9.5", "--zk", "3.4.6", "--mirror", mirror,
        "--no-default-mirrors", "--apache-keys", keys, "--no-pins",
        "--cache-dir", work / "cache", "--out", work / "out", *extra,
        env={**env, "SOURCE_DATE_EPOCH": "1700000000"}, inherit=False,
    )  # fmt: skip


def bundle_of(run: Run) -> Path:
    assert run.code == 0, run
    return Path(run.out.strip().splitlines()[-1])


def wheels_by(bundle: Path) -> dict[str, str]:
    """wheel file name -> what served it, from the provenance."""
    return {
        name: by for name, (_, by) in provenance_sources(bundle).items() if name.endswith(".whl")
    }


def file_index(wheelhouse: Path, root: Path) -> Path:
    """A package index on disk holding the wheelhouse's wheels, in each form pip reads from a
    file: index: PEP 503 pages (supervisor), a PEP 691 JSON page (pip) and a plain folder of
    wheels (setuptools)."""
    for project in PROJECTS:
        folder = root / project
        folder.mkdir(parents=True)
        files = sorted(wheelhouse.glob(f"{project}-*.whl"))
        for wheel in files:
            shutil.copy2(wheel, folder / wheel.name)
        digests = {w.name: hashlib.sha256(w.read_bytes()).hexdigest() for w in files}
        if project == "supervisor":
            links = "".join(f'<a href="{n}#sha256={d}">{n}</a><br/>\n' for n, d in digests.items())
            (folder / "index.html").write_text(
                f"<!DOCTYPE html><html><body>\n{links}</body></html>"
            )
        elif project == "pip":
            page = {
                "meta": {"api-version": "1.0"},
                "name": project,
                "files": [
                    {"filename": n, "url": n, "hashes": {"sha256": d}} for n, d in digests.items()
                ],
            }
            (folder / "index.json").write_text(json.dumps(page))
    return root


@pytest.fixture
def simple_index(wheelhouse: Path, tmp_path: Path) -> Path:
    return file_index(wheelhouse, tmp_path / "srv" / "pypi" / "simple")


def test_a_file_index_alone_serves_every_locked_wheel(
    mirror_dir: Path, mirror_server: MirrorServer, simple_index: Path, tmp_path: Path
) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\nindex-url = {simple_index.as_uri()}\n")
    run = build(
        mirror_server.url, mirror_dir / "keys" / "KEYS", tmp_path, site_env(tmp_path / "home", conf)
    )
    bundle = bundle_of(run)
    served = wheels_by(bundle)
    assert served and set(served.values()) == {simple_index.as_uri()}, served
    assert not any(r.path.startswith("/simple") for r in mirror_server.requests)
    assert "WARNING" not in run.err, run.err


def test_an_empty_or_dead_extra_index_beside_a_pypi_shaped_one(
    mirror_dir: Path, wheelhouse: Path, tmp_path: Path
) -> None:
    """An empty file: extra index and one that does not answer: the index that has the
    wheels still serves them, and the dead one is named once, with why."""
    empty = tmp_path / "empty" / "simple"
    empty.mkdir(parents=True)
    with MirrorServer(mirror_dir, wheelhouse=wheelhouse) as server:
        conf = tmp_path / "pip.conf"
        conf.write_text(
            f"[global]\nindex-url = {server.url}/simple\n"
            f"extra-index-url = {empty.as_uri()}\n    http://127.0.0.1:9/simple\n"
            "retries = 0\ntimeout = 2\n"
        )
        run = build(
            server.url, mirror_dir / "keys" / "KEYS", tmp_path, site_env(tmp_path / "home", conf)
        )
        bundle = bundle_of(run)
        assert set(wheels_by(bundle).values()) == {f"{server.url}/simple"}
    dead = [line for line in run.err.splitlines() if "index http://127.0.0.1:9/simple" in line]
    assert len(dead) == 1 and dead[0].startswith("WARNING: "), run.err
    assert "cannot connect" in dead[0] and "other locations still serve" in dead[0]


def test_find_links_as_a_file_url(
    mirror_dir: Path, mirror_server: MirrorServer, wheelhouse: Path, tmp_path: Path
) -> None:
    run = build(
        mirror_server.url,
        mirror_dir / "keys" / "KEYS",
        tmp_path,
        site_env(tmp_path / "home"),
        "--find-links",
        wheelhouse.as_uri(),
    )
    assert set(wheels_by(bundle_of(run)).values()) == {wheelhouse.as_uri()}


# --- HTTPS with two private CAs, basic auth, a redirect, and no password anywhere ---

MIRROR_USER, MIRROR_PASSWORD = "builder", "Mirror-Pw-7c1e9f"
INDEX_USER, INDEX_PASSWORD = "reader", "Index-Pw-4b2d8a"


class Site:
    """An HTTPS mirror (CA "mirror-ca", basic auth) behind an HTTP download link that
    redirects to it, and pypiserver over HTTPS (CA "index-ca", htpasswd)."""

    def __init__(self, mirror_dir: Path, wheelhouse: Path, root: Path) -> None:
        self.mirror_ca = CA(root / "pki", "mirror-ca")
        self.index_ca = CA(root / "pki", "index-ca")
        mirror_cert = self.mirror_ca.issue("mirror")
        index_cert = self.index_ca.issue("index")
        packages = root / "packages"
        packages.mkdir()
        for wheel in wheelhouse.glob("*.whl"):
            shutil.copy2(wheel, packages / wheel.name)
        self.mirror = MirrorServer(
            mirror_dir, tls=(mirror_cert.cert, mirror_cert.key), auth=(MIRROR_USER, MIRROR_PASSWORD)
        ).start()
        self.closer = MirrorServer(mirror_dir, redirect_to=self.mirror.url).start()
        passwords = htpasswd(root / "htpasswd", INDEX_USER, INDEX_PASSWORD)
        self.index = PypiIndex(packages, passwords, index_cert.cert, index_cert.key, root)

    def close(self) -> None:
        self.index.stop()
        self.closer.stop()
        self.mirror.stop()


@pytest.fixture
def site(mirror_dir: Path, wheelhouse: Path, tmp_path: Path) -> Iterator[Site]:
    made = Site(mirror_dir, wheelhouse, tmp_path / "site")
    try:
        yield made
    finally:
        made.close()


def leaks(run: Run, *folders: Path) -> list[str]:
    """Where either password appears: in what the build printed or any file under folders
    (every bundle member, bundle.json, provenance, SBOM, .sha256, cache record)."""
    found = []
    secrets = [p.encode() for p in (MIRROR_PASSWORD, INDEX_PASSWORD)]
    for name, text in (("stdout", run.out), ("stderr", run.err)):
        found += [name for s in secrets if s.decode() in text]
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file() and any(s in path.read_bytes() for s in secrets):
                found.append(str(path))
    return found


def netrc(home: Path) -> None:
    """The mirror's credentials in ~/.netrc (0600), as a site keeps them."""
    path = home / ".netrc"
    path.write_text(f"machine 127.0.0.1 login {MIRROR_USER} password {MIRROR_PASSWORD}\n")
    path.chmod(0o600)


def test_private_cas_basic_auth_and_a_redirect_with_no_password_anywhere(
    mirror_dir: Path, site: Site, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    netrc(home)
    conf = tmp_path / "pip.conf"
    index_url = site.index.url(f"{INDEX_USER}:{INDEX_PASSWORD}@")
    conf.write_text(f"[global]\nindex-url = {index_url}\ncert = {site.index_ca.cert}\n")
    keys = mirror_dir / "keys" / "KEYS"
    good = tmp_path / "good"
    run = build(
        site.closer.url, keys, good, site_env(home, conf), "--ca-bundle", site.mirror_ca.cert
    )
    bundle = bundle_of(run)
    with tarfile.open(bundle) as tar:
        assert any(m.name.endswith("/supervisor-4.3.0-py2.py3-none-any.whl") for m in tar)
    # The download link redirected to the HTTPS mirror, which saw the netrc credentials; the
    # provenance names both: the link as the mirror asked, the HTTPS URL as what served it.
    assert site.closer.requests and all(r.status == 302 for r in site.closer.requests)
    assert any(r.path.endswith(".tar.gz") and r.status == 200 for r in site.mirror.requests)
    storm = provenance_sources(bundle)["apache-storm-0.9.5.tar.gz"]
    assert storm == (f"{site.mirror.url}{STORM_PATH}", site.closer.url)
    # The provenance names the index without its password.
    shown = site.index.url(f"{INDEX_USER}:***@")
    assert set(wheels_by(bundle).values()) == {shown}
    assert (
        provenance(bundle)["predicate"]["buildDefinition"]["internalParameters"]["index"][
            "index_url"
        ]
        == shown
    )
    assert leaks(run, good) == []

    # Without the index's CA the index fails verification: the build fails saying so, and
    # still shows no password (the index URL is in the message, masked).
    conf.write_text(f"[global]\nindex-url = {index_url}\n")
    bad = tmp_path / "bad"
    failed = build(
        site.closer.url, keys, bad, site_env(home, conf), "--ca-bundle", site.mirror_ca.cert
    )
    assert failed.code == 1, failed
    assert "TLS verification failed" in failed.err and f"in {shown} (" in failed.err, failed.err
    assert "set pip's cert" in failed.err
    assert leaks(failed, bad) == []

    # The mirror's CA is not the index's: without --ca-bundle the mirror is refused.
    conf.write_text(f"[global]\nindex-url = {index_url}\ncert = {site.index_ca.cert}\n")
    other = tmp_path / "other"
    refused = build(site.closer.url, keys, other, site_env(home, conf))
    assert refused.code == 1, refused
    assert "TLS verification failed" in refused.err and "--ca-bundle" in refused.err
    assert "no mirror served apache-storm-0.9.5.tar.gz" in refused.err, refused.err
    assert leaks(refused, other) == []

    # A warm cache asks nothing: with the index stopped, the first build's cache still serves.
    site.index.stop()
    asked = len(site.mirror.requests) + len(site.closer.requests)
    warm = build(
        site.closer.url, keys, good, site_env(home, conf), "--ca-bundle", site.mirror_ca.cert
    )
    assert bundle_of(warm) == bundle
    assert len(site.mirror.requests) + len(site.closer.requests) == asked
    assert set(wheels_by(bundle).values()) == {"cache"}
    assert leaks(warm, good) == []


def test_mirror_credentials_in_the_url_and_a_wrong_password(
    mirror_dir: Path, site: Site, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    conf = tmp_path / "pip.conf"
    conf.write_text(
        f"[global]\nindex-url = {site.index.url(f'{INDEX_USER}:{INDEX_PASSWORD}@')}\n"
        f"cert = {site.index_ca.cert}\n"
    )
    keys = mirror_dir / "keys" / "KEYS"
    mirror = site.mirror.url.replace("https://", f"https://{MIRROR_USER}:{MIRROR_PASSWORD}@")
    env = site_env(home, conf, REQUESTS_CA_BUNDLE=str(site.mirror_ca.cert))
    run = build(mirror, keys, tmp_path / "good", env)
    bundle = bundle_of(run)
    masked = site.mirror.url.replace("https://", f"https://{MIRROR_USER}:***@")
    assert provenance(bundle)["predicate"]["buildDefinition"]["externalParameters"]["mirrors"] == [
        masked
    ]
    assert leaks(run, tmp_path / "good") == []

    wrong = site.mirror.url.replace("https://", f"https://{MIRROR_USER}:Wrong-{MIRROR_PASSWORD}@")
    # pip's trusted-host: the index's certificate goes unchecked (no cert given).
    conf.write_text(
        f"[global]\nindex-url = {site.index.url(f'{INDEX_USER}:{INDEX_PASSWORD}@')}\n"
        f"trusted-host = 127.0.0.1:{site.index.port}\n"
    )
    # (The mirror's CA from SSL_CERT_FILE this time.)
    env_ssl = site_env(home, conf, SSL_CERT_FILE=str(site.mirror_ca.cert))
    trusted = build(mirror, keys, tmp_path / "trusted", env_ssl)
    assert set(wheels_by(bundle_of(trusted)).values()) == {site.index.url(f"{INDEX_USER}:***@")}
    assert "InsecureRequestWarning" not in trusted.err
    assert leaks(trusted, tmp_path / "trusted") == []

    failed = build(wrong, keys, tmp_path / "bad", env)
    assert failed.code == 1, failed
    assert "HTTP 401: credentials were refused" in failed.err, failed.err
    assert f"{MIRROR_USER}:***@" in failed.err
    assert leaks(failed, tmp_path / "bad") == []
