"""POST /api/Contact/Search: the search body, what a search string matches, and the list item.

The live route answers ``{list, total}`` of abbreviated contacts, the shape recorded from
the live API for contact lists (``GET /api/Contact/ByTag`` in chrispymm/virtuouscrm's
cassettes, typed as ``ContactListItem`` for ``Contact/Search`` in
animalaidunlimited/virtuous-ts): ``{id, name, contactType, contactName, address, email,
phone, contactViewUrl}`` with ``address`` as one line ("Mesa, AZ") and ``""`` for what is
unknown. Public clients describe the match as "name, email, phone or address, fully or
partially"; the sandbox reads that as a case-insensitive substring of any of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from syncengine.domain.ports import Record
from syncengine.domain.schema import is_email_type
from syncengine.sandbox.api_errors import BadRequestError
from syncengine.sandbox.records import ADDRESSES

# Countries the one-line address leaves out, as the recorded "Mesa, AZ" does.
_HOME_COUNTRIES = frozenset({"", "united states", "us", "usa"})
_ADDRESS_FIELDS = ("address1", "address2", "city", "state", "postal", "country")
_NAME_FIELDS = ("firstName", "middleName", "lastName", "nickname")


@dataclass(frozen=True)
class ContactSearch:
    """One search string, already lowered (matching ignores case)."""

    lowered: str

    def matches(self, contact: Record) -> bool:
        return any(self.lowered in text.lower() for text in _searchable(contact))


def parse_search(body: Any) -> ContactSearch:
    """The ``{"search": "..."}`` body, or 400. A blank string is refused too: it would
    match every contact, and no source says the live route lists the organisation."""
    if not isinstance(body, dict):
        raise BadRequestError("The search body must be a JSON object.")
    text = body.get("search")
    if not isinstance(text, str):
        raise BadRequestError("'search' must be a string.")
    if not text.strip():
        raise BadRequestError("'search' must not be empty.")
    return ContactSearch(text.strip().lower())


def render_list_item(contact: Record) -> Record:
    """The abbreviated contact of a list answer."""
    primary = _primary_individual(contact)
    full_name = _full_name(primary) if primary is not None else ""
    return {
        "id": contact["id"],
        "name": contact.get("name"),
        "contactType": contact.get("contactType"),
        "contactName": full_name or contact.get("name"),
        "address": _one_line_address(contact),
        "email": _first_method(contact, primary, is_email_type),
        "phone": _first_method(contact, primary, is_phone_type),
        "contactViewUrl": f"/api/Contact/{contact['id']}",
    }


def is_phone_type(method_type: str | None) -> bool:
    """Like emails, phones are told by the word in ``type`` ("Mobile Phone", "Home Phone")."""
    return bool(method_type) and "phone" in str(method_type).lower()


def _searchable(contact: Record) -> Iterator[str]:
    yield from _texts(contact.get("name"), contact.get("informalName"))
    for individual in contact["contactIndividuals"]:
        yield from _texts(*(individual.get(key) for key in _NAME_FIELDS))
        yield _full_name(individual)
        for method in individual["contactMethods"]:
            yield from _texts(method.get("value"))
    for address in contact[ADDRESSES]:
        yield from _texts(*(address.get(key) for key in _ADDRESS_FIELDS))


def _texts(*values: Any) -> Iterator[str]:
    return (value for value in values if isinstance(value, str) and value)


def _full_name(individual: Record) -> str:
    return " ".join(_texts(individual.get("firstName"), individual.get("lastName")))


def _primary_individual(contact: Record) -> Record | None:
    individuals = contact["contactIndividuals"]
    fallback = individuals[0] if individuals else None
    return next((i for i in individuals if i.get("isPrimary")), fallback)


def _first_method(
    contact: Record, primary: Record | None, kind: Callable[[str | None], bool]
) -> str:
    """The primary individual's primary method of ``kind``, else any of theirs, else the
    first of any individual's; ``""`` when the contact has none (as recorded)."""
    people = [primary] if primary is not None else []
    people += [i for i in contact["contactIndividuals"] if i is not primary]
    methods = [
        m
        for person in people
        for m in sorted(person["contactMethods"], key=lambda m: not m.get("isPrimary"))
        if kind(m.get("type")) and isinstance(m.get("value"), str)
    ]
    return str(methods[0]["value"]) if methods else ""


def _one_line_address(contact: Record) -> str:
    """'City, ST' plus the country when it is not the United States ("Trieste, TS Italy")."""
    address = next((a for a in contact[ADDRESSES] if a.get("isPrimary")), None)
    if address is None:
        return ""
    line = ", ".join(_texts(address.get("city"), address.get("state")))
    country = address.get("country") or ""
    if country.strip().lower() not in _HOME_COUNTRIES:
        line = f"{line} {country}".strip()
    return line
