"""pip's settings as pip ranks them (read through the running interpreter's own pip:
tests/integration/test_pipconf.py)."""

from __future__ import annotations

import json

import pytest

from bundler.errors import UsageError
from bundler.recipes.pipconf import (
    DEFAULT_INDEX,
    effective,
    from_values,
    parse_config_list,
)


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
