"""Planning a safe update: which writes, to which endpoint, with which complete body.

Pure functions over plain records. The engine does the I/O around them:

    GET contact (+ addresses) -> resolve_changes -> group_writes
    for each write: GET its target -> build_body -> PUT -> verify_response -> mirror

Routing (the narrowest endpoint whose full record contains the change, so that the
complete body we send is as small as possible and touches as little as possible):

    every change inside the primary ``address``       -> PUT /api/ContactAddress/{id}
    every change inside ``addresses[id=N]``           -> PUT /api/ContactAddress/{N}
    every change on ONE individual's own fields       -> PUT /api/ContactIndividual/{id}
    anything else (contact methods included)          -> PUT /api/Contact/{id}

A mixed change set goes through the Contact PUT, which carries the primary address and
every individual; changes to non-primary addresses cannot (they are not part of the
Contact), so each such address gets its own write beside it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from syncengine.domain.diff import diff
from syncengine.domain.fieldtypes import coerce_change, coerce_record
from syncengine.domain.limits import MAX_DEPTH, too_deep
from syncengine.domain.normalize import values_equivalent
from syncengine.domain.paths import (
    REMOVE,
    Append,
    Item,
    Key,
    Path,
    apply_change,
    find_schema_field,
    get_value,
    item_segment,
    parse_path,
    resolve,
)
from syncengine.domain.ports import Record
from syncengine.domain.records import copy_json
from syncengine.domain.schema import Kind
from syncengine.domain.timestamps import crm_timestamp_sort_key
from syncengine.errors import Mismatch, PathError, UsageError

REQUESTED = "requested"
DECEASED_OPT_OUT = "individual marked deceased: contact method opted out"


@dataclass(frozen=True)
class Change:
    """One intended change as the user (or the sync) expressed it."""

    path: str
    value: Any  # a JSON value, or paths.REMOVE


@dataclass(frozen=True)
class ResolvedChange:
    """A change pinned to concrete item identities, its value coerced to the natural type."""

    path: Path  # concrete; a new item keeps its ``[+]``
    value: Any
    old: Any
    reason: str = REQUESTED

    @property
    def text(self) -> str:
        return self.path.render()


class Route(StrEnum):
    CONTACT = "contact"
    INDIVIDUAL = "individual"
    ADDRESS = "address"


@dataclass(frozen=True)
class WriteGroup:
    """One PUT: the endpoint and the changes it carries."""

    route: Route
    target_id: int
    changes: tuple[ResolvedChange, ...]

    @property
    def endpoint(self) -> str:
        return {
            Route.CONTACT: "/api/Contact/{}",
            Route.INDIVIDUAL: "/api/ContactIndividual/{}",
            Route.ADDRESS: "/api/ContactAddress/{}",
        }[self.route].format(self.target_id)


@dataclass(frozen=True)
class UpdateRules:
    """The configurable parts of planning."""

    deceased_opts_out_methods: bool = True
    high_stakes_fields: frozenset[str] = field(default_factory=frozenset)


# -- parsing ``--set PATH=VALUE`` -------------------------------------------------------


def parse_assignment(text: str) -> Change:
    """``PATH=VALUE``: the first ``=`` outside brackets and quotes splits; VALUE is JSON
    where it parses (``true``, ``2010``, ``{"source": "portal"}``), else a plain string."""
    depth, quoted = 0, False
    for pos, char in enumerate(text):
        if char == '"' and depth:
            quoted = not quoted
        elif quoted:
            continue
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "=" and depth == 0:
            path, raw = text[:pos].strip(), text[pos + 1 :]
            if not path:
                raise UsageError(f"--set {text!r}: nothing before '='")
            return Change(path, parse_cli_value(raw, path))
    raise UsageError(f"--set {text!r}: expected PATH=VALUE")


def parse_cli_value(raw: str, path: str = "value") -> Any:
    """``raw`` as JSON where it parses, else as text. ``path`` names it in an error."""
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    except RecursionError:
        value = _TOO_DEEP
    if value is _TOO_DEEP or too_deep(value):
        raise UsageError(f"--set {path}: the value is JSON nested more than {MAX_DEPTH} levels")
    return value


_TOO_DEEP = object()


# -- resolving ----------------------------------------------------------------------------


def needs_address_list(changes: Iterable[Change]) -> bool:
    """Do any changes address non-primary addresses (which need the ByContact GET)?"""
    return any(parse_path(c.path).segments[0].name == "addresses" for c in changes)


def addresses_view(contact: Record, addresses: Sequence[Record] | None) -> Record:
    """The contact with its non-primary addresses under the virtual ``addresses`` key."""
    view = dict(contact)
    if addresses is not None:
        view["addresses"] = list(addresses)
    return view


def resolve_changes(
    contact: Record,
    changes: Sequence[Change],
    rules: UpdateRules,
    addresses: Sequence[Record] | None = None,
) -> list[ResolvedChange]:
    """Pin every change to concrete identities and natural types, against the FRESH record.

    Raises UsageError subclasses (PathError, CoercionError, ForbiddenChange) before any
    write: a change set is applied whole or not at all.
    """
    view = addresses_view(contact, addresses)
    resolved: list[ResolvedChange] = []
    seen: set[str] = set()
    for change in changes:
        path = resolve(view, change.path)
        # Two appends (``[+]``) add two items; any other path named twice is ambiguous.
        if not isinstance(path.last, Append):
            if path.render() in seen:
                raise UsageError(f"path '{path.render()}' is changed twice in one change set")
            seen.add(path.render())
        value = coerce_change(view, path, change.value)
        old = None if isinstance(path.last, Append) else get_value(view, path)
        resolved.append(ResolvedChange(path, value, old))
    if rules.deceased_opts_out_methods:
        resolved += _deceased_opt_outs(view, resolved, seen)
    return resolved


def _deceased_opt_outs(
    view: Record, resolved: Sequence[ResolvedChange], already: set[str]
) -> list[ResolvedChange]:
    """A deceased person must not be contacted: opt out their methods in the same write."""
    extra: list[ResolvedChange] = []
    for change in resolved:
        segs = change.path.segments
        if not (
            len(segs) == 2
            and segs[0].name == "contactIndividuals"
            and isinstance(segs[1], Key)
            and segs[1].name == "isDeceased"
            and change.value is True
            and change.old is not True
        ):
            continue
        individual = get_value(view, change.path.parent)
        for method in individual.get("contactMethods") or []:
            path = change.path.parent + Path(
                (item_segment("contactMethods", method), Key("isOptedIn"))
            )
            if method.get("isOptedIn") is True and path.render() not in already:
                extra.append(ResolvedChange(path, False, True, DECEASED_OPT_OUT))
    return extra


# -- routing ------------------------------------------------------------------------------


def _route_key(change: ResolvedChange, contact: Record) -> tuple[Route, int | None]:
    segs = change.path.segments
    head = segs[0]
    if head.name == "addresses" and isinstance(head, Item):
        return Route.ADDRESS, int(dict(head.match)["id"])
    if head.name == "address" and len(segs) > 1:
        primary = contact.get("address") or {}
        address_id = primary.get("id")
        # No primary address yet: it can only be created through the Contact PUT.
        return (Route.ADDRESS, int(address_id)) if address_id is not None else (Route.CONTACT, None)
    if (
        head.name == "contactIndividuals"
        and isinstance(head, Item)
        and len(segs) > 1
        and segs[1].name != "contactMethods"
    ):
        return Route.INDIVIDUAL, int(dict(head.match)["id"])
    return Route.CONTACT, None


def group_writes(
    contact_id: int, contact: Record, changes: Sequence[ResolvedChange]
) -> list[WriteGroup]:
    """Split a resolved change set into PUTs (see the module docstring for the rules)."""
    if not changes:
        return []
    keyed = [(_route_key(c, contact), c) for c in changes]
    separate = [(k, c) for k, c in keyed if _is_non_primary_address(c)]
    rest = [(k, c) for k, c in keyed if not _is_non_primary_address(c)]
    groups: list[WriteGroup] = []
    keys = {k for k, _ in rest}
    if len(keys) == 1:
        ((route, target),) = keys
        if route is not Route.CONTACT and target is not None:
            groups.append(WriteGroup(route, target, tuple(c for _, c in rest)))
            rest = []
    if rest:
        groups.append(WriteGroup(Route.CONTACT, contact_id, tuple(c for _, c in rest)))
    by_address: dict[int, list[ResolvedChange]] = {}
    for (_route, target), change in separate:
        by_address.setdefault(int(target or 0), []).append(change)
    groups += [
        WriteGroup(Route.ADDRESS, address_id, tuple(cs)) for address_id, cs in by_address.items()
    ]
    return groups


def _is_non_primary_address(change: ResolvedChange) -> bool:
    return change.path.segments[0].name == "addresses"


# -- bodies -------------------------------------------------------------------------------

# The wrapper trick: the target of a narrow route (an individual, an address) is put back
# where its path says it lives inside a Contact, so one path language and one
# ``apply_change`` serve every route without re-rooting paths.


def wrap(group: WriteGroup, target: Record) -> Record:
    """A Contact-rooted view holding only ``target`` where the group's paths expect it."""
    if group.route is Route.CONTACT:
        return target
    head = group.changes[0].path.segments[0].name
    if head == "address":
        return {"address": target}
    return {head: [target]}


