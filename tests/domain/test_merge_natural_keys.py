"""Platform items without an id (people added on the platform, or kept by a platform that
stores no ids) are matched to CRM+'s items by natural key (first and last name): what
the random search found when the other side renames the item that key named (seed 137,
docs/testing.md). Each case is merged, applied as the engine applies it, and merged
again: the second merge must find nothing more to do."""

from __future__ import annotations

from typing import Any

from syncengine.domain.diff import FieldChange, apply_changes
from syncengine.domain.merge import MergeResult, merge3
from syncengine.domain.policy import Rule
from syncengine.domain.ports import Record
from syncengine.domain.records import copy_json
from tests.domain.test_merge import AFTER_ALL, method, methods, only, three

PERSON = "contactIndividuals[id=2]"


def person(record: Record, person_id: int = 2) -> dict[str, Any]:
    return next(p for p in record["contactIndividuals"] if p.get("id") == person_id)


def without_id(item: dict[str, Any]) -> dict[str, Any]:
    """The item as a platform that keeps no ids holds it."""
    return {k: v for k, v in item.items() if k not in ("id", "contactId")}


def second_person(record: Record) -> None:
    record["contactIndividuals"].append(
        {"id": 3, "firstName": "Ana", "lastName": "Okafor", "isDeceased": False}
    )


def merge_then_merge_again(base: Record, platform: Record, crm: Record) -> MergeResult:
    """The property ``test_merge_then_merge_again_changes_nothing_more``, for one case:
    the first merge's result, after checking that applying it and merging again (the
    merged record as the new base and CRM+'s record) finds nothing more."""
    first = merge3(base, platform, crm, only(Rule.NEWEST), platform_modified=AFTER_ALL)
    platform_after = apply_changes(platform, first.to_platform)
    again = merge3(
        first.merged,
        platform_after,
        first.merged,
        only(Rule.NEWEST),
        platform_modified=AFTER_ALL,
        open_conflicts=[c.path for c in first.conflicts],
    )
    assert again.to_crm == [] and again.to_platform == []
    assert {c.path for c in again.conflicts} == {c.path for c in first.conflicts}
    return first


def test_a_crm_rename_reaches_an_id_less_platform_item_and_later_changes_follow_its_name() -> None:
    base, platform, crm = three()
    platform["contactIndividuals"] = [without_id(person(platform))]
    person(crm)["firstName"] = "Tess"
    person(crm)["isDeceased"] = True
    person(crm)["contactMethods"][0]["isOptedIn"] = True
    result = merge_then_merge_again(base, platform, crm)
    # Each change names the person as the platform holds it when that change is applied.
    assert result.to_platform == [
        FieldChange(
            "contactIndividuals[firstName=Test,lastName=Individual].firstName",
            "set",
            "Test",
            "Tess",
        ),
        FieldChange(
            "contactIndividuals[firstName=Tess,lastName=Individual].isDeceased", "set", False, True
        ),
        FieldChange(
            "contactIndividuals[firstName=Tess,lastName=Individual].contactMethods[id=2081].isOptedIn",
            "set",
            False,
            True,
        ),
    ]
    assert result.to_crm == [] and result.conflicts == []


def test_a_rename_reaching_an_id_less_item_names_the_later_changes_on_either_side() -> None:
    base, platform, crm = three()
    platform["contactIndividuals"] = [without_id(person(platform))]
    person(crm)["firstName"] = "Tess"
    person(crm)["isDeceased"] = True
    there = merge3(base, platform, crm, only(Rule.CRM))
    # The sides swapped: the record holding the person without an id is CRM+'s now.
    back = merge3(base, crm, platform, only(Rule.PLATFORM))
    assert back.to_crm == there.to_platform and back.to_platform == there.to_crm
    assert [c.path for c in back.to_crm] == [
        "contactIndividuals[firstName=Test,lastName=Individual].firstName",
        "contactIndividuals[firstName=Tess,lastName=Individual].isDeceased",
    ]


