"""recipes/advisories.toml against jar names: the affected versions only, each jar once."""

from __future__ import annotations

import pytest

from bundler.recipes import advisories

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("jar", "flawed"),
    [
        ("lib/log4j-core-2.8.2.jar", True),  # Storm 1.2.4
        ("lib-worker/log4j-core-2.11.2.jar", True),  # Storm 2.3.0
        ("lib/log4j-core-2.0-beta9.jar", True),  # the first affected
        ("lib/log4j-core-2.15.0.jar", True),  # CVE-2021-45046
        ("lib/log4j-core-2.0-beta8.jar", False),
        ("lib/log4j-core-2.12.2.jar", False),  # the Java 7 backport
        ("lib/log4j-core-2.3.1.jar", False),  # the Java 6 backport
        ("lib/log4j-core-2.16.0.jar", False),
        ("lib/log4j-core-2.23.0.jar", False),  # Storm 2.6.4
        ("lib/log4j-api-2.8.2.jar", False),  # the API alone has no lookups
        ("lib/log4j-1.2.17.jar", False),
        ("lib/log4j-core-notaversion.jar", False),
    ],
)
def test_log4shell_is_found_in_the_affected_versions_only(jar: str, flawed: bool) -> None:
    found = advisories.findings(advisories.load(), [jar])
    assert [f.jar for f in found] == ([jar] if flawed else [])


def test_a_finding_names_the_release_the_jar_the_flaw_and_the_fix() -> None:
    (finding,) = advisories.findings(advisories.load(), ["lib/log4j-core-2.8.2.jar"])
    text = finding.message("apache-storm-1.2.4.tar.gz")
    assert text.startswith(
        "apache-storm-1.2.4.tar.gz carries lib/log4j-core-2.8.2.jar (log4j-core 2.8.2): "
        "Log4Shell, CVE-2021-44228 and CVE-2021-45046: "
    )
    assert "fix: on every host remove org/apache/logging/log4j/core/lookup/JndiLookup.class" in text
    assert "\n" not in text
