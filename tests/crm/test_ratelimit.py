"""The shared hourly budget: read from every answer, a reserve kept for other integrations."""

from __future__ import annotations

import threading

import pytest
from structlog.testing import capture_logs

from syncengine.crm import CrmClient, RateLimitPolicy
from syncengine.crm.ratelimit import parse_retry_after
from syncengine.domain.ports import RateBudget
from syncengine.errors import CrmRateLimited
from tests.crm.conftest import MakeClient, respond
from tests.crm.fakeserver import FakeClock, FakeCrm


def test_budget_is_unknown_before_the_first_answer(client: CrmClient) -> None:
    assert client.budget == RateBudget()


def test_budget_follows_the_rate_limit_headers_of_every_answer(
    client: CrmClient, server: FakeCrm
) -> None:
    client.get_contact(1)
    assert client.budget == RateBudget(limit=5000, remaining=4998, reset_at=int(server.reset_at))
    client.find_contact_by_email("nobody@example.org")  # a 404 counts too
    assert client.budget.remaining == 4997


def test_an_answer_without_headers_keeps_the_last_known_budget(
    client: CrmClient, server: FakeCrm
) -> None:
    client.get_contact(1)
    known = client.budget
    server.send_rate_headers = False  # e.g. a proxy in between that strips them
    client.get_contact(1)
    assert client.budget == known


def test_requests_wait_for_the_reset_when_the_budget_is_down_to_the_reserve(
    make_client: MakeClient, server: FakeCrm, clock: FakeClock
) -> None:
    client = make_client(rate_limit=RateLimitPolicy(reserve=100, max_wait=120.0))
    server.remaining = 101  # after the next request: 100 left, the reserve
    server.reset_at = clock.time() + 90

    client.get_contact(1)
    assert clock.sleeps == []
    with capture_logs() as logs:
        client.get_contact(1)

    assert clock.sleeps == [90.0]
    assert len(server.received) == 2
    assert [e["wait_s"] for e in logs if e["event"] == "crm.budget.wait"] == [90.0]


def test_a_reset_further_away_than_the_max_wait_raises_rate_limited(
    make_client: MakeClient, server: FakeCrm, clock: FakeClock
) -> None:
    client = make_client(rate_limit=RateLimitPolicy(reserve=100, max_wait=120.0))
    server.remaining = 50
    server.reset_at = clock.time() + 1800

    client.get_contact(1)
    with pytest.raises(CrmRateLimited) as caught:
        client.put_contact(1, {"name": "x"})

    assert caught.value.retry_after == 1800
    assert (caught.value.method, caught.value.url_path) == ("PUT", "/api/Contact/1")
    assert caught.value.status is None  # decided locally: nothing was sent
    assert len(server.received) == 1
    assert clock.sleeps == []


def test_a_reset_already_past_does_not_wait(
    make_client: MakeClient, server: FakeCrm, clock: FakeClock
) -> None:
    client = make_client()
    server.remaining = 10
    server.reset_at = clock.time() - 5
    client.get_contact(1)
    client.get_contact(1)
    assert clock.sleeps == []


def test_a_zero_reserve_spends_the_budget_to_the_last_request(
    make_client: MakeClient, server: FakeCrm, clock: FakeClock
) -> None:
    client = make_client(rate_limit=RateLimitPolicy(reserve=0, max_wait=120.0))
    server.remaining = 2
    client.get_contact(1)
    client.get_contact(1)  # the last one: 0 left after it
    assert len(server.received) == 2
    with pytest.raises(CrmRateLimited) as caught:
        client.get_contact(1)
    assert caught.value.retry_after == pytest.approx(3600.0)
    assert len(server.received) == 2


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 1.5 ", 1.5),
        ("Tue, 14 Nov 2023 22:16:00 GMT", 100.0),  # now is 22:14:20
        ("Tue, 14 Nov 2023 22:00:00 GMT", 0.0),  # in the past
        ("-3", 0.0),
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_reads_seconds_and_http_dates(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=1_700_000_060.0) == seconds


