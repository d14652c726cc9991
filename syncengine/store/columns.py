"""Column types that behave the same on SQLite and PostgreSQL.

Besides time and ids, this is where text is made storable: a Python ``str`` can hold
characters that the databases (or their drivers) cannot, and CRM+ and the platform hand
us such strings. Every text and JSON column that can carry a CRM or platform value (or a
message quoting one) uses ``EscapedText`` / ``EscapedString`` / ``JsonDocument``, so the
escaping is done here, once, on the way in and on the way out, and nowhere else.

What cannot be stored as is:

- U+0000 (NUL): PostgreSQL's TEXT/VARCHAR cannot hold it, and JSONB refuses ``\\u0000``
  in a string ("unsupported Unicode escape sequence");
- lone surrogates (U+D800..U+DFFF: a Python ``str`` gets them from JSON such as
  ``"\\ud800"``): they have no UTF-8 form, so both drivers refuse them in text columns,
  and JSONB refuses them in JSON. Worse, in JSON *text* (SQLite) a high surrogate followed
  by a low one is written as ``"\\ud83d\\ude00"`` and read back as ONE character: the
  value changes silently.

The escape (see docs/store.md, "Text the database cannot hold"):

- a string with no NUL, no surrogate, and not starting with ``MARK`` (U+FDD0, a Unicode
  noncharacter: reserved for a program's internal use, never meant to appear in
  interchanged text) is stored unchanged. That is nearly every string, and the check is
  a flag test plus a ``memchr`` for ASCII text;
- any other string is stored as ``MARK`` + the string with ``MARK`` -> ``MARK m``,
  NUL -> ``MARK 0`` and each surrogate -> ``MARK u`` + 4 lowercase hex digits. The escape
  character is escaped too, so the mapping is one-to-one: a value that happens to look
  like an escaped one is itself escaped (it starts with ``MARK``) and reads back exactly.

Reading reverses it only for a stored string that starts with ``MARK`` AND is exactly what
``escape_text`` would have written for the decoded value; anything else is returned as
stored. So rows written before the escape existed read back unchanged unless a value
happens to be, character for character, a canonical escape (it starts with a noncharacter
and contains a well-formed ``MARK 0`` / ``MARK m`` / ``MARK u....`` sequence). No scheme
can do better without a marker outside the string: every storable string was a valid old
value, so the escaped form of a NUL must collide with some possible old value; this one
makes that value as improbable as we can.

Applied on BOTH backends (although SQLite holds NUL, and its JSON text holds anything):
SQLite's driver still refuses lone surrogates in text columns and merges surrogate pairs
in JSON text; and one stored form means a value reads the same on either database, a
SQLite database copied into PostgreSQL stays loadable, and both run the same tested path.
"""

import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ColumnElement, DateTime, Integer, String, Text, cast
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from syncengine.store.timestamps import as_utc, from_database

# -- escaping text the database cannot hold ----------------------------------------------

# U+FDD0: the first of the 32 noncharacters U+FDD0..U+FDEF. Both databases store it (it is
# valid UTF-8 and valid in JSONB), people do not type it, and text from other systems
# should not carry it, which makes it the least likely start of an old stored value.
MARK = "\ufdd0"

# What a stored string must not contain (NUL, surrogates), and what must be escaped once
# a string is escaped at all (those, plus MARK itself).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_TO_ESCAPE = re.compile(f"[\x00\ud800-\udfff{MARK}]")
_NUL_CODE = "0"
_MARK_CODE = "m"
_SURROGATE_CODE = "u"
_HEX_DIGITS = frozenset("0123456789abcdef")


def _needs_escape(value: str) -> bool:
    """True if ``value`` cannot be stored as it is (the common case is False, and cheap)."""
    if value.isascii():  # a flag on the string object, not a scan
        return "\x00" in value  # memchr
    return value[0] == MARK or _UNSTORABLE.search(value) is not None


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    if char == MARK:
        return MARK + _MARK_CODE
    if char == "\x00":
        return MARK + _NUL_CODE
    return f"{MARK}{_SURROGATE_CODE}{ord(char):04x}"


