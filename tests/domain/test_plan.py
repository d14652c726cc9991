"""The pure planner of the safe update: parsing, resolving, routing, bodies, verification."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from syncengine.domain import plan as p
from syncengine.domain.paths import REMOVE
from syncengine.errors import CoercionError, ForbiddenChange, PathError, UsageError

DATA = Path(__file__).parent.parent / "data"
RULES = p.UpdateRules(
    deceased_opts_out_methods=True, high_stakes_fields=frozenset({"isDeceased", "name"})
)


@pytest.fixture
def contact() -> dict[str, Any]:
    record: dict[str, Any] = json.loads((DATA / "contact.json").read_text())
    person = record["contactIndividuals"][0]
    person["contactMethods"].append(
        {
            "id": 2082,
            "type": "Home Email",
            "value": "home@test.com",
            "isOptedIn": True,
            "isPrimary": False,
            "canBePrimary": True,
        }
    )
    record["customFields"] = [{"name": "Shirt Size", "value": None, "displayName": "Shirt Size"}]
    return record


def changes(*assignments: str) -> list[p.Change]:
    return [p.parse_assignment(a) for a in assignments]


# -- parsing ----------------------------------------------------------------------------


def test_assignment_splits_at_the_first_equals_outside_brackets() -> None:
    change = p.parse_assignment("contactIndividuals[id=2].isDeceased=true")
    assert change == p.Change("contactIndividuals[id=2].isDeceased", True)


def test_assignment_value_is_json_where_it_parses_else_text() -> None:
    assert p.parse_assignment("anniversaryYear=2010").value == 2010
    assert p.parse_assignment("address.city=Austin").value == "Austin"
    assert p.parse_assignment('contactReferences[+]={"source":"portal","id":"42"}').value == {
        "source": "portal",
        "id": "42",
    }


def test_assignment_with_quoted_selector_containing_equals() -> None:
    change = p.parse_assignment('customFields[name="a=b"].value=x')
    assert change.path == 'customFields[name="a=b"].value'
    assert change.value == "x"


@pytest.mark.parametrize("text", ["novalue", "=x", "contactIndividuals[id=2"])
def test_assignment_without_path_or_equals_is_refused(text: str) -> None:
    with pytest.raises(UsageError):
        p.parse_assignment(text)


# -- resolving --------------------------------------------------------------------------


def test_selectors_resolve_to_concrete_identities(contact: dict[str, Any]) -> None:
    resolved = p.resolve_changes(
        contact,
        changes("contactIndividuals[isPrimary=true].contactMethods[type=Home Email].value=a@b.org"),
        RULES,
    )
    assert [c.text for c in resolved] == ["contactIndividuals[id=2].contactMethods[id=2082].value"]
    assert resolved[0].old == "home@test.com"


def test_values_are_coerced_to_natural_types(contact: dict[str, Any]) -> None:
    resolved = p.resolve_changes(
        contact, changes('isPrivate="false"', 'anniversaryYear="2010"'), RULES
    )
    assert [c.value for c in resolved] == [False, 2010]


def test_an_uncoercible_value_is_refused_naming_the_field(contact: dict[str, Any]) -> None:
    with pytest.raises(CoercionError, match="anniversaryYear"):
        p.resolve_changes(contact, changes("anniversaryYear=soon"), RULES)


def test_is_archived_is_refused_with_a_pointer_to_archive(contact: dict[str, Any]) -> None:
    with pytest.raises(ForbiddenChange, match="archive"):
        p.resolve_changes(contact, changes("isArchived=true"), RULES)


def test_a_read_only_field_is_refused(contact: dict[str, Any]) -> None:
    with pytest.raises(ForbiddenChange, match="read-only"):
        p.resolve_changes(contact, changes("lifeToDateGiving=$5"), RULES)


def test_a_misspelt_field_is_refused(contact: dict[str, Any]) -> None:
    with pytest.raises(PathError, match="adress"):
        p.resolve_changes(contact, changes("adress.city=Austin"), RULES)


def test_changing_one_path_twice_is_refused(contact: dict[str, Any]) -> None:
    with pytest.raises(UsageError, match="twice"):
        p.resolve_changes(
            contact,
            changes(
                "contactIndividuals[id=2].firstName=A",
                "contactIndividuals[isPrimary=true].firstName=B",
            ),
            RULES,
        )


def test_two_appended_items_are_two_changes_not_one_path_changed_twice(
    contact: dict[str, Any],
) -> None:
    # Two people added on the platform in one sync; once refused as "changed twice".
    changes = [
        p.Change("contactIndividuals[+]", {"firstName": "Ann", "lastName": "Lee"}),
        p.Change("contactIndividuals[+]", {"firstName": "Bo", "lastName": "Lee"}),
    ]
    resolved = p.resolve_changes(contact, changes, p.UpdateRules())
    assert [c.value["firstName"] for c in resolved] == ["Ann", "Bo"]


def test_marking_deceased_opts_out_opted_in_methods(contact: dict[str, Any]) -> None:
    resolved = p.resolve_changes(
        contact, changes("contactIndividuals[id=2].isDeceased=true"), RULES
    )
    assert [(c.text, c.value, c.reason) for c in resolved] == [
        ("contactIndividuals[id=2].isDeceased", True, p.REQUESTED),
        ("contactIndividuals[id=2].contactMethods[id=2082].isOptedIn", False, p.DECEASED_OPT_OUT),
    ]


def test_deceased_opt_out_can_be_configured_off(contact: dict[str, Any]) -> None:
    rules = p.UpdateRules(deceased_opts_out_methods=False)
    resolved = p.resolve_changes(
        contact, changes("contactIndividuals[id=2].isDeceased=true"), rules
    )
    assert len(resolved) == 1


# -- routing ----------------------------------------------------------------------------


def route_of(contact: dict[str, Any], *assignments: str) -> list[tuple[p.Route, int]]:
    resolved = p.resolve_changes(contact, changes(*assignments), RULES)
    return [(g.route, g.target_id) for g in p.group_writes(1, contact, resolved)]


def test_a_change_confined_to_the_primary_address_goes_to_contact_address(
    contact: dict[str, Any],
) -> None:
    assert route_of(contact, "address.city=Austin", "address.state=tx") == [(p.Route.ADDRESS, 800)]


def test_a_change_confined_to_one_individual_goes_to_contact_individual(
    contact: dict[str, Any],
) -> None:
    assert route_of(contact, "contactIndividuals[id=2].firstName=Tess") == [(p.Route.INDIVIDUAL, 2)]


def test_contact_methods_go_through_the_contact(contact: dict[str, Any]) -> None:
    assert route_of(contact, "contactIndividuals[id=2].contactMethods[id=2081].value=x@y.org") == [
        (p.Route.CONTACT, 1)
    ]


def test_a_mixed_change_set_goes_through_the_contact(contact: dict[str, Any]) -> None:
    assert route_of(contact, "address.city=Austin", "name=New Name") == [(p.Route.CONTACT, 1)]


def test_non_primary_addresses_get_their_own_write_beside_the_contact() -> None:
    record = {"id": 1, "name": "n", "address": None}
    addresses = [{"id": 900, "city": "Old", "isPrimary": False}]
    resolved = p.resolve_changes(
        record, changes("addresses[id=900].city=New", "name=m"), RULES, addresses
    )
    groups = p.group_writes(1, record, resolved)
    assert [(g.route, g.target_id) for g in groups] == [
        (p.Route.CONTACT, 1),
        (p.Route.ADDRESS, 900),
    ]


def test_no_primary_address_means_the_contact_route(contact: dict[str, Any]) -> None:
    contact["address"] = None
    with pytest.raises(PathError):
        # there is no address object to hold the field
        route_of(contact, "address.city=Austin")


# -- bodies -----------------------------------------------------------------------------


def test_body_is_the_complete_record_with_only_the_change(contact: dict[str, Any]) -> None:
    original = copy.deepcopy(contact)
    resolved = p.resolve_changes(contact, changes("customFields[name=Shirt Size].value=XL"), RULES)
    (group,) = p.group_writes(1, contact, resolved)
    body = p.build_body(group, contact)
    assert contact == original, "planning must not mutate the fetched record"
    expected = copy.deepcopy(original)
    expected["customFields"][0]["value"] = "XL"
    # The one other difference: the read format of an empty date ("") is written as null.
    expected["contactIndividuals"][0]["deceasedDate"] = None
    assert body == expected


def test_individual_body_is_the_complete_individual(contact: dict[str, Any]) -> None:
    individual = copy.deepcopy(contact["contactIndividuals"][0])
    resolved = p.resolve_changes(contact, changes("contactIndividuals[id=2].nickname=Tess"), RULES)
    (group,) = p.group_writes(1, contact, resolved)
    body = p.build_body(group, individual)
    assert body == {**individual, "nickname": "Tess", "deceasedDate": None}


def test_body_dates_are_sent_back_as_iso(contact: dict[str, Any]) -> None:
    contact["contactIndividuals"][0]["deceasedDate"] = "5/1/2024"
    resolved = p.resolve_changes(contact, changes("name=X"), RULES)
    (group,) = p.group_writes(1, contact, resolved)
    assert p.build_body(group, contact)["contactIndividuals"][0]["deceasedDate"] == "2024-05-01"


def test_append_adds_an_item_and_verifies_by_identity(contact: dict[str, Any]) -> None:
    resolved = p.resolve_changes(
        contact, changes('contactReferences[+]={"source":"portal","id":"42"}'), RULES
    )
    (group,) = p.group_writes(1, contact, resolved)
    body = p.build_body(group, contact)
    assert body["contactReferences"] == [{"source": "portal", "id": "42"}]
    assert p.verification_path(resolved[0]).render() == "contactReferences[source=portal,id=42]"
    assert p.verify_changes(resolved, body) == ([], [])


# -- verification -----------------------------------------------------------------------


def test_server_normalisation_is_accepted_and_reported(contact: dict[str, Any]) -> None:
    contact["address"]["country"] = "United States"
    resolved = p.resolve_changes(
        contact, changes("address.state=tx", "address.city= Austin "), RULES
    )
    response = copy.deepcopy(contact)
    response["address"].update({"state": "TX", "city": "Austin"})
    mismatches, normalised = p.verify_changes(resolved, response)
    assert mismatches == []
    assert sorted(normalised) == [
        ("address.city", " Austin ", "Austin"),
        ("address.state", "tx", "TX"),
    ]


def test_a_value_the_server_did_not_store_is_a_mismatch(contact: dict[str, Any]) -> None:
    resolved = p.resolve_changes(contact, changes("name=New"), RULES)
    mismatches, _ = p.verify_changes(resolved, contact)
    assert [(m.path, m.intended, m.found) for m in mismatches] == [("name", "New", "Test Contact")]


def test_a_removal_is_verified_by_absence(contact: dict[str, Any]) -> None:
    contact["tags"] = ["Gala 2024", "Board"]
    resolved = p.resolve_changes(contact, [p.Change("tags[=Gala 2024]", REMOVE)], RULES)
    (group,) = p.group_writes(1, contact, resolved)
    body = p.build_body(group, contact)
    assert body["tags"] == ["Board"]
    assert p.verify_changes(resolved, body)[0] == []
    assert p.verify_changes(resolved, contact)[0] != []


def _new_person_with_email(contact: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """A person appended with a method of their own, and the server's answer: ids and
    audit fields on the person and on the method."""
    person = {
        "firstName": "Jo",
        "lastName": "Smith",
        "contactMethods": [{"type": "Home Email", "value": "jo@example.org", "isPrimary": True}],
    }
    resolved = p.resolve_changes(
        contact, [p.Change("contactIndividuals[+]", json.loads(json.dumps(person)))], RULES
    )
    (group,) = p.group_writes(1, contact, resolved)
    answer = copy.deepcopy(p.build_body(group, contact))
    stored = answer["contactIndividuals"][-1]
    stored.update({"id": 9001, "isPrimary": False, "createdByUser": "API"})
    stored["contactMethods"][0].update({"id": 90011, "isOptedIn": False})
    return resolved, answer


def test_a_new_persons_methods_are_verified_by_their_natural_key(contact: dict[str, Any]) -> None:
    resolved, answer = _new_person_with_email(contact)

    assert p.verify_changes(resolved, answer)[0] == []


def test_a_new_persons_method_stored_otherwise_or_joined_by_another_is_a_mismatch(
    contact: dict[str, Any],
) -> None:
    resolved, answer = _new_person_with_email(contact)
    methods = answer["contactIndividuals"][-1]["contactMethods"]
    methods[0]["isPrimary"] = False
    assert p.verify_changes(resolved, answer)[0] != []

    methods[0]["isPrimary"] = True
    methods.append({"id": 90012, "type": "Work Email", "value": "other@example.org"})
    assert p.verify_changes(resolved, answer)[0] != []


def test_high_stakes_fields_are_detected(contact: dict[str, Any]) -> None:
    resolved = p.resolve_changes(
        contact, changes("contactIndividuals[id=2].isDeceased=true"), RULES
    )
    assert p.touches_high_stakes(resolved, RULES.high_stakes_fields)
    other = p.resolve_changes(contact, changes("address.city=Austin"), RULES)
    assert not p.touches_high_stakes(other, RULES.high_stakes_fields)


# -- concurrency signs ---------------------------------------------------------------------


def _contact_write(contact: dict[str, Any], *assignments: str) -> tuple[p.WriteGroup, Any]:
    resolved = p.resolve_changes(contact, changes(*assignments), RULES)
    (group,) = p.group_writes(1, contact, resolved)
    return group, p.build_body(group, contact)


def test_our_own_write_explains_itself(contact: dict[str, Any]) -> None:
    group, body = _contact_write(contact, "name=New")
    response = {**copy.deepcopy(body), "modifiedDateTimeUtc": "2024-01-01T00:00:00.1234567"}
    assert p.concurrency_signs(group, body, response, contact) == []


def test_a_field_we_did_not_send_changed_is_a_sign_of_another_writer(
    contact: dict[str, Any],
) -> None:
    group, body = _contact_write(contact, "name=New")
    response = {
        **copy.deepcopy(body),
        "website": "https://other.example.org",
        "modifiedDateTimeUtc": "2024-01-01T00:00:00",
    }
    (sign,) = p.concurrency_signs(group, body, response, contact)
    assert "website" in sign


def test_a_stamp_that_did_not_advance_is_reported(contact: dict[str, Any]) -> None:
    group, body = _contact_write(contact, "name=New")
    response = copy.deepcopy(body)  # same modifiedDateTimeUtc as the GET
    assert p.concurrency_signs(group, body, response, contact) == [
        "modifiedDateTimeUtc did not advance with our write"
    ]


def test_server_normalisation_is_not_a_sign(contact: dict[str, Any]) -> None:
    contact["address"]["country"] = "United States"
    group, body = _contact_write(contact, "name=New")
    response = copy.deepcopy(body)
    response["address"]["state"] = " " + str(response["address"]["state"]).lower()
    response["modifiedDateTimeUtc"] = "2024-01-01T00:00:00"
    assert p.concurrency_signs(group, body, response, contact) == []
