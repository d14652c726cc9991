"""The abbreviated contact that ``POST /api/Contact/Query`` lists (the full one is
``render.render_contact``).

Its keys are those of ``ContactListItem`` in a public TypeScript client
(``animalaidunlimited/virtuous-ts``, ``src/types/contact/contact.ts``): ``id``, ``name``,
``contactType``, ``contactName``, ``address``, ``email``, ``phone``, ``contactViewUrl``.
What fills them is not published; the sandbox's reading, documented in docs/sandbox.md:
``contactName`` is the primary individual's first and last name, ``email`` and ``phone``
that individual's primary email-type and phone-type method (else its first), ``address``
the primary address on one line ("12 Elm Street, Boulder, CO 80302"), and
``contactViewUrl`` the CRM's contact page, as public code links to it. Absent parts are
``null``, never ``""``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncengine.domain.ports import Record
from syncengine.domain.schema import is_email_type, is_phone_type
from syncengine.sandbox.records import primary_address

CONTACT_VIEW_URL = "https://app.virtuoussoftware.com/Generosity/Contact/View/{id}"


def render_abbreviated(contact: Record) -> Record:
    individual = _primary(contact["contactIndividuals"])
    return {
        "id": contact["id"],
        "name": contact.get("name"),
        "contactType": contact.get("contactType"),
        "contactName": _full_name(individual) if individual else None,
        # Only a flagged primary, as the full Contact's ``address`` (null without one).
        "address": _one_line(primary_address(contact)),
        "email": _method(individual, is_email_type),
        "phone": _method(individual, is_phone_type),
        "contactViewUrl": CONTACT_VIEW_URL.format(id=contact["id"]),
    }


def _primary(items: list[Record]) -> Record | None:
    return next((i for i in items if i.get("isPrimary")), items[0] if items else None)


def _full_name(individual: Record) -> str | None:
    return _joined(" ", individual.get("firstName"), individual.get("lastName"))


def _method(individual: Record | None, is_kind: Callable[[str | None], bool]) -> str | None:
    methods = [m for m in (individual or {}).get("contactMethods", []) if is_kind(m.get("type"))]
    chosen = _primary(methods)
    return _joined("", chosen.get("value")) if chosen else None


def _one_line(address: Record | None) -> str | None:
    if address is None:
        return None
    region = _joined(" ", address.get("state"), address.get("postal"))
    return _joined(
        ", ", address.get("address1"), address.get("address2"), address.get("city"), region
    )


def _joined(separator: str, *parts: Any) -> str | None:
    text = separator.join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    return text or None
