"""Applying a write body to stored records: PUT semantics, item identity and audit stamps.

One recursive routine serves every write (Contact PUT and POST, ContactIndividual PUT,
ContactAddress PUT, UI edits), driven by the schema's field table:
- under REPLACE a writable field the body leaves out is cleared, and array items it
  leaves out are dropped; under PATCH both are kept;
- array items are matched by identity, never by position (individuals and methods by
  ``id``, custom fields by ``name``, references by source+id, tags/groups as sets); an
  item without ``id`` is created, an ``id`` that is not the parent's is refused (400);
- an item is stamped (``modifiedDateTimeUtc``/``modifiedByUser``) only if its own fields
  actually changed; the caller stamps the contact, which changes on every write.
Callers apply to a deep copy and commit only if no problem was found, so a refused write
leaves nothing behind.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from syncengine.domain.normalize import normalize_for_server
from syncengine.domain.ports import Record
from syncengine.domain.schema import ARRAY_IDENTITY, Field, Kind, shape_of
from syncengine.errors import FieldProblem
from syncengine.sandbox.api_errors import INVALID_REQUEST, BadRequestError
from syncengine.sandbox.records import (
    ADDRESSES,
    CUSTOM_FIELDS,
    OWNED_ARRAYS,
    CustomFieldDef,
    blank,
    cleared_value,
    primary_address,
)
from syncengine.sandbox.settings import PutSemantics
from syncengine.sandbox.timefmt import parse_iso_date
from syncengine.sandbox.validation import Rules, unknown_custom_field, validate_item

PRIMARY_ADDRESS = "address"


@dataclass
class WriteContext:
    """One write: its semantics, its single stamp and author, and the problems found."""

    semantics: PutSemantics
    stamp: int
    user: str
    new_id: Callable[[str], int]
    custom_fields: Mapping[str, Sequence[CustomFieldDef]]
    rules: Rules
    problems: list[FieldProblem] = field(default_factory=list)

    @property
    def keeps_omitted(self) -> bool:
        return self.semantics is PutSemantics.PATCH


def stamp_modified(item: Record, ctx: WriteContext) -> None:
    item["modifiedDateTimeUtc"] = ctx.stamp
    item["modifiedByUser"] = ctx.user


def new_item(shape: str, ctx: WriteContext) -> Record:
    """A blank item with a fresh id, created now by the writing user."""
    item = blank(shape)
    item["id"] = ctx.new_id(shape)
    item["createDateTimeUtc"] = ctx.stamp
    item["createdByUser"] = ctx.user
    stamp_modified(item, ctx)
    return item


def apply_item(
    shape: str, item: Record, body: Mapping[str, Any], ctx: WriteContext, path: str
) -> bool:
    """Apply ``body`` to the stored ``item`` in place; True if the item's own fields changed.

    ``body`` has passed the type check, so every writable value has its natural type.
    """
    before = _own_fields(shape, item)
    for key, spec in shape_of(shape).items():
        if not spec.writable or (key not in body and ctx.keeps_omitted):
            continue
        value = body.get(key)  # None when omitted: under REPLACE that clears the field
        where = f"{path}.{key}"
        if key == PRIMARY_ADDRESS:
            _apply_primary_address(item, value, ctx, where)
        elif key == CUSTOM_FIELDS:
            item[key] = _apply_custom_fields(shape, item[key], value or [], ctx, where)
        elif key in OWNED_ARRAYS and spec.shape is not None:
            item[key] = _apply_owned(spec.shape, item[key], value or [], ctx, where)
        elif spec.kind is Kind.ARRAY and spec.shape is not None:
            item[key] = _apply_keyed(key, spec.shape, item[key], value or [], ctx, where)
        elif spec.kind is Kind.ARRAY:
            sent = [normalize_for_server(Kind.STRING, key, v) for v in value or []]
            item[key] = _union(item[key] if ctx.keeps_omitted else [], sent)
        else:
            item[key] = _stored_scalar(shape, key, spec, value)
    _normalise_text(shape, item)
    ctx.problems.extend(validate_item(shape, item, path, ctx.rules))
    return _own_fields(shape, item) != before


def add_address(
    contact: Record, body: Mapping[str, Any], ctx: WriteContext, path: str, *, primary: bool
) -> Record:
    """Create an address on ``contact``; a new primary one demotes the previous primary."""
    address = new_item("ContactAddress", ctx)
    apply_item("ContactAddress", address, body, ctx, path)
    address["isPrimary"] = primary
    address["canBePrimary"] = not primary
    contact[ADDRESSES].append(address)
    settle_primary(contact, address, ctx)
    return address


def promotes(body: Mapping[str, Any]) -> bool:
    """True if a write body makes its address the primary: ``setAsPrimary: true`` (the
    documented write form) or ``isPrimary: true`` (the read form, echoed from a GET)."""
    return body.get("setAsPrimary") is True or body.get("isPrimary") is True


def pinned_primary(address: Record, body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` with the primary flag the address may take: it moves only TO primary.

    Omitting the flag, or sending false, never demotes the primary (under replace
    semantics too): that would leave the contact with addresses and no primary, and a
    200. The primary moves by promoting another address."""
    return {**body, "isPrimary": bool(address["isPrimary"]) or promotes(body)}


