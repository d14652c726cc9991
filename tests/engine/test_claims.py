"""RunClaims: a process's claims, their heartbeat, and the fence that stops writes once a
claim may have lapsed. On the real claim stores (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncengine.domain.ports import ClaimStore
from syncengine.engine.claims import (
    ClaimHeld,
    ClaimLost,
    ClaimSettings,
    RunClaims,
    contact_subject,
    new_record_subject,
)
from syncengine.store import MemoryClaimStore, SqlClaimStore
from tests.fixtures.db import backend_params, fresh_database_url, migrated_engine


class Clock:
    def __init__(self) -> None:
        self.at = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


@pytest.fixture(params=backend_params("memory"))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ClaimStore]:
    if request.param == "memory":
        yield MemoryClaimStore()
        return
    with fresh_database_url(request.param, tmp_path) as url, migrated_engine(url) as engine:
        yield SqlClaimStore(engine)


_made: list[RunClaims] = []


@pytest.fixture(autouse=True)
def _close_every_run(store: ClaimStore) -> Iterator[None]:
    """Each test's runs stop their heartbeats before its database goes away (this
    fixture depends on ``store``, so it is torn down first)."""
    yield
    while _made:
        _made.pop().close()


def claims(
    store: ClaimStore, clock: Clock, owner: str, ttl: timedelta = timedelta(seconds=120)
) -> RunClaims:
    made = RunClaims(store, clock, owner=owner, settings=ClaimSettings(ttl=ttl))
    _made.append(made)
    return made


def test_a_second_run_is_kept_out_until_the_first_gives_the_contact_back(
    store: ClaimStore,
) -> None:
    clock = Clock()
    first, second = claims(store, clock, "a"), claims(store, clock, "b")
    first.take(contact_subject(1))
    with pytest.raises(ClaimHeld, match="contact:1 is being worked on by another run by a"):
        second.take(contact_subject(1), wait=timedelta(0))
    first.give_back(contact_subject(1))
    second.take(contact_subject(1), wait=timedelta(0))
    assert second.holds(contact_subject(1))


def test_nested_holds_of_one_subject_give_it_back_only_at_the_outermost(
    store: ClaimStore,
) -> None:
    clock = Clock()
    mine, other = claims(store, clock, "a"), claims(store, clock, "b")
    with mine.holding(contact_subject(1)):
        with mine.holding(contact_subject(1)):
            pass
        assert other.try_take(contact_subject(1)) is not None, "still held after the inner one"
    assert other.try_take(contact_subject(1)) is None


def test_holding_if_free_tells_who_is_in_the_way(store: ClaimStore) -> None:
    clock = Clock()
    first, second = claims(store, clock, "a"), claims(store, clock, "b")
    first.take(new_record_subject("k1"))
    with second.holding_if_free(new_record_subject("k1")) as blocker:
        assert blocker is not None and blocker.owner == "a"
    assert not second.holds(new_record_subject("k1"))


def test_a_crashed_runs_claim_expires_and_the_next_run_takes_it_over(
    store: ClaimStore,
) -> None:
    clock = Clock()
    crashed = claims(store, clock, "a", ttl=timedelta(seconds=60))
    crashed.take(contact_subject(1))  # and never renews: the process is gone
    clock.at += timedelta(seconds=61)
    survivor = claims(store, clock, "b")
    survivor.take(contact_subject(1), wait=timedelta(0))
    assert survivor.holds(contact_subject(1))


def test_the_fence_stops_writes_once_the_claim_has_run_out(store: ClaimStore) -> None:
    clock = Clock()
    run = claims(store, clock, "a", ttl=timedelta(seconds=60))
    run.take(contact_subject(1))
    run.check(1)  # fine while valid
    run.check(2)  # a contact we do not hold is not fenced (nothing claims it here)
    clock.at += timedelta(seconds=61)
    with pytest.raises(ClaimLost, match="contact:1"):
        run.check(1)


def test_renewing_extends_the_claim_and_the_fence(store: ClaimStore) -> None:
    clock = Clock()
    run = claims(store, clock, "a", ttl=timedelta(seconds=60))
    run.take(contact_subject(1))
    clock.at += timedelta(seconds=50)
    run.renew()
    clock.at += timedelta(seconds=50)
    run.check(1)
    assert claims(store, clock, "b").try_take(contact_subject(1)) is not None


def test_a_claim_taken_over_while_away_is_lost_and_the_fence_says_so(
    store: ClaimStore,
) -> None:
    clock = Clock()
    away = claims(store, clock, "a", ttl=timedelta(seconds=60))
    away.take(contact_subject(1))
    clock.at += timedelta(seconds=61)
    claims(store, clock, "b").take(contact_subject(1), wait=timedelta(0))
    away.renew()
    with pytest.raises(ClaimLost):
        away.check(1)


def test_the_heartbeat_renews_claims_while_the_run_works(store: ClaimStore) -> None:
    from syncengine.bootstrap import SystemClock

    clock = SystemClock()
    run = RunClaims(store, clock, owner="a", settings=ClaimSettings(ttl=timedelta(seconds=2)))
    run.take(contact_subject(1))
    try:
        time.sleep(3)  # longer than the ttl: only renewals keep it
        run.check(1)
        blocker = claims(store, Clock(), "b").try_take(contact_subject(1))
        assert blocker is not None and blocker.owner == "a"
    finally:
        run.close()
    assert RunClaims(store, clock, owner="b").try_take(contact_subject(1)) is None


def test_close_gives_back_everything(store: ClaimStore) -> None:
    clock = Clock()
    run = claims(store, clock, "a")
    run.take(contact_subject(1))
    run.take(new_record_subject("k"))
    run.close()
    assert store.held(now=clock.now()) == []


def test_a_very_long_platform_key_still_makes_a_subject_that_fits() -> None:
    subject = new_record_subject("k" * 5000)
    assert len(subject) < 512 and subject.startswith("new:sha256:")
    assert new_record_subject("k" * 5000) == subject
    assert new_record_subject("short") == "new:short"


def test_a_claim_taken_while_a_renewal_runs_is_not_judged_lost_by_it(store: ClaimStore) -> None:
    # The heartbeat's renewal statement ran before this claim existed, so its answer does
    # not list it: that says nothing about the claim (found by a 4-worker run).
    clock = Clock()
    run = claims(store, clock, "a")
    run.take(contact_subject(1))
    real_renew = store.renew

    def renew_then_a_new_claim(owner: str, *, until: datetime) -> list[str]:
        answer = real_renew(owner, until=until)
        run.take(contact_subject(2))  # taken after the statement, before the answer is read
        return answer

    store.renew = renew_then_a_new_claim  # type: ignore[method-assign]
    run.renew()
    store.renew = real_renew  # type: ignore[method-assign]
    run.check(2)
    run.check(1)


def test_two_threads_of_one_run_never_hold_one_contact_at_once(store: ClaimStore) -> None:
    """Several contacts at once (``sync.concurrency``) may meet at one contact (a merge's
    survivor, a create's link): the claim is the thread's, not only the process's."""
    import threading

    run = claims(store, Clock(), "a")
    subject = contact_subject(4821)
    taken = threading.Event()
    release = threading.Event()

    def other_thread() -> None:
        with run.holding(subject):
            taken.set()
            release.wait(10)

    worker = threading.Thread(target=other_thread)
    worker.start()
    try:
        assert taken.wait(10)
        blocker = run.try_take(subject)
        assert blocker is not None and "another thread" in blocker.owner
        with pytest.raises(ClaimHeld):
            run.take(subject, wait=timedelta(seconds=0.3))
    finally:
        release.set()
        worker.join(10)
    # Given back by its thread: this one takes it, nested holds count up again.
    with run.holding(subject), run.holding(subject):
        assert run.holds(subject)
    assert not run.holds(subject)
