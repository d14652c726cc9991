"""Any text CRM+ or the platform can hold is stored and read back exactly, on SQLite and
PostgreSQL, through every repository: NUL (PostgreSQL's TEXT and JSONB refuse it), lone
surrogates (no UTF-8 form: both drivers refuse them; in SQLite's JSON text a high one
followed by a low one used to come back as ONE character), the escape mark itself and text
that looks like an escape. In values, in dict keys, in free-text columns, and in WHERE
clauses (a value is found by the same escaped value).

The escape itself (``syncengine.store.columns``) is tested without a database first.
"""

import dataclasses
import itertools
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlmodel import Session, col, select

from syncengine.domain.ports import (
    ConflictRecord,
    ConflictStatus,
    Cursor,
    JournalEntry,
    MirrorEntry,
    Outcome,
    SyncState,
)
from syncengine.store import (
    SqlConflictStore,
    SqlCursorStore,
    SqlJournal,
    SqlMirrorStore,
    SqlSyncStateStore,
)
from syncengine.store.columns import (
    MARK,
    EscapedString,
    JsonDocument,
    escape_json,
    escape_text,
    unescape_json,
    unescape_text,
)
from syncengine.store.tables import ConflictRow, CursorRow, JournalRow
from tests.fixtures.db import migrated_engine, sqlite_url

AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

# -- what is thrown at the store -------------------------------------------------------------

# Named cases: each must round-trip on its own (and they seed the generated ones below).
NAMED = [
    "",
    "\x00",
    "a\x00b",
    "\x00\x00",
    "\ud800",
    "\udfff",
    "a\udc00b",
    "\ud83d\ude00",  # two lone surrogates that JSON text would merge into one emoji
    "😀",
    MARK,
    MARK + "0",  # looks like an escaped NUL, is not one
    MARK + "m",
    MARK + "ud800",
    MARK + MARK + "0",  # exactly how a NUL is stored: as a value, it must not read as NUL
    "x" + MARK + "0",
    "\\u0000",  # the JSON spelling of NUL, as plain text
    "\\ud800",
    "\\ufdd0",
    "\ufdd1\uffff",
    "'; DROP TABLE journal; --",
    "%_\\",
]
# Pieces that combine into the awkward cases: escapes next to escapes, marks next to NULs.
PIECES = [
    "\x00",
    "\ud800",
    "\udbff",
    "\udc00",
    "\udfff",
    MARK,
    "0",
    "m",
    "u",
    "d800",
    "\\",
    "\\u",
    '"',
    "'",
    "é",
    "😀",
    " ",
    "a",
    "\n",
]
# Every code point a Python str can hold, surrogates included (codec=None).
ANY_CHARACTER = st.characters(codec=None)
small_texts = st.one_of(
    st.text(ANY_CHARACTER, max_size=30),
    st.lists(st.sampled_from(PIECES), max_size=12).map("".join),
    st.sampled_from(NAMED),
)
long_texts = st.builds(lambda piece, times: piece * times, small_texts, st.integers(50, 400))
texts = st.one_of(small_texts, long_texts)
# A text for VARCHAR(64) (mirror.modified_raw): at most 10 characters, so that even one
# made only of surrogates (6 characters each, escaped, plus the mark) still fits.
short_texts = small_texts.map(lambda value: value[:10])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    # Floats that JSONB renders back as written (it prints 1e100 as 1 and 100 zeros, which
    # reads back as an int: a JSONB matter, not this one).
    st.sampled_from([0.5, -1.25, 3.0]),
    texts,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(small_texts, children, max_size=4)
    ),
    max_leaves=12,
)
records = st.dictionaries(small_texts, json_values, max_size=6)

# Generous but bounded: every example is several round trips on PostgreSQL.
DB_EXAMPLES = settings(max_examples=60, database=None)
# Contact ids for rows inserted only if absent, new in every example.
NEW_IDS = itertools.count(2)


def unstorable(value: str) -> bool:
    return "\x00" in value or any(0xD800 <= ord(char) <= 0xDFFF for char in value)


