"""The abbreviated contact that ``POST /api/Contact/Query`` and ``POST /api/Contact/Search``
list (the full one is ``render.render_contact``).

Its keys, their order and how they are filled copy a list recorded from the live API
(``GET /api/Contact/ByTag``, 2017, ``spec/cassettes/contact_list.yml`` in the public
``chrispymm/virtuouscrm``; virtuous-ts types the Query and Search items as the same
``ContactListItem``): a recorded answer beats a guess. From the recording:
- ``contactViewUrl`` is the API path ``/api/Contact/{id}``, not a page of the CRM app;
- ``address`` is the city and state only, a non-US country after the state
  ("Mesa, AZ", "Trieste, TS Italy"), never the street or the postal code;
- what a contact lacks is ``""``, never ``null`` ("address": "", "phone": "").
Not in the recording, so the sandbox's reading (docs/sandbox.md): which individual and
which methods (the primary individual, else the first; its primary email-type and
phone-type method, else its first), and which address (the primary, as the full
Contact's ``address``; an address without city or state gives what it has).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncengine.domain.normalize import is_us_address
from syncengine.domain.ports import Record
from syncengine.domain.schema import is_email_type, is_phone_type
from syncengine.sandbox.records import primary_address, primary_or_first

CONTACT_VIEW_URL = "/api/Contact/{id}"


def render_abbreviated(contact: Record) -> Record:
    individual = primary_or_first(contact["contactIndividuals"])
    return {
        "id": contact["id"],
        "name": _joined("", contact.get("name")),
        "contactType": _joined("", contact.get("contactType")),
        "contactName": _full_name(individual),
        "address": _city_and_region(primary_address(contact)),
        "email": _method(individual, is_email_type),
        "phone": _method(individual, is_phone_type),
        "contactViewUrl": CONTACT_VIEW_URL.format(id=contact["id"]),
    }


def _full_name(individual: Record | None) -> str:
    if individual is None:
        return ""
    return _joined(" ", individual.get("firstName"), individual.get("lastName"))


def _method(individual: Record | None, is_kind: Callable[[str | None], bool]) -> str:
    methods = [m for m in (individual or {}).get("contactMethods", []) if is_kind(m.get("type"))]
    chosen = primary_or_first(methods)
    return _joined("", chosen.get("value")) if chosen else ""


def _city_and_region(address: Record | None) -> str:
    """ "Mesa, AZ"; "Trieste, TS Italy": the country shows only outside the US."""
    if address is None:
        return ""
    country = None if is_us_address(address) else address.get("country")
    region = _joined(" ", address.get("state"), country)
    return _joined(", ", address.get("city"), region)


def _joined(separator: str, *parts: Any) -> str:
    """The non-blank text parts, trimmed and joined; ``""`` when there are none."""
    return separator.join(p.strip() for p in parts if isinstance(p, str) and p.strip())