def test_a_crm_rename_to_a_name_another_platform_item_holds_leaves_it_new_and_a_conflict() -> None:
    base, platform, crm = three()
    for record in (base, platform, crm):
        second_person(record)
    # The platform keeps no id for Test Individual and renamed Ana Okafor; CRM+ renamed
    # Test Individual to the very name the platform gave Ana.
    platform["contactIndividuals"][0] = without_id(person(platform))
    person(platform, 3)["firstName"], person(platform, 3)["lastName"] = "Tess", "Individual"
    person(crm)["firstName"] = "Tess"
    result = merge_then_merge_again(base, platform, crm)
    # Renamed on the platform, the person could not be told from Ana there: it is not
    # taken for CRM+'s person 2. Nothing is lost: the platform's person reaches CRM+ and
    # CRM+'s renamed person 2, absent from the platform, waits for a person to decide.
    assert [(c.path, c.rule) for c in result.conflicts] == [(PERSON, "removed-vs-edited")]
    assert [(c.path, c.kind) for c in result.to_crm] == [
        ("contactIndividuals[id=3].firstName", "set"),
        ("contactIndividuals[id=3].lastName", "set"),
        ("contactIndividuals[firstName=Test,lastName=Individual]", "add"),
    ]
    assert result.to_platform == []


def test_a_crm_rename_to_a_name_crm_gives_two_items_leaves_the_item_new_and_a_conflict() -> None:
    base, platform, crm = three()
    for record in (base, platform, crm):
        second_person(record)
    platform["contactIndividuals"][0] = without_id(person(platform))
    # CRM+ gives both people one name: brought to the platform, the person without an id
    # would share it with person 3 there, and CRM+ could not say which of its two it is.
    for person_id in (2, 3):
        person(crm, person_id)["firstName"], person(crm, person_id)["lastName"] = "Ana", "Smith"
    result = merge_then_merge_again(base, platform, crm)
    assert [(c.path, c.rule) for c in result.conflicts] == [(PERSON, "removed-vs-edited")]
    assert [(c.path, c.kind) for c in result.to_crm] == [
        ("contactIndividuals[firstName=Test,lastName=Individual]", "add")
    ]
    assert [(c.path, c.new) for c in result.to_platform] == [
        ("contactIndividuals[id=3].lastName", "Smith")
    ]


def test_an_id_less_platform_item_whose_crm_item_was_removed_is_held_under_its_own_name() -> None:
    base, platform, crm = three()
    platform["contactIndividuals"] = [without_id(person(platform))]
    platform["contactIndividuals"][0]["isDeceased"] = True
    crm["contactIndividuals"] = []
    result = merge_then_merge_again(base, platform, crm)
    # The next base lacks person 2: from then on the platform's name for it is the only
    # one, so the conflict is opened under it and held under it on every run.
    assert [(c.path, c.rule) for c in result.conflicts] == [
        ("contactIndividuals[firstName=Test,lastName=Individual]", "removed-vs-edited")
    ]
    assert result.to_crm == [] and result.to_platform == []


# -- two id-less items of one version with one natural key ---------------------------------

JO = "contactIndividuals[firstName=Jo,lastName=Smith]"


def jo_smith(email: str) -> dict[str, Any]:
    """A person added on the platform: no id yet, named Jo Smith."""
    return {
        "firstName": "Jo",
        "lastName": "Smith",
        "isDeceased": False,
        "contactMethods": [{"type": "Home Email", "value": email, "isOptedIn": True}],
    }


def test_two_new_platform_people_with_one_name_the_second_is_a_conflict_not_dropped() -> None:
    base, platform, crm = three()
    first, second = jo_smith("jo@example.org"), jo_smith("jo.junior@example.org")
    platform["contactIndividuals"] += [first, second]
    result = merge_then_merge_again(base, platform, crm)
    # The first goes to CRM+ as before; the second could not be told from it there (nor
    # on the platform, where a path by name would name both): a person decides.
    assert [(c.path, c.kind, c.new) for c in result.to_crm] == [(JO, "add", first)]
    assert [(c.path, c.rule, c.platform, c.crm) for c in result.conflicts] == [
        (JO, "duplicate-natural-key", second, first)
    ]
    assert result.to_platform == []
    assert [p.get("firstName") for p in result.merged["contactIndividuals"]] == ["Test", "Jo"]


def test_two_new_platform_methods_with_one_type_and_value_the_second_is_a_conflict() -> None:
    base, platform, crm = three()
    new = {"type": "Home Email", "value": "jo@example.org", "isOptedIn": True}
    copy = {**new, "isOptedIn": False}  # typed twice, once opted out
    methods(platform).extend([new, copy])
    result = merge_then_merge_again(base, platform, crm)
    path = f"{PERSON}.contactMethods[type=Home Email,value=jo@example.org]"
    assert [(c.path, c.kind) for c in result.to_crm] == [(path, "add")]
    assert [(c.path, c.rule, c.platform, c.crm) for c in result.conflicts] == [
        (path, "duplicate-natural-key", copy, new)
    ]
    assert result.to_platform == []


