"""Seed data: the format, its parser, and the deterministic default organisation.

A seed is the sandbox's raw state as JSON, which is the GET shape with two additions:
``{"customFieldDefinitions": {"Contact": [{"name", "displayName"}], "ContactIndividual": [...]},
"contacts": [<GET-shaped Contact> + optional "isArchived" and "contactAddresses" (every
address; without it, ``address`` is the only one)]}``. So records captured from a real
organisation (like ``virtuous-fixtures/contact.json``) can be seeded as they are; a bare
list of contacts, or one contact, is accepted too. Missing keys are blank, missing ids
are allocated, custom fields found on records but not defined are defined from them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syncengine.domain.ports import Record
from syncengine.errors import UsageError
from syncengine.sandbox.records import CUSTOM_FIELDS, CustomFieldDef, from_wire
from syncengine.sandbox.store import CUSTOM_FIELD_OWNERS

SeedData = dict[str, Any]

SHOWCASE_CONTACT_ID = 4821
SEED_USER = "Seed Import"


class SeedError(UsageError):
    """Seed data that cannot be loaded (names what is wrong)."""


@dataclass(frozen=True)
class Seed:
    contacts: list[Record]  # stored form
    custom_fields: dict[str, list[CustomFieldDef]]


def load_seed_file(path: Path | str) -> SeedData:
    """Read a seed file (JSON)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SeedError(f"cannot read seed file {path}: {exc}") from exc
    return _as_seed_data(data)


def parse_seed(data: Any) -> Seed:
    """Seed data -> stored records and custom field definitions."""
    data = _as_seed_data(data)
    try:
        definitions = _definitions(data)
        contacts = [from_wire("Contact", contact) for contact in data.get("contacts", [])]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise SeedError(f"invalid seed data: {exc!r}") from exc
    return Seed(contacts, definitions)


def _as_seed_data(data: Any) -> SeedData:
    if isinstance(data, list):
        return {"contacts": data}
    if isinstance(data, dict) and "contacts" not in data and "customFieldDefinitions" not in data:
        return {"contacts": [data]}  # one captured GET response
    if isinstance(data, dict) and isinstance(data.get("contacts", []), list):
        return data
    raise SeedError("seed data must be an object with a 'contacts' array, or a list of contacts")


def _definitions(data: SeedData) -> dict[str, list[CustomFieldDef]]:
    declared = data.get("customFieldDefinitions") or {}
    found: dict[str, dict[str, CustomFieldDef]] = {owner: {} for owner in CUSTOM_FIELD_OWNERS}
    for owner in CUSTOM_FIELD_OWNERS:
        for item in declared.get(owner, []):
            _define(found[owner], item["name"], item.get("displayName"))
    for contact in data.get("contacts", []):
        _discover(found["Contact"], contact.get(CUSTOM_FIELDS))
        for individual in contact.get("contactIndividuals") or []:
            _discover(found["ContactIndividual"], individual.get(CUSTOM_FIELDS))
    return {owner: list(defs.values()) for owner, defs in found.items()}


def _discover(found: dict[str, CustomFieldDef], listed: Any) -> None:
    if isinstance(listed, dict):
        listed = [{"name": name} for name in listed]
    for item in listed or []:
        _define(found, item["name"], item.get("displayName"))


def _define(found: dict[str, CustomFieldDef], name: str, display_name: str | None) -> None:
    if not isinstance(name, str) or not name:
        raise SeedError(f"a custom field needs a name, got {name!r}")
    found.setdefault(name, CustomFieldDef(name, display_name or name))


# -- the default organisation --------------------------------------------------------------