def test_policy_rejects_a_negative_reserve() -> None:
    with pytest.raises(ValueError):
        RateLimitPolicy(reserve=-1)


# -- pacing on a shared ledger (the daemon's) -------------------------------------------------


def test_with_a_ledger_a_burst_goes_at_once_then_requests_are_paced_at_the_hourly_rate(
    make_client: MakeClient, server: FakeCrm, clock: FakeClock
) -> None:
    from syncengine.store import MemoryBudgetLedger

    # 3,600 an hour above a reserve of 0: one a second, bursts of 10% (360).
    policy = RateLimitPolicy(reserve=0, max_wait=120.0, hourly=3600, burst=0.1)
    server.limit = 3600
    server.remaining = 3600
    client = make_client(rate_limit=policy, ledger=MemoryBudgetLedger())

    for _ in range(360):
        client.get_contact(1)
    assert clock.sleeps == [], "the burst goes at once"
    client.get_contact(1)
    client.get_contact(1)
    assert clock.sleeps == [pytest.approx(1.0), pytest.approx(1.0)], "then one a second"


def test_pacing_follows_the_window_the_resets_show_not_an_assumed_hour(
    make_client: MakeClient, server: FakeCrm, clock: FakeClock
) -> None:
    """A CRM+ (a rehearsal's sandbox) with 60 s windows: once two answers' resets are a
    window apart, 3,600 a window above the reserve is 60 a second, not one."""
    from syncengine.store import MemoryBudgetLedger

    policy = RateLimitPolicy(reserve=0, max_wait=120.0, hourly=3600, burst=0.1)
    server.limit = 3600
    server.remaining = 3600
    server.reset_at = clock.time() + 60
    client = make_client(rate_limit=policy, ledger=MemoryBudgetLedger())
    client.get_contact(1)
    server.reset_at += 60  # the next window (the count is CRM+'s to say)
    server.remaining = 3600
    for _ in range(359):  # the rest of the burst (a tenth of a window's 3,600)
        client.get_contact(1)
    assert clock.sleeps == []
    client.get_contact(1)
    # 1/60 s (and the shortest pause, if the float sum falls a hair short): not 1 s.
    assert sum(clock.sleeps) == pytest.approx(1 / 60, abs=0.006)


def test_without_a_ledger_nothing_is_paced(
    make_client: MakeClient, server: FakeCrm, clock: FakeClock
) -> None:
    client = make_client(rate_limit=RateLimitPolicy(reserve=0, hourly=3600, burst=0.01))
    for _ in range(100):
        client.get_contact(1)
    assert clock.sleeps == []


def test_policy_rejects_a_burst_outside_0_to_1() -> None:
    for burst in (0.0, 1.5):
        with pytest.raises(ValueError, match="burst"):
            RateLimitPolicy(burst=burst)


def test_a_429_met_on_one_thread_holds_the_requests_of_every_other_thread(
    make_client: MakeClient, server: FakeCrm, clock: FakeClock
) -> None:
    """Several contacts at once share one client: a refusal on one thread is the
    organisation's, so a request of another thread is not sent inside its Retry-After."""
    client = make_client(rate_limit=RateLimitPolicy(reserve=0, max_wait=60.0))
    server.then("GET", "/api/Contact/1", respond(429, headers={"Retry-After": "3600"}))
    with pytest.raises(CrmRateLimited):
        client.get_contact(1)
    sent = len(server.received)
    refused: list[CrmRateLimited] = []

    def another_thread() -> None:
        try:
            client.get_contact(1)
        except CrmRateLimited as exc:
            refused.append(exc)

    thread = threading.Thread(target=another_thread)
    thread.start()
    thread.join(10)
    assert len(server.received) == sent, "nothing sent inside the Retry-After"
    (raised,) = refused
    assert raised.retry_after == pytest.approx(3600, abs=1)
    assert clock.sleeps == []
