"""The daemon's work queue and job runs, for every implementation (memory, SQLite,
PostgreSQL)."""

import threading
from datetime import timedelta

from syncengine.domain.ports import JobRun, Priority, RunLog, WorkQueue
from tests.store.conftest import START, Backend

MINUTE = timedelta(minutes=1)


def test_an_added_contact_is_due_at_once(queue: WorkQueue) -> None:
    queue.add(4821, reason="webhook", priority=Priority.PUSH, now=START)
    (item,) = queue.due(now=START, limit=10)
    assert (item.contact_id, item.reason, item.priority, item.attempts) == (
        4821,
        "webhook",
        Priority.PUSH,
        0,
    )
    assert item.due_at == START and item.enqueued_at == START
    assert queue.depth() == 1


def test_adding_a_queued_contact_again_merges_into_one_item(queue: WorkQueue) -> None:
    queue.add(4821, reason="crm", priority=Priority.PULL, now=START, fresh={"id": 4821})
    queue.add(4821, reason="webhook", priority=Priority.PUSH, now=START + MINUTE)
    queue.add(4821, reason="reconcile", priority=Priority.RECONCILE, now=START + 2 * MINUTE)
    (item,) = queue.due(now=START + 3 * MINUTE, limit=10)
    assert item.priority == Priority.PUSH, "the most urgent reason wins"
    assert item.due_at == START and item.enqueued_at == START
    assert item.reason == "reconcile"  # the latest reason, for the record
    assert item.fresh == {"id": 4821}, "a later add without a record keeps the one seen"
    assert item.generation == 2
    assert queue.depth() == 1


def test_due_items_come_most_urgent_first_and_up_to_the_limit(queue: WorkQueue) -> None:
    queue.add(1, reason="crm", priority=Priority.PULL, now=START)
    queue.add(2, reason="reconcile", priority=Priority.RECONCILE, now=START)
    queue.add(3, reason="platform", priority=Priority.PUSH, now=START + MINUTE)
    queue.add(4, reason="webhook", priority=Priority.PUSH, now=START)
    assert [i.contact_id for i in queue.due(now=START + MINUTE, limit=10)] == [4, 3, 1, 2]
    assert [i.contact_id for i in queue.due(now=START + MINUTE, limit=2)] == [4, 3]
    assert [i.contact_id for i in queue.due(now=START, limit=10)] == [4, 1, 2]
    only_pushes = queue.due(now=START + MINUTE, limit=10, max_priority=Priority.PUSH)
    assert [i.contact_id for i in only_pushes] == [4, 3]


def test_done_removes_the_item_it_picked(queue: WorkQueue) -> None:
    queue.add(4821, reason="webhook", priority=Priority.PUSH, now=START)
    (item,) = queue.due(now=START, limit=1)
    queue.done(item.contact_id, item.generation)
    assert queue.depth() == 0


def test_a_contact_added_again_while_it_was_synced_stays_queued(queue: WorkQueue) -> None:
    queue.add(4821, reason="crm", priority=Priority.PULL, now=START)
    (picked,) = queue.due(now=START, limit=1)
    queue.add(4821, reason="webhook", priority=Priority.PUSH, now=START + MINUTE)  # mid-sync
    queue.done(picked.contact_id, picked.generation)
    (still,) = queue.due(now=START + MINUTE, limit=1)
    assert still.reason == "webhook"


def test_a_failure_counts_and_waits_out_its_backoff(queue: WorkQueue) -> None:
    queue.add(4821, reason="crm", priority=Priority.PULL, now=START)
    (item,) = queue.due(now=START, limit=1)
    queue.failed(
        item.contact_id,
        item.generation,
        error="HTTP 503",
        retry_at=START + MINUTE,
        failed_at=START,
    )
    assert queue.due(now=START, limit=10) == []
    (again,) = queue.due(now=START + MINUTE, limit=10)
    assert (again.attempts, again.last_error) == (1, "HTTP 503")
    queue.failed(
        again.contact_id, again.generation, error="HTTP 500", retry_at=START, failed_at=START
    )
    (failing,) = queue.failing()
    assert (failing.contact_id, failing.attempts, failing.last_error) == (4821, 2, "HTTP 500")


def test_a_failure_records_when_it_happened(queue: WorkQueue) -> None:
    queue.add(4821, reason="crm", priority=Priority.PULL, now=START)
    (item,) = queue.due(now=START, limit=1)
    assert item.failed_at is None, "a new item has not failed"
    queue.failed(4821, item.generation, error="HTTP 422", retry_at=START, failed_at=START)
    (first,) = queue.due(now=START, limit=1)
    assert first.failed_at == START
    queue.failed(4821, first.generation, error="HTTP 422", retry_at=START, failed_at=START + MINUTE)
    current = queue.get(4821)
    assert current is not None
    assert (current.attempts, current.failed_at) == (2, START + MINUTE), "the latest failure"
    (failing,) = queue.failing()
    assert failing.failed_at == START + MINUTE


def test_a_failure_of_an_item_added_again_since_is_not_recorded(queue: WorkQueue) -> None:
    queue.add(4821, reason="crm", priority=Priority.PULL, now=START)
    (picked,) = queue.due(now=START, limit=1)
    queue.add(4821, reason="webhook", priority=Priority.PUSH, now=START)  # mid-sync
    queue.failed(4821, picked.generation, error="HTTP 422", retry_at=START, failed_at=START)
    current = queue.get(4821)
    assert current is not None
    assert (current.attempts, current.failed_at) == (0, None)


