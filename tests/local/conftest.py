"""Fixtures of the local adapter tests: ``harness`` runs a test once per implementation."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.local.harness import Harness, harness_params, make_harness


@pytest.fixture(params=harness_params())
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    with make_harness(request.param, tmp_path) as made:
        yield made
