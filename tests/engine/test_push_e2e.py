"""The safe update end to end: the real engine and client over loopback HTTP against the
sandbox, under BOTH PUT semantics, on SQLite and PostgreSQL.

Every scenario asserts the strongest property: the sandbox's whole record for the contact
afterwards (all addresses and the archive state included) equals the record before with
exactly the intended change applied, and nothing else.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from syncengine.bootstrap import App
from syncengine.domain.diff import diff
from syncengine.domain.plan import Change, parse_assignment
from syncengine.domain.ports import Outcome
from syncengine.errors import (
    CrmAuthError,
    CrmDuplicateValue,
    CrmNotFound,
    CrmServerError,
    CrmValidationError,
    ForbiddenChange,
)
from syncengine.sandbox import SandboxServer
from syncengine.sandbox.faults import Fault
from tests.engine.conftest import snapshot

CONTACT = 4821
ELEANOR, THOMAS = 48211, 48212


def push(app: App, *assignments: str, contact: int = CONTACT, dry_run: bool = False) -> Any:
    return app.updater.push(contact, [parse_assignment(a) for a in assignments], dry_run=dry_run)


def individual(record: dict[str, Any], individual_id: int) -> dict[str, Any]:
    return next(i for i in record["contactIndividuals"] if i["id"] == individual_id)


def method(person: dict[str, Any], method_id: int) -> dict[str, Any]:
    return next(m for m in person["contactMethods"] if m["id"] == method_id)


def address(record: dict[str, Any], address_id: int) -> dict[str, Any]:
    return next(a for a in record["contactAddresses"] if a["id"] == address_id)


def writes_sent(sandbox: SandboxServer) -> list[str]:
    return [
        f"{r.method} {r.path}"
        for r in sandbox.hooks.requests()
        if r.method in ("PUT", "POST") and not r.path.startswith("/api/Contact/Query")
    ]


# -- the scenarios ------------------------------------------------------------------------


def test_address_change_touches_nothing_else(app: App, sandbox: SandboxServer) -> None:
    before = snapshot(sandbox, CONTACT)
    report = push(app, "address.city=Denver", "address.address1=1600 Glenarm Place")
    expected = copy.deepcopy(before)
    for holder in (expected["address"], address(expected, 48215)):
        holder.update(city="Denver", address1="1600 Glenarm Place")
    assert snapshot(sandbox, CONTACT) == expected
    assert [w.endpoint for w in report.writes] == ["/api/ContactAddress/48215"]
    assert report.writes[0].outcome is Outcome.OK


def test_primary_email_change_touches_nothing_else(app: App, sandbox: SandboxServer) -> None:
    before = snapshot(sandbox, CONTACT)
    primary_email = "contactIndividuals[isPrimary=true].contactMethods[type=Home Email].value"
    push(app, f"{primary_email}=eleanor@new.example.org")
    expected = copy.deepcopy(before)
    method(individual(expected, ELEANOR), 482111)["value"] = "eleanor@new.example.org"
    assert snapshot(sandbox, CONTACT) == expected


def test_marking_an_individual_deceased_opts_out_their_methods(
    app: App, sandbox: SandboxServer
) -> None:
    before = snapshot(sandbox, CONTACT)
    report = push(app, f"contactIndividuals[id={THOMAS}].isDeceased=true")
    expected = copy.deepcopy(before)
    thomas = individual(expected, THOMAS)
    thomas["isDeceased"] = True
    method(thomas, 482121)["isOptedIn"] = False  # the one opted-in method
    assert snapshot(sandbox, CONTACT) == expected
    (write,) = report.writes
    assert write.verified_by_get, "isDeceased is high-stakes: confirmed by a follow-up GET"
    assert write.endpoint == f"/api/Contact/{CONTACT}"
    assert {f.path for f in write.fields} == {
        f"contactIndividuals[id={THOMAS}].isDeceased",
        f"contactIndividuals[id={THOMAS}].contactMethods[id=482121].isOptedIn",
    }


def test_custom_field_change_touches_nothing_else(app: App, sandbox: SandboxServer) -> None:
    before = snapshot(sandbox, CONTACT)
    push(app, "customFields[name=Preferred Channel].value=Email")
    expected = copy.deepcopy(before)
    next(f for f in expected["customFields"] if f["name"] == "Preferred Channel")["value"] = "Email"
    assert snapshot(sandbox, CONTACT) == expected


def test_adding_a_contact_reference_keeps_the_existing_ones(
    app: App, sandbox: SandboxServer
) -> None:
    before = snapshot(sandbox, CONTACT)
    push(app, 'contactReferences[+]={"source": "portal", "id": "D-77"}')
    expected = copy.deepcopy(before)
    expected["contactReferences"].append({"source": "portal", "id": "D-77"})
    assert snapshot(sandbox, CONTACT) == expected


def test_individual_field_goes_through_contact_individual(app: App, sandbox: SandboxServer) -> None:
    before = snapshot(sandbox, CONTACT)
    report = push(app, f"contactIndividuals[id={ELEANOR}].nickname=Nell")
    expected = copy.deepcopy(before)
    individual(expected, ELEANOR)["nickname"] = "Nell"
    assert snapshot(sandbox, CONTACT) == expected
    assert [w.endpoint for w in report.writes] == [f"/api/ContactIndividual/{ELEANOR}"]


def test_non_primary_address_goes_through_contact_address(app: App, sandbox: SandboxServer) -> None:
    before = snapshot(sandbox, CONTACT)
    report = push(app, "addresses[id=48216].city=Estes Park")
    expected = copy.deepcopy(before)
    address(expected, 48216)["city"] = "Estes Park"
    assert snapshot(sandbox, CONTACT) == expected
    assert [w.endpoint for w in report.writes] == ["/api/ContactAddress/48216"]


def test_values_are_coerced_to_natural_types_before_the_put(
    app: App, sandbox: SandboxServer
) -> None:
    """The sandbox answers 400 to "true" for a boolean: success proves the coercion."""
    before = snapshot(sandbox, CONTACT)
    push(
        app,
        'isPrivate="true"',
        'anniversaryYear="1985"',
        f'contactIndividuals[id={THOMAS}].birthYear="1955"',
    )
    expected = copy.deepcopy(before)
    expected.update(isPrivate=True, anniversaryYear=1985)
    thomas = individual(expected, THOMAS)
    after = snapshot(sandbox, CONTACT)
    thomas["birthYear"] = 1955
    # The server derives these read-only fields from the birth year.
    thomas["approximateAge"] = individual(after, THOMAS)["approximateAge"]
    thomas["birthDate"] = individual(after, THOMAS)["birthDate"]
    assert after == expected


def test_server_normalisation_is_accepted_and_reported(app: App, sandbox: SandboxServer) -> None:
    report = push(app, "address.state=ny", "address.city=  Albany  ")
    stored = {f.path: (f.stored, f.normalised) for f in report.writes[0].fields}
    assert stored == {"address.state": ("NY", True), "address.city": ("Albany", True)}


def test_archive_and_unarchive_use_the_lifecycle_endpoints(
    app: App, sandbox: SandboxServer
) -> None:
    before = snapshot(sandbox, CONTACT)
    report = app.updater.set_archived(CONTACT, True)
    assert report.writes[0].outcome is Outcome.OK and report.writes[0].verified_by_get
    assert snapshot(sandbox, CONTACT) == {**before, "isArchived": True}
    # A write outside the sync never moves the sync's merge base (docs/sync.md).
    assert app.mirror.get(CONTACT) is None
    app.updater.set_archived(CONTACT, False)
    assert snapshot(sandbox, CONTACT) == before
    assert writes_sent(sandbox) == [
        f"PUT /api/Contact/Archive/{CONTACT}",
        f"PUT /api/Contact/Unarchive/{CONTACT}",
    ]


def test_archiving_an_archived_contact_sends_nothing(app: App, sandbox: SandboxServer) -> None:
    report = app.updater.set_archived(4822, True)  # archived in the seed
    assert report.writes == []
    assert writes_sent(sandbox) == []


def test_is_archived_through_set_is_refused_before_any_write(
    app: App, sandbox: SandboxServer
) -> None:
    with pytest.raises(ForbiddenChange, match="archive"):
        push(app, "isArchived=true")
    assert writes_sent(sandbox) == []


def test_dry_run_sends_no_write_and_stores_nothing(app: App, sandbox: SandboxServer) -> None:
    before = snapshot(sandbox, CONTACT)
    report = push(app, "address.city=Denver", "name=Renamed", dry_run=True)
    assert report.writes[0].outcome is Outcome.DRY_RUN
    assert [(f.path, f.old, f.new) for f in report.writes[0].fields] == [
        ("address.city", "Boulder", "Denver"),
        ("name", "The Whitfield Household", "Renamed"),
    ]
    assert writes_sent(sandbox) == []
    assert snapshot(sandbox, CONTACT) == before
    assert app.mirror.get(CONTACT) is None
    assert app.journal.for_contact(CONTACT) == []


def test_a_value_already_in_place_sends_no_write(app: App, sandbox: SandboxServer) -> None:
    report = push(app, "address.city=Boulder")
    assert report.writes and report.writes[0].outcome is Outcome.OK
    # Nothing is skipped silently either: the write is idempotent and journaled.
    assert snapshot(sandbox, CONTACT)["address"]["city"] == "Boulder"


def test_the_record_after_is_the_response_the_base_is_untouched_and_the_attempt_journaled(
    app: App, sandbox: SandboxServer
) -> None:
    report = push(app, "address.state=ny")
    assert report.record_after is not None and report.record_after["address"]["state"] == "NY"
    assert app.mirror.get(CONTACT) is None, "only the two-way sync moves its merge base"
    (row,) = app.journal.for_contact(CONTACT)
    assert row.outcome is Outcome.OK
    assert row.before == {"address.state": "CO"} and row.after == {"address.state": "ny"}
    assert row.endpoint == "/api/ContactAddress/48215"


# -- errors ---------------------------------------------------------------------------------


def test_a_400_is_reported_per_field_and_journaled(app: App, sandbox: SandboxServer) -> None:
    sandbox.hooks.add_fault(
        Fault(
            "PUT",
            rf"^/api/Contact/{CONTACT}$",
            status=400,
            body={
                "message": "The request is invalid.",
                "modelState": {"contact.name": ["bad name"]},
            },
        )
    )
    before = snapshot(sandbox, CONTACT)
    with pytest.raises(CrmValidationError) as info:
        push(app, "name=New Name")
    assert [(p.field, p.message) for p in info.value.problems] == [("name", "bad name")]
    assert snapshot(sandbox, CONTACT) == before
    (row,) = app.journal.for_contact(CONTACT)
    assert row.outcome is Outcome.FAILED and "400" in (row.error or "")


def test_a_422_names_the_invalid_field(app: App, sandbox: SandboxServer) -> None:
    before = snapshot(sandbox, CONTACT)
    with pytest.raises(CrmValidationError) as info:
        push(app, f"contactIndividuals[id={THOMAS}].contactMethods[id=482121].value=not-an-email")
    assert info.value.status == 422
    assert any("value" in p.field for p in info.value.problems)
    assert snapshot(sandbox, CONTACT) == before


def test_a_409_says_which_value_collides(app: App, sandbox: SandboxServer) -> None:
    before = snapshot(sandbox, CONTACT)
    taken = "maria.alvarez@example.org"  # belongs to contact 4817
    with pytest.raises(CrmDuplicateValue) as info:
        push(app, f"contactIndividuals[id={THOMAS}].contactMethods[id=482121].value={taken}")
    assert info.value.status == 409 and info.value.value == taken
    assert snapshot(sandbox, CONTACT) == before


def test_a_404_says_the_contact_may_be_merged_or_deleted(app: App, sandbox: SandboxServer) -> None:
    with pytest.raises(CrmNotFound) as info:
        push(app, "name=x", contact=999999)
    assert info.value.status == 404


def test_a_merged_contact_names_the_survivor(app: App, sandbox: SandboxServer) -> None:
    sandbox.hooks.merge(4820, CONTACT, "pointer")
    with pytest.raises(CrmNotFound) as info:
        push(app, "name=x", contact=4820)
    assert info.value.merged_into == CONTACT
    assert writes_sent(sandbox) == []


def test_a_401_stops_with_an_auth_error(sandbox: SandboxServer, database_url: str) -> None:
    from syncengine.bootstrap import open_app
    from tests.engine.conftest import engine_settings

    settings = engine_settings(sandbox.base_url, database_url)
    with (
        open_app(settings, {"CRMPLUS_API_TOKEN": "wrong-token-value"}) as wrong,
        pytest.raises(CrmAuthError) as info,
    ):
        push(wrong, "name=x")
    assert "wrong-token-value" not in str(info.value)


def test_a_429_is_waited_out_then_the_write_succeeds(app: App, sandbox: SandboxServer) -> None:
    sandbox.hooks.add_fault(Fault("PUT", r"^/api/ContactAddress/48215$", status=429, retry_after=1))
    push(app, "address.city=Denver")
    assert snapshot(sandbox, CONTACT)["address"]["city"] == "Denver"
    assert writes_sent(sandbox) == ["PUT /api/ContactAddress/48215"] * 2


def test_a_5xx_is_retried(app: App, sandbox: SandboxServer) -> None:
    sandbox.hooks.add_fault(Fault("PUT", r"^/api/ContactAddress/48215$", status=503, count=2))
    push(app, "address.city=Denver")
    assert snapshot(sandbox, CONTACT)["address"]["city"] == "Denver"


def test_a_persistent_5xx_fails_and_is_journaled(app: App, sandbox: SandboxServer) -> None:
    before = snapshot(sandbox, CONTACT)
    sandbox.hooks.add_fault(Fault("PUT", r"^/api/ContactAddress/48215$", status=500, count=10))
    with pytest.raises(CrmServerError):
        push(app, "address.city=Denver")
    assert snapshot(sandbox, CONTACT) == before
    (row,) = app.journal.for_contact(CONTACT)
    assert row.outcome is Outcome.FAILED


def test_a_dropped_response_is_retried_without_damage(app: App, sandbox: SandboxServer) -> None:
    """The write is applied, its answer lost; the retry PUTs the same complete record."""
    before = snapshot(sandbox, CONTACT)
    sandbox.hooks.add_fault(Fault("PUT", rf"^/api/Contact/{CONTACT}$", drop=True))
    report = push(app, "customFields[name=Shirt Size].value=XL", "name=The Whitfields")
    expected = copy.deepcopy(before)
    expected["name"] = "The Whitfields"
    next(f for f in expected["customFields"] if f["name"] == "Shirt Size")["value"] = "XL"
    assert snapshot(sandbox, CONTACT) == expected
    assert report.writes[0].outcome is Outcome.OK
    assert writes_sent(sandbox) == [f"PUT /api/Contact/{CONTACT}"] * 2


def test_every_retry_dropped_is_resolved_by_reading_back(app: App, sandbox: SandboxServer) -> None:
    sandbox.hooks.add_fault(Fault("PUT", r"^/api/ContactAddress/48215$", drop=True, count=10))
    report = push(app, "address.city=Denver")
    assert report.writes[0].outcome is Outcome.OK
    assert any("read-back" in n for n in report.writes[0].notes)
    (row,) = app.journal.for_contact(CONTACT)
    assert row.outcome is Outcome.OK


def test_removing_a_tag_keeps_the_others_or_reports_it_could_not(
    app: App, sandbox: SandboxServer
) -> None:
    """Under replace semantics an item left out of the complete body is removed; under
    patch semantics an omitted item is kept, so no PUT can remove it: the engine must
    say so (a verification error), not claim success, and change nothing else."""
    from syncengine.domain.paths import REMOVE
    from syncengine.errors import VerificationError

    before = snapshot(sandbox, CONTACT)
    expected = copy.deepcopy(before)
    if sandbox.settings.put_semantics.value == "replace":
        app.updater.push(CONTACT, [Change("tags[=Gala 2024]", REMOVE)])
        expected["tags"] = ["Major Donor"]
    else:
        with pytest.raises(VerificationError, match="Gala 2024"):
            app.updater.push(CONTACT, [Change("tags[=Gala 2024]", REMOVE)])
        (row,) = app.journal.for_contact(CONTACT)
        assert row.outcome is Outcome.MISMATCH
    assert snapshot(sandbox, CONTACT) == expected


def test_a_write_by_someone_else_right_after_ours_is_reported(
    app: App, sandbox: SandboxServer
) -> None:
    """No ETag: the only signal is modifiedDateTimeUtc. The follow-up GET of a
    high-stakes change shows a newer stamp than our write's answer: reported, journaled."""
    import threading
    import time

    # Both GETs of the contact wait a little: the follow-up one is read after the edit.
    sandbox.hooks.add_fault(Fault("GET", rf"^/api/Contact/{CONTACT}$", delay=0.4, count=2))

    def edit_in_the_ui_after_our_put() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if any(r.method == "PUT" for r in sandbox.hooks.requests()):
                sandbox.hooks.ui_edit(CONTACT, {"website": "https://ui.example.org"})
                return
            time.sleep(0.005)

    editor = threading.Thread(target=edit_in_the_ui_after_our_put)
    editor.start()
    report = push(app, "isPrivate=true")
    editor.join()
    (write,) = report.writes
    assert write.concurrent_write_suspected
    assert any("someone else" in note for note in write.notes)
    (row,) = app.journal.for_contact(CONTACT)
    assert row.concurrent_write_suspected and row.outcome is Outcome.OK
    # The record after the write (what a sync keeps as its merge base) holds our write's
    # answer, not the other writer's edit: so that edit reads as a CRM-side change and
    # reaches the platform instead of being overwritten by the platform's older value.
    after = report.record_after
    assert after is not None and after["isPrivate"] is True
    assert after["website"] is None