def default_seed() -> SeedData:
    """Eight contacts built from the fixture shapes; 4821 (a household) is the showcase.

    Households have two individuals with emails and phones, a primary and a seasonal
    address; custom fields are partly unset; 4822 is archived. Deterministic: the same
    data on every call.
    """
    return {
        "customFieldDefinitions": {
            "Contact": [
                {"name": "Shirt Size", "displayName": "Shirt Size"},
                {"name": "Volunteer Interest", "displayName": "Volunteer Interest"},
                {"name": "Preferred Channel", "displayName": "Preferred Channel"},
            ],
            "ContactIndividual": [],
        },
        # Custom collections (syncengine/sandbox/collection_defs.py); no instances seeded.
        "customCollectionDefinitions": {
            "Contact": [_collection(101, "Volunteer Shifts", "Role", "Hours", "Date")],
            "ContactIndividual": [_collection(201, "Certifications", "Name", "Expires")],
        },
        "contacts": [
            _household(
                4817,
                "Alvarez",
                ("Maria", "Jorge"),
                "Portland",
                "OR",
                "97201",
                "01-15",
                custom=("L", None, "Email"),
                tags=("Monthly Donor",),
            ),
            _household(
                4818,
                "Okafor",
                ("Ada", "Chidi"),
                "Des Moines",
                "IA",
                "50309",
                "02-03",
                custom=(None, "Food Pantry", None),
                groups=("Volunteers",),
            ),
            _household(
                4819,
                "Lindqvist",
                ("Sofia", "Erik"),
                "Minneapolis",
                "MN",
                "55401",
                "02-20",
                custom=("S", None, "Phone"),
                reference="PP-10019",
            ),
            _household(
                4820,
                "Nakamura",
                ("Aiko", "Kenji"),
                "Seattle",
                "WA",
                "98101",
                "03-01",
                custom=(None, None, None),
            ),
            _household(
                4821,
                "Whitfield",
                ("Eleanor", "Thomas"),
                "Boulder",
                "CO",
                "80302",
                "03-12",
                custom=("M", "Gala Committee", None),
                reference="PP-10021",
                tags=("Major Donor", "Gala 2024"),
                groups=("Board Prospects",),
            ),
            _household(
                4822,
                "Brennan",
                ("Siobhan", "Patrick"),
                "Albany",
                "NY",
                "12207",
                "03-20",
                custom=(None, None, "Mail"),
                archived=True,
            ),
            _organisation(
                4823,
                "Foundation",
                "Riverside Community Foundation",
                ("Grace", "Liu"),
                "Sacramento",
                "CA",
                "95814",
                "03-22",
            ),
            _organisation(
                4824,
                "Organization",
                "Harbor Light Books",
                ("Samuel", "Osei"),
                "Providence",
                "RI",
                "02903",
                "04-02",
            ),
        ],
    }


def _collection(collection_id: int, name: str, *fields: str) -> Record:
    return {
        "customCollectionId": collection_id,
        "name": name,
        "fields": [{"name": f, "dataType": "Text"} for f in fields],
    }


# Ids read at a glance: contact 4821 has individuals 48211 and 48212, their methods
# 482111..482113 and 482121.., addresses 48215 (primary) and 48216 (seasonal).


def _stamp(day: str, contact_id: int, step: int = 0) -> str:
    # Varied fraction digits, as the live API renders them (".34", ".3533333").
    fractions = ("", ".34", ".3533333", ".277", ".5")
    return (
        f"2024-{day}T14:{20 + step:02d}:{contact_id % 60:02d}{fractions[(contact_id + step) % 5]}"
    )


def _audit(day: str, contact_id: int, step: int = 0) -> Record:
    created = f"2023-11-30T14:20:{contact_id % 60:02d}.2933333"
    return {
        "createDateTimeUtc": created,
        "createdByUser": SEED_USER,
        "modifiedDateTimeUtc": _stamp(day, contact_id, step),
        "modifiedByUser": SEED_USER,
    }


def _individual(
    contact_id: int, slot: int, first: str, last: str, day: str, birth_year: int | None
) -> Record:
    base = contact_id * 10 + slot
    email = f"{first}.{last}@example.org".lower()
    methods = [
        {
            "id": base * 10 + 1,
            "type": "Home Email",
            "value": email,
            "isOptedIn": True,
            "isPrimary": True,
            "canBePrimary": False,
            **_audit(day, contact_id),
        },
        {
            "id": base * 10 + 2,
            "type": "Mobile Phone",
            "value": f"555-01{contact_id % 100:02d}{slot}",
            "isOptedIn": False,
            "isPrimary": slot == 1,
            "canBePrimary": slot != 1,
            **_audit(day, contact_id),
        },
    ]
    if slot == 1:
        methods.append(
            {
                "id": base * 10 + 3,
                "type": "Work Email",
                "value": f"{first[0]}{last}@work.example.com".lower(),
                "isOptedIn": False,
                "isPrimary": False,
                "canBePrimary": True,
                **_audit(day, contact_id),
            }
        )
    return {
        "id": base,
        "prefix": ("Mrs", "Mr")[slot - 1] if slot <= 2 else None,
        "firstName": first,
        "lastName": last,
        "gender": ("Female", "Male")[slot - 1],
        "isPrimary": slot == 1,
        "canBePrimary": slot != 1,
        "isSecondary": slot == 2,
        "canBeSecondary": slot != 2,
        "birthMonth": 4 + slot if birth_year else None,
        "birthDay": 17 if birth_year else None,
        "birthYear": birth_year,
        "isDeceased": False,
        "deceasedDate": "",
        "contactMethods": methods,
        "customFields": [],
        "customCollections": [],
        **_audit(day, contact_id, slot),
    }


