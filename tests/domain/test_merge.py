"""Three-way merge: one test per case of the decision tables, then the invariants."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path as FsPath
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncengine.domain.diff import (
    MAP_ARRAYS,
    FieldChange,
    Slot,
    SlotKind,
    align,
    apply_changes,
    diff,
)
from syncengine.domain.merge import Conflict, Resolution, Side, merge3
from syncengine.domain.policy import FieldRule, MergePolicy, Rule, policy_from_mapping
from syncengine.domain.ports import Record
from syncengine.domain.schema import ARRAY_IDENTITY, SET
from tests.domain.strategies import (
    contacts,
    edited_contacts,
    merge_scenarios,
    objects_in,
    property_examples,
)

DATA = FsPath(__file__).resolve().parent.parent / "data"

PROPERTY = settings(
    max_examples=property_examples(), deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

METHOD = "contactIndividuals[id=2].contactMethods[id=2081]"
PHONE = "contactIndividuals[id=2].contactMethods[id=2082]"

# contact.json's stamps: contact 2023-11-30T14:20:56.353, address .3533333,
# individual .3533333, method 2081 .37; the phone added below .4.
BEFORE_ALL = datetime(2023, 11, 30, 14, 0, tzinfo=UTC)
AFTER_ALL = datetime(2023, 12, 1, tzinfo=UTC)


def fixture_contact() -> Record:
    record: Record = json.loads((DATA / "contact.json").read_text())
    record["contactIndividuals"][0]["contactMethods"].append(
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
    record["tags"] = ["Gala 2024", "Newsletter"]
    record["customFields"] = [
        {"name": "Shirt Size", "value": None, "displayName": "Shirt Size"},
    ]
    return record


def three() -> tuple[Record, Record, Record]:
    return fixture_contact(), fixture_contact(), fixture_contact()


def methods(record: Record) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = record["contactIndividuals"][0]["contactMethods"]
    return result


def method(record: Record, method_id: int) -> dict[str, Any]:
    return next(m for m in methods(record) if m.get("id") == method_id)


def only(policy_rule: Rule, **kwargs: Any) -> MergePolicy:
    return MergePolicy(default=policy_rule, **kwargs)


# -- leaves: one test per branch of ``_Merger.leaf`` -----------------------------------------


def test_field_the_platform_does_not_carry_is_left_to_the_crm() -> None:
    base, platform, crm = three()
    del platform["description"]
    crm["description"] = "Met at the gala"
    result = merge3(base, platform, crm)
    assert result.in_sync
    assert result.merged["description"] == "Met at the gala"


def test_field_changed_alike_on_both_sides_is_agreed_without_writes() -> None:
    base, platform, crm = three()
    platform["name"] = "New Name"
    crm["name"] = " New Name "  # as the server stored it: the same value
    result = merge3(base, platform, crm)
    assert result.in_sync and not result.resolutions
    assert result.merged == crm


def test_field_changed_only_in_crm_reaches_the_platform() -> None:
    base, platform, crm = three()
    crm["address"]["city"] = "Portland"
    result = merge3(base, platform, crm)
    assert result.to_platform == [FieldChange("address.city", "set", None, "Portland")]
    assert result.to_crm == [] and result.merged == crm


def test_field_changed_only_on_the_platform_goes_to_the_crm() -> None:
    base, platform, crm = three()
    platform["name"] = "Renamed"
    result = merge3(base, platform, crm)
    assert result.to_crm == [FieldChange("name", "set", "Test Contact", "Renamed")]
    assert result.to_platform == []
    assert result.merged["name"] == "Renamed"


@pytest.mark.parametrize(
    ("rule", "chosen", "to_crm", "to_platform"),
    [
        (Rule.PLATFORM, "P", [FieldChange("name", "set", "C", "P")], []),
        (Rule.CRM, "C", [], [FieldChange("name", "set", "P", "C")]),
    ],
)
def test_field_changed_differently_follows_the_fields_rule_and_is_recorded(
    rule: Rule, chosen: str, to_crm: list[FieldChange], to_platform: list[FieldChange]
) -> None:
    base, platform, crm = three()
    platform["name"], crm["name"] = "P", "C"
    result = merge3(base, platform, crm, only(rule))
    assert result.to_crm == to_crm and result.to_platform == to_platform
    assert result.merged["name"] == chosen
    winner: Side = "platform" if rule is Rule.PLATFORM else "crm"
    assert result.resolutions == [
        Resolution("name", "Test Contact", "P", "C", chosen, rule, winner)
    ]


def test_manual_keeps_the_crm_value_writes_nothing_and_opens_a_conflict() -> None:
    base, platform, crm = three()
    platform["name"], crm["name"] = "P", "C"
    result = merge3(base, platform, crm, only(Rule.MANUAL), platform_modified=AFTER_ALL)
    assert result.to_crm == [] and result.to_platform == [] and result.resolutions == []
    assert result.merged["name"] == "C"
    (conflict,) = result.conflicts
    assert conflict == Conflict(
        path="name",
        base="Test Contact",
        platform="P",
        crm="C",
        platform_modified=AFTER_ALL,
        crm_modified=datetime(2023, 11, 30, 14, 20, 56, 353000, tzinfo=UTC),
        suggestion="P",  # what newest would pick
        rule="manual",
        suggested_side="platform",
    )


def test_policy_lines_are_globs_and_the_first_match_wins() -> None:
    base, platform, crm = three()
    platform["name"], crm["name"] = "P", "C"
    platform["address"]["city"], crm["address"]["city"] = "Pcity", "Ccity"
    method(platform, 2081)["value"], method(crm, 2081)["value"] = "p@x.org", "c@x.org"
    policy = policy_from_mapping(
        [
            ("address.*", "crm"),
            ("contactIndividuals[*].contactMethods[*].value", "platform"),
            ("*", "manual"),
            ("address.city", "platform"),  # never reached: address.* matched first
        ],
        default="crm",
    )
    result = merge3(base, platform, crm, policy)
    assert {r.path: r.winner for r in result.resolutions} == {
        "address.city": "crm",
        f"{METHOD}.value": "platform",
    }
    assert [c.path for c in result.conflicts] == ["name"]


def test_a_policy_swapped_exchanges_the_sides_and_nothing_else() -> None:
    policy = MergePolicy(
        default=Rule.CRM,
        rules=(FieldRule("name", Rule.PLATFORM), FieldRule("address.*", Rule.NEWEST)),
        tie_breaker=Rule.PLATFORM,
        managed=("name",),
    )
    assert policy.swapped() == MergePolicy(
        default=Rule.PLATFORM,
        rules=(FieldRule("name", Rule.CRM), FieldRule("address.*", Rule.NEWEST)),
        tie_breaker=Rule.CRM,
        managed=("name",),
    )


def test_a_policy_from_config_refuses_an_unknown_rule() -> None:
    with pytest.raises(ValueError, match="latest"):
        policy_from_mapping([("name", "latest")])


# -- newest ----------------------------------------------------------------------------------


def test_newest_uses_the_smallest_enclosing_item_with_a_stamp() -> None:
    base, platform, crm = three()
    # The platform changed at 14:20:56.38: after the contact (.353) and method 2081 (.37),
    # before the phone (.4).
    moment = datetime(2023, 11, 30, 14, 20, 56, 380000, tzinfo=UTC)
    platform["name"], crm["name"] = "P", "C"
    method(platform, 2081)["value"], method(crm, 2081)["value"] = "p@x.org", "c@x.org"
    method(platform, 2082)["value"], method(crm, 2082)["value"] = "555-0001", "555-0002"
    result = merge3(base, platform, crm, only(Rule.NEWEST), platform_modified=moment)
    assert {r.path: (r.winner, r.rule) for r in result.resolutions} == {
        "name": ("platform", Rule.NEWEST),
        f"{METHOD}.value": ("platform", Rule.NEWEST),
        f"{PHONE}.value": ("crm", Rule.NEWEST),
    }


def test_newest_falls_back_to_the_enclosing_individual_then_the_contact() -> None:
    base, platform, crm = three()
    for record in (base, platform, crm):
        del method(record, 2081)["modifiedDateTimeUtc"]
        record["contactIndividuals"][0]["modifiedDateTimeUtc"] = "2024-01-01T00:00:00"
    method(platform, 2081)["value"], method(crm, 2081)["value"] = "p@x.org", "c@x.org"
    platform["name"], crm["name"] = "P", "C"
    result = merge3(base, platform, crm, only(Rule.NEWEST), platform_modified=AFTER_ALL)
    # Newer than the contact, older than the individual (2024) holding the method.
    assert {r.path: r.winner for r in result.resolutions} == {
        "name": "platform",
        f"{METHOD}.value": "crm",
    }


def test_newest_compares_to_the_crms_100_nanosecond_tick() -> None:
    base, platform, crm = three()
    crm["modifiedDateTimeUtc"] = "2024-01-01T00:00:00.0000001"
    platform["name"], crm["name"] = "P", "C"
    exactly = datetime(2024, 1, 1, tzinfo=UTC)
    result = merge3(base, platform, crm, only(Rule.NEWEST), platform_modified=exactly)
    assert result.resolutions[0].winner == "crm"


def test_crm_stamps_are_read_in_the_policys_zone() -> None:
    base, platform, crm = three()
    platform["name"], crm["name"] = "P", "C"
    moment = datetime(2023, 11, 30, 16, 0, tzinfo=UTC)  # 14:20 in UTC is before it...
    in_utc = merge3(base, platform, crm, only(Rule.NEWEST), platform_modified=moment)
    assert in_utc.resolutions[0].winner == "platform"
    minus_five = timezone(timedelta(hours=-5))  # ...14:20 at UTC-5 is 19:20 UTC, after it
    zoned = merge3(
        base, platform, crm, only(Rule.NEWEST, zone=minus_five), platform_modified=moment
    )
    assert zoned.resolutions[0].winner == "crm"


def test_a_naive_platform_time_is_read_as_utc() -> None:
    base, platform, crm = three()
    platform["name"], crm["name"] = "P", "C"
    naive = datetime(2023, 12, 1)
    result = merge3(base, platform, crm, only(Rule.NEWEST), platform_modified=naive)
    assert result.resolutions[0].winner == "platform"


@pytest.mark.parametrize("platform_modified", [None, datetime(2023, 11, 30, 14, 20, 56, 353000)])
def test_newest_that_cannot_tell_uses_the_tie_breaker(platform_modified: datetime | None) -> None:
    base, platform, crm = three()
    platform["name"], crm["name"] = "P", "C"
    by_crm = merge3(
        base,
        platform,
        crm,
        only(Rule.NEWEST, tie_breaker=Rule.CRM),
        platform_modified=platform_modified,
    )
    assert [(r.winner, r.rule) for r in by_crm.resolutions] == [("crm", Rule.CRM)]
    held = merge3(base, platform, crm, only(Rule.NEWEST), platform_modified=platform_modified)
    assert [(c.rule, c.suggestion, c.suggested_side) for c in held.conflicts] == [
        ("newest", None, None)
    ]


def test_newest_cannot_be_its_own_tie_breaker() -> None:
    with pytest.raises(ValueError, match="tie_breaker"):
        MergePolicy(tie_breaker=Rule.NEWEST)


# -- array items: one test per branch of ``_Merger.item`` ------------------------------------


def test_array_the_platform_does_not_carry_is_left_to_the_crm() -> None:
    base, platform, crm = three()
    del platform["contactIndividuals"]
    crm["contactIndividuals"] = []
    result = merge3(base, platform, crm)
    assert result.in_sync and result.merged["contactIndividuals"] == []


def test_item_on_every_side_merges_its_fields() -> None:
    base, platform, crm = three()
    method(platform, 2081)["isOptedIn"] = True
    method(crm, 2081)["value"] = "new@test.com"
    result = merge3(base, platform, crm)
    assert result.to_crm == [FieldChange(f"{METHOD}.isOptedIn", "set", False, True)]
    assert result.to_platform == [
        FieldChange(f"{METHOD}.value", "set", "email@test.com", "new@test.com")
    ]
    assert method(result.merged, 2081)["isOptedIn"] is True


def test_item_added_on_both_sides_with_one_natural_key_is_one_item() -> None:
    base, platform, crm = three()
    methods(platform).append({"type": "Home Email", "value": "h@x.org", "isOptedIn": True})
    methods(crm).append(
        {
            "id": 3001,
            "type": "Home Email",
            "value": "h@x.org",
            "isOptedIn": False,
            "modifiedDateTimeUtc": "2024-02-01T00:00:00",
        }
    )
    result = merge3(base, platform, crm, only(Rule.NEWEST), platform_modified=AFTER_ALL)
    assert result.to_crm == []
    # The platform names its item by natural key: it has no id for it yet.
    assert result.to_platform == [
        FieldChange(
            "contactIndividuals[id=2].contactMethods[type=Home Email,value=h@x.org].isOptedIn",
            "set",
            True,
            False,
        )
    ]
    (resolution,) = result.resolutions
    assert resolution.path == "contactIndividuals[id=2].contactMethods[id=3001].isOptedIn"
    assert not resolution.has_base and resolution.winner == "crm"  # the method is newer
    assert len(methods(result.merged)) == 3


def test_item_added_on_the_platform_is_added_to_the_crm() -> None:
    base, platform, crm = three()
    new = {"type": "Home Email", "value": "h@x.org", "isOptedIn": True}
    methods(platform).insert(0, new)
    result = merge3(base, platform, crm)
    path = "contactIndividuals[id=2].contactMethods[type=Home Email,value=h@x.org]"
    assert result.to_crm == [FieldChange(path, "add", None, new)]
    assert methods(result.merged)[-1] == new


def test_item_added_in_the_crm_reaches_the_platform() -> None:
    base, platform, crm = three()
    new = {"id": 3001, "type": "Home Email", "value": "h@x.org", "isOptedIn": True}
    methods(crm).append(new)
    result = merge3(base, platform, crm)
    assert result.to_platform == [
        FieldChange("contactIndividuals[id=2].contactMethods[id=3001]", "add", None, new)
    ]


def test_item_removed_on_the_platform_and_untouched_in_the_crm_is_removed() -> None:
    base, platform, crm = three()
    removed = methods(platform).pop(1)
    crm["name"] = "Edited elsewhere in the record"  # not inside the item: no conflict
    result = merge3(base, platform, crm)
    assert result.to_crm == [FieldChange(PHONE, "remove", removed, None)]
    assert [m["id"] for m in methods(result.merged)] == [2081]


def test_item_removed_in_the_crm_and_untouched_on_the_platform_is_removed_there() -> None:
    base, platform, crm = three()
    removed = methods(crm).pop(1)
    result = merge3(base, platform, crm)
    assert result.to_platform == [FieldChange(PHONE, "remove", removed, None)]
    assert result.to_crm == []


def test_item_removed_on_the_platform_and_edited_in_the_crm_is_a_conflict() -> None:
    base, platform, crm = three()
    methods(platform).pop(1)
    method(crm, 2082)["value"] = "555-999-0000"
    method(crm, 2082)["modifiedDateTimeUtc"] = "2024-03-01T00:00:00"
    result = merge3(base, platform, crm, only(Rule.PLATFORM), platform_modified=AFTER_ALL)
    assert result.to_crm == [] and result.to_platform == []
    (conflict,) = result.conflicts
    assert (conflict.path, conflict.rule, conflict.suggested_side) == (
        PHONE,
        "removed-vs-edited",
        "crm",
    )
    assert conflict.platform is None and conflict.crm == method(crm, 2082)
    assert conflict.crm_modified == datetime(2024, 3, 1, tzinfo=UTC)
    assert method(result.merged, 2082)["value"] == "555-999-0000"  # nothing lost


def test_item_removed_in_the_crm_and_edited_on_the_platform_is_a_conflict() -> None:
    base, platform, crm = three()
    methods(crm).pop(1)
    method(platform, 2082)["isOptedIn"] = False
    result = merge3(base, platform, crm, only(Rule.CRM))
    assert result.to_crm == [] and result.to_platform == []
    (conflict,) = result.conflicts
    assert (conflict.path, conflict.rule, conflict.suggestion) == (
        PHONE,
        "removed-vs-edited",
        method(platform, 2082),
    )


def test_individual_removed_while_one_of_its_methods_was_edited_is_a_conflict() -> None:
    base, platform, crm = three()
    platform["contactIndividuals"] = []
    method(crm, 2081)["value"] = "changed@test.com"
    result = merge3(base, platform, crm)
    assert [(c.path, c.rule) for c in result.conflicts] == [
        ("contactIndividuals[id=2]", "removed-vs-edited")
    ]
    assert result.to_crm == []


def test_item_removed_on_both_sides_is_simply_gone() -> None:
    base, platform, crm = three()
    methods(platform).pop(1)
    methods(crm).pop(1)
    result = merge3(base, platform, crm)
    assert result.in_sync


# -- set members: one test per branch of ``_Merger.member`` ----------------------------------


def test_tags_merge_as_sets() -> None:
    base, platform, crm = three()
    platform["tags"] = ["Gala 2024", "Board"]  # removed Newsletter, added Board
    crm["tags"] = ["Newsletter", "Gala 2024", "Lapsed", "Board"]  # added Lapsed and Board
    result = merge3(base, platform, crm)
    assert result.to_crm == [FieldChange("tags[=Newsletter]", "remove", "Newsletter", None)]
    assert result.to_platform == [FieldChange("tags[=Lapsed]", "add", None, "Lapsed")]
    assert sorted(result.merged["tags"]) == ["Board", "Gala 2024", "Lapsed"]


def test_tag_removed_in_the_crm_is_removed_on_the_platform_and_added_tags_go_over() -> None:
    base, platform, crm = three()
    crm["tags"] = ["Gala 2024"]
    platform["tags"] = ["Gala 2024", "Newsletter", "Board"]
    result = merge3(base, platform, crm)
    assert result.to_platform == [FieldChange("tags[=Newsletter]", "remove", "Newsletter", None)]
    assert result.to_crm == [FieldChange("tags[=Board]", "add", None, "Board")]


# -- managed fields --------------------------------------------------------------------------


def test_only_managed_fields_are_taken_from_and_sent_to_the_platform() -> None:
    base, platform, crm = three()
    platform["name"] = "Platform rename"  # not managed: ignored
    platform["address"]["city"] = "Portland"  # managed
    crm["description"] = "CRM note"  # not managed: the platform is not told
    crm["customFields"][0]["value"] = "XL"  # managed: the platform is told
    policy = MergePolicy(managed=("address.*", "customFields[name=Shirt Size].value"))
    result = merge3(base, platform, crm, policy)
    assert result.to_crm == [FieldChange("address.city", "set", None, "Portland")]
    assert result.to_platform == [
        FieldChange("customFields[name=Shirt Size].value", "set", None, "XL")
    ]
    assert result.merged["name"] == "Test Contact"


def test_a_custom_field_the_crm_does_not_list_is_added_to_the_merged_record() -> None:
    base, platform, crm = three()
    platform["customFields"].append({"name": "Board Role", "value": "Chair"})
    result = merge3(base, platform, crm)
    assert result.to_crm == [
        FieldChange("customFields[name=Board Role].value", "set", None, "Chair")
    ]
    assert {"name": "Board Role", "value": "Chair"} in result.merged["customFields"]


def test_the_merged_record_keeps_unknown_and_read_only_keys_of_the_crm() -> None:
    base, platform, crm = three()
    crm["futureKey"] = {"kept": True}
    platform["name"] = "Renamed"
    platform["giftAskAmount"] = "$1"  # read-only: never taken from the platform
    result = merge3(base, platform, crm)
    assert result.merged["futureKey"] == {"kept": True}
    assert result.merged["giftAskAmount"] == "$1,200"
    assert result.merged["modifiedDateTimeUtc"] == crm["modifiedDateTimeUtc"]


# -- first sync ------------------------------------------------------------------------------


def test_first_sync_agrees_on_equal_fields_and_resolves_the_others_by_policy() -> None:
    _, platform, crm = three()
    platform["name"] = "Platform"
    platform["description"] = "only on the platform"
    crm["address"]["city"] = "Portland"
    result = merge3(
        None, platform, crm, only(Rule.NEWEST, tie_breaker=Rule.CRM), platform_modified=AFTER_ALL
    )
    assert {(r.path, r.winner, r.has_base) for r in result.resolutions} == {
        ("name", "platform", False),
        ("description", "platform", False),  # null in the CRM: still a difference
        ("address.city", "platform", False),  # platform (Dec 1) newer than the address
    }
    assert result.conflicts == []


def test_first_sync_keeps_items_found_on_either_side() -> None:
    _, platform, crm = three()
    methods(platform).pop(1)
    methods(platform).append({"type": "Home Email", "value": "h@x.org"})
    platform["tags"] = ["Board"]
    result = merge3(None, platform, crm, only(Rule.MANUAL))
    assert [(c.kind, c.path) for c in result.to_crm] == [
        ("add", "contactIndividuals[id=2].contactMethods[type=Home Email,value=h@x.org]"),
        ("add", "tags[=Board]"),
    ]
    assert [(c.kind, c.path) for c in result.to_platform] == [
        ("add", PHONE),
        ("add", "tags[=Gala 2024]"),
        ("add", "tags[=Newsletter]"),
    ]


def test_first_sync_with_manual_opens_a_conflict_per_differing_field() -> None:
    _, platform, crm = three()
    platform["name"] = "Platform"
    result = merge3(None, platform, crm, only(Rule.MANUAL))
    assert [(c.path, c.has_base, c.base) for c in result.conflicts] == [("name", False, None)]


# -- open conflicts across runs --------------------------------------------------------------


def test_an_open_conflict_is_held_until_the_sides_agree() -> None:
    base, platform, crm = three()
    platform["name"], crm["name"] = "P", "C"
    first = merge3(base, platform, crm, only(Rule.MANUAL))
    open_paths = [c.path for c in first.conflicts]
    # Next run: the mirror took the CRM value; the platform still has its own.
    again = merge3(
        first.merged, platform, first.merged, only(Rule.PLATFORM), open_conflicts=open_paths
    )
    assert again.to_crm == [] and [(c.path, c.rule) for c in again.conflicts] == [("name", "held")]
    # A person set the platform to the CRM value: the conflict is gone.
    settled = copy.deepcopy(platform)
    settled["name"] = "C"
    done = merge3(first.merged, settled, first.merged, open_conflicts=open_paths)
    assert done.in_sync


def test_an_open_removed_vs_edited_conflict_is_held_too() -> None:
    base, platform, crm = three()
    methods(platform).pop(1)
    method(crm, 2082)["value"] = "555-999-0000"
    first = merge3(base, platform, crm)
    open_paths = [c.path for c in first.conflicts]
    again = merge3(first.merged, platform, first.merged, open_conflicts=open_paths)
    assert again.to_crm == [] and [c.rule for c in again.conflicts] == ["held"]


# -- properties ------------------------------------------------------------------------------


@PROPERTY
@given(st.data())
def test_unchanged_platform_leaves_the_crm_record_as_it_is(data: st.DataObject) -> None:
    base = data.draw(contacts())
    crm = data.draw(edited_contacts(base, side="crm"))
    result = merge3(base, copy.deepcopy(base), crm)
    assert result.merged == crm
    assert result.to_crm == [] and result.conflicts == []
    # And the platform is told exactly what changed in the CRM.
    assert diff(apply_changes(base, result.to_platform), crm) == []


@PROPERTY
@given(st.data())
def test_unchanged_crm_receives_exactly_the_platforms_changes(data: st.DataObject) -> None:
    base = data.draw(contacts())
    platform = data.draw(edited_contacts(base, side="platform"))
    result = merge3(base, platform, copy.deepcopy(base))
    assert result.to_crm == diff(base, platform)
    assert result.to_platform == [] and result.conflicts == []
    assert diff(result.merged, platform) == []


@PROPERTY
@given(st.data())
def test_merging_a_version_with_itself_is_that_version(data: st.DataObject) -> None:
    base = data.draw(contacts())
    both = data.draw(edited_contacts(base, side=data.draw(st.sampled_from(["platform", "crm"]))))
    result = merge3(base, copy.deepcopy(both), both)
    assert result.merged == both
    assert result.in_sync and result.resolutions == []


_side_rules = st.sampled_from([Rule.CRM, Rule.PLATFORM, Rule.MANUAL])
_globs = st.sampled_from(["name", "address.*", "contactIndividuals[*]*", "customFields*", "*value"])
symmetric_policies = st.builds(
    lambda default, lines: MergePolicy(default=default, rules=tuple(lines)),
    _side_rules,
    st.lists(st.builds(FieldRule, _globs, _side_rules), max_size=3),
)


@PROPERTY
@given(merge_scenarios(), symmetric_policies)
def test_swapping_the_sides_swaps_the_outcome(
    scenario: tuple[Record, Record, Record], policy: MergePolicy
) -> None:
    base, platform, crm = scenario
    there = merge3(base, platform, crm, policy)
    back = merge3(base, crm, platform, policy.swapped())
    assert there.to_crm == back.to_platform
    assert there.to_platform == back.to_crm
    assert [c.path for c in there.conflicts] == [c.path for c in back.conflicts]
    assert [(r.path, r.chosen) for r in there.resolutions] == [
        (r.path, r.chosen) for r in back.resolutions
    ]
    if not there.conflicts:
        # The same content, whichever record the merged one was built from.
        assert diff(there.merged, back.merged) == [] and diff(back.merged, there.merged) == []


@PROPERTY
@given(
    merge_scenarios(),
    st.sampled_from(list(Rule)),
    st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))),
    st.booleans(),
)
def test_no_value_comes_from_nowhere(
    scenario: tuple[Record, Record, Record],
    rule: Rule,
    platform_modified: datetime | None,
    first_sync: bool,
) -> None:
    # Each array item carries a key of its own saying where it came from (an unknown key,
    # like CRM+'s future ones: aligned with nothing, carried with the item).
    scenario_base, platform, crm = (
        origins(r, side) for r, side in zip(scenario, "bpc", strict=True)
    )
    base = None if first_sync else scenario_base
    result = merge3(base, platform, crm, only(rule), platform_modified=platform_modified)
    platform_after = apply_changes(platform, result.to_platform)
    for outcome in (result.merged, platform_after):
        assert unsourced_values(outcome, base, platform, crm) == []


ORIGIN = "x_testOrigin"
# Arrays whose items are things with an identity (not set members, not custom fields).
_ITEM_ARRAYS = frozenset(
    name for name, keys in ARRAY_IDENTITY.items() if keys != SET and name not in MAP_ARRAYS
)


def origins(record: Record, side: str) -> Record:
    """A copy of ``record`` whose array items each hold ``ORIGIN``: ``side`` and a number."""
    tagged = copy.deepcopy(record)
    count = 0
    for obj in objects_in(tagged):
        for key, value in obj.items():
            if key in _ITEM_ARRAYS and isinstance(value, list):
                for item in value:
                    if isinstance(item, dict):
                        count += 1
                        item[ORIGIN] = f"{side}{count}"
    return tagged


def unsourced_values(
    outcome: Record, base: Record | None, platform: Record, crm: Record
) -> list[tuple[str, Any]]:
    """The leaves and set members of ``outcome`` (a merge's merged record, or the platform
    with ``to_platform`` applied) that no version the merge read holds at the same field
    OF THE SAME ITEM, as ``(path, value)`` (the path as ``outcome`` names it).

    The versions' array items carry ``ORIGIN`` (``origins``), and so do the outcome's,
    each the one of the item it was made from (the CRM's or the platform's own, or one
    the other side added). That item stands for the whole slot the merge aligned it in
    (base, CRM+ and platform items the merge took for one): a value of the outcome's item
    must be one of the slot's values at the same field, and the item must be in the
    array its slot is in (a method under the person it came from). Above and outside
    items, fields are named by their keys alone.

    The check used to align all five records at once, merged first (``leaf_values(merged,
    updated, base, platform, crm)``): the base, no longer first, then voted for an id-less
    platform item as a current version does; where both sides had renamed the base's
    person and added a new one of its old name, the item matched nothing, and the value
    the merge rightly took from CRM+'s new person (the one it matched) read as coming from
    nowhere (soak, seed 7). Aligning the outcome after the three, in the merge's order,
    is no better: the outcome votes too, and an id-less item it holds can take an id its
    platform original could not (soak, seed 2026). With no base (a first sync) the merge
    reads none, so no value may come from it."""
    merge_slots = align([base, crm, platform])
    sources = range(3)
    slot_of: dict[Any, Slot] = {}
    for slot in merge_slots.walk():
        if slot.kind is SlotKind.ITEM:
            for v in sources:
                if slot.present[v]:
                    slot_of.setdefault(slot.raw[v].get(ORIGIN), slot)
    found: list[tuple[str, Any]] = []

    def held(slot: Slot | None, value: Any) -> bool:
        return slot is not None and any(slot.present[v] and slot.raw[v] == value for v in sources)

    def visit(mine: Slot, theirs: Slot | None) -> None:
        for child in mine.children.values():
            if not child.present[0]:
                continue  # a field the outcome lacks (its slot is made for every field)
            if child.kind is SlotKind.ITEM:
                item = child.raw[0]
                origin = slot_of.get(item.get(ORIGIN))
                if origin is None or origin.parent is not theirs:
                    found.append((child.path, item))  # from nowhere, or from another array
                elif child.repeats is not None or origin.repeats is not None:
                    # One of two items under one identity: written nowhere, so as it was.
                    if not held(origin, item):
                        found.append((child.path, item))
                else:
                    visit(child, origin)
                continue
            counterpart = theirs.children.get(child.key) if theirs is not None else None
            if child.kind in (SlotKind.LEAF, SlotKind.MEMBER):
                if not held(counterpart, child.raw[0]):
                    found.append((child.path, child.raw[0]))
            else:
                visit(child, counterpart)

    visit(align([outcome]), merge_slots)
    return found


def test_a_value_of_the_crm_item_an_id_less_platform_item_was_matched_to_is_sourced() -> None:
    """Seed 7 of the soak, by hand. Both sides renamed person 2 and added a new person of
    its old name, the platform without an id: the two new ones are one person (the
    current versions name the key; the base's use of it is the past), whose fields merge
    with no base. ``crm`` gives the platform CRM+'s passion for that person: a value
    CRM+ holds, at that very person, not one from nowhere."""
    base, platform, crm = three()
    for side in (platform, crm):
        side["contactIndividuals"][0]["firstName"] = "Tess"
    platform["contactIndividuals"].append(
        {"firstName": "Test", "lastName": "Individual", "passion": None}
    )
    crm["contactIndividuals"].append(
        {"id": 3, "firstName": "Test", "lastName": "Individual", "passion": "Literacy"}
    )
    base, platform, crm = (
        origins(r, side) for r, side in zip((base, platform, crm), "bpc", strict=True)
    )
    result = merge3(base, platform, crm, only(Rule.CRM))
    assert result.to_crm == [] and result.conflicts == []
    new_person = "contactIndividuals[firstName=Test,lastName=Individual]"
    assert result.to_platform == [FieldChange(f"{new_person}.passion", "set", None, "Literacy")]
    platform_after = apply_changes(platform, result.to_platform)
    assert unsourced_values(result.merged, base, platform, crm) == []
    assert unsourced_values(platform_after, base, platform, crm) == []
    # Still a check: a value nobody holds, or one taken from another item, is reported.
    platform_after["contactIndividuals"][1]["passion"] = "Music"
    platform_after["contactIndividuals"][0]["passion"] = "Literacy"  # person 3's, not 2's
    assert unsourced_values(platform_after, base, platform, crm) == [
        ("contactIndividuals[id=2].passion", "Literacy"),
        (f"{new_person}.passion", "Music"),
    ]


def test_a_new_platform_item_is_checked_against_itself_not_the_base_item_of_its_name() -> None:
    """Seed 2026 of the soak, by hand: the platform renamed person 2, which CRM+ removed
    (a conflict), and added a new person of 2's old name. The new one cannot be 2 (the
    platform holds 2), so it is added to CRM+ without an id. Aligned beside the three,
    the merged record (which lacks 2) would let that item take 2's id from the base and
    judge its passion by 2's: its values are checked against the item it came from."""
    base, platform, crm = three()
    platform["contactIndividuals"][0]["firstName"] = "Tess"
    platform["contactIndividuals"].append(
        {"firstName": "Test", "lastName": "Individual", "passion": "Music"}
    )
    crm["contactIndividuals"] = []
    base, platform, crm = (origins(base, "b"), origins(platform, "p"), origins(crm, "c"))
    result = merge3(base, platform, crm, only(Rule.CRM))
    assert [(c.kind, c.path) for c in result.to_crm] == [
        ("add", "contactIndividuals[firstName=Test,lastName=Individual]")
    ]
    assert [(c.path, c.rule) for c in result.conflicts] == [
        ("contactIndividuals[id=2]", "removed-vs-edited")
    ]
    assert unsourced_values(result.merged, base, platform, crm) == []


