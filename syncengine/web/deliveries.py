"""Reading what arrives over HTTP: CRM+ webhook deliveries and the platform's enqueue asks.

A delivery only says *which* contacts changed. Its contact is not the shape ``GET
/api/Contact/{id}`` returns (``contactAddresses[]``, ``customContactType``, a null
``contactMethods``) and a delivery can be old, repeated or out of order, so nothing but
the ids is taken from it: the sync reads CRM+ itself.

Pure functions. A malformed body raises ``MalformedRequest`` with a message naming
what is wrong; the message quotes no value from the body beyond a short event name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from syncengine.domain.records import contact_id_problem

# The events about a contact's data; every other one (gifts, notes, events...) is
# acknowledged and ignored. Compared case-insensitively: the published spelling is the
# one below, and a sender's capitalisation is not worth losing a delivery over.
CONTACT_EVENTS = frozenset({"contactcreate", "contactupdate"})

# An event name is echoed in answers and logs: cut, so a delivery cannot fill either.
MAX_EVENT_NAME = 64


class MalformedRequest(ValueError):
    """The body cannot be read as the expected request; the message says why."""


@dataclass(frozen=True)
class Delivery:
    """One webhook delivery, reduced to what the sync may trust."""

    event: str  # as sent, cut to MAX_EVENT_NAME characters
    contact_ids: tuple[int, ...]  # in delivery order, each once; empty when ignored
    ignored: bool  # an event that is not about a contact's data


def parse_delivery(body: bytes) -> Delivery:
    """``{"event": "ContactUpdate", "contact": {"id": 4821, ...}}`` or the bulk
    ``{"event": ..., "models": [{"contact": {...}}, ...]}``.

    Raises ``MalformedRequest`` when the body is no JSON object, has no event name, or
    (for a contact event) holds no contact, or a contact without a valid id. One bad
    contact refuses the whole delivery: accepting part of it would answer 2xx for a
    contact that was never queued, and the sender would not send it again.
    """
    document = _json_object(body)
    event = document.get("event")
    if not isinstance(event, str) or not event.strip():
        raise MalformedRequest("'event' must be a non-empty string")
    shown = event[:MAX_EVENT_NAME]
    if event.strip().lower() not in CONTACT_EVENTS:
        return Delivery(event=shown, contact_ids=(), ignored=True)
    contact = document.get("contact")
    models = document.get("models")
    if contact is not None and models is not None:
        raise MalformedRequest("both 'contact' and 'models' are set: send one of them")
    if contact is not None:
        ids = [_contact_id(contact, "contact")]
    elif models is not None:
        if not isinstance(models, list):
            raise MalformedRequest("'models' must be a list")
        ids = [_model_contact_id(model, f"models[{i}]") for i, model in enumerate(models)]
    else:
        raise MalformedRequest("a contact event needs 'contact' or 'models'")
    return Delivery(event=shown, contact_ids=_once_each(ids), ignored=False)


def parse_enqueue(body: bytes) -> tuple[int, ...]:
    """The contacts the platform asks to have synced: ``{"contacts": [4821, ...]}`` or
    ``{"contact": 4821}``. Raises ``MalformedRequest`` naming the first bad entry."""
    document = _json_object(body)
    one = document.get("contact")
    many = document.get("contacts")
    if one is not None and many is not None:
        raise MalformedRequest("both 'contact' and 'contacts' are set: send one of them")
    if one is not None:
        return (_checked_id(one, "contact"),)
    if many is None:
        raise MalformedRequest("'contacts' (a list of contact ids) or 'contact' is required")
    if not isinstance(many, list):
        raise MalformedRequest("'contacts' must be a list of contact ids")
    return _once_each(_checked_id(value, f"contacts[{i}]") for i, value in enumerate(many))


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        # RecursionError: deeply nested arrays ("[[[[...") exhaust the parser's stack.
        raise MalformedRequest("the body is not valid JSON") from None
    if not isinstance(document, dict):
        raise MalformedRequest("the body must be a JSON object")
    return document


def _model_contact_id(model: Any, where: str) -> int:
    if not isinstance(model, dict):
        raise MalformedRequest(f"{where} must be an object with a 'contact'")
    contact = model.get("contact")
    if contact is None:
        raise MalformedRequest(f"{where} has no 'contact'")
    return _contact_id(contact, f"{where}.contact")


def _contact_id(contact: Any, where: str) -> int:
    if not isinstance(contact, dict):
        raise MalformedRequest(f"{where} must be an object")
    if "id" not in contact:
        raise MalformedRequest(f"{where} has no 'id'")
    return _checked_id(contact["id"], f"{where}.id")


def _checked_id(value: Any, where: str) -> int:
    problem = contact_id_problem(value)
    if problem is not None:
        raise MalformedRequest(f"{where} is not a contact id: {problem}")
    result: int = value
    return result


def _once_each(ids: Iterable[int]) -> tuple[int, ...]:
    # The queue merges duplicates anyway; dropping them here keeps answers and logs short.
    return tuple(dict.fromkeys(ids))
