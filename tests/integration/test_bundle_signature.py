"""The operator's signature over a bundle, with real gpg and throwaway keys: made by `bundler
build --sign-with`, checked by `bundler verify --signer-key` and by the on-host check under real
target Pythons (2.7 and 3.x), which refuse a flipped byte, the wrong key and a swapped folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.bundles import pyenv_python
from tests.support.cli import build_args, bundler
from tests.support.mirror_server import MirrorServer

ROOT = Path(__file__).resolve().parents[2]
BUNDLESIG = ROOT / "bundler" / "onhost" / "bundlesig.py"
NAME = "storm-0.9.5-zk-3.4.6"
OPERATOR = "operator@example.invalid"


def _gpg(home: Path, *args: str) -> str:
    proc = subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--no-tty", *args],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GNUPGHOME": str(home)},
    )
    return proc.stdout


@pytest.fixture(scope="module")
def operator_keys() -> Iterator[tuple[Path, Path, Path]]:
    """(GNUPGHOME with the operator's secret key, operator's public key, another key)."""
    # Under /tmp: gpg-agent's socket path must stay short.
    home = Path(tempfile.mkdtemp(prefix="gpg-op-", dir="/tmp"))
    home.chmod(0o700)
    try:
        for uid in (f"Bundle Operator <{OPERATOR}>", "Someone Else <else@example.invalid>"):
            _gpg(home, "--pinentry-mode", "loopback", "--passphrase", "",
                 "--quick-gen-key", uid, "ed25519", "sign", "never")  # fmt: skip
        pub, other = home / "operator.asc", home / "else.asc"
        pub.write_text(_gpg(home, "--armor", "--export", OPERATOR))
        other.write_text(_gpg(home, "--armor", "--export", "else@example.invalid"))
        yield home, pub, other
    finally:
        subprocess.run(
            ["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def signed_bundle(
    operator_keys: tuple[Path, Path, Path],
    mirror_dir: Path,
    wheelhouse: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    home, _, _ = operator_keys
    work = tmp_path_factory.mktemp("signed")
    (work / "out").mkdir()
    with MirrorServer(mirror_dir) as server:
        args = build_args(server.url, mirror_dir, wheelhouse, work, "--sign-with", OPERATOR)
        run = bundler(*args, "--split", "4M", env={"GNUPGHOME": str(home)})
    assert run.code == 0, run
    return Path(run.out.strip().splitlines()[-1])


def flipped(bundle: Path, where: Path) -> Path:
    """A copy of bundle and its .asc with one byte of the payload changed."""
    where.mkdir()
    copy = where / bundle.name
    shutil.copy2(bundle, copy)
    shutil.copy2(f"{bundle}.asc", f"{copy}.asc")
    with open(copy, "r+b") as fh:
        fh.seek(copy.stat().st_size // 2)
        byte = fh.read(1)
        fh.seek(-1, os.SEEK_CUR)
        fh.write(bytes([byte[0] ^ 0x01]))
    return copy


def test_build_signs_and_splits_and_verify_checks_the_signature(
    signed_bundle: Path, operator_keys: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, pub, other = operator_keys
    asc = Path(f"{signed_bundle}.asc")
    assert asc.read_text().startswith("-----BEGIN PGP SIGNATURE-----")
    out = signed_bundle.parent
    assert (out / f"{NAME}.parts").is_file() and (out / f"{NAME}.tar.part-002").is_file()

    run = bundler("verify", signed_bundle, "--signer-key", pub)
    assert run.code == 0, run
    assert f"good signature by Bundle Operator <{OPERATOR}>" in run.out

    run = bundler("verify", signed_bundle, "--signer-key", other)
    assert run.code == 3, run
    assert "is signed by key" in run.err and f"which is not in {other}" in run.err

    bad = flipped(signed_bundle, tmp_path / "flipped")
    run = bundler("verify", bad, "--signer-key", pub)
    assert run.code == 3, run
    assert "BAD signature" in run.err

    Path(f"{bad}.asc").unlink()
    run = bundler("verify", bad, "--signer-key", pub)
    assert run.code == 3 and f"no signature {bad.name}.asc" in run.err, run

    # The parts join back to the signed bytes.
    joined = tmp_path / "joined.tar"
    run = bundler("join", out / f"{NAME}.parts", "--out", joined)
    assert run.code == 0, run
    assert joined.read_bytes() == signed_bundle.read_bytes()


def test_sign_command_writes_the_asc_atomically(
    signed_bundle: Path, operator_keys: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    home, pub, _ = operator_keys
    copy = tmp_path / signed_bundle.name
    shutil.copy2(signed_bundle, copy)
    run = bundler("sign", copy, "--sign-with", OPERATOR, env={"GNUPGHOME": str(home)})
    assert run.code == 0, run
    assert sorted(os.listdir(tmp_path)) == [copy.name, f"{copy.name}.asc"]
    assert bundler("verify", copy, "--signer-key", pub).code == 0

    run = bundler(
        "sign", copy, "--sign-with", "nobody@example.invalid", env={"GNUPGHOME": str(home)}
    )
    assert run.code == 1 and "could not sign" in run.err, run
    assert sorted(os.listdir(tmp_path)) == [copy.name, f"{copy.name}.asc"]


def test_build_with_an_unknown_signing_key_stops_before_downloading(
    operator_keys: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    home, _, _ = operator_keys
    (tmp_path / "out").mkdir()
    args: list[str | Path] = [
        "build", "--storm", "0.9.5", "--zk", "3.4.6", "--mirror", "http://127.0.0.1:9",
        "--no-default-mirrors", "--cache-dir", tmp_path / "cache",
        "--out", tmp_path / "out", "--sign-with", "nobody@example.invalid",
    ]  # fmt: skip
    run = bundler(*args, env={"GNUPGHOME": str(home)})
    assert run.code == 2 and "no secret key" in run.err, run
    assert list((tmp_path / "out").iterdir()) == []


def test_the_old_option_names_still_work_for_one_release(
    signed_bundle: Path, operator_keys: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """verify --keys, sign --key and join --output, now --signer-key, --sign-with and --out:
    each does what the new name does, and says the new name on stderr."""
    home, pub, _ = operator_keys
    run = bundler("verify", signed_bundle, "--keys", pub)
    assert run.code == 0 and "good signature by" in run.out, run
    assert "bundler: warning: --keys is now --signer-key;" in run.err
    copy = tmp_path / signed_bundle.name
    shutil.copy2(signed_bundle, copy)
    run = bundler("sign", copy, "--key", OPERATOR, env={"GNUPGHOME": str(home)})
    assert run.code == 0 and Path(f"{copy}.asc").is_file(), run
    assert "bundler: warning: --key is now --sign-with;" in run.err
    joined = tmp_path / "joined.tar"
    run = bundler("join", signed_bundle.parent / f"{NAME}.parts", f"--output={joined}")
    assert run.code == 0 and joined.read_bytes() == signed_bundle.read_bytes(), run
    assert "bundler: warning: --output is now --out;" in run.err


def test_build_takes_its_old_option_names(
    operator_keys: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """--output-dir, --keys and --sign (now --out, --apache-keys, --sign-with) parse as the new
    names: the unknown key is refused before any download, as with the new names."""
    home, _, _ = operator_keys
    (tmp_path / "out").mkdir()
    args: list[str | Path] = [
        "build", "--storm", "0.9.5", "--zk", "3.4.6", "--mirror", "http://127.0.0.1:9",
        "--no-default-mirrors", "--cache-dir", tmp_path / "cache", "--keys", tmp_path / "K",
        "--output-dir", tmp_path / "out", "--sign", "nobody@example.invalid",
    ]  # fmt: skip
    run = bundler(*args, env={"GNUPGHOME": str(home)})
    assert run.code == 2 and "--sign-with nobody@example.invalid: gpg has no secret key" in run.err
    for old, new in (
        ("--output-dir", "--out"),
        ("--keys", "--apache-keys"),
        ("--sign", "--sign-with"),
    ):
        assert f"bundler: warning: {old} is now {new};" in run.err, run
    assert list((tmp_path / "out").iterdir()) == []


def unpack_on_host(bundle: Path, host: Path) -> Path:
    """What the operator does: copy NAME.tar and NAME.tar.asc, unpack beside them."""
    host.mkdir()
    shutil.copy2(bundle, host / bundle.name)
    shutil.copy2(f"{bundle}.asc", host / f"{bundle.name}.asc")
    with tarfile.open(host / bundle.name) as tar:
        tar.extractall(host, filter="tar")
    return host / NAME


def onhost(
    python: Path, folder: Path, *args: str | Path, path: str | None = None
) -> tuple[int, str]:
    proc = subprocess.run(
        [str(python), str(folder / "onhost" / "bundlesig.py"), "--bundle-dir", str(folder),
         *map(str, args)],
        capture_output=True,
        text=True,
        env={"PATH": path if path is not None else os.environ["PATH"], "LC_ALL": "C"},
        check=False,
    )  # fmt: skip
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("version", ["2.7", "3.6", "3.13"])
def test_onhost_check_under_target_pythons(
    version: str,
    signed_bundle: Path,
    operator_keys: tuple[Path, Path, Path],
    tmp_path: Path,
) -> None:
    python = pyenv_python(version)
    _, pub, other = operator_keys
    folder = unpack_on_host(signed_bundle, tmp_path / "host")
    require = "--require-signature"

    code, text = onhost(python, folder, "--signer-key", pub, require)
    assert code == 0, text
    assert f"good signature over {NAME}.tar by Bundle Operator <{OPERATOR}>" in text

    code, text = onhost(python, folder, "--signer-key", other, require)
    assert code == 3 and "which is not in" in text, text
    code, text = onhost(python, folder, "--signer-key", other)  # bad is bad, required or not
    assert code == 3, text

    # gpg absent: said plainly; fine unless the signature is required.
    bare = tmp_path / "no-gpg-path"
    bare.mkdir()
    code, text = onhost(python, folder, "--signer-key", pub, path=str(bare))
    assert code == 0 and "NOT checked: gpg is not installed on this host" in text, text
    code, text = onhost(python, folder, "--signer-key", pub, require, path=str(bare))
    assert code == 3 and "--require-signature" in text, text

    code, text = onhost(python, folder, require)
    assert code == 3 and "no --signer-key FILE given" in text, text
    code, text = onhost(python, folder, "--signer-key", tmp_path / "nope.asc")
    assert code == 2, text

    # A folder that is not the signed archive's (its SHA256SUMS changed) is refused.
    sums = folder / "SHA256SUMS"
    original = sums.read_bytes()
    sums.write_bytes(original.replace(b"  install.sh", b"  install.sh.x", 1))
    code, text = onhost(python, folder, "--signer-key", pub)
    assert code == 3 and "is not the one in the signed" in text, text
    sums.write_bytes(original)

    # One flipped byte in the archive beside the folder.
    archive = folder.parent / signed_bundle.name
    with open(archive, "r+b") as fh:
        fh.seek(archive.stat().st_size // 2)
        byte = fh.read(1)
        fh.seek(-1, os.SEEK_CUR)
        fh.write(bytes([byte[0] ^ 0x01]))
    code, text = onhost(python, folder, "--signer-key", pub)
    assert code == 3 and "BAD signature" in text, text

    # No archive beside the folder: not checked; --archive names one elsewhere.
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.copy2(signed_bundle, moved / signed_bundle.name)
    shutil.copy2(f"{signed_bundle}.asc", moved / f"{signed_bundle.name}.asc")
    archive.unlink()
    code, text = onhost(python, folder, "--signer-key", pub)
    assert code == 0 and "NOT checked: no archive" in text, text
    code, text = onhost(python, folder, "--signer-key", pub, require)
    assert code == 3, text
    code, text = onhost(
        python, folder, "--signer-key", pub, require, "--archive", moved / signed_bundle.name
    )
    assert code == 0 and "good signature" in text, text


def test_install_sh_checks_the_signature_before_anything_else(
    signed_bundle: Path, operator_keys: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """install.sh --signer-key: a bundle signed by another key is refused (exit 3) before the
    prefix exists; the right key lets the run go on and says what it checked."""
    _, pub, other = operator_keys
    folder = unpack_on_host(signed_bundle, tmp_path / "host")
    prefix = tmp_path / "prefix"
    env = {"PATH": os.environ["PATH"], "LC_ALL": "C", "HOME": str(tmp_path)}

    def install(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["dash", str(folder / "install.sh"), "--role", "all", "--prefix", str(prefix),
             "--check", *map(str, args)],
            capture_output=True, text=True, env=env, check=False, timeout=300,
        )  # fmt: skip

    wrong = install("--signer-key", other, "--require-signature")
    assert wrong.returncode == 3, wrong.stderr
    assert "which is not in" in wrong.stderr
    assert not prefix.exists()

    right = install("--signer-key", pub, "--require-signature")
    assert f"good signature over {NAME}.tar by Bundle Operator <{OPERATOR}>" in right.stderr
    assert right.returncode in (0, 4), right.stderr  # 4: this machine lacks a prerequisite

    unchecked = install("--require-signature")
    assert unchecked.returncode == 3 and "no --signer-key FILE given" in unchecked.stderr


def test_verify_names_an_expired_and_a_revoked_signer_key(tmp_path: Path) -> None:
    """Keys made with gpg itself: one that expired (made and used in 2020, valid a day), one
    revoked with its own revocation certificate after it signed."""
    home = Path(tempfile.mkdtemp(prefix="gpg-ex-", dir="/tmp"))
    home.chmod(0o700)
    bundle = tmp_path / f"{NAME}.tar"
    bundle.write_bytes(b"not read: the signature is checked first\n")
    then = ("--faked-system-time", "20200101T000000")
    try:
        for uid, when, expires in (
            ("Old Operator <old@example.invalid>", then, "1d"),
            ("Gone Operator <gone@example.invalid>", (), "never"),
        ):
            _gpg(home, *when, "--pinentry-mode", "loopback", "--passphrase", "",
                 "--quick-gen-key", uid, "ed25519", "sign", expires)  # fmt: skip
        cases = []
        for who, when in (("old", then), ("gone", ())):
            asc = tmp_path / who / f"{NAME}.tar.asc"
            asc.parent.mkdir()
            shutil.copy2(bundle, asc.parent / bundle.name)
            _gpg(home, *when, "--local-user", f"{who}@example.invalid", "--armor",
                 "--output", str(asc), "--detach-sign", str(bundle))  # fmt: skip
            cases.append(asc.parent / bundle.name)
        fingerprint = _gpg(home, "--with-colons", "--list-keys", "gone@example.invalid")
        fpr = next(
            line.split(":")[9] for line in fingerprint.splitlines() if line.startswith("fpr")
        )
        cert = (home / "openpgp-revocs.d" / f"{fpr}.rev").read_text()
        (tmp_path / "rev.asc").write_text(cert.replace(":-----BEGIN", "-----BEGIN"))
        _gpg(home, "--import", str(tmp_path / "rev.asc"))
        for who, state, case in (("old", "expired", cases[0]), ("gone", "revoked", cases[1])):
            keys = tmp_path / f"{who}.keys"
            keys.write_text(_gpg(home, "--armor", "--export", f"{who}@example.invalid"))
            run = bundler("verify", case, "--signer-key", keys)
            assert run.code == 3, run
            word = {"expired": "EXPKEYSIG", "revoked": "REVKEYSIG"}[state]
            assert f"which is {state} (gpg {word})" in run.err, run
            assert f"{who}@example.invalid" in run.err and len(run.err.splitlines()) == 1, run
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"],
                       check=False, capture_output=True)  # fmt: skip
        shutil.rmtree(home, ignore_errors=True)