@PROPERTY
@given(merge_scenarios(), st.sampled_from(list(Rule)))
def test_merge_then_merge_again_changes_nothing_more(
    scenario: tuple[Record, Record, Record], rule: Rule
) -> None:
    base, platform, crm = scenario
    first = merge3(base, platform, crm, only(rule), platform_modified=AFTER_ALL)
    # What the engine does next: PUT merged (the mirror becomes it), update the platform.
    platform_after = apply_changes(platform, first.to_platform)
    again = merge3(
        first.merged,
        platform_after,
        first.merged,
        only(rule),
        platform_modified=AFTER_ALL,
        open_conflicts=[c.path for c in first.conflicts],
    )
    assert again.to_crm == [] and again.to_platform == []
    assert {c.path for c in again.conflicts} == {c.path for c in first.conflicts}


@PROPERTY
@given(st.data())
def test_reordering_arrays_on_one_side_is_never_a_change(data: st.DataObject) -> None:
    base = data.draw(contacts())
    platform = copy.deepcopy(base)
    platform["contactIndividuals"].reverse()
    for person in platform["contactIndividuals"]:
        person["contactMethods"].reverse()
    platform["tags"].reverse()
    platform["customFields"].reverse()
    assert merge3(base, platform, copy.deepcopy(base)).in_sync


