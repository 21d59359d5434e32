"""The unit tier's guard: a unit test that starts a process or uses the network fails, even when
its code caught the error (tests/support/guard.py says what is refused, and why socketpair is
not). Such a test belongs in tests/integration.

The autouse fixture guards the test and its own fixtures, up to their teardown; the guard
around the setup also covers the fixtures of a wider scope (session, module) that a unit test is
the first to use, such as the test mirror. Their teardown, at the end of the session, is not
guarded: it may be another tier's."""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from tests.support.guard import Guard, guarded

GUARD = pytest.StashKey[Guard]()


def _guard(item: pytest.Item) -> Guard:
    return item.stash.setdefault(GUARD, Guard())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    with guarded(_guard(item)):
        return (yield)


@pytest.fixture(autouse=True)
def tier_guard(request: pytest.FixtureRequest) -> Iterator[Guard]:
    with guarded(_guard(request.node)) as guard:
        yield guard


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A setup or test that passed though the guard refused something (its code caught the
    error) fails."""
    report = yield
    guard = item.stash.get(GUARD, None)
    if report.when in ("setup", "call") and report.passed and guard and guard.refused:
        report.outcome = "failed"
        report.longrepr = "\n".join(guard.refused)
    return report
