"""POST /api/Contact/Search: the search body and what a search string matches.

The answer is ``{list, total}`` of the same abbreviated contacts ``POST /api/Contact/Query``
lists (``abbreviated.render_abbreviated``): public clients type both as
``ContactListItem`` (animalaidunlimited/virtuous-ts). They describe the match as "name,
email, phone or address, fully or partially"; the sandbox reads that as a
case-insensitive substring of the contact name, any individual's names, any method value
or any address field.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from syncengine.domain.ports import Record
from syncengine.sandbox.api_errors import BadRequestError
from syncengine.sandbox.records import ADDRESSES

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
