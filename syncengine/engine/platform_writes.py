"""Platform writes journaled before they are made, and what the next sync reads from them.

The platform and the engine's database are two stores with no transaction between them,
so a run can die after the platform took a write and before the mirror (the merge base)
or the journal caught up. Two things then went wrong (both found by the whole-engine
simulation's soak):

- a pull landed on the platform, the mirror still held the older value, and the
  platform's next edit of that field met CRM+'s pulled value as a change of the other
  side: a both-sides change a policy could give to the older value;
- an outside write (a ``push``) carried to the platform, but not yet marked carried,
  was carried again over the platform's next edit of that field.

So every platform write is journaled first (``PlatformWrite``: per field the value the
platform held and the value written) and closed when the contact's sync ends. The next
sync of the contact reads the writes left open from the platform itself, field by field:
where the platform no longer holds the value it held before the write, the write landed
(or a later platform edit superseded it, and that edit is the platform's to push).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from syncengine.domain.diff import FieldChange
from syncengine.domain.paths import Item, get_value, parse_path, write_in_place
from syncengine.domain.ports import PlatformWrite, Record
from syncengine.domain.records import copy_json
from syncengine.engine.push import jsonable
from syncengine.errors import PathError


def write_of(contact_id: int, changes: Sequence[FieldChange], at: datetime) -> PlatformWrite:
    """The journal's record of a platform write made of ``changes``."""
    return PlatformWrite(
        contact_id=contact_id,
        values={c.path: (jsonable(c.old), jsonable(c.new)) for c in changes},
        started_at=at,
    )


def landed_paths(view: Record, writes: Sequence[PlatformWrite]) -> set[str]:
    """The paths of ``writes`` the platform (``view``: its record now, in the Contact
    shape) no longer holds as it did before: the write reached it, or a later edit did."""
    return {
        path
        for write in writes
        for path, (before, _after) in write.values.items()
        if jsonable(_value(view, path)) != before
    }


def base_with_landed(
    base: Record, view: Record, writes: Sequence[PlatformWrite], since: datetime
) -> Record:
    """``base`` (the mirror's record, stored at ``since``) with the values of the
    platform writes made after it that landed: both sides held them then, since a
    platform write only ever brings the platform to CRM+'s value or to a data manager's
    decision that goes to both sides.

    Whole items added or removed are left to the merge, which matches items by id."""
    later = [w for w in writes if w.started_at is not None and w.started_at > since]
    landed = landed_paths(view, later)
    if not landed:
        return base
    caught_up = copy_json(base)
    for write in later:
        for path, (_before, after) in write.values.items():
            if path not in landed or isinstance(parse_path(path).last, Item):
                continue
            try:
                write_in_place(caught_up, path, after)
            except PathError:
                continue  # the base no longer has where it went: the merge decides
    return caught_up


def _value(record: Record, path: str) -> Any:
    try:
        return get_value(record, path)
    except PathError:
        return None
