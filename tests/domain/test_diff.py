"""Field-level diff: identity matching, normalisation, read-only fields, managed globs."""

from __future__ import annotations

import copy
import json
from pathlib import Path as FsPath
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncengine.domain.diff import FieldChange, apply_changes, diff, leaf_values
from syncengine.domain.paths import REMOVE, parse_path, resolve
from syncengine.domain.policy import glob_match
from syncengine.domain.ports import Record
from syncengine.errors import PathError
from tests.domain.strategies import change_sets, contacts, edited_contacts, property_examples

DATA = FsPath(__file__).resolve().parent.parent / "data"

PROPERTY = settings(
    max_examples=property_examples(), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def fixture_contact() -> Record:
    """contact.json plus a second method, a reference, tags and custom fields, so that
    every kind of array has items."""
    record: Record = json.loads((DATA / "contact.json").read_text())
    person = record["contactIndividuals"][0]
    person["contactMethods"].append(
        {
            "id": 2082,
            "type": "Mobile Phone",
            "value": "555-123-4567",
            "isOptedIn": True,
            "isPrimary": False,
            "canBePrimary": True,
            "modifiedDateTimeUtc": "2023-11-30T14:20:56.4",
        }
    )
    record["contactReferences"] = [{"source": "portal", "id": "42"}]
    record["tags"] = ["Gala 2024", "Newsletter"]
    record["organizationGroups"] = ["Alumni"]
    record["customFields"] = [
        {"name": "Shirt Size", "value": None, "displayName": "Shirt Size"},
        {"name": "Volunteer Since", "value": "2019", "displayName": "Volunteer Since"},
    ]
    return record


def methods(record: Record) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = record["contactIndividuals"][0]["contactMethods"]
    return result


# -- no change -------------------------------------------------------------------------------


def test_identical_records_have_no_changes() -> None:
    assert diff(fixture_contact(), fixture_contact()) == []


def test_read_only_and_audit_fields_are_not_changes() -> None:
    old, new = fixture_contact(), fixture_contact()
    new["modifiedDateTimeUtc"] = "2024-05-01T10:00:00.1234567"
    new["modifiedByUser"] = "Someone Else"
    new["giftAskAmount"] = "$9,999"
    new["lastGiftDate"] = "3/14/2024"
    new["contactGiftsUrl"] = "/api/Gift/ByContact/999"
    new["address"]["modifiedDateTimeUtc"] = "2024-05-01T10:00:00"
    new["address"]["canBePrimary"] = True
    new["contactIndividuals"][0]["approximateAge"] = 99
    new["contactIndividuals"][0]["birthDate"] = "1/1/1900"
    methods(new)[0]["canBePrimary"] = True
    new["customFields"][0]["displayName"] = "Shirt size (new label)"
    assert diff(old, new) == []


def test_server_normalisation_is_not_a_change() -> None:
    old, new = fixture_contact(), fixture_contact()
    old["address"]["state"] = "ca"
    new["address"]["state"] = "CA"  # canonical state code
    new["name"] = "  Test Contact "  # whitespace
    new["description"] = ""  # "" vs null
    new["anniversaryYear"] = None
    old["contactIndividuals"][0]["birthYear"] = "1998"  # natural types
    new["isPrivate"] = "true"
    new["contactIndividuals"][0]["deceasedDate"] = None  # "" vs null date
    new["tags"] = [" Gala 2024", "Newsletter "]
    assert diff(old, new) == []


def test_unknown_keys_are_not_compared() -> None:
    # They survive merges untouched (the merged record starts from the CRM one); the
    # platform cannot manage keys the schema does not know.
    old, new = fixture_contact(), fixture_contact()
    new["someFutureKey"] = {"x": 1}
    assert diff(old, new) == []


# -- leaves ----------------------------------------------------------------------------------


def test_leaf_change_is_a_set_with_raw_values_and_canonical_path() -> None:
    old, new = fixture_contact(), fixture_contact()
    new["name"] = " New Name "
    new["address"]["city"] = "Portland"
    new["contactIndividuals"][0]["lastName"] = "Okafor"
    assert diff(old, new) == [
        FieldChange("name", "set", "Test Contact", " New Name "),
        FieldChange("address.city", "set", None, "Portland"),
        FieldChange("contactIndividuals[id=2].lastName", "set", "Individual", "Okafor"),
    ]


def test_explicit_null_clears_a_field() -> None:
    old, new = fixture_contact(), fixture_contact()
    new["address"]["address1"] = None
    assert diff(old, new) == [FieldChange("address.address1", "set", "123 test street", None)]


def test_state_code_case_is_a_change_outside_the_us() -> None:
    old, new = fixture_contact(), fixture_contact()
    old["address"].update(country="Canada", state="on")
    new["address"].update(country="Canada", state="ON")
    assert diff(old, new) == [FieldChange("address.state", "set", "on", "ON")]


def test_a_null_address_becoming_an_address_sets_each_field() -> None:
    old, new = fixture_contact(), fixture_contact()
    old["address"] = None
    changes = diff(old, new)
    assert FieldChange("address.address1", "set", None, "123 test street") in changes
    # Fields null on both sides are not changes, and read-only ones never are.
    assert {c.path for c in changes} == {
        "address.label",
        "address.address1",
        "address.isPrimary",
        "address.startMonth",
        "address.startDay",
        "address.endMonth",
        "address.endDay",
    }


# -- absence ---------------------------------------------------------------------------------


def test_absent_keys_in_the_new_version_are_not_managed_and_clear_nothing() -> None:
    old = fixture_contact()
    new = copy.deepcopy(old)
    del new["name"]
    del new["address"]
    del new["tags"]
    del new["customFields"]
    del methods(new)[0]["value"]
    del new["contactIndividuals"][0]["contactMethods"][1]["isOptedIn"]
    assert diff(old, new) == []
    del new["contactIndividuals"]
    assert diff(old, new) == []


def test_a_key_absent_from_the_old_version_reads_as_null() -> None:
    old, new = fixture_contact(), fixture_contact()
    del old["website"]
    del old["address"]
    new["website"] = "https://example.org"
    changes = diff(old, new)
    assert FieldChange("website", "set", None, "https://example.org") in changes
    assert FieldChange("address.address1", "set", None, "123 test street") in changes


def test_diff_from_nothing_lists_every_value_at_its_own_level() -> None:
    new = fixture_contact()
    changes = diff(None, new)
    paths = {c.path for c in changes}
    assert "name" in paths
    assert "contactIndividuals[id=2]" in paths  # the whole individual, as one add
    assert not any(p.startswith("contactIndividuals[id=2].") for p in paths)
    assert "customFields[name=Volunteer Since].value" in paths
    assert "customFields[name=Shirt Size].value" not in paths  # null to null
    assert {"tags[=Gala 2024]", "tags[=Newsletter]", "organizationGroups[=Alumni]"} <= paths


# -- arrays by identity ----------------------------------------------------------------------


def test_reordering_items_is_not_a_change() -> None:
    old, new = fixture_contact(), fixture_contact()
    methods(new).reverse()
    new["tags"].reverse()
    new["customFields"].reverse()
    assert diff(old, new) == []


def test_editing_one_method_never_touches_its_sibling() -> None:
    old, new = fixture_contact(), fixture_contact()
    methods(new)[0]["value"] = "new@test.com"
    methods(new).reverse()  # and positions move
    assert diff(old, new) == [
        FieldChange(
            "contactIndividuals[id=2].contactMethods[id=2081].value",
            "set",
            "email@test.com",
            "new@test.com",
        )
    ]


def test_a_new_method_without_id_is_one_add_named_by_natural_key() -> None:
    old, new = fixture_contact(), fixture_contact()
    method = {"type": "Home Email", "value": "home@test.com", "isOptedIn": True}
    methods(new).insert(0, method)
    assert diff(old, new) == [
        FieldChange(
            "contactIndividuals[id=2].contactMethods[type=Home Email,value=home@test.com]",
            "add",
            None,
            method,
        )
    ]


def test_an_item_without_id_is_matched_to_its_id_by_natural_key() -> None:
    # The platform still holds the method it created; the CRM gave it id 2081 since.
    old, new = fixture_contact(), fixture_contact()
    del methods(new)[0]["id"]
    methods(new)[0]["value"] = " email@test.com"  # natural keys compare normalised
    assert diff(old, new) == []
    methods(new)[0]["isOptedIn"] = True
    assert diff(old, new) == [
        FieldChange(
            "contactIndividuals[id=2].contactMethods[id=2081].isOptedIn", "set", False, True
        )
    ]


def test_an_id_already_matched_is_not_taken_twice_by_natural_key() -> None:
    old, new = fixture_contact(), fixture_contact()
    duplicate = {"type": "Work Email", "value": "email@test.com", "isOptedIn": True}
    methods(new).append(duplicate)
    changes = diff(old, new)
    assert [c.kind for c in changes] == ["add"]
    assert changes[0].new == duplicate


def test_a_removed_item_is_one_remove_carrying_the_whole_item() -> None:
    old, new = fixture_contact(), fixture_contact()
    removed = methods(new).pop(1)
    assert diff(old, new) == [
        FieldChange("contactIndividuals[id=2].contactMethods[id=2082]", "remove", removed, None)
    ]


def test_a_new_individual_is_one_add_not_a_list_of_fields() -> None:
    old, new = fixture_contact(), fixture_contact()
    person = {"firstName": "Ana", "lastName": "Okafor", "contactMethods": []}
    new["contactIndividuals"].append(person)
    assert diff(old, new) == [
        FieldChange("contactIndividuals[firstName=Ana,lastName=Okafor]", "add", None, person)
    ]


def test_custom_fields_are_keyed_by_name_and_never_added_or_removed() -> None:
    old, new = fixture_contact(), fixture_contact()
    new["customFields"] = [
        {"name": "Volunteer Since", "value": "2019"},
        {"name": "Shirt Size", "value": "L"},
        {"name": "Board Role", "value": "Chair"},  # the old version does not list it
    ]
    assert diff(old, new) == [
        FieldChange("customFields[name=Shirt Size].value", "set", None, "L"),
        FieldChange("customFields[name=Board Role].value", "set", None, "Chair"),
    ]
    new["customFields"] = [{"name": "Shirt Size", "value": "L"}]  # others not managed
    assert diff(old, new) == [FieldChange("customFields[name=Shirt Size].value", "set", None, "L")]


def test_opaque_custom_field_values_are_compared_whole() -> None:
    old, new = fixture_contact(), fixture_contact()
    old["customFields"][0]["value"] = ["a", "b"]
    new["customFields"][0]["value"] = ["b", "a"]
    assert diff(old, new) == [
        FieldChange("customFields[name=Shirt Size].value", "set", ["a", "b"], ["b", "a"])
    ]


def test_references_are_matched_by_source_and_id() -> None:
    old, new = fixture_contact(), fixture_contact()
    new["contactReferences"] = [{"source": "events", "id": "42"}, {"source": "portal", "id": 42}]
    assert diff(old, new) == [
        FieldChange(
            "contactReferences[source=events,id=42]", "add", None, {"source": "events", "id": "42"}
        )
    ]


def test_tags_and_groups_are_sets() -> None:
    old, new = fixture_contact(), fixture_contact()
    new["tags"] = ["Newsletter", "Board"]
    new["organizationGroups"] = []
    assert diff(old, new) == [
        FieldChange("tags[=Gala 2024]", "remove", "Gala 2024", None),
        FieldChange("tags[=Board]", "add", None, "Board"),
        FieldChange("organizationGroups[=Alumni]", "remove", "Alumni", None),
    ]


def test_replacing_every_member_is_still_reported_member_by_member() -> None:
    # deepdiff reports a dict whose keys mostly differ as one replaced value unless told
    # otherwise (threshold_to_diff_deeper): that would lose the identities.
    old, new = fixture_contact(), fixture_contact()
    new["tags"] = ["Board", "Lapsed"]
    assert sorted((c.kind, c.path) for c in diff(old, new)) == [
        ("add", "tags[=Board]"),
        ("add", "tags[=Lapsed]"),
        ("remove", "tags[=Gala 2024]"),
        ("remove", "tags[=Newsletter]"),
    ]


def test_an_item_with_no_identity_at_all_is_refused() -> None:
    old, new = fixture_contact(), fixture_contact()
    methods(new).append({"isOptedIn": True})
    with pytest.raises(PathError):
        diff(old, new)


# -- managed globs ---------------------------------------------------------------------------


def edited_everywhere() -> tuple[Record, Record]:
    old, new = fixture_contact(), fixture_contact()
    new["name"] = "Renamed"
    new["address"]["city"] = "Portland"
    methods(new)[0]["value"] = "new@test.com"
    methods(new)[1]["isOptedIn"] = False
    methods(new).append({"type": "Home Email", "value": "h@test.com"})
    new["customFields"][0]["value"] = "L"
    new["customFields"][1]["value"] = "2020"
    new["tags"].append("Board")
    return old, new


@pytest.mark.parametrize(
    ("globs", "expected"),
    [
        (["address.*"], ["address.city"]),
        (["address"], ["address.city"]),
        (["customFields[name=Shirt Size].value"], ["customFields[name=Shirt Size].value"]),
        (
            ["contactIndividuals[*].contactMethods[*].value"],
            [
                "contactIndividuals[id=2].contactMethods[id=2081].value",
                "contactIndividuals[id=2].contactMethods[type=Home Email,value=h@test.com]",
            ],
        ),
        (["tags"], ["tags[=Board]"]),
        (["name", "tags[*]"], ["name", "tags[=Board]"]),
        ([], []),
    ],
)
def test_managed_globs_restrict_the_diff(globs: list[str], expected: list[str]) -> None:
    old, new = edited_everywhere()
    assert [c.path for c in diff(old, new, managed=globs)] == expected


def test_glob_brackets_are_literal_and_star_spans_selectors() -> None:
    path = "contactIndividuals[id=2].contactMethods[id=2081].value"
    assert glob_match(path, "contactIndividuals[*].contactMethods[*].value")
    assert glob_match(path, "contactIndividuals[id=2].*")
    assert not glob_match(path, "contactIndividuals[id=3].*")
    assert not glob_match("customFields[name=Shirt Size].value", "customFields[name=Shirt].value")


# -- applying --------------------------------------------------------------------------------


def test_apply_changes_creates_a_null_address_and_an_unlisted_custom_field() -> None:
    record = fixture_contact()
    record["address"] = None
    result = apply_changes(
        record,
        [
            FieldChange("address.city", "set", None, "Portland"),
            FieldChange("customFields[name=Board Role].value", "set", None, "Chair"),
        ],
    )
    assert result["address"] == {"city": "Portland"}
    assert {"name": "Board Role", "value": "Chair"} in result["customFields"]
    assert record["address"] is None  # the input is untouched


def test_field_change_as_an_assignment_for_the_planner() -> None:
    add = FieldChange("contactIndividuals[id=2].contactMethods[type=Home Email,value=a@b.c]", "add")
    assert add.assignment() == ("contactIndividuals[id=2].contactMethods[+]", None)
    remove = FieldChange("tags[=Gala 2024]", "remove", "Gala 2024")
    assert remove.assignment() == ("tags[=Gala 2024]", REMOVE)
    assert FieldChange("name", "set", "a", "b").assignment() == ("name", "b")


# -- properties ------------------------------------------------------------------------------


@PROPERTY
@given(contacts())
def test_a_record_has_no_changes_against_itself(record: Record) -> None:
    assert diff(record, copy.deepcopy(record)) == []


@PROPERTY
@given(st.data())
def test_applying_the_diff_reaches_the_new_version(data: st.DataObject) -> None:
    old = data.draw(contacts())
    new = data.draw(edited_contacts(old, side=data.draw(st.sampled_from(["platform", "crm"]))))
    changes = diff(old, new)
    assert diff(apply_changes(old, changes), new) == []


@PROPERTY
@given(st.data())
def test_every_path_is_canonical_and_removes_resolve_on_the_old_version(
    data: st.DataObject,
) -> None:
    old = data.draw(contacts())
    for change in data.draw(change_sets(old)):
        assert parse_path(change.path).render() == change.path
        if change.kind == "remove":
            assert resolve(old, change.path).render() == change.path


@PROPERTY
@given(st.data())
def test_shuffling_every_array_is_not_a_change(data: st.DataObject) -> None:
    old = data.draw(contacts())
    new = copy.deepcopy(old)
    for key in ("contactIndividuals", "tags", "organizationGroups", "customFields"):
        new[key] = data.draw(st.permutations(new[key]))
    for person in new["contactIndividuals"]:
        person["contactMethods"] = data.draw(st.permutations(person["contactMethods"]))
    assert diff(old, new) == []


@PROPERTY
@given(st.data())
def test_editing_one_item_changes_nothing_outside_it(data: st.DataObject) -> None:
    old = data.draw(
        contacts().filter(lambda c: any(p["contactMethods"] for p in c["contactIndividuals"]))
    )
    new = copy.deepcopy(old)
    person = data.draw(
        st.sampled_from([p for p in new["contactIndividuals"] if p["contactMethods"]])
    )
    method = data.draw(st.sampled_from(person["contactMethods"]))
    method["value"] = method["value"] + ".changed"
    method["isOptedIn"] = not method["isOptedIn"]
    prefix = f"contactIndividuals[id={person['id']}].contactMethods[id={method['id']}]."
    changes = diff(old, new)
    assert {c.path for c in changes} == {prefix + "value", prefix + "isOptedIn"}


@PROPERTY
@given(st.data())
def test_every_new_value_in_a_diff_comes_from_the_new_version(data: st.DataObject) -> None:
    old = data.draw(contacts())
    new = data.draw(edited_contacts(old))
    _, new_leaves = leaf_values(old, new)
    for change in diff(old, new):
        if change.kind == "set":
            assert new_leaves[change.path] == change.new
