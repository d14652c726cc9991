"""Which fields the platform manages and which way each flows (domain/fieldmap.py)."""

from typing import Any

import pytest

from syncengine.domain.fieldmap import Direction, FieldMap
from syncengine.errors import ConfigError

RULES: list[dict[str, Any]] = [
    {"path": "customFields[name=Shirt Size].value", "direction": "to_crm"},
    {"path": "address.*", "direction": "both"},
    {"path": "contactIndividuals[*].firstName", "direction": "both"},
    {"path": "contactIndividuals[*].contactMethods[*].value", "direction": "to_platform"},
    {"path": "tags[*]", "direction": "both"},
    {"path": "name", "direction": "to_platform"},
]


@pytest.fixture
def fields() -> FieldMap:
    return FieldMap.from_rules(RULES)


@pytest.mark.parametrize(
    ("path", "direction"),
    [
        ("address.city", Direction.BOTH),
        ("contactIndividuals[id=2].firstName", Direction.BOTH),
        ("contactIndividuals[firstName=Ada,lastName=null].firstName", Direction.BOTH),
        ("contactIndividuals[id=2].contactMethods[id=7].value", Direction.TO_PLATFORM),
        ("customFields[name=Shirt Size].value", Direction.TO_CRM),
        ("tags[=Gala 2024]", Direction.BOTH),
        ("name", Direction.TO_PLATFORM),
        ("contactIndividuals[id=2].lastName", None),
        ("customFields[name=Shirt Colour].value", None),
        ("description", None),
        ("address", None),  # the rule is for the fields below it, not the object
    ],
)
def test_selector_globs_match_canonical_concrete_paths(
    fields: FieldMap, path: str, direction: Direction | None
) -> None:
    assert fields.direction_of(path) is direction


def test_the_first_matching_rule_wins() -> None:
    fields = FieldMap.from_rules(
        [
            {"path": "address.postal", "direction": "to_crm"},
            {"path": "address.*", "direction": "to_platform"},
            {"path": "address.city", "direction": "both"},
        ]
    )

    assert fields.direction_of("address.postal") is Direction.TO_CRM
    assert fields.direction_of("address.city") is Direction.TO_PLATFORM


def test_a_rule_covers_everything_below_what_it_names() -> None:
    fields = FieldMap.from_rules(
        [
            {"path": "contactIndividuals[*].isDeceased", "direction": "to_platform"},
            {"path": "contactIndividuals", "direction": "both"},
            {"path": "address", "direction": "to_crm"},
        ]
    )

    assert fields.direction_of("contactIndividuals[id=2].isDeceased") is Direction.TO_PLATFORM
    assert fields.direction_of("contactIndividuals[id=2].contactMethods[id=7].value") is (
        Direction.BOTH
    )
    assert fields.direction_of("address.city") is Direction.TO_CRM


def test_a_quoted_rule_path_matches_the_canonical_unquoted_path() -> None:
    fields = FieldMap.from_rules(
        [{"path": 'customFields[name="Shirt Size"].value', "direction": "both"}]
    )

    assert fields.flows_to_crm("customFields[name=Shirt Size].value")


def test_flows_follow_the_direction(fields: FieldMap) -> None:
    assert fields.flows_to_crm("address.city") and fields.flows_to_platform("address.city")
    assert fields.flows_to_crm("customFields[name=Shirt Size].value")
    assert not fields.flows_to_platform("customFields[name=Shirt Size].value")
    assert fields.flows_to_platform("name") and not fields.flows_to_crm("name")
    assert not fields.flows_to_crm("description") and not fields.flows_to_platform("description")


def test_no_rules_manage_nothing() -> None:
    assert FieldMap.from_rules(None).direction_of("name") is None
    assert FieldMap.from_rules([]).project({"name": "Ada"}, to_platform=True) == {}


