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
settings.load_profile(os.environ.get("SYNCENGINE_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _default_logging() -> Iterator[None]:
    """Commands under test configure structlog for the process (a WARNING filter, say);
    every test starts from, and leaves, the library defaults."""
    structlog.reset_defaults()
    yield
    structlog.reset_defaults()
