"""ownership.py: which prefixes are refused and what --purge may remove, decided from the state
record alone (no files touched)."""

from __future__ import annotations

import pytest

from bundler.onhost.host.ownership import created_before, log_files, prefix_problem, purge_paths


@pytest.mark.parametrize("prefix", ["/", "/tmp", "/etc", "/usr", "/var", "/opt", "/home"])
def test_system_folders_are_refused_even_empty_or_missing(prefix: str) -> None:
    for listing in (None, [], ["x"]):
        problem = prefix_problem(prefix, set(), listing, None)
        assert problem is not None and f"{prefix} is a system folder" in problem


def test_prefixes_by_what_is_there() -> None:
    assert prefix_problem("/srv/storm", set(), None, None) is None  # to be created
    assert prefix_problem("/srv/storm", set(), [], None) is None  # empty: used as it is
    theirs = prefix_problem("/srv/storm", set(), ["app.db", "logs"], None)
    assert theirs is not None and "found app.db, logs" in theirs and "--prefix" in theirs
    ours = {"prefix": "/srv/storm", "created": []}
    assert prefix_problem("/srv/storm/", set(), ["state"], ours) is None
    moved = {"prefix": "/elsewhere", "created": []}
    assert prefix_problem("/srv/storm", set(), ["state"], moved) is not None
    file_there = prefix_problem("/srv/storm", set(), False, None)
    assert file_there is not None and "is not a folder" in file_there
    home = prefix_problem("/home/ada", {"/home/ada"}, ["x"], None)
    assert home is not None and "home folder" in home


def test_purge_takes_the_daemons_folders_it_created_and_the_logs_it_configured() -> None:
    state = {
        "prefix": "/srv/storm",
        "created": ["", "data", "data/zookeeper", "logs", "logs/storm", "run"],
        "logs": ["/srv/storm/logs/supervisord.log"],
    }
    paths = purge_paths(state)
    assert paths[:4] == [
        "/srv/storm/data/zookeeper",
        "/srv/storm/logs/storm",
        "/srv/storm/run",
        "/srv/storm/logs/supervisord.log",
    ]
    assert "/srv/storm/logs/supervisord.log.1" in paths
    assert "/srv/storm/data/storm" not in paths  # not created by the installer: not its own
    assert not any(p in ("/srv/storm/data", "/srv/storm/logs", "/srv/storm") for p in paths)


def test_created_folders_of_an_older_record_are_the_layout_it_made() -> None:
    assert created_before(None) == set()
    assert created_before({"created": ["data"]}) == {"data"}


def test_log_files_are_supervisords_and_each_programs() -> None:
    conf = {
        "supervisord": {"logfile": "/p/logs/supervisord.log"},
        "program:zookeeper": {"stdout_logfile": "/p/logs/zookeeper.log"},
        "unix_http_server": {"file": "/p/run/s.sock"},
    }
    assert log_files(conf) == ["/p/logs/supervisord.log", "/p/logs/zookeeper.log"]
