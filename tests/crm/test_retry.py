"""Retries: what is repeated, after how long, and when the client gives up."""

from __future__ import annotations

import email.utils
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from syncengine.crm import CrmClient, RetryPolicy
from syncengine.errors import (
    CrmNotFound,
    CrmRateLimited,
    CrmServerError,
    CrmUnreachable,
    CrmValidationError,
)
from tests.crm.conftest import MakeClient, respond
from tests.crm.fakeserver import FakeClock, FakeCrm, Fault

Call = Callable[[CrmClient], object]

# (method, path, call): a read and a full-record PUT, both safe to repeat.
SAFE_CALLS = [
    pytest.param("GET", "/api/Contact/1", lambda c: c.get_contact(1), id="GET"),
    pytest.param(
        "PUT",
        "/api/Contact/1",
        lambda c: c.put_contact(1, {"name": "Same"}),
        id="PUT",
    ),
    pytest.param(
        "GET", "/api/Contact/Find", lambda c: c.find_contact_by_email("x@y.org"), id="Find"
    ),
    pytest.param(
        "POST",
        "/api/Contact/Query/FullContact",
        lambda c: c.query_full_contacts({}),
        id="Query",
    ),
]


@pytest.mark.parametrize(("method", "path", "call"), SAFE_CALLS)
def test_429_is_retried_after_exactly_the_retry_after_seconds(
    client: CrmClient, server: FakeCrm, clock: FakeClock, method: str, path: str, call: Call
) -> None:
    server.then(method, path, respond(429, headers={"Retry-After": "7"}))
    call(client)
    assert clock.sleeps == [7.0]
    assert len(server.reaching(method, path)) == 2


def test_429_retry_after_as_an_http_date_is_honoured(
    client: CrmClient, server: FakeCrm, clock: FakeClock
) -> None:
    when = email.utils.formatdate(clock.time() + 42, usegmt=True)
    server.then("GET", "/api/Contact/1", respond(429, headers={"Retry-After": when}))
    client.get_contact(1)
    assert clock.sleeps == [pytest.approx(42.0)]


def test_429_without_retry_after_falls_back_to_backoff(
    client: CrmClient, server: FakeCrm, clock: FakeClock
) -> None:
    server.then("GET", "/api/Contact/1", respond(429))
    client.get_contact(1)
    assert clock.sleeps == [0.75]  # base 1.0, half fixed + rand 0.5 of the other half


def test_429_asking_for_more_than_the_max_wait_is_raised_not_slept(
    client: CrmClient, server: FakeCrm, clock: FakeClock
) -> None:
    server.then("GET", "/api/Contact/1", respond(429, headers={"Retry-After": "3600"}))
    with pytest.raises(CrmRateLimited) as caught:
        client.get_contact(1)
    assert caught.value.retry_after == 3600
    assert clock.sleeps == []
    assert len(server.received) == 1


@pytest.mark.parametrize(("method", "path", "call"), SAFE_CALLS)
@pytest.mark.parametrize("status", [500, 503, 520])
def test_server_errors_are_retried_with_jittered_exponential_backoff(
    client: CrmClient,
    server: FakeCrm,
    clock: FakeClock,
    method: str,
    path: str,
    call: Call,
    status: int,
) -> None:
    server.then(method, path, respond(status), respond(status), respond(status))
    call(client)
    assert clock.sleeps == [0.75, 1.5, 3.0]
    assert len(server.reaching(method, path)) == 4


@pytest.mark.parametrize(("method", "path", "call"), SAFE_CALLS)
@pytest.mark.parametrize(
    "fault",
    [
        Fault.TIMEOUT_AFTER_APPLY,
        Fault.DROP_AFTER_APPLY,
        Fault.CONNECT_REFUSED,
        Fault.CONNECT_TIMEOUT,
    ],
)
def test_missing_answers_are_retried_for_safe_calls(
    client: CrmClient,
    server: FakeCrm,
    clock: FakeClock,
    method: str,
    path: str,
    call: Call,
    fault: Fault,
) -> None:
    server.then(method, path, fault)
    call(client)
    assert clock.sleeps == [0.75]


def test_a_put_that_timed_out_is_repeated_and_lands_once_in_effect(
    client: CrmClient, server: FakeCrm
) -> None:
    record = client.get_contact(1)
    server.then("PUT", "/api/Contact/1", Fault.TIMEOUT_AFTER_APPLY)
    answer = client.put_contact(1, {**record, "name": "Twice Sent"})
    assert answer["name"] == "Twice Sent"
    assert len(server.reaching("PUT", "/api/Contact/1")) == 2