def _addresses(contact_id: int, city: str, state: str, postal: str, day: str) -> list[Record]:
    home = {
        "id": contact_id * 10 + 5,
        "label": "Home",
        "address1": f"{contact_id % 1000} Elm Street",
        "address2": None,
        "city": city,
        "state": state,
        "postal": postal,
        "country": "United States",
        "isPrimary": True,
        "canBePrimary": False,
        "startMonth": 1,
        "startDay": 1,
        "endMonth": 12,
        "endDay": 31,
        **_audit(day, contact_id),
    }
    winter = {
        "id": contact_id * 10 + 6,
        "label": "Winter",
        "address1": "88 Gulf Shore Blvd",
        "address2": f"Unit {contact_id % 100}",
        "city": "Naples",
        "state": "FL",
        "postal": "34102",
        "country": "United States",
        "isPrimary": False,
        "canBePrimary": True,
        "startMonth": 1,
        "startDay": 1,
        "endMonth": 3,
        "endDay": 31,
        **_audit(day, contact_id),
    }
    return [home, winter]


def _contact(contact_id: int, contact_type: str, name: str, day: str) -> Record:
    return {
        "id": contact_id,
        "contactType": contact_type,
        "isPrivate": False,
        "name": name,
        "informalName": name,
        "formalContactName": name,
        "alternateContactName": None,
        "preferredSalutationName": name,
        "preferredAddresseeName": name,
        "giftAskAmount": "$250",
        "lifeToDateGiving": f"${contact_id % 7 * 1250:,}",
        "yearToDateGiving": "$0",
        "lastGiftAmount": "$0",
        "lastGiftDate": "Unavailable",
        "customCollections": [],
        **_audit(day, contact_id),
    }


def _household(
    contact_id: int,
    surname: str,
    first_names: tuple[str, str],
    city: str,
    state: str,
    postal: str,
    day: str,
    *,
    custom: tuple[str | None, str | None, str | None],
    reference: str | None = None,
    tags: tuple[str, ...] = (),
    groups: tuple[str, ...] = (),
    archived: bool = False,
) -> Record:
    contact = _contact(contact_id, "Household", f"The {surname} Household", day)
    names = ("Shirt Size", "Volunteer Interest", "Preferred Channel")
    contact.update(
        informalName=f"{first_names[0]} & {first_names[1]}",
        formalContactName=f"Mr. and Mrs. {first_names[1]} {surname}",
        contactIndividuals=[
            _individual(contact_id, 1, first_names[0], surname, day, 1956 + contact_id % 20),
            _individual(contact_id, 2, first_names[1], surname, day, None),
        ],
        contactAddresses=_addresses(contact_id, city, state, postal, day),
        contactReferences=[{"source": "PartnerPlatform", "id": reference}] if reference else [],
        tags=list(tags),
        organizationGroups=list(groups),
        customFields=[
            {"name": n, "value": v, "displayName": n} for n, v in zip(names, custom, strict=True)
        ],
        isArchived=archived,
    )
    return contact


def _organisation(
    contact_id: int,
    contact_type: str,
    name: str,
    person: tuple[str, str],
    city: str,
    state: str,
    postal: str,
    day: str,
) -> Record:
    contact = _contact(contact_id, contact_type, name, day)
    contact.update(
        website=f"https://{name.lower().replace(' ', '')}.example.org",
        contactIndividuals=[_individual(contact_id, 1, person[0], person[1], day, None)],
        contactAddresses=_addresses(contact_id, city, state, postal, day)[:1],
        contactReferences=[{"source": "PartnerPlatform", "id": f"PP-{contact_id + 5200}"}],
    )
    return contact
