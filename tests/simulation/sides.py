"""The two sides as the simulation's people see and change them: the CRM+ sandbox through
its hooks (a person in the CRM UI), the platform's own storage through its files or
table (a person on the portal). Nothing here goes through the engine."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import sqlalchemy as sa

from syncengine.sandbox import SandboxServer
from tests.fixtures.sandbox import client_for

Doc = dict[str, Any]


def field_value(record: Doc, name: str) -> Any:
    """A simulated field's value in a CRM-shaped record (None when absent)."""
    if name == "firstName":
        people = record.get("contactIndividuals") or []
        primary = [p for p in people if p.get("isPrimary")] or people[:1]
        return primary[0].get("firstName") if primary else None
    return record.get(name)


def can_hold(record: Doc, name: str) -> bool:
    """Whether the record has a place for the field (a contact may have no person)."""
    return name != "firstName" or bool(record.get("contactIndividuals"))


def set_field(record: Doc, name: str, value: Any) -> None:
    if name == "firstName":
        people = record.get("contactIndividuals") or []
        primary = [p for p in people if p.get("isPrimary")] or people[:1]
        primary[0]["firstName"] = value
    else:
        record[name] = value


def crm_change(record: Doc, name: str, value: Any) -> Doc:
    """The partial edit a CRM UI user makes to set one field."""
    if name == "firstName":
        people = record.get("contactIndividuals") or []
        primary = [p for p in people if p.get("isPrimary")] or people[:1]
        return {"contactIndividuals": [{"id": primary[0]["id"], "firstName": value}]}
    return {name: value}


@dataclass
class PlatformDoc:
    key: str  # the platform's key: the contact id as text, or a new record's key
    contact_id: int | None
    doc: Doc


class PlatformStorage(Protocol):
    adapter: str

    def options(self) -> dict[str, Any]: ...

    def docs(self) -> list[PlatformDoc]: ...

    def write(self, key: str, doc: Doc) -> None: ...

    def add_new(self, key: str, doc: Doc) -> None: ...

    def remove(self, key: str) -> None: ...


class FileStorage:
    """``<id>.json`` and ``new-<key>.json`` in a folder, written as a partner would: the
    file system stamps each edit from its coarse clock, so an edit made in the same tick
    as the engine's own write of the document (or its read) keeps that mtime. The
    engine must still see it (``LocalRecord.settled``)."""

    adapter = "files"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def options(self) -> dict[str, Any]:
        return {"path": str(self.folder)}

    def docs(self) -> list[PlatformDoc]:
        found = []
        for path in sorted(self.folder.glob("*.json")):
            stem = path.stem
            new = stem.startswith("new-")
            key = stem[4:] if new else stem
            found.append(PlatformDoc(key, None if new else int(stem), json.loads(path.read_text())))
        return found

    def _path(self, key: str) -> Path:
        linked = self.folder / f"{key}.json"
        return linked if linked.exists() else self.folder / f"new-{key}.json"

    def write(self, key: str, doc: Doc) -> None:
        self._path(key).write_text(json.dumps(doc))

    def add_new(self, key: str, doc: Doc) -> None:
        (self.folder / f"new-{key}.json").write_text(json.dumps(doc))

    def remove(self, key: str) -> None:
        self._path(key).unlink()


class TableStorage:
    """The platform's own table: one JSON document per row."""

    adapter = "sql"

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = sa.create_engine(url)
        meta = sa.MetaData()
        self.table = sa.Table(
            "donors",
            meta,
            sa.Column("key", sa.Text, primary_key=True),
            sa.Column("crm_id", sa.Integer),
            sa.Column("updated_at", sa.DateTime, nullable=False),
            sa.Column("doc", sa.Text, nullable=False),
        )
        meta.create_all(self.engine)

    def options(self) -> dict[str, Any]:
        return {
            "sql": {
                "url": self.url,
                "table": "donors",
                "key_column": "key",
                "contact_id_column": "crm_id",
                "modified_column": "updated_at",
                "document_column": "doc",
            }
        }

    def docs(self) -> list[PlatformDoc]:
        t = self.table
        with self.engine.connect() as db:
            rows = db.execute(sa.select(t.c.key, t.c.crm_id, t.c.doc).order_by(t.c.key)).all()
        return [PlatformDoc(r.key, r.crm_id, json.loads(r.doc)) for r in rows]

    def write(self, key: str, doc: Doc) -> None:
        t = self.table
        with self.engine.begin() as db:
            before = db.execute(sa.select(t.c.updated_at).where(t.c.key == key)).scalar_one()
            now = datetime.now(UTC).replace(tzinfo=None)
            later = max(now, before + timedelta(milliseconds=1))
            db.execute(
                t.update().where(t.c.key == key).values(doc=json.dumps(doc), updated_at=later)
            )

    def add_new(self, key: str, doc: Doc) -> None:
        now = datetime.now(UTC).replace(tzinfo=None)
        with self.engine.begin() as db:
            db.execute(
                self.table.insert().values(
                    key=key, crm_id=None, updated_at=now, doc=json.dumps(doc)
                )
            )

    def remove(self, key: str) -> None:
        with self.engine.begin() as db:
            db.execute(self.table.delete().where(self.table.c.key == key))

    def close(self) -> None:
        self.engine.dispose()


class CrmSide:
    """CRM+ as its UI users change it, and as it is (every contact, archived ones too)."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self.hooks = sandbox.hooks

    def contacts(self) -> dict[int, Doc]:
        return {int(c["id"]): c for c in self.hooks.raw_state()["contacts"]}

    def edit(self, contact_id: int, name: str, value: Any) -> None:
        record = self.hooks.raw_contact(contact_id)
        self.hooks.ui_edit(contact_id, crm_change(record, name, value))

    def create(self, key: str, description: Any) -> int:
        """A contact another CRM+ user creates (not from the platform): its id."""
        with client_for(self.sandbox) as client:
            answer = client.post("/api/Contact", json=new_contact(None, f"CRM {key}", description))
        answer.raise_for_status()
        return int(answer.json()["id"])


def new_contact(contact_id: int | None, name: str, description: Any) -> Doc:
    """A household with one person, in the seed (GET) format."""
    stem = contact_id if contact_id is not None else name.replace(" ", "")
    record: Doc = {
        "contactType": "Household",
        "name": name,
        "informalName": f"in-{stem}",
        "description": description,
        "website": None,
        "contactIndividuals": [
            {
                "firstName": f"First{stem}",
                "lastName": f"Last{stem}",
                "isPrimary": True,
                "contactMethods": [
                    {
                        "type": "Home Email",
                        "value": f"donor-{stem}@example.org".lower(),
                        "isPrimary": True,
                    }
                ],
            }
        ],
    }
    if contact_id is not None:
        record["id"] = contact_id
        record["modifiedDateTimeUtc"] = "2024-05-01T10:00:00.5"
        record["contactIndividuals"][0]["id"] = contact_id * 10 + 1
        record["contactIndividuals"][0]["contactMethods"][0]["id"] = contact_id * 100 + 1
    return record