def unwrap(group: WriteGroup, view: Record) -> Record:
    if group.route is Route.CONTACT:
        return view
    head = group.changes[0].path.segments[0].name
    inner = view[head]
    return dict(inner if head == "address" else inner[0])


SHAPE_OF_ROUTE = {
    Route.CONTACT: "Contact",
    Route.INDIVIDUAL: "ContactIndividual",
    Route.ADDRESS: "ContactAddress",
}


def build_body(group: WriteGroup, target: Record) -> Record:
    """The COMPLETE record to PUT: the fresh target with the changes applied in place.

    Every field the change set does not touch is sent back exactly as the GET showed it
    (unknown keys included), so the write is correct whether the server replaces the
    record or patches it. Values are coerced to natural types: a GET may render a date
    as "M/D/YYYY" that the server only accepts back as ISO 8601.
    """
    view = copy_json(wrap(group, target))
    for change in group.changes:
        view = apply_change(view, change.path, change.value)
    return coerce_record(SHAPE_OF_ROUTE[group.route], unwrap(group, view))


# -- verification -------------------------------------------------------------------------


def verification_path(change: ResolvedChange) -> Path:
    """Where the change's result can be read back: a new item by its identity."""
    if isinstance(change.path.last, Append) and change.value is not REMOVE:
        name = change.path.last.name
        return change.path.parent + Path((item_segment(name, change.value),))
    return change.path


