"""The unit tier's guard: a unit test that starts a process or uses the network fails, even when
its code caught the error (tests/support/guard.py says what is refused, and why socketpair is
not). Such a test belongs in tests/integration."""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from tests.support.guard import Guard, guarded

GUARD = pytest.StashKey[Guard]()


@pytest.fixture(autouse=True)
def tier_guard(request: pytest.FixtureRequest) -> Iterator[Guard]:
    with guarded() as guard:
        request.node.stash[GUARD] = guard
        yield guard


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A test that passed though the guard refused something (its code caught the error) fails."""
    report = yield
    guard = item.stash.get(GUARD, None)
    if report.when == "call" and report.passed and guard and (verdict := guard.verdict()):
        report.outcome = "failed"
        report.longrepr = verdict
    return report