@PROPERTY
@given(
    contacts().filter(lambda c: any(p["contactMethods"] for p in c["contactIndividuals"])),
    st.data(),
)
def test_removed_vs_edited_is_always_a_conflict(base: Record, data: st.DataObject) -> None:
    platform, crm = copy.deepcopy(base), copy.deepcopy(base)
    people = [i for i, p in enumerate(base["contactIndividuals"]) if p["contactMethods"]]
    who = data.draw(st.sampled_from(people))
    which = data.draw(st.integers(0, len(base["contactIndividuals"][who]["contactMethods"]) - 1))
    remover, editor = data.draw(st.permutations([platform, crm]))
    del remover["contactIndividuals"][who]["contactMethods"][which]
    edited = editor["contactIndividuals"][who]["contactMethods"][which]
    edited["isOptedIn"] = not edited["isOptedIn"]
    path = (
        f"contactIndividuals[id={base['contactIndividuals'][who]['id']}]"
        f".contactMethods[id={edited['id']}]"
    )
    result = merge3(base, platform, crm, only(data.draw(st.sampled_from(list(Rule)))))
    assert [(c.path, c.rule) for c in result.conflicts] == [(path, "removed-vs-edited")]
    assert result.to_crm == [] and result.to_platform == []


@PROPERTY
@given(st.data())
def test_first_sync_of_identical_records_is_in_sync(data: st.DataObject) -> None:
    record = data.draw(contacts())
    assert merge3(None, copy.deepcopy(record), record).in_sync


@PROPERTY
@given(merge_scenarios(), st.sampled_from([Rule.CRM, Rule.PLATFORM]))
def test_first_sync_records_every_difference_it_resolves(
    scenario: tuple[Record, Record, Record], rule: Rule
) -> None:
    _, platform, crm = scenario
    result = merge3(None, platform, crm, only(rule))
    assert all(not r.has_base and r.rule is rule for r in result.resolutions)
    # With no base nobody can be said to have changed a field alone: every value written
    # either way is a recorded resolution (items found on one side only are a union).
    sets = [c for c in result.to_crm + result.to_platform if c.kind == "set"]
    assert len(sets) == len(result.resolutions)
    assert sorted(map(repr, (c.new for c in sets))) == sorted(
        map(repr, (r.chosen for r in result.resolutions))
    )
