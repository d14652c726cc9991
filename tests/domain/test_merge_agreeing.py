"""``merge3``'s shortcut for two sides that agree: whenever it takes it (every field the
platform holds is CRM+'s value, items in order with CRM+'s ids), the full merge of the
same versions finds nothing either, whatever the base and the policy."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from syncengine.domain.merge import merge3, merge_all
from syncengine.domain.policy import Rule
from syncengine.domain.ports import Record
from syncengine.domain.schema import ARRAY_IDENTITY
from tests.domain.strategies import contacts, edited_contacts
from tests.domain.test_merge import AFTER_ALL, PROPERTY, only

IDENTITY_KEYS = {key for keys in ARRAY_IDENTITY.values() for key in keys}


def projection(value: Any, draw: st.DrawFn) -> Any:
    """``value`` with keys dropped at random at every depth (never an item's identity:
    ``ARRAY_IDENTITY``): what a platform that manages only some fields holds."""
    if isinstance(value, dict):
        kept = {}
        for key, inner in value.items():
            if key in IDENTITY_KEYS or draw(st.booleans()):
                kept[key] = projection(inner, draw)
        return kept
    if isinstance(value, list):
        return [projection(item, draw) for item in value]
    return copy.deepcopy(value)


@st.composite
def agreeing(draw: st.DrawFn) -> tuple[Record | None, Record, Record]:
    crm = draw(contacts())
    base = draw(st.none() | edited_contacts(crm))
    return base, projection(crm, draw), crm


@PROPERTY
@given(agreeing(), st.sampled_from(list(Rule)))
def test_sides_that_agree_need_nothing_whatever_the_base(
    versions: tuple[Record | None, Record, Record], rule: Rule
) -> None:
    base, platform, crm = versions
    policy = only(rule)
    quick = merge3(base, platform, crm, policy, platform_modified=AFTER_ALL)
    full = merge_all(base, platform, crm, policy, AFTER_ALL, ())
    assert quick.in_sync and full.in_sync, (full.to_crm, full.to_platform, full.conflicts)
    assert quick.merged == full.merged == crm
    assert quick == full


def test_the_merged_record_of_sides_that_agree_is_a_copy() -> None:
    """Made when first read (no sync reads it), it is still the merge's own record."""
    crm = {"id": 1, "name": "The Lee Household", "tags": ["Donor"]}
    result = merge3(None, {"name": "The Lee Household"}, crm)
    assert result.in_sync
    merged = result.merged
    assert merged == crm and merged is not crm and merged["tags"] is not crm["tags"]
    merged["tags"].append("Volunteer")
    assert crm["tags"] == ["Donor"] and result.merged is merged


@PROPERTY
@given(contacts().flatmap(lambda crm: st.tuples(st.just(crm), edited_contacts(crm))))
def test_sides_that_differ_get_the_full_merge(versions: tuple[Record, Record]) -> None:
    crm, platform = versions
    quick = merge3(crm, platform, crm, platform_modified=AFTER_ALL)
    full = merge_all(crm, platform, crm, None, AFTER_ALL, ())
    assert (quick.to_crm, quick.to_platform, quick.conflicts) == (
        full.to_crm,
        full.to_platform,
        full.conflicts,
    )
    assert quick.merged == full.merged
