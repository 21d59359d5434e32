"""check.py and pristine.py on a prefix laid out as the installer leaves it (no services: the
live part is tests/e2e/test_check_e2e.py). What changed is shown as a diff, a secret never is, a
hand edit's control characters reach no terminal."""

from __future__ import annotations

import os
from pathlib import Path

from bundler.onhost.host import pristine
from tests.support.prefixes import CONF, installed, report


def test_copies_are_kept_with_their_modes_but_never_the_secret(tmp_path: Path) -> None:
    prefix = installed(tmp_path)
    copy = tmp_path / "state" / "written" / "etc" / "supervisord.conf"
    assert copy.read_bytes() == CONF and copy.stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / "state" / "written" / "etc" / "web-password").exists()
    # A file no longer written loses its copy; an emptied folder goes too.
    pristine.save(str(prefix), [("etc/supervisord.conf", CONF, 0o600)], lambda p, d, m: None)
    assert not (tmp_path / "state" / "written" / "etc" / "zookeeper").exists()
    assert copy.exists()


def test_files_as_written_and_no_supervisord(tmp_path: Path) -> None:
    code, out = report(installed(tmp_path))
    assert code == 5
    assert "files: 3 of 3 as written" in out
    assert "NOT ANSWERING" in out and out.endswith("problem(s): supervisord not answering\n")


def test_hand_edits_are_a_diff_a_secret_is_only_named(tmp_path: Path) -> None:
    prefix = installed(tmp_path)
    zoo = prefix / "etc" / "zookeeper" / "zoo.cfg"
    zoo.write_bytes(zoo.read_bytes().replace(b"2000", b"3000") + b"evil=\x1b[2J\n")
    conf = prefix / "etc" / "supervisord.conf"
    conf.write_bytes(CONF.replace(b"{SHA}abc", b"{SHA}def"))
    (prefix / "etc" / "web-password").write_bytes(b"other-pass\n")
    code, out = report(prefix)
    assert code == 5
    assert "files: 0 of 3 as written" in out
    assert "changed: etc/zookeeper/zoo.cfg, by hand (- as written, + on disk):" in out
    assert "    -tickTime=2000\n    +tickTime=3000\n" in out
    assert "    +evil=\\x1b[2J\n" in out and "\x1b" not in out
    assert "password=(hidden)" in out and "abc" not in out and "def" not in out
    assert "changed: etc/web-password (a secret: not shown)" in out
    assert "pass" not in out.replace("password", "")


def test_missing_files_and_a_changed_mode(tmp_path: Path) -> None:
    prefix = installed(tmp_path)
    (prefix / "etc" / "zookeeper" / "zoo.cfg").unlink()
    (prefix / "etc" / "supervisord.conf").chmod(0o644)
    (prefix / "etc" / "web-password").chmod(0o644)
    code, out = report(prefix)
    assert code == 5
    assert "files: 0 of 3 as written" in out
    assert "missing: etc/zookeeper/zoo.cfg" in out
    assert "changed: etc/supervisord.conf mode 0644, written 0600" in out
    assert "changed: etc/web-password mode 0644, written 0600" in out
    assert "changed: etc/web-password (" not in out  # its content is as recorded
    for said in ("etc/supervisord.conf mode changed", "etc/web-password mode changed"):
        assert said in out.splitlines()[-1]


def test_a_file_without_a_copy_is_compared_by_its_recorded_sha256(tmp_path: Path) -> None:
    prefix = installed(tmp_path)
    pristine.remove(str(prefix))
    assert "files: 3 of 3 as written" in report(prefix)[1]
    (prefix / "etc" / "zookeeper" / "zoo.cfg").write_bytes(b"tickTime=1\n")
    code, out = report(prefix)
    assert code == 5
    assert "changed: etc/zookeeper/zoo.cfg (no copy to diff)" in out


def test_nothing_installed(tmp_path: Path) -> None:
    code, out = report(tmp_path)
    assert (code, out) == (5, f"check: nothing installed at {tmp_path}\n")
    assert not os.listdir(tmp_path)


def test_an_install_with_no_start_is_checked_for_drift_only(tmp_path: Path) -> None:
    prefix = installed(tmp_path)
    record = prefix / "state" / "installed.json"
    record.write_text(record.read_text().replace('{"zookeeper": "meaning-1:0"}', "{}"))
    code, out = report(prefix)
    assert code == 0, out
    assert "programs: none started here yet (--no-start): health not checked" in out
    assert "supervisord" not in out and out.endswith("check: all well\n")
    (prefix / "etc" / "zookeeper" / "zoo.cfg").write_bytes(b"tickTime=1\n")
    assert report(prefix)[0] == 5