def test_giving_up_raises_the_last_error_after_max_attempts(
    make_client: MakeClient, server: FakeCrm, clock: FakeClock
) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=3))
    server.then("GET", "/api/Contact/1", *[respond(503)] * 5)
    with pytest.raises(CrmServerError) as caught:
        client.get_contact(1)
    assert caught.value.status == 503
    assert len(server.received) == 3
    assert clock.sleeps == [0.75, 1.5]
    assert caught.value.maybe_applied is False  # a GET applies nothing


def test_a_put_that_never_got_an_answer_is_marked_maybe_applied(
    make_client: MakeClient, server: FakeCrm
) -> None:
    client = make_client(retry=RetryPolicy(max_attempts=2))
    server.then("PUT", "/api/Contact/1", Fault.DROP_AFTER_APPLY, Fault.TIMEOUT_AFTER_APPLY)
    with pytest.raises(CrmUnreachable) as caught:
        client.put_contact(1, {"name": "?"})
    assert caught.value.maybe_applied is True
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


def test_backoff_is_capped_at_backoff_max(
    make_client: MakeClient, server: FakeCrm, clock: FakeClock
) -> None:
    client = make_client(
        retry=RetryPolicy(
            max_attempts=5, backoff_initial=4.0, backoff_multiplier=3.0, backoff_max=10.0
        )
    )
    server.then("GET", "/api/Contact/1", *[respond(502)] * 4)
    client.get_contact(1)
    assert clock.sleeps == [3.0, 7.5, 7.5, 7.5]


def test_jitter_spreads_waits_between_half_and_all_of_the_backoff(
    make_client: MakeClient, server: FakeCrm, clock: FakeClock
) -> None:
    draws = iter([0.0, 0.999])
    client = make_client(rand=lambda: next(draws))
    server.then("GET", "/api/Contact/1", respond(500), respond(500))
    client.get_contact(1)
    assert clock.sleeps == [pytest.approx(0.5), pytest.approx(1.999)]


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (respond(400, json={"message": "bad"}), CrmValidationError),
        (respond(422, json={"error": {"message": "bad"}}), CrmValidationError),
        (respond(404), CrmNotFound),
    ],
)
def test_refusals_are_not_retried(
    client: CrmClient,
    server: FakeCrm,
    clock: FakeClock,
    answer: httpx.Response,
    error: type[Exception],
) -> None:
    server.then("GET", "/api/Contact/1", answer)
    with pytest.raises(error):
        client.get_contact(1)
    assert len(server.received) == 1
    assert clock.sleeps == []


def test_each_attempt_and_each_retry_is_logged_with_its_wait(
    client: CrmClient, server: FakeCrm
) -> None:
    server.then("GET", "/api/Contact/1", respond(503))
    with capture_logs() as logs:
        client.get_contact(1)

    attempts = [e for e in logs if e["event"] == "crm.request"]
    assert [(e["status"], e["attempt"]) for e in attempts] == [(503, 1), (200, 2)]
    for entry in attempts:
        assert entry["method"] == "GET" and entry["path"] == "/api/Contact/1"
        assert isinstance(entry["elapsed_ms"], float)
        assert "remaining" in entry
    retries = [e for e in logs if e["event"] == "crm.retry"]
    assert retries == [
        {
            "event": "crm.retry",
            "log_level": "warning",
            "method": "GET",
            "path": "/api/Contact/1",
            "status": 503,
            "error": "CrmServerError",
            "attempt": 1,
            "wait_s": 0.75,
        }
    ]


def test_requests_made_counts_retries(client: CrmClient, server: FakeCrm) -> None:
    server.then("GET", "/api/Contact/1", Fault.CONNECT_REFUSED, respond(500))
    client.get_contact(1)
    assert client.requests_made == 3


def test_a_sleep_that_ends_short_of_the_retry_after_is_topped_up(
    make_client: Any, server: FakeCrm, clock: FakeClock
) -> None:
    """``time.sleep`` runs on the monotonic clock, the deadline on the wall clock: when
    the wall clock is slewed, a sleep ends a few milliseconds short (10 ms of 28 s was
    measured by bench/budget_use.py) and a request sent then is inside the Retry-After."""

    def short_sleep(seconds: float) -> None:
        clock.sleeps.append(seconds)
        clock.now += seconds * 0.9996  # 10 ms short of 28 s

    sent_at: list[float] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sent_at.append(clock.now)
        return server.handle(request)

    client = make_client(sleep=short_sleep, transport=httpx.MockTransport(handle))
    server.then("GET", "/api/Contact/1", respond(429, headers={"Retry-After": "28"}))
    client.get_contact(1)

    refused_at, retried_at = sent_at
    assert retried_at >= refused_at + 28, clock.sleeps
