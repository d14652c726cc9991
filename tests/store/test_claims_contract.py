"""Run claims: one holder per subject at a time, for every implementation (memory, SQLite,
PostgreSQL), between threads, and between real processes on one database."""

import multiprocessing
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from syncengine.domain.ports import ClaimStore
from syncengine.store import SqlClaimStore, make_engine
from tests.fixtures.db import backend_params, fresh_database_url, migrated_engine
from tests.store.conftest import START, Backend

MINUTE = timedelta(minutes=1)


def take(claims: ClaimStore, subject: str, owner: str, now: datetime = START) -> bool:
    return claims.acquire(subject, owner, until=now + MINUTE, now=now, purpose="test") is None


def test_the_first_owner_gets_the_claim_and_the_second_is_told_who_has_it(
    claims: ClaimStore,
) -> None:
    assert take(claims, "contact:1", "run-a")
    blocker = claims.acquire("contact:1", "run-b", until=START + MINUTE, now=START, purpose=None)
    assert blocker is not None
    assert (blocker.owner, blocker.until, blocker.purpose) == ("run-a", START + MINUTE, "test")


def test_the_holder_may_take_its_own_claim_again(claims: ClaimStore) -> None:
    assert take(claims, "contact:1", "run-a")
    assert take(claims, "contact:1", "run-a")


def test_an_expired_claim_goes_to_the_next_run(claims: ClaimStore) -> None:
    assert take(claims, "contact:1", "run-a")
    later = START + MINUTE
    assert take(claims, "contact:1", "run-b", now=later)
    assert not take(claims, "contact:1", "run-a", now=later)


def test_renewing_keeps_every_claim_of_the_owner_alive(claims: ClaimStore) -> None:
    take(claims, "contact:1", "run-a")
    take(claims, "new:k1", "run-a")
    take(claims, "contact:2", "run-b")
    assert claims.renew("run-a", until=START + 10 * MINUTE) == ["contact:1", "new:k1"]
    assert not take(claims, "contact:1", "run-c", now=START + 5 * MINUTE)
    assert take(claims, "contact:2", "run-c", now=START + 5 * MINUTE)


def test_a_claim_taken_over_is_not_renewed_for_its_old_owner(claims: ClaimStore) -> None:
    take(claims, "contact:1", "run-a")
    take(claims, "contact:1", "run-b", now=START + 2 * MINUTE)
    assert claims.renew("run-a", until=START + 10 * MINUTE) == []


def test_release_frees_the_subject_and_only_the_holder_can_release(claims: ClaimStore) -> None:
    take(claims, "contact:1", "run-a")
    claims.release("contact:1", "run-b")
    assert not take(claims, "contact:1", "run-b")
    claims.release("contact:1", "run-a")
    assert take(claims, "contact:1", "run-b")


def test_release_all_gives_back_one_owners_claims(claims: ClaimStore) -> None:
    take(claims, "contact:1", "run-a")
    take(claims, "contact:2", "run-a")
    take(claims, "contact:3", "run-b")
    claims.release_all("run-a")
    assert [c.subject for c in claims.held(now=START)] == ["contact:3"]


def test_held_lists_only_valid_claims(claims: ClaimStore) -> None:
    take(claims, "contact:1", "run-a")
    take(claims, "contact:2", "run-a", now=START + 2 * MINUTE)
    assert [c.subject for c in claims.held(now=START + MINUTE + timedelta(seconds=1))] == [
        "contact:2"
    ]


def test_claims_are_per_organisation(backend: Backend) -> None:
    north, south = backend.claims("north"), backend.claims("south")
    assert take(north, "contact:1", "run-a")
    assert take(south, "contact:1", "run-b")


def test_racing_threads_get_a_claim_exactly_once(claims: ClaimStore) -> None:
    workers = 8
    start_together = threading.Barrier(workers)
    won: list[str] = []
    errors: list[BaseException] = []

    def race(owner: str) -> None:
        try:
            start_together.wait()
            if take(claims, "contact:1", owner):
                won.append(owner)
        except BaseException as exc:  # reported below: a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=race, args=(f"run-{n}",)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(won) == 1


# -- real processes ---------------------------------------------------------------------------


def _claim_everything(
    url: str,
    owner: str,
    subjects: int,
    ready: "multiprocessing.synchronize.Barrier",
    out: "multiprocessing.Queue[list[str]]",
) -> None:
    engine = make_engine(url)
    try:
        store = SqlClaimStore(engine)
        ready.wait(timeout=60)  # all processes begin at the same moment
        now = datetime.now(UTC)
        # Claims far longer than the race: a process slowed by a loaded machine must find
        # the others' claims still held, not expired.
        until = now + 60 * MINUTE
        won = [
            f"contact:{n}"
            for n in range(subjects)
            if store.acquire(f"contact:{n}", owner, until=until, now=now, purpose=None) is None
        ]
        out.put(won)
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend_name", backend_params())
def test_racing_processes_on_one_database_never_share_a_subject(
    backend_name: str, tmp_path: Path
) -> None:
    subjects, processes = 60, 4
    context = multiprocessing.get_context("spawn")
    with fresh_database_url(backend_name, tmp_path) as url, migrated_engine(url):
        results: multiprocessing.Queue[list[str]] = context.Queue()
        ready = context.Barrier(processes)
        workers = [
            context.Process(
                target=_claim_everything, args=(url, f"proc-{n}", subjects, ready, results)
            )
            for n in range(processes)
        ]
        for worker in workers:
            worker.start()
        won = [results.get(timeout=120) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
            assert worker.exitcode == 0
    taken = [subject for one in won for subject in one]
    assert sorted(taken) == sorted(f"contact:{n}" for n in range(subjects)), (
        "every subject was taken exactly once"
    )


@pytest.mark.parametrize("key", ["new-\udcff", "a\x00b", "\ufdd0m", "plain"])
def test_a_subject_holding_what_a_database_cannot_is_claimed_and_released_exactly(
    claims: ClaimStore, key: str
) -> None:
    # A platform key comes from the platform: a file name that is not UTF-8, a NUL.
    subject = f"new:{key}"
    assert take(claims, subject, "run-a")
    blocker = claims.acquire(subject, "run-b", until=START + MINUTE, now=START, purpose=None)
    assert blocker is not None and blocker.subject == subject
    claims.release(subject, "run-a")
    assert take(claims, subject, "run-b")
