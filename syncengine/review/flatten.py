"""A contact's three versions as rows of leaf values, for the contact view.

Array items are named by their identity (``contactIndividuals[id=2].firstName``), the
way conflicts and the journal name them, so a row lines up across the three versions
however each side orders its items. An item without any identity (rare: a malformed
record) is named by its position, for display only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from syncengine.domain.paths import item_selector
from syncengine.domain.ports import Record
from syncengine.errors import PathError


def leaves(record: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(path, value)`` for every leaf; a list of scalars (tags) is one leaf."""
    for key, value in record.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            yield from leaves(value, path)
        elif isinstance(value, list) and any(isinstance(item, Mapping) for item in value):
            for position, item in enumerate(value):
                if not isinstance(item, Mapping):
                    yield f"{path}[{position}]", item
                    continue
                try:
                    selector = item_selector(str(key), item)
                except PathError:
                    selector = f"[{position}]"
                yield from leaves(item, f"{path}{selector}")
        else:
            yield path, value


def side_by_side(
    platform: Record | None,
    mirror: Record | None,
    crm: Record | None,
    platform_leaves: Mapping[str, Any] | None = None,
) -> list[tuple[str, Any, Any, Any]]:
    """Rows ``(path, platform, mirror, crm)`` in the order CRM+ (then the others) has
    them; a side without the field shows None. ``platform_leaves``: a flat platform's
    values by path, shown as they are (their selectors may differ from CRM+'s)."""
    flat = [dict(leaves(side)) if side is not None else {} for side in (platform, mirror, crm)]
    flat[0].update(platform_leaves or {})
    order: dict[str, None] = {}
    for side in (flat[2], flat[1], flat[0]):
        order.update(dict.fromkeys(side))
    return [(path, flat[0].get(path), flat[1].get(path), flat[2].get(path)) for path in order]
