"""Writing a contact onto the platform's stored copy.

``save`` is given the platform's COMPLETE new version of the record (what it held, with
the CRM-side changes applied). Keys the given record does not carry are the platform's
own and survive; arrays are complete lists:

- a key absent from the given record is kept as stored;
- objects are overlaid key by key, recursively;
- arrays of objects are matched item by item by identity (never by position): a matched
  item is overlaid (its keys the given item lacks survive), a given item with no match is
  appended, and a stored item the given array does not list is REMOVED (a removal made
  in CRM+ must reach the platform, or the next sync would read the stale item as a
  platform addition and resurrect it);
- sets of values (``tags``, ``organizationGroups``) become the given set, in stored order
  for the members kept;
- anything else (scalars, arrays the schema does not know) is replaced.

Matching by natural key as well as identity means a save after a create gives the
platform's id-less items their new server ids instead of duplicating them.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from syncengine.domain.paths import identity_of
from syncengine.domain.ports import Record
from syncengine.domain.schema import ARRAY_IDENTITY, NATURAL_KEY, SET
from syncengine.errors import PathError

__all__ = ["overlay"]


def overlay(stored: Mapping[str, Any], given: Mapping[str, Any]) -> Record:
    """A new record: ``stored`` with ``given`` written over it (inputs untouched).

    Stored keys keep their order; keys new to the document follow in the given order.
    """
    result = copy.deepcopy(dict(stored))
    for name, value in given.items():
        if name in result:
            result[name] = _merge(name, result[name], value)
        else:
            result[name] = copy.deepcopy(value)
    return result


def _merge(name: str, stored: Any, given: Any) -> Any:
    if isinstance(stored, Mapping) and isinstance(given, Mapping):
        return overlay(stored, given)
    if isinstance(stored, list) and isinstance(given, list):
        if ARRAY_IDENTITY.get(name) == SET:
            kept = [m for m in stored if m in given]
            return [*kept, *(copy.deepcopy(m) for m in given if m not in kept)]
        if _objects(stored) and _objects(given):
            return _merge_items(name, stored, given)
    return copy.deepcopy(given)


def _objects(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, Mapping) for item in value)


def _merge_items(name: str, stored: list[Any], given: list[Any]) -> list[Any]:
    merged: list[Any] = [None] * len(stored)
    appended: list[Any] = []
    unclaimed = list(range(len(stored)))
    for item in given:
        at = _find(name, item, [stored[n] for n in unclaimed])
        if at is None:
            appended.append(copy.deepcopy(item))
        else:
            position = unclaimed.pop(at)
            merged[position] = overlay(stored[position], item)
    # Stored items the given list does not hold any more were removed: they stay out.
    return [item for item in merged if item is not None] + appended


def _find(name: str, item: Mapping[str, Any], candidates: list[Any]) -> int | None:
    """Which candidate ``item`` is a version of: by identity, else by natural key."""
    try:
        identity = identity_of(name, item)
    except (PathError, TypeError):
        return None  # nothing to match it by: it is a new item
    for n, candidate in enumerate(candidates):
        if _identity(name, candidate) == identity:
            return n
    # An item the platform added has no server id yet; once CRM+ created it, the given
    # item carries an id while the stored one only has its natural key (a method's
    # type+value). Matching on that keeps the platform's own keys on the item.
    natural = NATURAL_KEY.get(name, ())
    identity_keys = ARRAY_IDENTITY.get(name, ("id",))
    for n, candidate in enumerate(candidates):
        if (
            natural
            and all(candidate.get(k) is None for k in identity_keys)
            and all(candidate.get(k) == item.get(k) for k in natural)
        ):
            return n
    return None


def _identity(name: str, item: Mapping[str, Any]) -> Any:
    try:
        return identity_of(name, item)
    except (PathError, TypeError):
        return None