def test_an_ordinary_write_raises_no_suspicion(app: App, sandbox: SandboxServer) -> None:
    report = push(app, "isPrivate=true", "address.city=Denver")
    assert not report.writes[0].concurrent_write_suspected
    assert report.writes[0].notes == []


@pytest.mark.parametrize(
    ("assignment", "route"),
    [
        ("description=request economy", "PUT /api/Contact/4821"),
        ("address.city=Denver", "PUT /api/ContactAddress/"),
        (f"contactIndividuals[id={THOMAS}].nickname=Tom", f"PUT /api/ContactIndividual/{THOMAS}"),
    ],
)
def test_a_pushed_contact_costs_its_get_and_its_put_on_every_route(
    app: App, sandbox: SandboxServer, assignment: str, route: str
) -> None:
    # The address and the individual are taken from the contact GET: the same shapes
    # as their own GETs, read moments before, so a second read would only spend budget.
    sandbox.hooks.clear_requests()
    before = snapshot(sandbox, CONTACT)
    push(app, assignment)
    sent = [f"{r.method} {r.path}" for r in sandbox.hooks.requests()]
    assert len(sent) == 2, sent
    assert sent[0] == f"GET /api/Contact/{CONTACT}" and sent[1].startswith(route), sent
    # And nothing else moved: the PUT carried the whole target as CRM+ held it.
    after = snapshot(sandbox, CONTACT)
    path = assignment.rsplit("=", 1)[0]
    changed = [c for c in diff(before, after) if c.path != path]
    assert changed == [], changed