def verify_changes(
    changes: Sequence[ResolvedChange], view: Record
) -> tuple[list[Mismatch], list[tuple[str, Any, Any]]]:
    """Does ``view`` (a Contact-rooted record: a follow-up GET, or a PUT response put
    back in place with ``wrap``) show every intended change?

    Returns the mismatches, and the changes the server normalised (path, sent, stored):
    those are accepted and recorded, not errors.
    """
    mismatches: list[Mismatch] = []
    normalised: list[tuple[str, Any, Any]] = []
    for change in changes:
        path = verification_path(change)
        text = path.render()
        try:
            found = get_value(view, path)
        except PathError:
            found = REMOVE
        if change.value is REMOVE:
            if found is not REMOVE:
                mismatches.append(Mismatch(text, None, found))
            continue
        if found is REMOVE:
            mismatches.append(Mismatch(text, change.value, None))
            continue
        if _equivalent(path, change.value, found, view):
            if found != change.value:
                normalised.append((text, change.value, found))
        else:
            mismatches.append(Mismatch(text, change.value, found))
    return mismatches, normalised


def _equivalent(path: Path, intended: Any, found: Any, view: Record) -> bool:
    if isinstance(intended, Mapping) and isinstance(found, Mapping):
        # A whole item: every key we sent must be there (the server adds ids and audit).
        return all(
            _equivalent(path + Path((Key(k),)), v, found.get(k), view)
            for k, v in intended.items()
            if k in found or v is not None
        )
    if (
        isinstance(intended, list)
        and isinstance(found, list)
        and intended
        and all(isinstance(item, Mapping) for item in intended)
    ):
        return _items_equivalent(path, intended, found, view)
    located = find_schema_field(path)
    kind = located[2].kind if located else Kind.OPAQUE
    name = located[1] if located else path.last.name
    context = get_value(view, path.parent) if path.segments[:-1] else view
    return values_equivalent(
        kind, name, intended, found, context if isinstance(context, Mapping) else None
    )


def _items_equivalent(
    path: Path, intended: list[Mapping[str, Any]], found: list[Any], view: Record
) -> bool:
    """The items of an array sent whole inside a new item (a new person's contact
    methods): each is found by its identity -- its id, or, since the server gives ids
    only now, its natural key -- and holds what was sent; nothing else is there."""
    if len(found) != len(intended):
        return False
    array = path.last.name
    for item in intended:
        item_path = path.parent + Path((item_segment(array, item),))
        try:
            found_item = get_value(view, item_path)
        except PathError:
            return False  # not there, or not told apart from another
        if not _equivalent(item_path, item, found_item, view):
            return False
    return True


def touches_high_stakes(changes: Iterable[ResolvedChange], high_stakes: frozenset[str]) -> bool:
    return any(c.path.last.name in high_stakes for c in changes)


def concurrency_signs(
    group: WriteGroup, body: Record, response: Record, target: Record
) -> list[str]:
    """Signs that someone else wrote the record between our GET and our PUT's answer.

    Our own write explains: the fields we changed, server normalisation (the diff
    normalises), and a newer modifiedDateTimeUtc. Anything else is reported.
    """
    notes: list[str] = []
    intended = {verification_path(c).render() for c in group.changes}
    sent, got = wrap(group, body), wrap(group, response)
    others = [
        ch.path
        for ch in diff(sent, got)
        if not any(ch.path == i or ch.path.startswith(i + ".") for i in intended)
    ]
    if others:
        notes.append(
            "fields we did not change differ from what we sent: " + ", ".join(sorted(others))
        )
    before, after = target.get("modifiedDateTimeUtc"), response.get("modifiedDateTimeUtc")
    if (
        isinstance(before, str)
        and isinstance(after, str)
        and crm_timestamp_sort_key(after) <= crm_timestamp_sort_key(before)
    ):
        notes.append("modifiedDateTimeUtc did not advance with our write")
    return notes
