"""pip's settings as pip ranks them, read through the running interpreter's own pip in a
subprocess (the ranking alone: tests/unit/test_pipconf.py)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bundler.recipes.pipconf import (
    DEFAULT_INDEX,
    IndexSettings,
    pip_settings,
    resolve,
)


def isolated(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env.update(extra)
    return env


def test_real_pip_reads_a_config_file_and_the_environment_over_it(tmp_path: Path) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text(
        "[global]\nindex-url = http://127.0.0.1:1/simple\nconstraint = /nonexistent\n"
        "extra-index-url = http://127.0.0.1:2/simple\n  http://127.0.0.1:3/simple\n"
    )
    got = pip_settings(sys.executable, isolated(PIP_CONFIG_FILE=str(conf)))
    # The machine's own global pip.conf is read too (as pip does): only the keys set here.
    assert (got.index_url, got.extra_index_urls, got.find_links, got.origin) == (
        "http://127.0.0.1:1/simple",
        ("http://127.0.0.1:2/simple", "http://127.0.0.1:3/simple"),
        (),
        "pip configuration",
    )
    env = isolated(PIP_CONFIG_FILE=str(conf), PIP_INDEX_URL="http://127.0.0.1:4/simple")
    assert pip_settings(sys.executable, env).index_url == "http://127.0.0.1:4/simple"


def test_nothing_configured_is_pypi_and_the_command_line_wins() -> None:
    assert pip_settings(sys.executable, isolated()) == IndexSettings(DEFAULT_INDEX)
    assert resolve(None, ["/w"]).find_links == ("/w",)
    assert resolve(None, ["/w"]).origin == "command line"
    assert resolve("http://i/simple", []).origin == "command line"


def test_no_index_leaves_the_find_links_only(tmp_path: Path) -> None:
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nno-index = true\nfind-links = /srv/wheels\n")
    got = pip_settings(sys.executable, isolated(PIP_CONFIG_FILE=str(conf)))
    assert got.no_index and got.find_links == ("/srv/wheels",)
    assert got.to_json()["no_index"] is True
    env = isolated(PIP_CONFIG_FILE=str(conf), PIP_NO_INDEX="false")
    assert not pip_settings(sys.executable, env).no_index