def test_a_duplicate_id_on_the_platform_is_a_conflict_not_dropped() -> None:
    base, platform, crm = three()
    copy = {**method(platform, 2081), "value": "other@test.com"}
    methods(platform).append(copy)
    result = merge_then_merge_again(base, platform, crm)
    path = f"{PERSON}.contactMethods[id=2081]"
    assert result.to_crm == [] and result.to_platform == []
    assert [(c.path, c.rule, c.platform, c.crm) for c in result.conflicts] == [
        (path, "duplicate-natural-key", copy, method(crm, 2081))
    ]


def test_a_second_person_named_like_one_crm_holds_is_held_under_the_same_path() -> None:
    # The run after the first: CRM+ holds the first Jo Smith (with an id), the platform
    # still both without one. The conflict stays open under its path, nothing written.
    base, platform, crm = three()
    first, second = jo_smith("jo@example.org"), jo_smith("jo.junior@example.org")
    platform["contactIndividuals"] += [first, second]
    created = {**first, "id": 9}
    for record in (base, crm):
        record["contactIndividuals"].append(copy_json(created))
    result = merge3(
        base, platform, crm, only(Rule.NEWEST), platform_modified=AFTER_ALL, open_conflicts=[JO]
    )
    assert result.to_crm == [] and result.to_platform == []
    # Seen as the copy of the person CRM+ holds now, and shown beside it.
    assert [(c.path, c.rule, c.platform, c.crm) for c in result.conflicts] == [
        (JO, "held", second, created)
    ]


def test_two_crm_people_with_one_name_held_without_ids_are_neither_removed_nor_re_added() -> None:
    # A platform that keeps no ids holds CRM+'s two Jo Smiths: which is which cannot be
    # told, so neither is matched. That is no removal: before, both were removed from
    # CRM+ and one re-added as new. Now each waits for a person; nothing is written.
    base, platform, crm = three()
    people = [{**jo_smith("jo@example.org"), "id": 8}, {**jo_smith("jo.jr@example.org"), "id": 9}]
    for record in (base, crm):
        record["contactIndividuals"] += copy_json(people)
    platform["contactIndividuals"] += [without_id(p) for p in people]
    result = merge_then_merge_again(base, platform, crm)
    assert result.to_crm == [] and result.to_platform == []
    assert [(c.path, c.rule) for c in result.conflicts] == [
        ("contactIndividuals[id=8]", "duplicate-natural-key"),
        ("contactIndividuals[id=9]", "duplicate-natural-key"),
        (JO, "duplicate-natural-key"),
    ]


def test_an_id_less_add_whose_name_the_other_side_now_holds_is_a_conflict_either_way() -> None:
    """One side moves method 100 to a number; the other adds a method without an id with
    that very number. Written, the two could not be told apart: a conflict, whichever
    side the new item is on (soak profile, ``test_swapping_the_sides_swaps_the_outcome``:
    only the add sent to CRM+ was checked, so the swapped merge wrote the duplicate)."""

    def household(*items: Record) -> Record:
        person = {"id": 10, "firstName": "Ana", "lastName": "Lee", "contactMethods": list(items)}
        return {"id": 1, "name": "The Lee Household", "contactIndividuals": [person]}

    moved = {"id": 100, "type": "Mobile Phone", "value": "555-0100"}
    base = household({**moved, "value": "555-0101"})
    mover = household(moved)
    adder = household({**moved, "value": "555-0101"}, {"type": "Mobile Phone", "value": "555-0100"})
    path = "contactIndividuals[id=10].contactMethods[type=Mobile Phone,value=555-0100]"
    for platform, crm in ((adder, mover), (mover, adder)):
        result = merge3(base, platform, crm, only(Rule.CRM), platform_modified=AFTER_ALL)
        assert [(c.path, c.rule) for c in result.conflicts] == [(path, "duplicate-natural-key")]
        sent = [c for c in result.to_crm + result.to_platform if c.kind == "add"]
        assert sent == []
        moves = [c.path for c in result.to_crm + result.to_platform]
        assert moves == ["contactIndividuals[id=10].contactMethods[id=100].value"]
