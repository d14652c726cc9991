"""Stored records -> the exact JSON the live API sends (the shapes of virtuous-fixtures/)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from syncengine.domain.ports import Record
from syncengine.domain.schema import Field, Kind, shape_of
from syncengine.sandbox.records import (
    ADDRESSES,
    ARCHIVED,
    ARCHIVED_ADDRESSES,
    CONTACT_URLS,
    CUSTOM_FIELDS,
    INTERNAL_KEYS,
    CustomFieldDef,
    is_stored_date,
    primary_address,
)
from syncengine.sandbox.timefmt import render_mdy, render_timestamp

# Two read-only booleans of the Contact that real clients read and the schema does not
# know: ``isCurrentUserFollowing`` (in a live response recorded in chrispymm/virtuouscrm,
# typed in virtuous-ts) is about the calling user, and the API user follows no contact;
# ``nameFieldsLocked`` (read beside the name fields by a public Fivetran connector) is a
# record flag the sandbox has no behaviour behind. Writes ignore both (they are not in
# the schema); a value a seed brings is served instead of the default.
VIEWER_FIELDS: Mapping[str, Any] = {"isCurrentUserFollowing": False, "nameFieldsLocked": False}


@dataclass(frozen=True)
class View:
    """What rendering needs besides the record: the org's custom fields and today's date."""

    custom_fields: Mapping[str, Sequence[CustomFieldDef]]
    today: date


def render_contact(contact: Record, view: View) -> Record:
    """The GET /api/Contact/{id} body: ``address`` is the primary address only."""
    primary = primary_address(contact)
    derived: Record = {
        "address": None if primary is None else render_address(primary, contact["id"], True),
        **{key: template.format(id=contact["id"]) for key, template in CONTACT_URLS.items()},
        "contactIndividuals": [
            render_individual(individual, contact["id"], view)
            for individual in contact["contactIndividuals"]
        ],
        CUSTOM_FIELDS: _custom_fields("Contact", contact, view),
    }
    rendered = _render("Contact", contact, derived)
    for key, default in VIEWER_FIELDS.items():
        rendered.setdefault(key, default)
    return rendered


def render_raw_contact(contact: Record, view: View) -> Record:
    """The GET shape plus what the API hides: the archived flag and every address, the
    archived ones apart (listed only if there are any, so the raw view of a contact that
    never had one is as it always was). This is also the seed format: a raw state loads
    back as it is."""
    raw = render_contact(contact, view)
    raw[ARCHIVED] = contact[ARCHIVED]
    raw[ADDRESSES] = [render_address(a, contact["id"]) for a in contact[ADDRESSES]]
    if contact[ARCHIVED_ADDRESSES]:
        raw[ARCHIVED_ADDRESSES] = [
            render_address(a, contact["id"]) for a in contact[ARCHIVED_ADDRESSES]
        ]
    return raw


def render_individual(individual: Record, contact_id: int, view: View) -> Record:
    month, day, year = (individual.get(k) for k in ("birthMonth", "birthDay", "birthYear"))
    derived: Record = {
        "contactId": contact_id,
        "birthDate": f"{month}/{day}/{year}" if None not in (month, day, year) else "",
        "approximateAge": _approximate_age(month, day, year, view.today),
        "contactMethods": [_render("ContactMethod", m, {}) for m in individual["contactMethods"]],
        CUSTOM_FIELDS: _custom_fields("ContactIndividual", individual, view),
    }
    return _render("ContactIndividual", individual, derived)


def render_address(address: Record, contact_id: int, embedded: bool = False) -> Record:
    rendered = _render("ContactAddress", address, {"contactId": contact_id})
    if embedded:
        # The address inside a Contact carries no contactId in the recorded response.
        del rendered["contactId"]
    return rendered


def _render(shape: str, record: Record, derived: Record) -> Record:
    out: Record = {}
    for key, field in shape_of(shape).items():
        out[key] = derived[key] if key in derived else _wire_value(field, record.get(key))
    for key, value in record.items():
        # Keys the schema does not know came with seed data: served back as they came.
        if key not in out and key not in INTERNAL_KEYS:
            out[key] = copy.deepcopy(value)
    return out


def _wire_value(field: Field, value: Any) -> Any:
    if field.kind is Kind.TIMESTAMP and isinstance(value, int):
        return render_timestamp(value)
    if field.kind is Kind.DATE:
        if value is None:
            return ""
        return render_mdy(date.fromisoformat(value)) if is_stored_date(value) else value
    return copy.deepcopy(value)


def _custom_fields(shape: str, record: Record, view: View) -> list[Record]:
    values = record.get(CUSTOM_FIELDS) or {}
    return [
        {"name": d.name, "value": copy.deepcopy(values.get(d.name)), "displayName": d.display_name}
        for d in view.custom_fields.get(shape, ())
    ]


def _approximate_age(month: Any, day: Any, year: Any, today: date) -> int | None:
    if year is None:
        return None
    before_birthday = (
        month is not None and day is not None and (today.month, today.day) < (month, day)
    )
    return int(today.year - year - (1 if before_birthday else 0))
