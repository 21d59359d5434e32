"""pip's settings as pip ranks them, read through the running interpreter's own pip."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from bundler.errors import UsageError
from bundler.recipes.pipconf import (
    DEFAULT_INDEX,
    IndexSettings,
    effective,
    from_values,
    parse_config_list,
    pip_settings,
    resolve,
)


def isolated(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull
    env.update(extra)
    return env


def test_sections_rank_global_then_install_then_environment() -> None:
    items = parse_config_list(
        "global.index-url='http://global/simple'\n"
        "install.index-url='http://install/simple'\n"
        "global.extra-index-url='http://a/simple http://b/simple'\n"
        "download.index-url='http://download/simple'\n"
        ":env:.find-links='/wheels'\n"
        "global.constraint='/etc/xdg/pip/constraints.txt'\n"
        "not a setting\n"
    )
    values = effective(items)
    assert values["index-url"] == "http://install/simple"
    assert values["extra-index-url"] == "http://a/simple http://b/simple"
    assert values["find-links"] == "/wheels"
    items[":env:.index-url"] = "http://env/simple"
    assert effective(items)["index-url"] == "http://env/simple"


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


def test_how_pip_fetches_every_setting_and_its_spellings() -> None:
    values = effective(
        parse_config_list(
            "global.cert='/etc/site-ca.pem'\n"
            "global.client-cert='/etc/me.pem'\n"
            "global.trusted-host='mirror.internal other:8443'\n"
            "install.proxy='http://u:hunter22@proxy:3128'\n"
            ":env:.default-timeout='7.5'\n"
            "global.retries='2'\n"
            "global.keyring-provider='import'\n"
        )
    )
    got = from_values(values)
    assert got.origin == "default" and got.index_url == DEFAULT_INDEX
    assert (got.cert, got.client_cert) == ("/etc/site-ca.pem", "/etc/me.pem")
    assert got.trusted_hosts == ("mirror.internal", "other:8443")
    assert (got.proxy, got.timeout, got.retries) == ("http://u:hunter22@proxy:3128", 7.5, 2)
    assert got.warnings == (
        "pip's keyring-provider = import is not honoured: credentials come from the index URL "
        "or ~/.netrc only",
    )
    # What is recorded says where, never with the proxy's password.
    assert got.to_json()["proxy"] == "http://u:***@proxy:3128"
    assert "hunter22" not in json.dumps(got.to_json())


def test_a_bad_number_is_one_line_naming_the_setting() -> None:
    with pytest.raises(UsageError, match=r"pip's retries setting is 'many', expected a number"):
        from_values({"retries": "many"})
    with pytest.raises(UsageError, match="pip's timeout setting is '-1'"):
        from_values({"timeout": "-1"})
