"""One harness per local adapter: the adapter under test plus the platform USER's hands.

The contract suite drives the adapter through the port and, through the harness, edits
the platform behind its back as the partner's own software would: writing a document,
updating a row, corrupting one. Harnesses write natively (files, SQL), never through the
adapter, so the suite tests what the adapter reads, not what it wrote itself.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import pytest
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    insert,
    make_url,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB

from syncengine.domain.paths import get_value
from syncengine.domain.ports import LocalRecord, Record
from syncengine.errors import PathError
from syncengine.local import FilesPlatform, ManualClock, MemoryPlatform, SqlPlatform
from tests.fixtures.db import postgres_schema_url

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

# The paths the contract looks at: every harness can store these.
TRACKED = (
    "name",
    "contactIndividuals[isPrimary=true].firstName",
    "contactIndividuals[isPrimary=true].contactMethods[type=Home Email].value",
    "address.city",
    "customFields[name=Shirt Size].value",
)
MISSING = "<missing>"

# The sql adapter's column mapping used by the column harnesses.
MAPPING = {
    "full_name": "name",
    "first_name": "contactIndividuals[isPrimary=true].firstName",
    "email": "contactIndividuals[isPrimary=true].contactMethods[type=Home Email].value",
    "city": "address.city",
    "shirt": "customFields[name=Shirt Size].value",
}


def contact(
    contact_id: int | None,
    *,
    name: str = "Ada Lovelace",
    first: str = "Ada",
    email: str = "ada@example.org",
    city: str = "London",
    shirt: str | None = "M",
) -> Record:
    """A Contact-shaped record; without a contact id, a new one (no CRM+ ids anywhere)."""
    individual: Record = {"isPrimary": True, "firstName": first}
    method: Record = {"type": "Home Email", "value": email}
    record: Record = {}
    if contact_id is not None:
        record["id"] = contact_id
        individual = {"id": contact_id * 10, **individual}
        method = {"id": contact_id * 100, **method}
    record.update(
        {
            "name": name,
            "address": {"city": city},
            "contactIndividuals": [{**individual, "contactMethods": [method]}],
            "customFields": [{"name": "Shirt Size", "value": shirt}],
        }
    )
    return record


def tracked(record: Record) -> dict[str, Any]:
    """The TRACKED values of a record (MISSING where a path does not resolve)."""
    found: dict[str, Any] = {}
    for path in TRACKED:
        try:
            found[path] = get_value(record, path)
        except PathError:
            found[path] = MISSING
    return found


def view(local: LocalRecord) -> dict[str, Any]:
    """What a LocalRecord says about the TRACKED paths, whichever form it comes in."""
    if local.leaves is not None:
        return {path: local.leaves.get(path, MISSING) for path in TRACKED}
    return tracked(local.record)


@dataclass
class StepClock:
    """Moves one second per reading: every stamp distinct and increasing."""

    moment: datetime = START

    def now(self) -> datetime:
        self.moment += timedelta(seconds=1)
        return self.moment


class Harness(Protocol):
    name: str
    platform: Any  # a LocalPlatform; typed loosely so adapter extras stay reachable

    def put_linked(self, contact_id: int, record: Record) -> None: ...

    def put_new(self, key_hint: str, record: Record) -> str:
        """Add a contact not yet in CRM+; returns its platform key."""
        ...

    def corrupt(self, contact_id: int) -> None: ...

    def remove(self, contact_id: int) -> None: ...

    def raw(self, contact_id: int) -> Any:
        """The stored form, to prove something was not written."""
        ...


# -- memory -----------------------------------------------------------------------------


@dataclass
class MemoryHarness:
    name: str = "memory"
    platform: MemoryPlatform = field(default_factory=lambda: MemoryPlatform(clock=ManualClock()))

    def put_linked(self, contact_id: int, record: Record) -> None:
        self.platform.put_linked(contact_id, record)

    def put_new(self, key_hint: str, record: Record) -> str:
        return self.platform.put_new(key_hint, record).key

    def corrupt(self, contact_id: int) -> None:
        self.platform.corrupt(str(contact_id), "broken by the test")

    def remove(self, contact_id: int) -> None:
        self.platform.remove(str(contact_id))

    def raw(self, contact_id: int) -> Any:
        return self.platform.raw(str(contact_id))


# -- files ------------------------------------------------------------------------------


@dataclass
class FilesHarness:
    folder: Path
    name: str = "files"
    platform: FilesPlatform = field(init=False)

    def __post_init__(self) -> None:
        self.platform = FilesPlatform(self.folder)

    def _write(self, file_name: str, text: str) -> None:
        path = self.folder / file_name
        previous = path.stat().st_mtime_ns if path.exists() else 0
        path.write_text(text, encoding="utf-8")
        # A platform edit must be visible as one even within the file system's mtime
        # granularity; the same-mtime case has its own test in test_files.
        now = path.stat().st_mtime_ns
        if now // 1000 <= previous // 1000:
            os.utime(path, ns=(now, previous + 1_000_000))

    def put_linked(self, contact_id: int, record: Record) -> None:
        self._write(f"{contact_id}.json", json.dumps(record, indent=2))

    def put_new(self, key_hint: str, record: Record) -> str:
        self._write(f"new-{key_hint}.json", json.dumps(record, indent=2))
        return key_hint

    def corrupt(self, contact_id: int) -> None:
        self._write(f"{contact_id}.json", '{"name": "Ada", oops')

    def remove(self, contact_id: int) -> None:
        (self.folder / f"{contact_id}.json").unlink()

    def raw(self, contact_id: int) -> Any:
        path = self.folder / f"{contact_id}.json"
        return path.read_bytes(), path.stat().st_mtime_ns


# -- sql --------------------------------------------------------------------------------


def _driver_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def _search_path_schema(url: str) -> str | None:
    options = make_url(url).query.get("options")
    if isinstance(options, str) and options.startswith("-csearch_path="):
        return options.split("=", 1)[1]
    return None


def documents_table(metadata: MetaData, *, schema: str | None = None) -> Table:
    """A platform table holding one JSON document per contact (text key)."""
    return Table(
        "platform_contacts",
        metadata,
        Column("ref", String(64), primary_key=True),
        Column("crm_id", BigInteger, nullable=True),
        Column("changed_at", DateTime(timezone=True), nullable=True),
        # SQLite: plain text, parsed by the adapter; PostgreSQL: jsonb, decoded by psycopg.
        Column("body", Text().with_variant(JSONB(), "postgresql"), nullable=True),
        Column("notes", Text, nullable=True),
        schema=schema,
    )


def members_table(metadata: MetaData, *, schema: str | None = None) -> Table:
    """A platform table with flat columns (numeric key, naive timestamps)."""
    return Table(
        "members",
        metadata,
        Column("member_id", Integer, primary_key=True, autoincrement=True),
        Column("crm_id", BigInteger, nullable=True),
        Column("updated", DateTime(timezone=False), nullable=True),
        Column("full_name", Text, nullable=True),
        Column("first_name", Text, nullable=True),
        Column("email", Text, nullable=True),
        Column("city", Text, nullable=True),
        Column("shirt", Text, nullable=True),
        Column("notes", Text, nullable=True),  # not mapped: the adapter must not touch it
        schema=schema,
    )


@dataclass
class SqlHarness:
    """The sql adapter on a fresh database, document or column mode."""

    name: str
    url: str
    mode: str  # "document" | "columns"
    clock: StepClock = field(default_factory=StepClock)
    platform: SqlPlatform = field(init=False)
    engine: Engine = field(init=False)
    table: Table = field(init=False)

    def __post_init__(self) -> None:
        self.engine = create_engine(_driver_url(self.url))
        schema = _search_path_schema(self.url)
        metadata = MetaData()
        if self.mode == "document":
            # On PostgreSQL, name the schema explicitly: the `schema` option is tested too.
            self.table = documents_table(metadata, schema=schema)
        else:
            self.table = members_table(metadata)
        metadata.create_all(self.engine)
        self.platform = SqlPlatform.from_options({"sql": self.options(schema)}, clock=self.clock)

    def options(self, schema: str | None) -> dict[str, Any]:
        if self.mode == "document":
            found: dict[str, Any] = {
                "url": self.url,
                "table": "platform_contacts",
                "key_column": "ref",
                "contact_id_column": "crm_id",
                "modified_column": "changed_at",
                "document_column": "body",
            }
            if schema:
                found["schema"] = schema
            return found
        return {
            "url": self.url,
            "table": "members",
            "key_column": "member_id",
            "contact_id_column": "crm_id",
            "modified_column": "updated",
            "columns": dict(MAPPING),
        }

    def close(self) -> None:
        self.platform.close()
        self.engine.dispose()

    def _stamp(self) -> datetime:
        moment = self.clock.now()
        return moment if self.mode == "document" else moment.replace(tzinfo=None)

    def _values(self, record: Record) -> dict[str, Any]:
        if self.mode == "document":
            body: Any = record
            if self.engine.dialect.name != "postgresql":
                body = json.dumps(record)
            return {"body": body}
        values = tracked(record)
        return {
            column: (None if values[path] == MISSING else values[path])
            for column, path in MAPPING.items()
        }

    def _row_filter(self, contact_id: int) -> Any:
        return self.table.c.crm_id == contact_id

    def put_linked(self, contact_id: int, record: Record) -> None:
        with self.engine.begin() as conn:
            changed = conn.execute(
                update(self.table)
                .where(self._row_filter(contact_id))
                .values(**self._values(record), **{self._modified: self._stamp()})
            ).rowcount
            if not changed:
                key = {"ref": str(contact_id)} if self.mode == "document" else {}
                conn.execute(
                    insert(self.table).values(
                        crm_id=contact_id,
                        **key,
                        **self._values(record),
                        **{self._modified: self._stamp()},
                    )
                )

    def put_new(self, key_hint: str, record: Record) -> str:
        with self.engine.begin() as conn:
            key = {"ref": key_hint} if self.mode == "document" else {}
            result = conn.execute(
                insert(self.table).values(
                    crm_id=None, **key, **self._values(record), **{self._modified: self._stamp()}
                )
            )
            return str(result.inserted_primary_key[0])

    def corrupt(self, contact_id: int) -> None:
        if self.mode == "document":
            bad: Any = [1, 2] if self.engine.dialect.name == "postgresql" else '{"name": oops'
            values: dict[str, Any] = {"body": bad}
        else:
            values = {"updated": None}
        with self.engine.begin() as conn:
            conn.execute(update(self.table).where(self._row_filter(contact_id)).values(**values))

    def remove(self, contact_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(self.table).where(self._row_filter(contact_id)))

    def raw(self, contact_id: int) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(select(self.table).where(self._row_filter(contact_id))).all()

    def row_by_key(self, key: str) -> Any:
        column = self.table.c.ref if self.mode == "document" else self.table.c.member_id
        value: Any = key if self.mode == "document" else int(key)
        with self.engine.connect() as conn:
            return conn.execute(select(self.table).where(column == value)).one()

    @property
    def _modified(self) -> str:
        return "changed_at" if self.mode == "document" else "updated"


@contextmanager
def sql_harness(name: str, backend: str, mode: str, directory: Path) -> Iterator[SqlHarness]:
    if backend == "sqlite":
        harness = SqlHarness(name, f"sqlite:///{directory / 'platform.db'}", mode)
        try:
            yield harness
        finally:
            harness.close()
        return
    with postgres_schema_url() as url:
        harness = SqlHarness(name, url, mode)
        try:
            yield harness
        finally:
            harness.close()


HARNESSES = (
    "memory",
    "files",
    "sql-document-sqlite",
    "sql-document-postgres",
    "sql-columns-sqlite",
    "sql-columns-postgres",
)


def harness_params() -> list[Any]:
    return [
        pytest.param(name, id=name, marks=[pytest.mark.postgres] if "postgres" in name else [])
        for name in HARNESSES
    ]


@contextmanager
def make_harness(name: str, directory: Path) -> Iterator[Harness]:
    if name == "memory":
        yield MemoryHarness()
    elif name == "files":
        folder = directory / "platform"
        folder.mkdir()
        yield FilesHarness(folder)
    else:
        _, mode, backend = name.split("-")
        mode = "document" if mode == "document" else "columns"
        with sql_harness(name, backend, mode, directory) as harness:
            yield harness