def escape_text(value: str) -> str:
    """``value`` as it is stored: unchanged unless the database cannot hold it (see the
    module's docstring). Use it for a value compared inside a JSON document in SQL (a
    column's own comparisons are escaped by its type)."""
    if not _needs_escape(value):
        return value
    return MARK + _TO_ESCAPE.sub(_escape_one, value)


def _decode(body: str) -> str | None:
    """The string escaped into ``body`` (what follows the leading MARK), or None if
    ``body`` is not well formed."""
    parts = body.split(MARK)
    decoded = [parts[0]]
    for part in parts[1:]:
        code = part[:1]
        if code == _NUL_CODE:
            decoded.append("\x00")
            rest = part[1:]
        elif code == _MARK_CODE:
            decoded.append(MARK)
            rest = part[1:]
        elif code == _SURROGATE_CODE and len(part) >= 5 and _HEX_DIGITS.issuperset(part[1:5]):
            point = int(part[1:5], 16)
            if not 0xD800 <= point <= 0xDFFF:
                return None
            decoded.append(chr(point))
            rest = part[5:]
        else:
            return None
        decoded.append(rest)
    return "".join(decoded)


def unescape_text(stored: str) -> str:
    """The value ``stored`` was escaped from; a string ``escape_text`` cannot have written
    (a value stored before escaping existed) is returned unchanged."""
    if not stored.startswith(MARK):
        return stored
    value = _decode(stored[1:])
    # Only the exact, canonical output of escape_text is decoded: "MARK + x" with nothing
    # to escape in x, or with upper-case hex, or a stray MARK, was not written by us.
    if value is None or escape_text(value) != stored:
        return stored
    return value


# JSON documents: every string in them, dict keys included, goes through the same escape.
# The column type walks a document only when its JSON text shows something to look at
# (see EscapedJson), or when the driver hands it over already parsed; the walks are still
# written for speed: a first pass only looks (allocating nothing) and the copy is made only
# when it finds something. Exact ``type(...) is`` tests keep the loop cheap; anything else
# (a str or dict subclass) takes the general path and is still handled.

_SCALARS = frozenset({int, float, bool, type(None)})
# A string starts with MARK exactly when MARK <= it < _AFTER_MARK: two comparisons, which
# cost less than a startswith() call per string.
_AFTER_MARK = chr(ord(MARK) + 1)


def _scan_needs_escape(children: Iterable[Any]) -> bool:
    for child in children:
        kind = type(child)
        if kind is str:
            if child.isascii():  # the usual case: a flag test and a memchr
                if "\x00" in child:
                    return True
            elif _needs_escape(child):
                return True
        elif kind not in _SCALARS and _json_needs_escape(child):
            return True
    return False


def _json_needs_escape(value: Any) -> bool:
    """True if any string in the JSON value (keys included) needs escaping."""
    if isinstance(value, str):
        return _needs_escape(value)
    if isinstance(value, dict):
        return _scan_needs_escape(value) or _scan_needs_escape(value.values())
    if isinstance(value, (list, tuple)):
        return _scan_needs_escape(value)
    return False


def _scan_marked(children: Iterable[Any]) -> bool:
    for child in children:
        kind = type(child)
        if kind is str:
            if MARK <= child < _AFTER_MARK:
                return True
        elif kind not in _SCALARS and _json_marked(child):
            return True
    return False


def _json_marked(value: Any) -> bool:
    """True if any string in the JSON value (keys included) starts with MARK."""
    if isinstance(value, str):
        return value.startswith(MARK)
    if isinstance(value, dict):
        return _scan_marked(value) or _scan_marked(value.values())
    if isinstance(value, (list, tuple)):
        return _scan_marked(value)
    return False


def _json_map(value: Any, convert: Callable[[str], str]) -> Any:
    """A copy of the JSON value with ``convert`` applied to every string (keys included)."""
    if isinstance(value, str):
        return convert(value)
    if isinstance(value, dict):
        return {
            (convert(key) if isinstance(key, str) else key): _json_map(item, convert)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_json_map(item, convert) for item in value]
    return value


def escape_json(value: Any) -> Any:
    """The JSON value as stored: ``escape_text`` on every string and key. The value itself
    is returned when nothing needs escaping (the common case), never modified in place."""
    if not _json_needs_escape(value):
        return value
    return _json_map(value, escape_text)


