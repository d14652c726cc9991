"""Fixtures for the CRM+ client tests: a fake clock, a fake server, clients wired to both."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from syncengine.crm import ApiKeyAuth, CrmClient, RateLimitPolicy, RetryPolicy
from tests.crm.fakeserver import FakeClock, FakeCrm

BASE_URL = "https://api.virtuoussoftware.com"

MakeClient = Callable[..., CrmClient]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def server(clock: FakeClock) -> FakeCrm:
    crm = FakeCrm(clock=clock)
    crm.seed()
    return crm


@pytest.fixture
def make_client(clock: FakeClock, server: FakeCrm) -> Iterator[MakeClient]:
    """A client on the fake server. Jitter is pinned (``rand`` -> 0.5) so waits are exact."""
    made: list[CrmClient] = []

    def make(**overrides: Any) -> CrmClient:
        options: dict[str, Any] = {
            "auth": ApiKeyAuth(server.api_key),
            "transport": server.transport,
            "sleep": clock.sleep,
            "clock": clock.time,
            "rand": lambda: 0.5,
            "retry": RetryPolicy(max_attempts=4, backoff_initial=1.0, backoff_max=30.0),
            "rate_limit": RateLimitPolicy(reserve=100, max_wait=120.0),
        }
        options.update(overrides)
        client = CrmClient(BASE_URL, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: MakeClient) -> CrmClient:
    return make_client()


def respond(status: int, **kwargs: Any) -> httpx.Response:
    """A canned answer for ``FakeCrm.then``."""
    return httpx.Response(status, **kwargs)
