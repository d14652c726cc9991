"""Shared pytest fixtures: each area keeps its fixtures in ``tests/fixtures/``."""

pytest_plugins = [
    "tests.fixtures.db",
    "tests.fixtures.sandbox",
]