def unescape_json(stored: Any) -> Any:
    """The JSON value ``stored`` was escaped from (``unescape_text`` on every string and
    key)."""
    if not _json_marked(stored):
        return stored
    return _json_map(stored, unescape_text)


class EscapedString(TypeDecorator[str]):
    """VARCHAR that stores any Python ``str`` and reads it back exactly.

    The column type is the plain ``String`` (``EscapedString(64)`` is a VARCHAR(64)), so
    the schema, and Alembic's view of it, is unchanged: no migration. Comparisons against
    the column (``col == value``, ``in_``, primary-key lookups) escape their parameter
    through this type as well, so a WHERE finds an escaped value. LIKE patterns are
    escaped as a whole too, which only matches as intended when the pattern needs no
    escape.
    """

    impl = String
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return value if value is None else escape_text(value)

    def process_result_value(self, value: Any | None, dialect: Dialect) -> str | None:
        return value if value is None else unescape_text(value)


class EscapedText(EscapedString):
    """TEXT that stores any Python ``str`` and reads it back exactly (see EscapedString)."""

    impl = Text
    cache_ok = True


class EscapedJson(TypeDecorator[Any]):
    """JSON (JSONB on PostgreSQL) whose strings and keys are escaped like EscapedText.

    Escaped strings are still JSON strings, so JSONB operators and indexes keep working;
    a value to compare inside a document in SQL must go through ``escape_json`` /
    ``escape_text`` first (a path expression's parameter is not typed by this column).
    """

    impl = JSON
    cache_ok = True
    # A TypeDecorator does not inherit these two class-level flags from its impl. Python
    # None must still reach the JSON processor (stored as JSON null in NOT NULL columns,
    # not as SQL NULL), and JSON values (dicts, lists) are not hashable.
    should_evaluate_none = True
    hashable = False

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        # JSONB on PostgreSQL (indexable, compact, deduplicated keys), JSON text elsewhere:
        # chosen here rather than with with_variant(), whose variant would replace this
        # decorator, escaping and all, on PostgreSQL.
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(JSON())

    # The reference semantics (also what literal rendering uses): escape_json going in,
    # unescape_json coming out. bind_processor and result_processor below give the same
    # results faster.
    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return escape_json(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return unescape_json(value)

    # Walking a document in Python costs about as much as serialising it, on every write
    # and read. The JSON text, though, exists anyway (the impl's processor makes it, or the
    # driver does), and scanning that text is a few C-level substring searches: so the
    # document is walked only when its text shows something that may need it.

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        impl_processor = self.impl_instance.bind_processor(dialect)
        if impl_processor is None:  # pragma: no cover - every JSON impl serialises
            return escape_json
        checked_dumps = _checked_dumps(_serializer(dialect))
        inner = impl_processor

        def process(value: Any) -> Any:
            bound = inner(value)
            if isinstance(bound, str):  # JSON text (SQLite): look at it, redo if needed
                return inner(escape_json(value)) if _text_may_need_escape(bound) else bound
            if hasattr(bound, "obj") and hasattr(bound, "dumps"):
                # psycopg's Json/Jsonb wrapper: the driver serialises at execution, with
                # the wrapper's dumps; give it one that checks the text it makes.
                given = bound.dumps
                bound.dumps = checked_dumps if given is None else _checked_dumps(given)
                return bound
            # Nothing serialised to look at (SQL NULL, or a driver we do not know).
            return inner(escape_json(value))

        return process

    def column_expression(self, column: ColumnElement[Any]) -> ColumnElement[Any] | None:
        # Called on the dialect's copy of this type. On PostgreSQL, psycopg would parse the
        # JSONB itself and hand over Python objects, leaving only the walk; reading the
        # document as text instead (jsonb is sent as text anyway, and psycopg would call
        # json.loads just the same) lets _JsonDocumentText look at the text first. Only
        # the outermost SELECT list is wrapped, and the cast's type carries the result
        # processing, so a document that arrives parsed (a RETURNING, a nested select)
        # still goes through result_processor below: right either way.
        if isinstance(self.impl_instance, JSONB):
            return cast(column, _JSON_DOCUMENT_TEXT)
        return column

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        impl_processor = self.impl_instance.result_processor(dialect, coltype)
        if impl_processor is None:
            # The driver parsed the document already (psycopg): only the walk can tell.
            return unescape_json
        inner = impl_processor

        def process(raw: Any) -> Any:
            value = inner(raw)
            if isinstance(raw, str) and not _text_may_hold_mark(raw):
                return value
            return unescape_json(value)

        return process


def _serializer(dialect: Dialect) -> Callable[[Any], Any]:
    """The JSON serializer SQLAlchemy uses on ``dialect`` (the engine's, or json.dumps)."""
    configured: Callable[[Any], Any] | None = getattr(dialect, "_json_serializer", None)
    return configured or json.dumps


def _checked_dumps(serialize: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def dumps(value: Any) -> Any:
        text = serialize(value)
        if isinstance(text, bytes | bytearray):  # e.g. orjson: search the UTF-8 text
            suspect = _text_may_need_escape(bytes(text).decode("utf-8", "surrogatepass"))
        else:
            suspect = _text_may_need_escape(text)
        return serialize(escape_json(value)) if suspect else text

    return dumps


# In serialised JSON, NUL is always written \u0000; a surrogate or MARK is written either
# as \uXXXX (ensure_ascii, json.dumps's default) or as itself, which only non-ASCII text
# can hold. Both spellings are looked for, in either case of hex digit. A false alarm (an
# emoji's surrogate pair, a literal backslash-u in a value) only costs the walk, which then
# decides exactly. One regex per spelling: an alternation of the two runs ten times slower
# than either, which finds its literal prefix at C speed.
_ESCAPED_UNSTORABLE = re.compile(r"\\u(?:0000|[dD][89a-fA-F]|[fF][dD][dD]0)")
_ESCAPED_MARK = re.compile(r"\\u[fF][dD][dD]0")


def _text_may_need_escape(text: str) -> bool:
    """False if the JSON text certainly holds no string that ``escape_text`` changes."""
    if _ESCAPED_UNSTORABLE.search(text) is not None:
        return True
    return not text.isascii() and _TO_ESCAPE.search(text) is not None


def _text_may_hold_mark(text: str) -> bool:
    """False if the JSON text certainly holds no string that ``unescape_text`` changes.

    A serialiser escapes every non-ASCII character (json.dumps's default: our writes on
    SQLite) or none (PostgreSQL's jsonb output), so ASCII text can only spell MARK as an
    escape, and other text only as itself.
    """
    if text.isascii():
        return _ESCAPED_MARK.search(text) is not None
    return MARK in text


class _JsonDocumentText(TypeDecorator[Any]):
    """A JSON document read as its text (PostgreSQL: see EscapedJson.column_expression),
    parsed here and walked only if the text shows a MARK."""

    impl = Text
    cache_ok = True

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        # The text arrives as a str (psycopg decodes TEXT itself); parsed with the engine's
        # JSON deserializer, as psycopg would have parsed the jsonb.
        loads: Callable[[str], Any] = getattr(dialect, "_json_deserializer", None) or json.loads

        def process(text: str | None) -> Any:
            if text is None:
                return None
            document = loads(text)
            return unescape_json(document) if _text_may_hold_mark(text) else document

        return process


_JSON_DOCUMENT_TEXT = _JsonDocumentText()

# The type of every JSON column.
JsonDocument = EscapedJson()

# Journal ids: 64-bit on PostgreSQL. SQLite only autoincrements a column declared exactly
# INTEGER PRIMARY KEY (which is 64-bit there anyway), so it gets INTEGER.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that goes in as aware UTC and comes out as aware UTC on every backend.

    PostgreSQL stores ``timestamptz``; SQLite stores the UTC wall time (it has no zones),
    which still sorts and compares correctly because every value is UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        utc = as_utc(value)
        # SQLite's DATETIME rendering drops the offset anyway; strip it explicitly so the
        # stored text is always the UTC wall time, never a local one.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):  # pragma: no cover - a driver contract breach
            raise TypeError(f"expected a datetime from the database, got {type(value)!r}")
        return from_database(value)
