"""Size limits on the values a sync carries.

A 60 MB ``description`` (a paste gone wrong, a hostile platform record) would be sent to
CRM+, kept in the mirror, the journal and the conflict store, and echoed to terminals.
``sync.max_value_size`` bounds every string value (its UTF-8 size): a contact holding a
larger one is reported, with the field, and left alone, on either side.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_MAX_VALUE_SIZE = 1_048_576  # 1 MiB: far beyond any real donor field


@dataclass(frozen=True)
class Oversized:
    """A value over the limit: where (a rough path for people, not the path language)."""

    where: str
    size: int


def oversized_values(record: Any, limit: int) -> list[Oversized]:
    """Every string (and key) in ``record`` whose UTF-8 size exceeds ``limit``."""
    if _json_size(record) <= limit:
        return []  # no string in it can be larger than the whole
    return list(_walk(record, "", limit))


def _json_size(record: Any) -> float:
    """An upper bound of the UTF-8 size of every string and key in ``record``: the length
    of its ASCII JSON (infinite if it is not plain JSON), one call at C speed where the
    walk below visits each value in Python (two thirds of the checks of a first sync's
    plan, at 2,000 contacts).

    With ``ensure_ascii`` every character of a string or key is written as itself (one
    byte: an ASCII one, its UTF-8 size) or as an escape at least as long as its UTF-8
    size (``\\uXXXX``, six bytes, for what UTF-8 spells in two or three; two of them for
    what it spells in four); a key that is not a string is written as long as its
    ``str`` (numbers alike, ``true``/``True``, ``null``/``None``)."""
    try:
        return len(json.dumps(record, ensure_ascii=True))
    except (TypeError, ValueError, RecursionError):
        return math.inf


def _walk(value: Any, where: str, limit: int) -> Iterator[Oversized]:
    if isinstance(value, str):
        # A quick bound first: a string of at most limit/4 characters cannot exceed it.
        if len(value) * 4 > limit:
            size = len(value.encode("utf-8", "surrogatepass"))
            if size > limit:
                yield Oversized(where or "(value)", size)
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            name = str(key)
            if len(name) * 4 > limit and len(name.encode("utf-8", "surrogatepass")) > limit:
                yield Oversized(f"{where}.(key)" if where else "(key)", len(name))
                continue
            yield from _walk(inner, f"{where}.{name}" if where else name, limit)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _walk(inner, f"{where}[{index}]", limit)


def describe_oversized(found: list[Oversized], limit: int) -> str:
    listed = ", ".join(f"{o.where} ({o.size:,} bytes)" for o in found[:5])
    more = f" and {len(found) - 5} more" if len(found) > 5 else ""
    return f"value too large: {listed}{more}; the limit is {limit:,} bytes (sync.max_value_size)"


# A Contact is at most five levels deep (contact > individuals > individual > methods >
# method). Far deeper JSON is hostile or broken, and recursive code (copies, diffs) would
# run out of stack on it: refused where it enters, with a clear error.
MAX_DEPTH = 32


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests lists and objects more than ``limit`` levels.

    Level by level, and only through lists and objects: iterative, so that it cannot
    itself run out of stack on what it checks, and never stepping on a string or number
    (walking every value of every bulk page was 38 % of a run that changed nothing; this
    is four times faster)."""
    level: list[Any] = [value] if isinstance(value, _CONTAINERS) else []
    depth = 0
    while level:
        if depth >= limit:
            return True
        below: list[Any] = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item
            below.extend([child for child in children if isinstance(child, _CONTAINERS)])
        level = below
        depth += 1
    return False


# What nests in parsed JSON: objects and arrays. Built-in types only: an ``isinstance``
# against the ``Mapping`` ABC costs ten times as much, on every value of every page.
_CONTAINERS = (dict, list)
