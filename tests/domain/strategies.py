"""Hypothesis strategies for realistic CRM+ Contact records, built from the fixture shapes.

Reusable by every property test that needs contacts (diff, merge, plan, push):

- ``contacts()``: a full ``GET /api/Contact/{id}`` body: every known key present, read-only
  and audit fields filled, ids unique across the record, custom fields listed for every
  org-defined name (``value: null`` when unset), CRM-style timestamps (no zone, 0-7
  fraction digits).
- ``edited_contacts(contact, side=...)``: the same contact after some edits by one side:
  leaf edits, items added/removed/reordered, tags and groups changed, custom field
  values set or cleared, plus "noise" that is NOT a change (surrounding whitespace, ""
  for null, state-code case, natural types written as strings by the platform). A CRM
  edit gives new items server ids and bumps ``modifiedDateTimeUtc``; a platform edit
  leaves new items without ``id`` (they are matched by natural key).
- ``merge_scenarios()``: ``(base, platform, crm)`` with both sides edited independently.
- ``change_sets(contact)``: the ``FieldChange`` list turning ``contact`` into one edit of it.

Everything here is deterministic given Hypothesis' draws: no ``random``, no clock.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from syncengine.domain.diff import FieldChange, diff
from syncengine.domain.ports import Record

# Org-defined vocabularies: small on purpose, so that two independent edits often touch
# the same item or field and the interesting merge cases (both changed, removed vs
# edited, added twice with one natural key) come up without millions of examples.
CUSTOM_FIELD_NAMES = ("Shirt Size", "Volunteer Since", "Preferred Pronouns", "Board Role")
INDIVIDUAL_CUSTOM_FIELD_NAMES = ("Dietary Needs", "T-Shirt")
TAG_NAMES = ("Gala 2024", "Major Donor", "Newsletter", "Board", "Volunteer", "Lapsed")
GROUP_NAMES = ("Friends of the Library", "Capital Campaign", "Alumni")
METHOD_TYPES = ("Home Email", "Work Email", "Mobile Phone", "Home Phone", "Work Phone")
REFERENCE_SOURCES = ("portal", "events", "legacy")
FIRST_NAMES = ("Ana", "Ben", "Chloé", "Dmitri", "Eve", "Farid", "Grace", "Hiro")
LAST_NAMES = ("Okafor", "Smith", "Nguyen", "García", "Müller", "O'Brien")
STREETS = ("Elm", "Oak", "Main")
CITIES = ("Springfield", "Portland", "Austin", "Des Moines", None)
STATES = ("CA", "OR", "TX", "IA", "NY", "", None)
COUNTRIES = ("United States", "Canada", "", None)
CONTACT_TYPES = ("Household", "Organization", "Foundation")

_EPOCH = datetime(2023, 1, 1, 9, 0, 0)


# -- scalars -----------------------------------------------------------------------------


def crm_timestamps(min_value: datetime = _EPOCH) -> st.SearchStrategy[str]:
    """A CRM+ timestamp: no zone suffix, 0 to 7 fraction digits, as the API renders them."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        moment = draw(st.datetimes(min_value=min_value, max_value=min_value + timedelta(days=900)))
        digits = draw(st.integers(0, 7))
        text = moment.strftime("%Y-%m-%dT%H:%M:%S")
        if digits:
            # 7 digits (100 ns ticks) is what .NET renders; Python has 6: pad with a tick.
            fraction = f"{moment.microsecond:06d}{draw(st.integers(0, 9))}"[:digits]
            text += "." + fraction
        return text

    return build()


def _words(pool: tuple[str | None, ...]) -> st.SearchStrategy[str | None]:
    return st.sampled_from(pool)


_free_text = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "N", "Zs"), exclude_characters="\x00"),
    max_size=12,
).map(lambda s: s.strip() or "x")
# A value distinct after normalisation is what an edit needs; short words give collisions
# between the two sides (same value chosen independently), which the merge must also see.
_values = st.one_of(st.sampled_from(("Alpha", "Beta", "Gamma", "Delta")), _free_text)


def _email(draw: st.DrawFn) -> str:
    user = draw(st.sampled_from(("ana", "ben", "info", "donor", "x.y")))
    host = draw(st.sampled_from(("test.com", "example.org", "mail.net")))
    return f"{user}{draw(st.integers(0, 99))}@{host}"


