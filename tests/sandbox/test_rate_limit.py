"""The shared hourly budget: X-RateLimit-* on every response, 429 with Retry-After past it."""

from __future__ import annotations

import calendar
from datetime import datetime

import httpx

from syncengine.sandbox import ManualClock, SandboxServer
from tests.fixtures.sandbox import SandboxFactory, client_for

START = datetime(2024, 5, 1, 12, 15, 0)  # 45 minutes before the window ends
WINDOW_END = calendar.timegm(datetime(2024, 5, 1, 13, 0, 0).timetuple())


def test_every_response_carries_the_rate_limit_headers(sandbox: SandboxServer) -> None:
    with client_for(sandbox) as client, client_for(sandbox, token="wrong") as stranger:
        responses = [
            client.get("/api/Contact/4821"),  # 200
            client.get("/api/Contact/1"),  # 404
            client.put("/api/Contact/4821", json={"isPrivate": "yes"}),  # 400
            stranger.get("/api/Contact/4821"),  # 401
            client.get("/_sandbox/state"),  # a hook
            client.get("/nowhere"),  # no route
        ]
    for response in responses:
        assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(
            response.headers
        )
        assert response.headers["x-ratelimit-limit"] == "5000"


def test_each_api_request_spends_one_and_refused_tokens_spend_none(sandbox: SandboxServer) -> None:
    with client_for(sandbox) as client, client_for(sandbox, token="wrong") as stranger:
        first = int(client.get("/api/Contact/4821").headers["x-ratelimit-remaining"])
        stranger.get("/api/Contact/4821")
        client.get("/_sandbox/state")
        second = int(client.get("/api/Contact/4820").headers["x-ratelimit-remaining"])
    assert (first, second) == (4999, 4998)


def test_past_the_hourly_limit_the_answer_is_429_with_retry_after(
    sandbox_factory: SandboxFactory,
) -> None:
    server = sandbox_factory(hourly_limit=3, clock=ManualClock(START))
    with client_for(server) as client:
        statuses = [client.get("/api/Contact/4821").status_code for _ in range(4)]
        refused = client.get("/api/Contact/4821")
    assert statuses == [200, 200, 200, 429]
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == str(45 * 60)
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.headers["x-ratelimit-reset"] == str(WINDOW_END)


def test_the_budget_comes_back_when_the_hour_ends(sandbox_factory: SandboxFactory) -> None:
    clock = ManualClock(START)
    server = sandbox_factory(hourly_limit=1, clock=clock)
    with client_for(server) as client:
        client.get("/api/Contact/4821")
        assert client.get("/api/Contact/4821").status_code == 429
        clock.advance(45 * 60)
        fresh = client.get("/api/Contact/4821")
    assert fresh.status_code == 200
    assert fresh.headers["x-ratelimit-reset"] == str(WINDOW_END + 3600)


def test_the_reset_hook_restores_the_budget(sandbox_factory: SandboxFactory) -> None:
    server = sandbox_factory(hourly_limit=1)
    with client_for(server) as client:
        client.get("/api/Contact/4821")
        assert client.get("/api/Contact/4821").status_code == 429
        assert client.post("/_sandbox/rate-limit/reset").status_code == 204
        assert client.get("/api/Contact/4821").status_code == 200
        server.hooks.reset_rate_limit()
        assert client.get("/api/Contact/4821").status_code == 200


def test_a_429_is_not_a_write(sandbox_factory: SandboxFactory) -> None:
    server = sandbox_factory(hourly_limit=1)
    with client_for(server) as client:
        client.get("/api/Contact/4821")
        response = client.put("/api/Contact/4821", json={"name": "Changed"})
    assert response.status_code == 429
    assert server.hooks.raw_contact(4821)["name"] == "The Whitfield Household"


def test_a_429_body_is_json(sandbox_factory: SandboxFactory) -> None:
    server = sandbox_factory(hourly_limit=1)
    with client_for(server) as client:
        client.get("/api/Contact/4821")
        body = client.get("/api/Contact/4821").json()
    assert "message" in body


def test_rate_headers_parse_as_integers(sandbox_client: httpx.Client) -> None:
    headers = sandbox_client.get("/api/Contact/4821").headers
    for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
        int(headers[name])


def test_a_shorter_window_compresses_time_headers_and_retry_after_included(
    sandbox_factory: SandboxFactory,
) -> None:
    """``window_seconds`` (benchmarks compress time with it): windows aligned to its
    multiples, the reset and Retry-After said in its terms, the budget back after it."""
    clock = ManualClock(START)  # 12:15:00, a multiple of 20 s
    server = sandbox_factory(hourly_limit=2, window_seconds=20, clock=clock)
    window_end = calendar.timegm(datetime(2024, 5, 1, 12, 15, 20).timetuple())
    clock.advance(15)  # 5 s before that window ends
    with client_for(server) as client:
        first = client.get("/api/Contact/4821")
        client.get("/api/Contact/4821")
        refused = client.get("/api/Contact/4821")
        clock.advance(5)
        fresh = client.get("/api/Contact/4821")
    assert first.headers["x-ratelimit-reset"] == str(window_end)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "5"
    assert "per 20 s" in refused.json()["message"]
    assert fresh.status_code == 200
    assert fresh.headers["x-ratelimit-remaining"] == "1"
    assert fresh.headers["x-ratelimit-reset"] == str(window_end + 20)
