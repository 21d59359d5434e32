"""The one redaction rule: a URL's password (or token) is shown as `user:***@`, everywhere."""

from __future__ import annotations

from bundler.fetch.http import HttpFailure, split_credentials
from bundler.redact import redact, secret


def test_passwords_and_tokens_in_urls_are_masked() -> None:
    text = (
        "no wheel in https://alice:s3cr%40t-pw@index.example/simple, "
        "http://TOKEN-abcdef@mirror.example:8080/dist and file:///srv/pypi/simple"
    )
    assert redact(text) == (
        "no wheel in https://alice:***@index.example/simple, "
        "http://***@mirror.example:8080/dist and file:///srv/pypi/simple"
    )
    # An address in a path, or a mail address, is no credential.
    assert redact("https://host/a@b and ops@example.org") == "https://host/a@b and ops@example.org"


def test_a_secret_seen_once_is_masked_wherever_it_turns_up_later() -> None:
    redact("https://bob:Zq9-unique-pw@host/simple")
    assert redact("server said: bad password Zq9-unique-pw") == "server said: bad password ***"
    secret("from-netrc-Xy7")
    assert redact("auth from-netrc-Xy7 refused") == "auth *** refused"


def test_credentials_are_split_off_decoded_and_never_in_a_failure() -> None:
    bare, given = split_credentials("https://user%40corp:p%3Ass@host:8443/simple/")
    assert bare == "https://host:8443/simple/"
    assert given == ("user@corp", "p:ss")
    failure = HttpFailure(
        "https://user:pw-in-url-1@host/x", "refused by https://user:pw-in-url-1@h"
    )
    assert "pw-in-url-1" not in str(failure)
    assert failure.url == "https://user:***@host/x"
