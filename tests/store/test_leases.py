"""Row leases: one worker at a time per contact, for every implementation."""

import threading
from datetime import timedelta

from tests.store.conftest import START, LeasingMirror, make_entry

MINUTE = timedelta(minutes=1)


def test_first_worker_gets_the_lease_and_the_second_is_refused(mirror: LeasingMirror) -> None:
    mirror.put(make_entry(1))

    assert mirror.try_lease(1, "worker-a", until=START + MINUTE, now=START) is True
    assert mirror.try_lease(1, "worker-b", until=START + MINUTE, now=START) is False


def test_holder_can_renew_its_lease(mirror: LeasingMirror) -> None:
    mirror.put(make_entry(1))
    mirror.try_lease(1, "worker-a", until=START + MINUTE, now=START)

    renewed = mirror.try_lease(1, "worker-a", until=START + 5 * MINUTE, now=START + MINUTE / 2)

    assert renewed is True
    # The renewal counts: at +2 min the lease is still held.
    assert (
        mirror.try_lease(1, "worker-b", until=START + 9 * MINUTE, now=START + 2 * MINUTE) is False
    )


def test_expired_lease_goes_to_the_next_worker(mirror: LeasingMirror) -> None:
    mirror.put(make_entry(1))
    mirror.try_lease(1, "worker-a", until=START + MINUTE, now=START)

    assert mirror.try_lease(1, "worker-b", until=START + 3 * MINUTE, now=START + MINUTE) is True
    assert mirror.try_lease(1, "worker-a", until=START + 3 * MINUTE, now=START + MINUTE) is False


def test_released_lease_is_free_at_once_and_only_the_holder_can_release(
    mirror: LeasingMirror,
) -> None:
    mirror.put(make_entry(1))
    mirror.try_lease(1, "worker-a", until=START + MINUTE, now=START)

    assert mirror.release_lease(1, "worker-b") is False
    assert mirror.release_lease(1, "worker-a") is True
    assert mirror.try_lease(1, "worker-b", until=START + MINUTE, now=START) is True


def test_leases_are_per_contact(mirror: LeasingMirror) -> None:
    mirror.put(make_entry(1))
    mirror.put(make_entry(2))

    assert mirror.try_lease(1, "worker-a", until=START + MINUTE, now=START) is True
    assert mirror.try_lease(2, "worker-b", until=START + MINUTE, now=START) is True


def test_unmirrored_contact_cannot_be_leased(mirror: LeasingMirror) -> None:
    assert mirror.try_lease(404, "worker-a", until=START + MINUTE, now=START) is False


def test_putting_a_fresh_record_keeps_the_lease(mirror: LeasingMirror) -> None:
    mirror.put(make_entry(1))
    mirror.try_lease(1, "worker-a", until=START + MINUTE, now=START)

    mirror.put(make_entry(1, content_hash="f" * 64))

    assert mirror.try_lease(1, "worker-b", until=START + MINUTE, now=START) is False


def test_racing_workers_get_the_lease_exactly_once(mirror: LeasingMirror) -> None:
    mirror.put(make_entry(1))
    workers = 8
    start_together = threading.Barrier(workers)
    won: list[str] = []
    errors: list[BaseException] = []

    def race(owner: str) -> None:
        try:
            start_together.wait()
            if mirror.try_lease(1, owner, until=START + MINUTE, now=START):
                won.append(owner)
        except BaseException as exc:  # reported below: a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=race, args=(f"worker-{n}",)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(won) == 1
