"""Properties of projection, overlay and the adapters, over generated CRM+ contacts."""

import copy
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncengine.domain.fieldmap import Direction, FieldMap
from syncengine.domain.ports import Record
from syncengine.local import FilesPlatform, MemoryPlatform
from syncengine.local.overlay import overlay
from tests.domain.strategies import contacts, edited_contacts

# Contacts are big to generate: fewer examples than Hypothesis' default, and no deadline.
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PATTERNS = (
    "name",
    "description",
    "address.*",
    "address",
    "contactIndividuals[*].firstName",
    "contactIndividuals[*].contactMethods[*].value",
    "contactIndividuals[*].contactMethods[*]",
    "contactIndividuals",
    "customFields[name=Shirt Size].value",
    "customFields[*]",
    "tags[*]",
    "x_unknownFutureKey",
)


@st.composite
def field_maps(draw: st.DrawFn) -> FieldMap:
    patterns = draw(st.lists(st.sampled_from(PATTERNS), unique=True, max_size=6))
    return FieldMap.from_rules(
        [{"path": p, "direction": draw(st.sampled_from(list(Direction)))} for p in patterns]
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Record, Record, FieldMap]:
    """(the platform's stored copy, a CRM-side version of it, the field rules)."""
    stored = draw(contacts())
    crm = draw(edited_contacts(stored, side="crm", noise=False))
    return stored, crm, draw(field_maps())


@PROPERTY
@given(scenarios())
def test_overlaying_a_record_with_itself_changes_nothing(
    scenario: tuple[Record, Record, FieldMap],
) -> None:
    stored, _, _ = scenario

    assert overlay(stored, stored) == stored


@PROPERTY
@given(scenarios())
def test_overlaying_twice_is_overlaying_once(scenario: tuple[Record, Record, FieldMap]) -> None:
    stored, crm, fields = scenario
    given_fields = fields.project(crm, to_platform=True)

    once = overlay(stored, given_fields)

    assert overlay(once, given_fields) == once


@PROPERTY
@given(scenarios())
def test_an_overlay_loses_no_key_and_shows_every_given_top_level_value(
    scenario: tuple[Record, Record, FieldMap],
) -> None:
    stored, crm, fields = scenario
    given_fields = fields.project(crm, to_platform=True)

    result = overlay(stored, given_fields)

    assert set(stored) <= set(result)
    for key, value in given_fields.items():
        if not isinstance(value, dict | list):
            assert result[key] == value


@PROPERTY
@given(scenarios(), st.booleans())
def test_a_projection_is_stable(
    scenario: tuple[Record, Record, FieldMap], to_platform: bool
) -> None:
    stored, _, fields = scenario
    projected = fields.project(stored, to_platform=to_platform)

    assert fields.project(projected, to_platform=to_platform) == projected


@PROPERTY
@given(scenarios())
def test_the_files_adapter_and_its_memory_twin_store_the_same_record(
    scenario: tuple[Record, Record, FieldMap],
) -> None:
    stored, crm, fields = scenario
    contact_id = stored["id"]
    given_fields = fields.project(crm, to_platform=True)
    memory = MemoryPlatform()
    with tempfile.TemporaryDirectory() as folder:
        files = FilesPlatform(Path(folder))
        results: list[Any] = []
        for platform in (memory, files):
            created = platform.save(contact_id, copy.deepcopy(stored), expected_modified=None)
            platform.save(contact_id, given_fields, expected_modified=created.modified_at)
            got = platform.get(contact_id)
            assert got is not None
            results.append(got.record)

    assert results[0] == results[1] == overlay(stored, given_fields)
