"""Shared pytest fixtures: each area keeps its fixtures in ``tests/fixtures/``."""

import os
from collections.abc import Iterator

import pytest
import structlog
from hypothesis import HealthCheck, settings

pytest_plugins = [
    "tests.fixtures.db",
    "tests.fixtures.sandbox",
]

# The machines running the suite are shared and noisy: a property is judged on what it
# finds, never on how fast an example ran.
settings.register_profile(
    "syncengine",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# CI: the same examples on every run (derandomize), so a run fails for what changed, not
# for the seed it drew. The random search goes on in the soak profile:
#   SYNCENGINE_HYPOTHESIS_PROFILE=soak pytest tests/domain   (docs/testing.md)
settings.register_profile("ci", parent=settings.get_profile("syncengine"), derandomize=True)
settings.register_profile(
    "soak", parent=settings.get_profile("syncengine"), max_examples=2000, print_blob=True
)
# The default is ``ci``: the README's test command gives every user the run CI gave.
PROFILE = os.environ.get("SYNCENGINE_HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A random search runs its properties without pytest-timeout's limit: a search that
    finds a failure shrinks it for minutes, and the timeout, raised in the middle of an
    example's draws, reaches Hypothesis as "Inconsistent data generation"
    (FlakyStrategyDefinition) instead of the falsifying example (seed 137 did that)."""
    if PROFILE == "ci":
        return
    for item in items:
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker(pytest.mark.timeout(0))


@pytest.fixture(autouse=True)
def _default_logging() -> Iterator[None]:
    """Commands under test configure structlog for the process (a WARNING filter, say);
    every test starts from, and leaves, the library defaults."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()
