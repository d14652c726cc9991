"""Drivers that act on a local platform as its own users would: editing a document by
hand, updating a row with SQL. The engine only ever sees them through its adapters."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from syncengine.local.files.platform import STAMP_RESOLUTION_NS

Edit = Callable[[dict[str, Any]], None]


class PlatformDriver(Protocol):
    adapter: str

    def options(self) -> dict[str, Any]: ...

    def read(self, contact_id: int) -> dict[str, Any] | None: ...

    def edit(self, contact_id: int, change: Edit) -> None: ...

    def add_new(self, key: str, record: dict[str, Any]) -> None: ...

    def stored_keys(self) -> list[str]: ...

    def settle(self, contact_id: int) -> None:
        """Make the record's last edit look older than the platform's timestamp
        resolution (its time settled), for a test about something else than a record
        looked at once more (tests/engine/test_racy_stamps.py)."""
        ...

    def stamp(self, contact_id: int, at: datetime) -> None:
        """Set the record's modification time to ``at`` (aware), without a sleep."""
        ...


class FilesDriver:
    adapter = "files"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def options(self) -> dict[str, Any]:
        return {"path": str(self.folder)}

    def read(self, contact_id: int) -> dict[str, Any] | None:
        path = self.folder / f"{contact_id}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def edit(self, contact_id: int, change: Edit) -> None:
        path = self.folder / f"{contact_id}.json"
        doc = json.loads(path.read_text())
        change(doc)
        _tick()
        path.write_text(json.dumps(doc, indent=2))
        now = time.time()
        os.utime(path, (now, now))

    def add_new(self, key: str, record: dict[str, Any]) -> None:
        (self.folder / f"new-{key}.json").write_text(json.dumps(record, indent=2))

    def stored_keys(self) -> list[str]:
        return sorted(p.stem for p in self.folder.glob("*.json"))

    def settle(self, contact_id: int) -> None:
        path = self.folder / f"{contact_id}.json"
        then = time.time_ns() - STAMP_RESOLUTION_NS - 1_000_000_000
        os.utime(path, ns=(then, then))

    def stamp(self, contact_id: int, at: datetime) -> None:
        ns = (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1_000
        os.utime(self.folder / f"{contact_id}.json", ns=(ns, ns))


class SqlDocumentDriver:
    """The platform's own database: one JSON document column per contact."""

    adapter = "sql"

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = sa.create_engine(url)
        with self.engine.begin() as db:
            db.execute(
                sa.text(
                    "CREATE TABLE donors (key TEXT PRIMARY KEY, crm_id INTEGER, "
                    "updated_at TIMESTAMP NOT NULL, doc TEXT NOT NULL)"
                )
            )

    def options(self) -> dict[str, Any]:
        return sql_options(self.url, document_column="doc")

    def read(self, contact_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as db:
            row = db.execute(
                sa.text("SELECT doc FROM donors WHERE crm_id = :id"), {"id": contact_id}
            ).first()
        return json.loads(row[0]) if row else None

    def edit(self, contact_id: int, change: Edit) -> None:
        doc = self.read(contact_id)
        assert doc is not None
        change(doc)
        _tick()
        with self.engine.begin() as db:
            db.execute(
                sa.text("UPDATE donors SET doc = :doc, updated_at = :now WHERE crm_id = :id"),
                {"doc": json.dumps(doc), "now": _now(), "id": contact_id},
            )

    def add_new(self, key: str, record: dict[str, Any]) -> None:
        with self.engine.begin() as db:
            db.execute(
                sa.text(
                    "INSERT INTO donors (key, crm_id, updated_at, doc) "
                    "VALUES (:k, NULL, :now, :doc)"
                ),
                {"k": key, "now": _now(), "doc": json.dumps(record)},
            )

    def stored_keys(self) -> list[str]:
        with self.engine.connect() as db:
            return sorted(str(r[0]) for r in db.execute(sa.text("SELECT key FROM donors")))

    def settle(self, contact_id: int) -> None:
        """Nothing to do: the platform's stamps are exact (microseconds, moved forward)."""

    def stamp(self, contact_id: int, at: datetime) -> None:
        with self.engine.begin() as db:
            db.execute(
                sa.text("UPDATE donors SET updated_at = :at WHERE crm_id = :id"),
                {"at": at.astimezone(UTC).replace(tzinfo=None), "id": contact_id},
            )


def sql_options(url: str, **mode: Any) -> dict[str, Any]:
    """The ``local`` options of the test table ``donors``; ``mode``: the document column
    or the column mapping."""
    return {
        "sql": {
            "url": url,
            "table": "donors",
            "key_column": "key",
            "contact_id_column": "crm_id",
            "modified_column": "updated_at",
            **mode,
        }
    }


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _tick() -> None:
    # Modification times must move forward between a sync and the edit after it, even
    # on a file system with coarse timestamps.
    time.sleep(0.02)


class SqlColumnsDriver:
    """The platform's own table with plain columns, mapped to field paths."""

    adapter = "sql"
    COLUMNS = {
        "display_name": "name",
        "first_name": "contactIndividuals[isPrimary=true].firstName",
        "email": "contactIndividuals[isPrimary=true].contactMethods[type=Home Email].value",
        "city": "address.city",
        "shirt": "customFields[name=Shirt Size].value",
    }

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = sa.create_engine(url)
        with self.engine.begin() as db:
            db.execute(
                sa.text(
                    "CREATE TABLE donors (key TEXT PRIMARY KEY, crm_id INTEGER, "
                    "updated_at TIMESTAMP NOT NULL, display_name TEXT, first_name TEXT, "
                    "email TEXT, city TEXT, shirt TEXT, notes TEXT)"
                )
            )

    def options(self) -> dict[str, Any]:
        return sql_options(self.url, columns=self.COLUMNS)

    def row(self, contact_id: int) -> dict[str, Any] | None:
        with self.engine.connect() as db:
            found = (
                db.execute(sa.text("SELECT * FROM donors WHERE crm_id = :id"), {"id": contact_id})
                .mappings()
                .first()
            )
        return dict(found) if found else None

    def update(self, contact_id: int, **columns: Any) -> None:
        _tick()
        sets = ", ".join(f"{name} = :{name}" for name in columns)
        with self.engine.begin() as db:
            db.execute(
                sa.text(f"UPDATE donors SET {sets}, updated_at = :now WHERE crm_id = :id"),
                {**columns, "now": _now(), "id": contact_id},
            )