@pytest.mark.parametrize(
    ("rules", "key"),
    [
        ([{"path": "name"}], "local.fields[0].direction"),
        ([{"path": "name", "direction": "up"}], "local.fields[0].direction"),
        ([{"path": "name", "direction": "both"}, {"direction": "both"}], "local.fields[1].path"),
        ([{"path": "name", "direction": "both", "rule": "crm"}], "local.fields[0].rule"),
        (["name"], "local.fields[0]"),
        ("name", "local.fields"),
    ],
)
def test_bad_rules_are_named_by_key(rules: Any, key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        FieldMap.from_rules(rules)
    assert caught.value.key == key


RECORD: dict[str, Any] = {
    "id": 1001,
    "name": "Ada Lovelace",
    "description": "not managed",
    "address": {"id": 31, "city": "London", "postal": "N1"},
    "tags": ["Gala 2024", "Donor"],
    "customFields": [
        {"name": "Shirt Size", "value": "M", "displayName": "Shirt size"},
        {"name": "Chapter", "value": "Zürich"},
    ],
    "contactIndividuals": [
        {
            "id": 2,
            "isPrimary": True,
            "firstName": "Ada",
            "lastName": "Lovelace",
            "contactMethods": [{"id": 7, "type": "Home Email", "value": "ada@example.org"}],
        },
        {"id": 3, "firstName": "Byron", "contactMethods": []},
    ],
}


def test_projecting_to_the_platform_keeps_what_flows_there_with_item_identities(
    fields: FieldMap,
) -> None:
    assert fields.project(RECORD, to_platform=True) == {
        "name": "Ada Lovelace",
        "address": {"id": 31, "city": "London", "postal": "N1"},
        "tags": ["Gala 2024", "Donor"],
        "contactIndividuals": [
            {
                "id": 2,
                "firstName": "Ada",
                "contactMethods": [{"id": 7, "value": "ada@example.org"}],
            },
            {"id": 3, "firstName": "Byron"},
        ],
    }


def test_projecting_to_crm_keeps_what_flows_there(fields: FieldMap) -> None:
    assert fields.project(RECORD, to_platform=False) == {
        "address": {"id": 31, "city": "London", "postal": "N1"},
        "tags": ["Gala 2024", "Donor"],
        "customFields": [{"name": "Shirt Size", "value": "M"}],
        "contactIndividuals": [{"id": 2, "firstName": "Ada"}, {"id": 3, "firstName": "Byron"}],
    }


def test_projection_keeps_the_records_key_order_and_leaves_it_untouched(
    fields: FieldMap,
) -> None:
    import copy

    before = copy.deepcopy(RECORD)

    projected = fields.project(RECORD, to_platform=True)

    assert before == RECORD
    assert list(projected) == ["name", "address", "tags", "contactIndividuals"]
    assert list(projected["contactIndividuals"][0]) == ["id", "firstName", "contactMethods"]


def test_a_new_item_is_kept_with_its_natural_key(fields: FieldMap) -> None:
    record = {"contactIndividuals": [{"firstName": "Alan", "lastName": "Turing", "gender": "m"}]}

    assert fields.project(record, to_platform=False) == {
        "contactIndividuals": [{"firstName": "Alan", "lastName": "Turing"}]
    }


def test_an_item_without_any_identity_is_left_out(fields: FieldMap) -> None:
    record = {"contactIndividuals": [{"gender": "m", "firstName": None}]}

    assert fields.project(record, to_platform=False) == {}


def test_set_members_are_kept_one_by_one() -> None:
    fields = FieldMap.from_rules([{"path": "tags[=Gala*]", "direction": "both"}])

    assert fields.project({"tags": ["Gala 2024", "Donor"]}, to_platform=True) == {
        "tags": ["Gala 2024"]
    }


def test_an_emptied_array_is_kept_when_its_members_are_managed(fields: FieldMap) -> None:
    assert fields.project({"tags": []}, to_platform=True) == {"tags": []}
    # Only item FIELDS are managed here: an empty list reads as "not managed".
    assert fields.project({"contactIndividuals": []}, to_platform=True) == {}


def test_nulls_are_values_and_are_kept(fields: FieldMap) -> None:
    assert fields.project({"address": {"city": None}}, to_platform=True) == {
        "address": {"city": None}
    }