def test_a_failing_contact_added_again_is_due_at_once_and_keeps_its_attempts(
    queue: WorkQueue,
) -> None:
    queue.add(4821, reason="crm", priority=Priority.PULL, now=START)
    (item,) = queue.due(now=START, limit=1)
    queue.failed(
        4821, item.generation, error="HTTP 503", retry_at=START + 10 * MINUTE, failed_at=START
    )
    queue.add(4821, reason="webhook", priority=Priority.PUSH, now=START + MINUTE)
    (due,) = queue.due(now=START + MINUTE, limit=1)
    assert (due.attempts, due.failed_at) == (1, START)


def test_a_failing_contact_a_pull_finds_changed_again_is_due_at_once(queue: WorkQueue) -> None:
    """Not renewed (the pull job's add), yet due now: a CRM+ edit of a failing contact
    retries it without waiting out its backoff."""
    queue.add(4821, reason="platform", priority=Priority.PUSH, now=START)
    (item,) = queue.due(now=START, limit=1)
    queue.failed(
        4821, item.generation, error="HTTP 422", retry_at=START + 10 * MINUTE, failed_at=START
    )
    queue.add(4821, reason="crm", priority=Priority.PULL, now=START + MINUTE, renew=False)
    (due,) = queue.due(now=START + MINUTE, limit=1)
    assert (due.attempts, due.failed_at, due.generation) == (1, START, item.generation)


def test_failing_lists_only_items_that_failed_most_attempts_first(queue: WorkQueue) -> None:
    for contact_id in (1, 2, 3):
        queue.add(contact_id, reason="crm", priority=Priority.PULL, now=START)
    for contact_id, times in ((1, 1), (2, 3)):
        for _ in range(times):
            (item,) = [i for i in queue.due(now=START, limit=10) if i.contact_id == contact_id]
            queue.failed(contact_id, item.generation, error="boom", retry_at=START, failed_at=START)
    assert [(i.contact_id, i.attempts) for i in queue.failing()] == [(2, 3), (1, 1)]


def test_queues_are_per_organisation(backend: Backend) -> None:
    backend.queue("north").add(1, reason="crm", priority=Priority.PULL, now=START)
    assert backend.queue("south").depth() == 0


def test_racing_producers_leave_one_item_per_contact(queue: WorkQueue) -> None:
    producers = 8
    start_together = threading.Barrier(producers)
    errors: list[BaseException] = []

    def add(n: int) -> None:
        try:
            start_together.wait()
            queue.add(4821, reason=f"r{n}", priority=n % 3, now=START)
        except BaseException as exc:  # reported below: a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(producers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    (item,) = queue.due(now=START, limit=10)
    assert item.priority == 0 and item.generation == producers - 1


def test_a_run_is_started_finished_and_listed_newest_first(runs: RunLog) -> None:
    runs.start(JobRun("pull", "run-1", START, worker="w1"))
    runs.start(JobRun("push", "run-2", START + MINUTE, worker="w1"))
    runs.finish("run-1", outcome="ok", at=START + MINUTE, counts={"queued": 3})
    runs.finish("run-2", outcome="failed", at=START + 2 * MINUTE, error="HTTP 401")
    latest = runs.latest()
    assert [(r.run_id, r.outcome) for r in latest] == [("run-2", "failed"), ("run-1", "ok")]
    assert latest[1].counts == {"queued": 3} and latest[1].finished_at == START + MINUTE
    assert latest[0].error == "HTTP 401" and latest[0].worker == "w1"
    assert runs.latest(limit=1)[0].run_id == "run-2"


def test_a_job_that_finds_the_contact_still_queued_does_not_renew_it(queue: WorkQueue) -> None:
    queue.add(4821, reason="crm", priority=Priority.PULL, now=START, fresh={"id": 1})
    (picked,) = queue.due(now=START, limit=1)
    queue.add(4821, reason="platform", priority=Priority.PUSH, now=START + MINUTE, renew=False)
    current = queue.get(4821)
    assert current is not None
    assert (current.generation, current.reason, current.priority) == (0, "crm", Priority.PUSH)
    queue.done(4821, picked.generation)
    assert queue.get(4821) is None, "the sync that was already due covers it"


def test_queued_lists_the_contacts_up_to_a_priority_with_their_last_failure(
    queue: WorkQueue,
) -> None:
    queue.add(1, reason="platform", priority=Priority.PUSH, now=START)
    queue.add(2, reason="crm", priority=Priority.PULL, now=START)
    queue.add(2, reason="platform", priority=Priority.PUSH, now=START)  # the more urgent kept
    queue.add(3, reason="drift", priority=Priority.RECONCILE, now=START)
    queue.add(4, reason="webhook", priority=Priority.PUSH, now=START)
    queue.add(5, reason="crm", priority=Priority.PULL, now=START)
    item = queue.get(1)
    assert item is not None
    queue.done(1, item.generation)
    for contact_id in (4, 5):
        failing = queue.get(contact_id)
        assert failing is not None
        queue.failed(
            contact_id, failing.generation, error="HTTP 422", retry_at=START, failed_at=START
        )

    assert queue.queued(max_priority=Priority.PUSH) == {2: None, 4: START}
    assert queue.queued(max_priority=Priority.RECONCILE) == {2: None, 3: None, 4: START, 5: START}
