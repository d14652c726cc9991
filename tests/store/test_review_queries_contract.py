"""What the review page and the reports ask of the stores, for every implementation:
conflicts filtered, sorted and paged in the store, and the problems log."""

from datetime import timedelta

import pytest

from syncengine.domain.ports import (
    ConflictQuery,
    ConflictStatus,
    ConflictStore,
    Problem,
    ProblemKind,
)
from tests.store.conftest import START, Backend, make_conflict

EMAIL = "contactIndividuals[id={}].contactMethods[id={}].value"


@pytest.fixture
def queue_of_conflicts(conflicts: ConflictStore) -> ConflictStore:
    """Six open conflicts on three contacts and two fields, and one resolved."""
    conflicts.record(make_conflict(1, EMAIL.format(2, 7), suggestion="Ada L."))  # platform
    conflicts.record(make_conflict(1, "name"))  # crm
    conflicts.record(make_conflict(2, EMAIL.format(5, 9), rule="newest"))  # crm
    conflicts.record(make_conflict(2, "name", suggestion="other"))  # other
    conflicts.record(make_conflict(3, EMAIL.format(8, 1), rule="newest"))
    done = conflicts.record(make_conflict(3, "name"))
    assert done.id is not None
    conflicts.resolve(done.id, "X", resolved_by="ann", at=START)
    conflicts.record(make_conflict(4, "name", rule="newest", suggestion="Ada L."))
    return conflicts


def found(store: ConflictStore, **query: object) -> list[tuple[int, str]]:
    page = store.page(ConflictQuery(**query))  # type: ignore[arg-type]
    return [(c.contact_id, c.path) for c in page.items]


def test_filters_by_field_whatever_the_item(queue_of_conflicts: ConflictStore) -> None:
    field = "contactIndividuals[].contactMethods[].value"
    assert [c for c, _ in found(queue_of_conflicts, field=field)] == [1, 2, 3]
    assert [c for c, _ in found(queue_of_conflicts, field="name")] == [1, 2, 4]


def test_filters_by_contact_rule_suggestion_and_status(queue_of_conflicts: ConflictStore) -> None:
    assert found(queue_of_conflicts, contact_id=2) == [(2, EMAIL.format(5, 9)), (2, "name")]
    assert [c for c, _ in found(queue_of_conflicts, rule="newest")] == [2, 3, 4]
    assert [c for c, _ in found(queue_of_conflicts, suggests="platform")] == [1, 4]
    assert [c for c, _ in found(queue_of_conflicts, suggests="other")] == [2]
    assert found(queue_of_conflicts, status=ConflictStatus.RESOLVED) == [(3, "name")]
    assert len(found(queue_of_conflicts, status=None)) == 7


def test_filters_by_age(backend: Backend, queue_of_conflicts: ConflictStore) -> None:
    # The store stamps created_at with its clock: one second per reading from START.
    everything = queue_of_conflicts.page(ConflictQuery(status=None, limit=100)).items
    third = everything[2].created_at
    assert third is not None
    older = found(queue_of_conflicts, created_before=third)
    newer = found(queue_of_conflicts, created_after=third)
    assert len(older) == 2 and len(newer) == 4  # the resolved one is not open


def test_sorts_and_pages_with_a_total(queue_of_conflicts: ConflictStore) -> None:
    first = queue_of_conflicts.page(ConflictQuery(sort="contact_id", descending=True, limit=2))
    assert first.total == 6
    assert [c.contact_id for c in first.items] == [4, 3]
    second = queue_of_conflicts.page(
        ConflictQuery(sort="contact_id", descending=True, offset=2, limit=2)
    )
    assert [c.contact_id for c in second.items] == [2, 2]
    by_path = [c.path for c in queue_of_conflicts.page(ConflictQuery(sort="path")).items]
    assert by_path == sorted(by_path)
    past_the_end = queue_of_conflicts.page(ConflictQuery(offset=100))
    assert past_the_end.items == [] and past_the_end.total == 6


def test_fields_count_the_open_conflicts_of_each_field(queue_of_conflicts: ConflictStore) -> None:
    assert queue_of_conflicts.fields() == {
        "contactIndividuals[].contactMethods[].value": 3,
        "name": 3,
    }
    assert queue_of_conflicts.fields(status=ConflictStatus.RESOLVED) == {"name": 1}


def test_a_decision_records_where_it_came_from(conflicts: ConflictStore) -> None:
    row = conflicts.record(make_conflict())
    assert row.id is not None
    resolved = conflicts.resolve(
        row.id, "Ada", resolved_by="ann", at=START, resolved_from="review 10.0.0.5"
    )
    assert resolved.resolved_from == "review 10.0.0.5"
    stored = conflicts.get(row.id)
    assert stored is not None and stored.resolved_from == "review 10.0.0.5"


# -- problems -------------------------------------------------------------------------------


def refused(subject: str = "contact:4821", message: str = "422: invalid email") -> Problem:
    return Problem(
        subject=subject,
        kind=ProblemKind.REFUSED,
        message=message,
        contact_id=int(subject.split(":")[1]) if subject.startswith("contact:") else None,
        details=[{"field": "contactMethods[0].value", "message": "Invalid email"}],
    )


def test_a_repeated_failure_is_one_open_problem_counted(backend: Backend) -> None:
    problems = backend.problems()
    problems.report(refused(), at=START)
    problems.report(refused(message="422: still invalid"), at=START + timedelta(hours=1))
    (only,) = problems.list()
    assert only.count == 2
    assert only.message == "422: still invalid"
    assert only.first_seen == START and only.last_seen == START + timedelta(hours=1)
    assert only.details == [{"field": "contactMethods[0].value", "message": "Invalid email"}]


def test_a_sync_that_succeeds_resolves_the_problem(backend: Backend) -> None:
    problems = backend.problems()
    problems.report(refused(), at=START)
    problems.resolve("contact:4821", at=START + timedelta(minutes=5))
    problems.resolve("contact:9999", at=START)  # nothing open: nothing happens
    assert problems.list() == []
    (old,) = problems.list(only_open=False)
    assert old.resolved_at == START + timedelta(minutes=5)
    problems.report(refused(), at=START + timedelta(hours=2))
    assert [p.count for p in problems.list(only_open=False)] == [1, 1]


def test_problems_are_listed_newest_first_and_filtered(backend: Backend) -> None:
    problems = backend.problems()
    problems.report(refused("contact:1"), at=START)
    malformed = Problem("new:bad.json", ProblemKind.MALFORMED, "not JSON", key="bad.json")
    problems.report(malformed, at=START + timedelta(hours=1))
    problems.report(refused("contact:2"), at=START + timedelta(hours=2))
    assert [p.subject for p in problems.list()] == ["contact:2", "new:bad.json", "contact:1"]
    assert [p.subject for p in problems.list(since=START + timedelta(minutes=30))] == [
        "contact:2",
        "new:bad.json",
    ]
    assert [p.subject for p in problems.list(contact_id=1)] == ["contact:1"]
    assert problems.list(contact_id=1)[0].kind is ProblemKind.REFUSED


def test_problems_are_per_organisation(backend: Backend) -> None:
    backend.problems("north").report(refused(), at=START)
    assert backend.problems("south").list() == []
