"""What makes aligning three versions cheap must not change what is found.

``align(prune=True)`` skips objects, items, sets and custom-field maps every version
holds alike, and segments and natural keys are shared between calls. The pruned merge
and diff are held to the whole walk (``prune=False``) on random contacts; the shared
segments and keys are held to what building them anew gives."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncengine.domain.diff import Slot, align, diff, natural_key
from syncengine.domain.merge import MergeResult, merge_all
from syncengine.domain.paths import item_segment
from syncengine.domain.policy import Rule
from syncengine.domain.ports import Record
from syncengine.errors import PathError
from tests.domain.strategies import contacts, edited_contacts, merge_scenarios
from tests.domain.test_merge import AFTER_ALL, PROPERTY, only


def outcome(result: MergeResult) -> tuple[Any, ...]:
    return (
        result.to_crm,
        result.to_platform,
        result.conflicts,
        result.resolutions,
        result.merged,
    )


@PROPERTY
@given(merge_scenarios(), st.sampled_from(list(Rule)))
def test_the_pruned_merge_decides_what_the_whole_walk_decides(
    versions: tuple[Record, Record, Record], rule: Rule
) -> None:
    base, platform, crm = versions
    policy = only(rule)
    pruned = merge_all(base, platform, crm, policy, AFTER_ALL, ())
    whole = merge_all(base, platform, crm, policy, AFTER_ALL, (), prune=False)
    assert outcome(pruned) == outcome(whole)


@PROPERTY
@given(contacts().flatmap(lambda old: st.tuples(st.just(old), edited_contacts(old))))
def test_the_pruned_diff_finds_what_the_whole_walk_finds(versions: tuple[Record, Record]) -> None:
    old, new = versions
    for held_by_old in (False, True):
        assert diff(old, new, held_by_old=held_by_old) == diff(
            old, new, held_by_old=held_by_old, prune=False
        )


def tags_and_fields(tags: list[str], shirt: str) -> Record:
    return {
        "id": 7,
        "name": "The Lee Household",
        "tags": tags,
        "customFields": [{"name": "Shirt Size", "value": shirt}],
    }


def container(root: Slot, name: str) -> Slot:
    return root.children[name]


def test_a_set_and_a_map_every_version_holds_alike_are_not_walked() -> None:
    versions = [tags_and_fields(["Gala", "Donor"], "M") for _ in range(3)]
    versions[2]["name"] = "The Lee Family"  # something differs, so the root is walked
    root = align(versions, prune=True, partial=2)
    for name in ("tags", "customFields"):
        assert container(root, name).pruned and not container(root, name).children
    # The whole walk sees the same members, each held alike.
    whole = align(versions, prune=False, partial=2)
    assert len(container(whole, "tags").children) == 2


def test_a_set_held_in_another_form_is_walked_and_still_found_unchanged() -> None:
    base = tags_and_fields(["Gala", "Donor"], "M")
    platform = tags_and_fields([" Gala", "Donor"], "M")  # trimmed, it is the same member
    crm = tags_and_fields(["Donor", "Gala"], "M")  # another order: the same set
    root = align([base, crm, platform], prune=True, partial=2)
    assert not container(root, "tags").pruned
    assert merge_all(base, platform, crm, None, AFTER_ALL, ()).in_sync


def test_a_set_changed_on_one_side_is_still_merged() -> None:
    base = tags_and_fields(["Gala"], "M")
    platform = tags_and_fields(["Gala", "Volunteer"], "L")
    result = merge_all(base, platform, base, None, AFTER_ALL, ())
    assert {c.path for c in result.to_crm} == {
        "tags[=Volunteer]",
        "customFields[name=Shirt Size].value",
    }


@pytest.mark.parametrize(
    ("first", "second", "texts"),
    [
        # True and 1 (and False and 0) are equal keys to a dict: never to a segment.
        ({"id": True}, {"id": 1}, ("contactMethods[id=true]", "contactMethods[id=1]")),
        ({"id": 0}, {"id": False}, ("contactMethods[id=0]", "contactMethods[id=false]")),
        # 0.0 and -0.0 are equal numbers written differently.
        ({"id": 0.0}, {"id": -0.0}, ("contactMethods[id=0.0]", "contactMethods[id=-0.0]")),
    ],
)
def test_a_shared_segment_is_never_another_value_of_equal_hash(
    first: Record, second: Record, texts: tuple[str, str]
) -> None:
    for _ in range(2):  # the second round reads what the first one shared
        assert item_segment("contactMethods", first).render() == texts[0]
        assert item_segment("contactMethods", second).render() == texts[1]


def test_segments_of_equal_identities_are_shared_and_equal_to_ones_built_anew() -> None:
    a = item_segment("contactIndividuals", {"id": 42, "firstName": "Ana"})
    b = item_segment("contactIndividuals", {"id": 42, "firstName": "Bo"})
    assert a is b
    assert a.render() == "contactIndividuals[id=42]"
    assert item_segment("contactMethods", {"type": "Home Email", "value": "a, b"}).render() == (
        'contactMethods[type=Home Email,value="a, b"]'
    )


def test_an_identity_nobody_can_write_is_still_refused_by_name() -> None:
    with pytest.raises(TypeError, match="cannot identify an item"):
        item_segment("contactMethods", {"id": {"nested": 1}})
    with pytest.raises(PathError, match="item has no identity"):
        item_segment("contactMethods", {"isPrimary": True})


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"type": " Home Email ", "value": "ana@example.org"}, ("Home Email", "ana@example.org")),
        ({"type": "", "value": "x"}, (None, "x")),  # "" reads as null
        ({"type": None, "value": None}, None),
        ({"type": 7, "value": "x"}, ("7", "x")),  # not text: normalised, not shared
    ],
)
def test_natural_keys_are_the_normal_forms_of_their_parts(
    item: Record, expected: tuple[Any, ...] | None
) -> None:
    for _ in range(2):
        assert natural_key("contactMethods", item) == expected


@pytest.mark.parametrize(
    ("old", "new", "changed"), [(1, True, True), (True, 1, True), (0, False, True), (1, 1.0, False)]
)
def test_an_item_whose_only_difference_is_a_value_of_another_type_is_walked(
    old: Any, new: Any, changed: bool
) -> None:
    """``True == 1`` and ``1 == 1.0`` in Python, and a dict compares its values so: an
    item pruned on that would hide a field a version holds as another JSON value. Walked,
    the field's normal forms say whether it changed (text "1" either way for a number)."""

    def household(middle: Any) -> Record:
        person = {"id": 1, "firstName": "Ana", "lastName": "Lee", "middleName": middle}
        return {"id": 7, "name": "The Lee Household", "contactIndividuals": [person]}

    base, platform = household(old), household(new)
    found = diff(base, platform)
    assert found == diff(base, platform, prune=False)
    assert [c.path for c in found] == (["contactIndividuals[id=1].middleName"] if changed else [])
    pruned = merge_all(base, platform, base, None, AFTER_ALL, ())
    assert outcome(pruned) == outcome(
        merge_all(base, platform, base, None, AFTER_ALL, (), prune=False)
    )