def settle_primary(contact: Record, address: Record, ctx: WriteContext) -> None:
    """Keep one primary address: if ``address`` is primary, the others stop being so.
    ``canBePrimary`` is the negation, as every recorded response shows it."""
    if not address["isPrimary"]:
        return
    address["canBePrimary"] = False
    for other in contact[ADDRESSES]:
        if other is not address and other["isPrimary"]:
            other["isPrimary"] = False
            other["canBePrimary"] = True
            stamp_modified(other, ctx)


def _apply_primary_address(contact: Record, value: Any, ctx: WriteContext, path: str) -> None:
    if value is None:
        # Omitted under REPLACE, or sent as null: the primary address is removed.
        primary = primary_address(contact)
        contact[ADDRESSES] = [a for a in contact[ADDRESSES] if a is not primary]
        return
    if value.get("id") is None:
        add_address(contact, value, ctx, path, primary=True)
        return
    address = _owned_item(contact[ADDRESSES], value["id"], set(), "ContactAddress", path)
    if apply_item("ContactAddress", address, pinned_primary(address, value), ctx, path):
        stamp_modified(address, ctx)
    settle_primary(contact, address, ctx)


def _apply_owned(
    shape: str, current: list[Record], body_items: list[Any], ctx: WriteContext, path: str
) -> list[Record]:
    """Items with server ids (individuals, methods): matched by id, created without one."""
    matched: list[Record] = []
    created: list[Record] = []
    seen: set[int] = set()
    for index, body_item in enumerate(body_items):
        where = f"{path}[{index}]"
        if body_item.get("id") is None:
            item = new_item(shape, ctx)
            apply_item(shape, item, body_item, ctx, where)
            created.append(item)
        else:
            item = _owned_item(current, body_item["id"], seen, shape, where)
            if apply_item(shape, item, body_item, ctx, where):
                stamp_modified(item, ctx)
        matched.append(item)
    if ctx.keeps_omitted:
        return current + created  # updated in place; the ones not sent are kept
    return matched  # the ones not sent are dropped (deleted)


def _owned_item(
    current: list[Record], item_id: Any, seen: set[int], shape: str, path: str
) -> Record:
    # isinstance(True, int) holds in Python, and True == 1 would match id 1.
    found = None
    if isinstance(item_id, int) and not isinstance(item_id, bool) and item_id not in seen:
        found = next((item for item in current if item["id"] == item_id), None)
    if found is None:
        problem = f"{shape} {item_id!r} does not belong to this record (or is listed twice)."
        raise BadRequestError(INVALID_REQUEST, {f"{path}.id": [problem]})
    seen.add(item_id)
    return found


def _apply_keyed(
    key: str, shape: str, current: list[Record], body_items: list[Any], ctx: WriteContext, path: str
) -> list[Record]:
    """Items identified by their fields (references by source+id): a set of records."""
    identity = ARRAY_IDENTITY[key]
    incoming = []
    for index, body_item in enumerate(body_items):
        item = blank(shape)
        apply_item(shape, item, body_item, ctx, f"{path}[{index}]")
        incoming.append(item)
    result: list[Record] = list(current) if ctx.keeps_omitted else []
    seen = {tuple(item.get(k) for k in identity) for item in result}
    for item in incoming:
        item_key = tuple(item.get(k) for k in identity)
        if item_key not in seen:
            seen.add(item_key)
            result.append(item)
    return result


def _apply_custom_fields(
    owner_shape: str,
    current: dict[str, Any],
    body_items: list[Any],
    ctx: WriteContext,
    path: str,
) -> dict[str, Any]:
    """Custom fields by ``name``; only names the organisation defined are accepted (422)."""
    defined = {d.name for d in ctx.custom_fields.get(owner_shape, ())}
    values = dict(current) if ctx.keeps_omitted else {}
    for index, body_item in enumerate(body_items):
        name = normalize_for_server(Kind.STRING, "name", body_item.get("name"))
        if name not in defined:
            ctx.problems.append(unknown_custom_field(f"{path}[{index}].name", name))
        elif "value" in body_item or not ctx.keeps_omitted:
            values[name] = body_item.get("value")
    # Unset fields are simply absent: rendering lists every defined field, null when unset.
    return {name: value for name, value in values.items() if value is not None}


def _stored_scalar(shape: str, key: str, spec: Field, value: Any) -> Any:
    if value is None:
        return cleared_value(shape, key, spec)
    if spec.kind is Kind.DATE:
        return parse_iso_date(value).isoformat() if value else None
    return value


def _normalise_text(shape: str, item: Record) -> None:
    """What the live server does to text it stores (trim; canonical US state codes).
    After all fields are set: a state code is read against the item's final country."""
    for key, spec in shape_of(shape).items():
        if spec.writable and spec.kind is Kind.STRING:
            item[key] = normalize_for_server(spec.kind, key, item[key], item)


def _union(base: list[Any], extra: Any) -> list[Any]:
    result = list(base)
    for value in extra:
        if value not in result:
            result.append(value)
    return result


def _own_fields(shape: str, item: Record) -> Record:
    """The writable fields that belong to the item itself (not its nested stamped items)."""
    return {
        key: copy.deepcopy(item.get(key))
        for key, spec in shape_of(shape).items()
        if spec.writable and key not in OWNED_ARRAYS and key != PRIMARY_ADDRESS
    }