def _phone(draw: st.DrawFn) -> str:
    return f"555-{draw(st.integers(100, 999))}-{draw(st.integers(1000, 9999))}"


def _method_value(draw: st.DrawFn, method_type: str) -> str:
    return _email(draw) if "Email" in method_type else _phone(draw)


# -- ids ---------------------------------------------------------------------------------


class _Ids:
    """Hands out ids unique within one record (the server's ids are global integers)."""

    def __init__(self, start: int) -> None:
        self._next = start

    def __call__(self) -> int:
        self._next += 1
        return self._next


def objects_in(node: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in ``node``, each before those it holds. A caller may change an
    object's children (not its own keys) before the walk reaches them."""
    if isinstance(node, dict):
        yield node
        for child in list(node.values()):
            yield from objects_in(child)
    elif isinstance(node, list):
        for child in node:
            yield from objects_in(child)


def _max_id(record: Record) -> int:
    """The largest integer id anywhere in the record, so new server ids never collide."""
    ids = (obj.get("id") for obj in objects_in(record))
    return max((i for i in ids if isinstance(i, int) and not isinstance(i, bool)), default=0)


# -- shapes ------------------------------------------------------------------------------


def _audit(draw: st.DrawFn) -> dict[str, Any]:
    created = draw(crm_timestamps())
    return {
        "createDateTimeUtc": created,
        "createdByUser": "Test User",
        "modifiedDateTimeUtc": draw(crm_timestamps()),
        "modifiedByUser": draw(st.sampled_from(("Test User", "API", "Jane Admin"))),
    }


def _custom_fields(draw: st.DrawFn, names: tuple[str, ...]) -> list[dict[str, Any]]:
    # Every org-defined field is listed, ``value: null`` when unset, as the GET shows them.
    return [
        {"name": name, "value": draw(st.one_of(st.none(), _values)), "displayName": name}
        for name in names
    ]


def _method(draw: st.DrawFn, method_id: int | None, taken: set[tuple[str, str]]) -> Record:
    for _ in range(20):
        method_type = draw(st.sampled_from(METHOD_TYPES))
        value = _method_value(draw, method_type)
        if (method_type, value) not in taken:
            break
    taken.add((method_type, value))
    method: Record = {
        "type": method_type,
        "value": value,
        "isOptedIn": draw(st.booleans()),
        "isPrimary": False,
        "canBePrimary": draw(st.booleans()),
    }
    if method_id is not None:
        method = {"id": method_id, **method, **_audit(draw)}
    return method


def _individual(
    draw: st.DrawFn, ids: _Ids | None, contact_id: int | None, taken: set[tuple[str, str]]
) -> Record:
    for _ in range(20):
        first, last = draw(st.sampled_from(FIRST_NAMES)), draw(st.sampled_from(LAST_NAMES))
        if (first, last) not in taken:
            break
    taken.add((first, last))
    method_keys: set[tuple[str, str]] = set()
    methods = [
        _method(draw, ids() if ids else None, method_keys) for _ in range(draw(st.integers(0, 3)))
    ]
    if methods:
        methods[0]["isPrimary"] = True
    birth_year = draw(st.one_of(st.none(), st.integers(1930, 2010)))
    individual: Record = {
        "prefix": draw(_words(("Mr", "Ms", "Dr", None))),
        "prefix2": None,
        "firstName": first,
        "middleName": draw(_words((None, "J", "Marie"))),
        "lastName": last,
        "preMarriageName": None,
        "suffix": draw(_words((None, "Jr", "III"))),
        "nickname": None,
        "gender": draw(_words(("Male", "Female", None))),
        "isPrimary": False,
        "canBePrimary": draw(st.booleans()),
        "isSecondary": False,
        "canBeSecondary": draw(st.booleans()),
        "birthMonth": 9 if birth_year else None,
        "birthDay": 4 if birth_year else None,
        "birthYear": birth_year,
        "birthDate": f"9/4/{birth_year}" if birth_year else "",
        "approximateAge": (2024 - birth_year) if birth_year else None,
        "isDeceased": draw(st.booleans()),
        "deceasedDate": "",
        "passion": draw(_words((None, "Literacy", "Music"))),
        "avatarUrl": None,
        "contactMethods": methods,
        "customFields": _custom_fields(draw, INDIVIDUAL_CUSTOM_FIELD_NAMES),
        "customCollections": [],
    }
    if ids is not None:
        individual = {"id": ids(), "contactId": contact_id, **individual, **_audit(draw)}
    return individual


def _address(draw: st.DrawFn, address_id: int, contact_id: int) -> Record:
    return {
        "id": address_id,
        "contactId": contact_id,
        "label": draw(_words(("Home", "Work", "Test address", None))),
        "address1": f"{draw(st.integers(1, 999))} {draw(st.sampled_from(STREETS))} St",
        "address2": draw(_words((None, "Apt 2", ""))),
        "city": draw(_words(CITIES)),
        "state": draw(_words(STATES)),
        "postal": draw(_words(("97201", "50309", None))),
        "country": draw(_words(COUNTRIES)),
        "isPrimary": True,
        "canBePrimary": False,
        "startMonth": 1,
        "startDay": 1,
        "endMonth": 12,
        "endDay": 31,
        **_audit(draw),
    }


@st.composite
def contacts(
    draw: st.DrawFn, *, max_individuals: int = 3, with_address: bool | None = None
) -> Record:
    """A full CRM+ Contact as ``GET /api/Contact/{id}`` returns it (see contact.json)."""
    contact_id = draw(st.integers(1, 10_000))
    ids = _Ids(contact_id * 1000)
    name_keys: set[tuple[str, str]] = set()
    individuals = [
        _individual(draw, ids, contact_id, name_keys)
        for _ in range(draw(st.integers(0, max_individuals)))
    ]
    if individuals:
        individuals[0]["isPrimary"] = True
    has_address = draw(st.booleans()) if with_address is None else with_address
    name = draw(st.sampled_from(("Test Contact", "The Okafor Household", "Acme Foundation")))
    return {
        "id": contact_id,
        "contactType": draw(st.sampled_from(CONTACT_TYPES)),
        "isPrivate": draw(st.booleans()),
        "name": name,
        "informalName": name,
        "formalContactName": name,
        "alternateContactName": draw(_words((None, name))),
        "preferredSalutationName": name,
        "preferredAddresseeName": name,
        "description": draw(_words((None, "Met at the gala", ""))),
        "website": draw(_words((None, "https://example.org"))),
        "maritalStatus": draw(_words((None, "Married", "Single"))),
        "anniversaryMonth": None,
        "anniversaryDay": None,
        "anniversaryYear": draw(st.one_of(st.none(), st.integers(1960, 2020))),
        "mergedIntoContactId": None,
        "address": _address(draw, ids(), contact_id) if has_address else None,
        "giftAskAmount": draw(st.sampled_from(("$1,200", "$0", "$50"))),
        "giftAskType": None,
        "lifeToDateGiving": "$0",
        "yearToDateGiving": "$0",
        "lastGiftAmount": "$0",
        "lastGiftDate": draw(st.sampled_from(("Unavailable", "3/14/2023"))),
        "contactIndividuals": individuals,
        "contactGiftsUrl": f"/api/Gift/ByContact/{contact_id}",
        "contactNotesUrl": f"/api/ContactNote/ByContact/{contact_id}",
        "contactTagsUrl": f"/api/ContactTag/ByContact/{contact_id}",
        "primaryAvatarUrl": None,
        "contactReferences": draw(
            st.lists(
                st.builds(
                    lambda source, ref: {"source": source, "id": str(ref)},
                    st.sampled_from(REFERENCE_SOURCES),
                    st.integers(1, 60),
                ),
                max_size=2,
                unique_by=lambda r: (r["source"], r["id"]),
            )
        ),
        "originSegmentId": None,
        "originSegment": None,
        "tags": draw(st.lists(st.sampled_from(TAG_NAMES), max_size=3, unique=True)),
        "organizationGroups": draw(st.lists(st.sampled_from(GROUP_NAMES), max_size=2, unique=True)),
        "customFields": _custom_fields(draw, CUSTOM_FIELD_NAMES),
        "customCollections": [],
        # An org-specific key the schema does not know: it must survive every merge.
        "x_unknownFutureKey": {"kept": True},
        **_audit(draw),
    }


# -- edits -------------------------------------------------------------------------------

_CONTACT_TEXT = ("name", "description", "website", "maritalStatus", "informalName")
_INDIVIDUAL_TEXT = ("firstName", "middleName", "lastName", "nickname", "gender", "passion")
_ADDRESS_TEXT = ("address1", "address2", "city", "postal", "label")


def _noise(draw: st.DrawFn, value: Any) -> Any:
    """A different spelling of the same value, which normalisation must not see as a change."""
    if value is None:
        return draw(st.sampled_from((None, "", "  ")))
    if isinstance(value, str):
        return draw(st.sampled_from((value, f" {value}", f"{value}  ")))
    return value


def _edit_leaf(draw: st.DrawFn, item: Record, key: str, *, bool_field: bool = False) -> None:
    if bool_field:
        item[key] = not item.get(key)
    else:
        item[key] = draw(st.one_of(st.none(), _values))


def _edit_methods(
    draw: st.DrawFn, individual: Record, new_id: Callable[[], int | None], stamp: str | None
) -> None:
    methods: list[Record] = individual.get("contactMethods") or []
    for method in list(methods):
        action = draw(st.sampled_from(("keep", "keep", "value", "optin", "remove", "noise")))
        if action == "value":
            method["value"] = _method_value(draw, str(method["type"]))
        elif action == "optin":
            method["isOptedIn"] = not method["isOptedIn"]
        elif action == "remove":
            methods.remove(method)
            continue
        elif action == "noise":
            method["value"] = _noise(draw, method["value"])
            continue
        if action != "keep" and stamp is not None:
            method["modifiedDateTimeUtc"] = stamp
    if draw(st.integers(0, 3)) == 0:
        taken = {(str(m.get("type")), str(m.get("value"))) for m in methods}
        method_id = new_id()
        method = _method(draw, method_id, taken)
        if stamp is not None and method_id is not None:
            method["modifiedDateTimeUtc"] = stamp
        methods.append(method)
    if len(methods) > 1 and draw(st.booleans()):
        # Reordering is never a change: arrays are matched by identity.
        methods.reverse()
    individual["contactMethods"] = methods


def _edit_custom_fields(draw: st.DrawFn, fields: list[Record]) -> None:
    for custom in fields:
        action = draw(st.sampled_from(("keep", "keep", "keep", "set", "clear")))
        if action == "set":
            custom["value"] = draw(_values)
        elif action == "clear":
            custom["value"] = None


def _edit_set(draw: st.DrawFn, members: list[str], pool: tuple[str, ...]) -> list[str]:
    kept = [m for m in members if draw(st.integers(0, 3)) != 0]
    added = draw(st.lists(st.sampled_from(pool), max_size=2, unique=True))
    return kept + [m for m in added if m not in kept]


@st.composite
def edited_contacts(
    draw: st.DrawFn,
    contact: Record,
    *,
    side: str = "platform",
    structural: bool = True,
    noise: bool = True,
) -> Record:
    """``contact`` after one side's edits (a deep copy: ``contact`` is not touched).

    ``side="crm"``: new items get server ids and edited items a later
    ``modifiedDateTimeUtc``, as a real CRM+ write does. ``side="platform"``: new items
    have no id. ``structural=False`` keeps every array's membership (leaf edits only);
    ``noise=False`` leaves out equivalent re-spellings.
    """
    if side not in ("platform", "crm"):
        raise ValueError(side)
    record = copy.deepcopy(contact)
    ids = _Ids(_max_id(contact) + draw(st.integers(1, 50)))
    is_crm = side == "crm"
    stamp = draw(crm_timestamps(min_value=_EPOCH + timedelta(days=1000))) if is_crm else None

    def new_id() -> int | None:
        return ids() if is_crm else None

    touched_contact = False
    for key in _CONTACT_TEXT:
        if draw(st.integers(0, 4)) == 0:
            _edit_leaf(draw, record, key)
            touched_contact = True
        elif noise and draw(st.integers(0, 4)) == 0:
            record[key] = _noise(draw, record[key])
    if draw(st.integers(0, 5)) == 0:
        record["isPrivate"] = not record["isPrivate"]
        touched_contact = True
    if noise and not is_crm and draw(st.integers(0, 5)) == 0 and record["anniversaryYear"]:
        # A spec-generated client writes integers as strings: the same value.
        record["anniversaryYear"] = str(record["anniversaryYear"])

    address = record.get("address")
    if isinstance(address, dict):
        for key in _ADDRESS_TEXT:
            if draw(st.integers(0, 4)) == 0:
                _edit_leaf(draw, address, key)
                if stamp is not None:
                    address["modifiedDateTimeUtc"] = stamp
        if noise and isinstance(address.get("state"), str) and draw(st.booleans()):
            # Server normalisation of state codes is not a change.
            address["state"] = address["state"].lower()

    individuals: list[Record] = record["contactIndividuals"]
    for individual in list(individuals):
        if structural and len(individuals) > 1 and draw(st.integers(0, 5)) == 0:
            individuals.remove(individual)
            continue
        changed = False
        for key in _INDIVIDUAL_TEXT:
            if draw(st.integers(0, 5)) == 0:
                _edit_leaf(draw, individual, key)
                changed = True
        if draw(st.integers(0, 6)) == 0:
            individual["isDeceased"] = not individual["isDeceased"]
            changed = True
        if structural:
            _edit_methods(draw, individual, new_id, stamp)
        else:
            for method in individual["contactMethods"]:
                if draw(st.integers(0, 3)) == 0:
                    method["value"] = _method_value(draw, str(method["type"]))
        _edit_custom_fields(draw, individual["customFields"])
        if changed and stamp is not None:
            individual["modifiedDateTimeUtc"] = stamp
    if structural and draw(st.integers(0, 4)) == 0:
        taken = {(str(i.get("firstName")), str(i.get("lastName"))) for i in individuals}
        individuals.append(
            _individual(draw, ids if is_crm else None, record.get("id") if is_crm else None, taken)
        )
    if len(individuals) > 1 and draw(st.booleans()):
        individuals.reverse()

    _edit_custom_fields(draw, record["customFields"])
    if structural:
        record["tags"] = _edit_set(draw, record["tags"], TAG_NAMES)
        record["organizationGroups"] = _edit_set(draw, record["organizationGroups"], GROUP_NAMES)
        if draw(st.integers(0, 4)) == 0:
            source, ref = draw(st.sampled_from(REFERENCE_SOURCES)), draw(st.integers(1, 60))
            reference = {"source": source, "id": str(ref)}
            if reference not in record["contactReferences"]:
                record["contactReferences"].append(reference)
    if draw(st.booleans()):
        record["tags"] = list(reversed(record["tags"]))

    if is_crm and stamp is not None and (touched_contact or draw(st.booleans())):
        record["modifiedDateTimeUtc"] = stamp
        record["modifiedByUser"] = "Jane Admin"
    if is_crm:
        # Read-only summaries move on their own: never a change.
        record["giftAskAmount"] = draw(st.sampled_from(("$1,200", "$2,500", "$0")))
    return record


@st.composite
def merge_scenarios(
    draw: st.DrawFn, *, structural: bool = True, noise: bool = True
) -> tuple[Record, Record, Record]:
    """``(base, platform, crm)``: one contact edited independently by both sides."""
    base = draw(contacts())
    platform = draw(edited_contacts(base, side="platform", structural=structural, noise=noise))
    crm = draw(edited_contacts(base, side="crm", structural=structural, noise=noise))
    return base, platform, crm


def change_sets(contact: Record, *, side: str = "platform") -> st.SearchStrategy[list[FieldChange]]:
    """The ``FieldChange`` lists that turn ``contact`` into one of its edits (``diff``'s
    output: canonical paths, document order), e.g. for property tests of a push."""
    return edited_contacts(contact, side=side).map(lambda edited: diff(contact, edited))


# The suite's pace: 60 examples a property. A profile asking for more (``soak``: 2,000) is
# a search on purpose, and gets them: an explicit ``max_examples`` would cap it.
SUITE_EXAMPLES = 60


def property_examples() -> int:
    """Examples per property: the suite's 60, or the loaded profile's if it asks for more
    than the profiles' common parent (``syncengine``, Hypothesis's default) does."""
    asked = settings().max_examples
    return asked if asked > settings.get_profile("syncengine").max_examples else SUITE_EXAMPLES
