"""The JSON form of a conflict: the contract of ``conflicts list --json`` and reports."""

from __future__ import annotations

from typing import Any

from syncengine.domain.ports import ConflictRecord


def conflict_json(row: ConflictRecord) -> dict[str, Any]:
    return {
        "id": row.id,
        "contact_id": row.contact_id,
        "path": row.path,
        "base": row.base,
        "platform": row.platform,
        "crm": row.crm,
        "platform_modified": _iso(row.platform_modified),
        "crm_modified": _iso(row.crm_modified),
        "platform_author": row.platform_author,
        "crm_author": row.crm_author,
        "status": row.status.value,
        "suggestion": row.suggestion,
        "rule": row.rule,
        "resolution": row.resolution,
        "resolved_by": row.resolved_by,
        "resolved_at": _iso(row.resolved_at),
        "applied_at": _iso(row.applied_at),
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None
