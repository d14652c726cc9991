"""How a save lays the given fields over the stored document (local/overlay.py)."""

import copy
from typing import Any

from syncengine.local.overlay import overlay

STORED: dict[str, Any] = {
    "id": 1001,
    "name": "Ada",
    "platformOnly": {"score": 3},
    "address": {"id": 31, "city": "London", "label": "home"},
    "tags": ["a", "b"],
    "contactIndividuals": [
        {
            "id": 2,
            "firstName": "Ada",
            "nickname": "kept",
            "contactMethods": [
                {"id": 7, "type": "Home Email", "value": "ada@example.org", "note": "kept"}
            ],
        },
        {"id": 3, "firstName": "Byron"},
    ],
}


def test_keys_not_given_are_kept() -> None:
    assert overlay(STORED, {"name": "Ada King"}) == {**STORED, "name": "Ada King"}


def test_objects_are_overlaid_key_by_key() -> None:
    result = overlay(STORED, {"address": {"city": "Paris"}})

    assert result["address"] == {"id": 31, "city": "Paris", "label": "home"}


def test_array_items_are_matched_by_identity_and_keep_their_unmanaged_keys() -> None:
    given = {
        "contactIndividuals": [
            {"id": 3, "firstName": "George"},
            {"id": 2, "contactMethods": [{"id": 7, "value": "aal@example.org"}]},
        ]
    }

    result = overlay(STORED, given)

    assert result["contactIndividuals"] == [
        {
            "id": 2,
            "firstName": "Ada",
            "nickname": "kept",
            "contactMethods": [
                {"id": 7, "type": "Home Email", "value": "aal@example.org", "note": "kept"}
            ],
        },
        {"id": 3, "firstName": "George"},
    ]


def test_items_the_given_array_does_not_list_are_removed() -> None:
    # The given record is complete: an item it lacks was removed (in CRM+), and a stale
    # copy left on the platform would come back as a "platform addition" next sync.
    stored = {"customFields": [{"name": "Chapter", "value": "Zürich"}, {"name": "Shirt Size"}]}

    result = overlay(stored, {"customFields": [{"name": "Shirt Size", "value": "L"}]})

    assert result == {"customFields": [{"name": "Shirt Size", "value": "L"}]}


def test_given_items_without_a_match_are_appended() -> None:
    given = [*STORED["contactIndividuals"], {"id": 9, "firstName": "New"}]
    result = overlay(STORED, {"contactIndividuals": given})

    assert result["contactIndividuals"] == [
        *STORED["contactIndividuals"],
        {"id": 9, "firstName": "New"},
    ]


def test_an_item_the_platform_added_is_matched_by_its_natural_key_once_it_has_an_id() -> None:
    stored = {
        "contactIndividuals": [
            {
                "id": 2,
                "contactMethods": [{"type": "Work Email", "value": "a@w.org", "label": "mine"}],
            }
        ]
    }
    given = {
        "contactIndividuals": [
            {"id": 2, "contactMethods": [{"id": 70, "type": "Work Email", "value": "a@w.org"}]}
        ]
    }

    (method,) = overlay(stored, given)["contactIndividuals"][0]["contactMethods"]

    assert method == {"type": "Work Email", "value": "a@w.org", "label": "mine", "id": 70}


def test_a_set_becomes_the_given_members_in_stored_order() -> None:
    assert overlay(STORED, {"tags": ["c", "b"]})["tags"] == ["b", "c"]


def test_arrays_the_schema_does_not_know_are_replaced() -> None:
    assert overlay({"scores": [1, 2]}, {"scores": [3]}) == {"scores": [3]}


def test_new_keys_follow_in_the_given_order() -> None:
    result = overlay({"b": 1}, {"z": 1, "a": 2, "b": 3})

    assert list(result) == ["b", "z", "a"]


def test_inputs_are_left_untouched_and_not_aliased() -> None:
    stored, given = copy.deepcopy(STORED), {"address": {"city": "Paris"}, "new": {"x": [1]}}

    result = overlay(stored, given)
    result["new"]["x"].append(2)
    result["address"]["label"] = "changed"

    assert stored == STORED
    assert given == {"address": {"city": "Paris"}, "new": {"x": [1]}}
