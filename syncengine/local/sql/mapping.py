"""Reading a mapped column's value off the record given to ``save``.

The rule: a path that does not resolve on the given record -- no such key, no item
matching the selector, a null on the way -- leaves its column untouched. Absent is "not
given", never "empty": only a value the record really holds (None included) is written.
"""

from __future__ import annotations

from typing import Any

from syncengine.domain.paths import Key, Path, get_value
from syncengine.domain.ports import Record
from syncengine.errors import ForbiddenChange, PathError

__all__ = ["value_at"]


def value_at(record: Record, path: Path) -> tuple[bool, Any]:
    """``(True, value)`` if ``record`` holds a value at ``path``, else ``(False, None)``."""
    try:
        last = path.last
        if isinstance(last, Key):
            # get_value reads a key the schema knows but the record lacks as None; for a
            # column that would mean "clear it", so the key must really be there.
            holder = get_value(record, path.parent) if path.parent.segments else record
            if not isinstance(holder, dict) or last.name not in holder:
                return False, None
        return True, get_value(record, path)
    except (PathError, ForbiddenChange):
        return False, None