def strings_in(value: Any) -> list[str]:
    """Every string of a JSON value, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in [key, *strings_in(item)]]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    return []


# -- the escape on its own ---------------------------------------------------------------


@given(texts)
@example("\x00")
@example(MARK)
@example(MARK + MARK + "0")
def test_escaping_is_reversible_and_leaves_nothing_unstorable(value: str) -> None:
    stored = escape_text(value)
    assert not unstorable(stored)
    assert unescape_text(stored) == value


@given(texts, texts)
def test_different_values_are_stored_differently(first: str, second: str) -> None:
    if first != second:
        assert escape_text(first) != escape_text(second)


@pytest.mark.parametrize("value", ["", "plain", "Zürich \u2013 😀", "a" * 5000, "x" + MARK + "0"])
def test_a_value_with_nothing_to_escape_is_stored_as_it_is(value: str) -> None:
    # The same object: no copy, no scan beyond the check.
    assert escape_text(value) is value
    assert unescape_text(value) is value


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("\x00", MARK + MARK + "0"),
        ("a\x00b", MARK + "a" + MARK + "0b"),
        ("\ud800", MARK + MARK + "ud800"),
        (MARK, MARK + MARK + "m"),
        (MARK + "0", MARK + MARK + "m0"),
        ("a" + MARK + "\x00", MARK + "a" + MARK + "m" + MARK + "0"),
    ],
)
def test_the_stored_form(value: str, stored: str) -> None:
    assert escape_text(value) == stored
    assert unescape_text(stored) == value


@given(st.text(st.characters(codec=None, exclude_characters="\x00", exclude_categories=["Cs"])))
@example(MARK + "abc")
@example(MARK + "0")
@example(MARK + MARK + "x")
@example(MARK + MARK + "uD800")
@example(MARK + MARK + "u0041")
@example(MARK + "a" + MARK)
def test_text_stored_before_escaping_existed_reads_back_unless_it_is_a_canonical_escape(
    old: str,
) -> None:
    # Anything the old code could store (no NUL, no surrogate) reads back unchanged,
    # unless it is exactly what escape_text writes for some value: only those decode.
    value = unescape_text(old)
    assert value == old or escape_text(value) == old


@given(json_values)
@example({"\x00": ["\ud800", {MARK: MARK + "0"}]})
def test_json_values_and_keys_are_escaped_reversibly(value: Any) -> None:
    stored = escape_json(value)
    assert not any(unstorable(s) for s in strings_in(stored))
    assert unescape_json(stored) == value


def test_a_json_value_with_nothing_to_escape_is_not_copied() -> None:
    record = {"name": "Ada", "customFields": [{"name": "Chapter", "value": "Zürich"}], "id": 7}
    assert escape_json(record) is record
    assert unescape_json(record) is record


# The column type's bind/result processors take a fast path (they look at the JSON text
# first); they must agree exactly with escape_json / unescape_json, false alarms or not.

DIALECTS = [sqlite.dialect(), postgresql.psycopg.dialect()]


def bound_text(dialect: Dialect, value: Any) -> str:
    """The JSON text the driver sends for ``value``."""
    bind = JsonDocument.dialect_impl(dialect).bind_processor(dialect)
    assert bind is not None
    bound = bind(value)
    if isinstance(bound, str):
        return bound
    # psycopg's Jsonb wrapper: serialised by the driver, with the wrapper's dumps.
    dumped = (bound.dumps or json.dumps)(bound.obj)
    assert isinstance(dumped, str)
    return dumped


def read_back(dialect: Dialect, stored_text: str) -> Any:
    """What the column type makes of the JSON text a SELECT returns."""
    if dialect.name == "postgresql":
        # What jsonb's text output looks like (no \\u escapes), read as the SELECT reads
        # it: through the column expression's type.
        pg_text = json.dumps(json.loads(stored_text), ensure_ascii=False)
        expression = JsonDocument.dialect_impl(dialect).column_expression(
            JournalRow.__table__.c.after
        )
        assert expression is not None
        result = expression.type.dialect_impl(dialect).result_processor(dialect, None)
        assert result is not None
        via_text = result(pg_text)
        # A document that arrives parsed (not through the cast) is walked instead.
        parsed = JsonDocument.dialect_impl(dialect).result_processor(dialect, None)
        assert parsed is not None
        assert parsed(json.loads(pg_text)) == via_text
        return via_text
    result = JsonDocument.dialect_impl(dialect).result_processor(dialect, None)
    assert result is not None
    return result(stored_text)


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
@given(value=json_values)
@example(value={"d": "before\x00after"})
@example(value=["\\u0000", "\\ud800", "\\ufdd0", "C:\\udata"])  # false alarms
@example(value="😀 and Zürich")
@example(value={"k": MARK + MARK + "0"})
def test_the_column_processors_agree_with_the_escape(dialect: Dialect, value: Any) -> None:
    sent = bound_text(dialect, value)
    assert json.loads(sent) == escape_json(value)
    assert read_back(dialect, sent) == value


# -- every repository, on both databases -------------------------------------------------


@DB_EXAMPLES
@given(record=records, raw=short_texts)
@example(record={"description": "before\x00after"}, raw="\x00")
@example(record={"\x00": "a\x00b", "\ud800": ["\ud800"]}, raw="\ud800")
@example(record={MARK: MARK + "0", "k": MARK + MARK + "0"}, raw=MARK + "0")
def test_mirror_round_trips_any_text(db_engine: Engine, record: dict[str, Any], raw: str) -> None:
    mirror = SqlMirrorStore(db_engine)
    entry = MirrorEntry(
        contact_id=1, record=record, modified_raw=raw, content_hash="0" * 64, fetched_at=AT
    )
    mirror.put(entry)
    assert mirror.get(1) == entry
    # The first sync's bulk insert (COPY on PostgreSQL) stores the same text; a contact
    # id of its own in each example (the database is the same for all of them).
    linked = dataclasses.replace(entry, contact_id=next(NEW_IDS))
    assert mirror.add_new([linked]) == {linked.contact_id}
    assert mirror.get(linked.contact_id) == linked


@DB_EXAMPLES
@given(value=texts, document=json_values)
@example(value="a\x00b", document={"description": "\x00"})
@example(value="\ud800", document={"\ud800": "\udfff"})
@example(value=MARK, document=[MARK, MARK + "m"])
def test_journal_round_trips_any_text_and_finds_an_entry_by_its_key(
    db_engine: Engine, value: str, document: Any
) -> None:
    journal = SqlJournal(db_engine, clock=lambda: AT)
    entry = JournalEntry(
        contact_id=None,
        local_key=value,
        method="POST",
        endpoint=f"/api/Contact/{value}",
        fields=[value, "description"],
        before={value: document},
        after={"description": value, "nested": document},
        error=value,
        note=value,
        started_at=AT,
    )
    entry_id = journal.open(entry)
    stored = journal.get(entry_id)
    assert stored is not None
    assert (stored.local_key, stored.endpoint, stored.error, stored.note) == (
        value,
        f"/api/Contact/{value}",
        value,
        value,
    )
    assert (stored.fields, stored.before, stored.after) == (
        [value, "description"],
        {value: document},
        {"description": value, "nested": document},
    )
    # WHERE local_key = :value finds it: the parameter is escaped like the stored value.
    found = journal.pending_for_key(value)
    assert entry_id in [e.id for e in found]
    assert all(e.local_key == value for e in found)

    journal.close(
        entry_id,
        Outcome.FAILED,
        response_after={value: document},
        error="HTTP 400: " + value,
        note=value + "!",
        contact_id=1,
    )
    closed = journal.get(entry_id)
    assert closed is not None
    assert closed.response_after == {value: document}
    assert (closed.error, closed.note, closed.outcome) == (
        "HTTP 400: " + value,
        value + "!",
        Outcome.FAILED,
    )
    assert entry_id not in [e.id for e in journal.pending_for_key(value)]


@DB_EXAMPLES
@given(path=texts, value=json_values, author=texts)
@example(path="a\x00b", value="\x00", author="\ud800")
@example(path=MARK + MARK + "0", value={MARK: "\ud800"}, author=MARK)
def test_conflicts_round_trip_any_text_and_find_the_open_conflict_by_path(
    db_engine: Engine, path: str, value: Any, author: str
) -> None:
    conflicts = SqlConflictStore(db_engine, clock=lambda: AT)
    conflict = ConflictRecord(
        contact_id=1,
        path=path,
        base=value,
        platform={path: value},
        crm=[value, path],
        platform_modified=AT,
        crm_modified=AT,
        platform_author=author,
        crm_author=author,
        suggestion=value,
        rule=author,
    )
    first = conflicts.record(conflict)
    assert first.id is not None
    assert (first.path, first.base, first.platform, first.crm, first.suggestion) == (
        path,
        value,
        {path: value},
        [value, path],
        value,
    )
    assert (first.platform_author, first.crm_author, first.rule) == (author, author, author)

    # Recording the same field again refreshes the open conflict: the upsert's
    # ON CONFLICT (organization, contact_id, path) matched the escaped path.
    again = conflicts.record(dataclasses.replace(conflict, crm="refreshed", suggestion=path))
    assert again.id == first.id
    assert (again.crm, again.suggestion) == ("refreshed", path)
    with Session(db_engine) as session:
        by_path = session.exec(
            select(ConflictRow).where(
                col(ConflictRow.path) == path, col(ConflictRow.status) == ConflictStatus.OPEN
            )
        ).all()
    assert [row.id for row in by_path] == [first.id]

    resolved = conflicts.resolve(first.id, value, resolved_by=author, at=AT)
    assert (resolved.resolution, resolved.resolved_by) == (value, author)
    got = conflicts.get(first.id)
    assert got is not None and got.resolution == value


@DB_EXAMPLES
@given(key=texts, outcome=texts, error=texts)
@example(key="a\x00b", outcome="\x00", error="\ud800")
@example(key=MARK, outcome=MARK + "0", error=MARK + MARK + "0")
def test_sync_state_round_trips_any_text(
    db_engine: Engine, key: str, outcome: str, error: str
) -> None:
    states = SqlSyncStateStore(db_engine)
    state = SyncState(
        contact_id=1,
        platform_key=key,
        platform_modified=AT,
        synced_at=AT,
        last_outcome=outcome,
        last_error=error,
    )
    states.put(state)
    assert states.get(1) == state
    assert states.all() == [state]
    # A first sync's bulk insert, in an organisation of its own (``all`` above).
    bulk = SqlSyncStateStore(db_engine, "bulk")
    linked = dataclasses.replace(state, contact_id=next(NEW_IDS))
    bulk.add_new([linked])
    assert bulk.get(linked.contact_id) == linked
    assert states.get(linked.contact_id) is None


@DB_EXAMPLES
@given(name=texts, high_water=texts)
@example(name="a\x00b", high_water="\x00")
@example(name="\ud800", high_water=MARK)
@example(name=MARK + MARK + "0", high_water="\ud83d\ude00")
def test_cursors_round_trip_any_text_and_are_found_by_name(
    db_engine: Engine, name: str, high_water: str
) -> None:
    cursors = SqlCursorStore(db_engine, clock=lambda: AT)
    cursors.put(Cursor(name=name, high_water=high_water, ids_at_high_water=[1, 2]))
    # get(name) is a primary-key lookup: WHERE name = :escaped name.
    assert cursors.get(name) == Cursor(
        name=name, high_water=high_water, ids_at_high_water=[1, 2], updated_at=AT
    )


# -- explicit: every named case through every repository --------------------------------


@pytest.mark.parametrize("value", NAMED, ids=[ascii(v) for v in NAMED])
def test_every_named_case_round_trips_through_every_repository(
    db_engine: Engine, value: str
) -> None:
    mirror = SqlMirrorStore(db_engine)
    entry = MirrorEntry(
        contact_id=1,
        record={"description": value, value: [value]},
        modified_raw=value[:10],
        content_hash="0" * 64,
        fetched_at=AT,
    )
    mirror.put(entry)
    assert mirror.get(1) == entry

    journal = SqlJournal(db_engine, clock=lambda: AT)
    opened = JournalEntry(
        contact_id=1,
        local_key=value,
        method="PUT",
        endpoint=value,
        fields=[value],
        before={value: value},
        after={"d": value},
        error=value,
        note=value,
        started_at=AT,
    )
    entry_id = journal.open(opened)
    assert journal.get(entry_id) == dataclasses.replace(opened, id=entry_id)
    assert [e.id for e in journal.pending_for_key(value)] == [entry_id]

    conflicts = SqlConflictStore(db_engine, clock=lambda: AT)
    conflict = ConflictRecord(
        contact_id=1,
        path=value,
        base=value,
        platform={value: value},
        crm=[value],
        platform_modified=None,
        crm_modified=None,
        platform_author=value,
        crm_author=value,
        suggestion=value,
        rule=value,
    )
    stored = conflicts.record(conflict)
    assert conflicts.record(conflict).id == stored.id  # the open conflict, found by path
    assert stored == dataclasses.replace(conflict, id=stored.id, created_at=AT, updated_at=AT)

    states = SqlSyncStateStore(db_engine)
    state = SyncState(1, value, None, None, last_outcome=value, last_error=value)
    states.put(state)
    assert states.get(1) == state

    cursors = SqlCursorStore(db_engine, clock=lambda: AT)
    cursors.put(Cursor(name=value, high_water=value, ids_at_high_water=[7]))
    assert cursors.get(value) == Cursor(value, value, [7], updated_at=AT)


# -- explicit: where the escape shows, and that WHERE finds escaped values ---------------


@pytest.mark.parametrize("value", ["\x00", "a\x00b", "\ud800", MARK, MARK + MARK + "0"])
def test_comparisons_against_a_column_find_escaped_values(db_engine: Engine, value: str) -> None:
    journal = SqlJournal(db_engine, clock=lambda: AT)
    other = journal.open(
        JournalEntry(
            contact_id=2,
            method="PUT",
            endpoint="/x",
            fields=[],
            before={},
            after={},
            local_key="plain",
        )
    )
    mine = journal.open(
        JournalEntry(
            contact_id=1,
            method="PUT",
            endpoint="/x",
            fields=[],
            before={},
            after={},
            local_key=value,
        )
    )
    cursors = SqlCursorStore(db_engine, clock=lambda: AT)
    cursors.put(Cursor(name=value, high_water=None))
    with Session(db_engine) as session:
        equal = session.exec(select(JournalRow.id).where(col(JournalRow.local_key) == value))
        assert list(equal) == [mine]
        among = session.exec(
            select(JournalRow.id).where(col(JournalRow.local_key).in_([value, "nothing"]))
        )
        assert list(among) == [mine]
        unequal = session.exec(select(JournalRow.id).where(col(JournalRow.local_key) != value))
        assert list(unequal) == [other]
        named = session.exec(select(CursorRow.name).where(col(CursorRow.name) == value))
        assert list(named) == [value]


@pytest.mark.parametrize(
    ("value", "stored"),
    [("a\x00b", MARK + "a" + MARK + "0b"), ("\ud800", MARK + MARK + "ud800"), ("plain", "plain")],
)
def test_what_the_database_holds_is_the_escaped_text(
    db_engine: Engine, value: str, stored: str
) -> None:
    journal = SqlJournal(db_engine, clock=lambda: AT)
    entry_id = journal.open(
        JournalEntry(
            contact_id=1,
            method="PUT",
            endpoint="/x",
            fields=[],
            before={},
            after={"description": value},
            error=value,
        )
    )
    with db_engine.connect() as connection:
        error, after = connection.execute(
            text("SELECT error, after FROM journal WHERE id = :id"), {"id": entry_id}
        ).one()
    assert error == stored
    # Escaped strings are still JSON strings (JSONB operators keep working on them).
    after_document = after if isinstance(after, dict) else json.loads(after)
    assert after_document == {"description": stored}


# -- rows written before the escape existed ----------------------------------------------

# What the old code could have stored: on both databases anything without NUL or
# surrogates, and on SQLite NUL too (in text, and in JSON as \u0000).
OLD_VALUES = [
    "plain",
    "Zürich",
    MARK + "abc",  # starts with the mark but is no escape: read as stored
    MARK + "0",
    MARK + MARK + "x",
    MARK + MARK + "uD800",  # upper-case hex: not what we write
    "x" + MARK + "0",
]


def insert_old_journal_row(engine: Engine, error: str, after_json: str) -> int:
    """A journal row written with plain SQL, as the code before the escape wrote it."""
    with engine.begin() as connection:
        after_type = "CAST(:after AS JSONB)" if engine.dialect.name == "postgresql" else ":after"
        return int(
            connection.execute(
                text(
                    "INSERT INTO journal (organization, contact_id, method, endpoint, fields, "
                    "before, after, response_after, outcome, error, concurrent_write_suspected, "
                    f"started_at) VALUES ('default', 1, 'PUT', '/x', '[]', '{{}}', {after_type}, "
                    "'{}', 'ok', :error, false, :at) RETURNING id"
                ),
                {"after": after_json, "error": error, "at": AT.replace(tzinfo=None)},
            ).scalar_one()
        )


@pytest.mark.parametrize("old", OLD_VALUES)
def test_rows_written_before_the_escape_read_back_as_they_were(db_engine: Engine, old: str) -> None:
    entry_id = insert_old_journal_row(db_engine, old, json.dumps({old: old}))
    entry = SqlJournal(db_engine).get(entry_id)
    assert entry is not None
    assert (entry.error, entry.after) == (old, {old: old})


def test_nul_stored_by_the_old_code_on_sqlite_reads_back(tmp_path: Path) -> None:
    # SQLite only: PostgreSQL could never hold NUL, so it has no such old rows.
    with migrated_engine(sqlite_url(tmp_path)) as db_engine:
        entry_id = insert_old_journal_row(db_engine, "a\x00b", json.dumps({"d": "a\x00b"}))
        entry = SqlJournal(db_engine).get(entry_id)
    assert entry is not None
    assert (entry.error, entry.after) == ("a\x00b", {"d": "a\x00b"})


def test_every_column_that_carries_a_value_or_message_escapes() -> None:
    # The columns that carry values and messages all use the escaping types.
    for table, names in {
        "journal": ("local_key", "endpoint", "error", "note"),
        "conflicts": ("path", "platform_author", "crm_author", "rule", "resolved_by"),
        "sync_state": ("platform_key", "last_outcome", "last_error"),
        "mirror": ("modified_raw",),
        "cursors": ("name", "high_water"),
    }.items():
        columns = JournalRow.metadata.tables[table].c
        for name in names:
            assert isinstance(columns[name].type, EscapedString), (table, name)


# -- JSON content in SQL: paths and filters keep working on escaped documents ------------


@pytest.mark.parametrize("value", ["a\x00b", "\ud800", MARK + "0", "plain"])
def test_json_paths_read_and_filter_escaped_documents(db_engine: Engine, value: str) -> None:
    journal = SqlJournal(db_engine, clock=lambda: AT)
    entry = JournalEntry(
        contact_id=1,
        method="PUT",
        endpoint="/x",
        fields=[],
        before={},
        after={"description": value, value: 1},
    )
    mine = journal.open(entry)
    journal.open(dataclasses.replace(entry, after={"description": "other"}))
    description = col(JournalRow.after)["description"]
    with Session(db_engine) as session:
        # A path read goes through the column type: unescaped.
        read = session.exec(select(description).where(col(JournalRow.id) == mine)).one()
        assert read == value
        # A filter on content compares stored (escaped) text: escape the value to match.
        found = session.exec(
            select(JournalRow.id).where(description.as_string() == escape_text(value))
        ).all()
        assert found == [mine]
