"""Natural types: what a value must look like before it is PUT to CRM+.

The published spec types almost every field as ``string``, and a client generated from
it sends ``"true"`` and ``"2010"``: the live API wants ``true`` and ``2010`` and does
"unexpected" things otherwise. Values arrive from everywhere (a spec-typed platform, a
CLI argument, an SDK), so every value written is coerced here first, by the field's
``schema.Kind``. What cannot be coerced raises ``CoercionError`` naming the field, the
value and the type: better to stop than to send a guess.

The API also READS some formats it does not accept back (money ``"$1,200"``,
``"Unavailable"``, ``M/D/YYYY`` dates). ``parse_money`` and ``parse_read_date`` read them,
only where the engine needs a value; elsewhere such fields are passed through untouched.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final

from syncengine.domain.paths import (
    REMOVE,
    ROOT,
    Path,
    PathLike,
    element_field,
    find_schema_field,
    identity_of,
    parse_path,
    resolve,
)
from syncengine.domain.ports import Record
from syncengine.domain.schema import SHAPES, Field, Kind
from syncengine.errors import CoercionError, ForbiddenChange, PathError

__all__ = [
    "NO_VALUE_WORDS",
    "coerce",
    "coerce_change",
    "coerce_field",
    "coerce_record",
    "map_record",
    "parse_money",
    "parse_read_date",
]

# What the API's read formats (and the platforms) write for "no value", lower-cased.
NO_VALUE_WORDS: Final = frozenset({"", "unavailable"})

_TRUE: Final = frozenset({"true", "yes", "1"})
_FALSE: Final = frozenset({"false", "no", "0"})
# "2010", " 2010 ", "+2010", and "2010.0" as a spreadsheet export writes a whole number.
_INT_TEXT: Final = re.compile(r"[+-]?\d+(?:\.0*)?", re.ASCII)
_US_DATE: Final = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})", re.ASCII)
_ISO_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_ISO_DATETIME: Final = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*", re.ASCII)
# Spaces are removed first. "-$5.25" and "$-5.25" both occur in the wild.
_MONEY: Final = re.compile(
    r"(?P<sign>-)?(?P<symbol>[^\d\-.,])?(?P<sign2>-)?"
    r"(?P<units>\d{1,3}(?:,\d{3})+|\d+)(?P<cents>\.\d+)?",
    re.ASCII,
)

_EXPECTED: Final[dict[Kind, str]] = {
    Kind.BOOL: "a boolean (true/false, yes/no, 1/0)",
    Kind.INT: "an integer",
    Kind.STRING: "text",
    Kind.DATE: "a date (YYYY-MM-DD, M/D/YYYY, or empty)",
    Kind.TIMESTAMP: "nothing: timestamps are set by the server (read-only)",
    Kind.MONEY: "nothing: money fields are giving summaries (read-only)",
    Kind.OBJECT: "an object",
    Kind.ARRAY: "an array",
}


# -- read formats --------------------------------------------------------------------------


def parse_money(value: Any) -> Decimal | None:
    """A giving summary as a Decimal: ``"$1,200"`` -> 1200, ``"$0"`` -> 0,
    ``"-$5.25"`` / ``"$-5.25"`` / ``"($5.25)"`` -> -5.25. ``None``, ``""`` and
    ``"Unavailable"`` are no value (None). Numbers are taken as they are.

    ValueError for anything else: these are read formats, and a server that starts
    sending something new should be noticed, not read as zero.
    """
    if value is None:
        return None
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"not a money amount: {value!r}")
        return Decimal(str(value))  # str: Decimal(0.1) would keep the binary noise
    if not isinstance(value, str):
        raise ValueError(f"not a money amount: {value!r}")
    text = value.strip()
    if text.lower() in NO_VALUE_WORDS:
        return None
    accounting = text.startswith("(") and text.endswith(")")  # accounting negative
    match = _MONEY.fullmatch((text[1:-1] if accounting else text).replace(" ", ""))
    if (
        match is None
        or sum(map(bool, (accounting, match["sign"], match["sign2"]))) > 1
        # The symbol must be a currency sign ($, €, £...), not any character.
        or (match["symbol"] and unicodedata.category(match["symbol"]) != "Sc")
    ):
        raise ValueError(f"not a money amount: {value!r}")
    amount = Decimal(match["units"].replace(",", "") + (match["cents"] or ""))
    return -amount if accounting or match["sign"] or match["sign2"] else amount


def _date_from_text(text: str) -> date | None:
    """A date from ``M/D/YYYY``, ISO date or ISO datetime text; None if not one of them.

    For a datetime the date is taken as written, not shifted to UTC: a date field holds a
    calendar day, and ``2024-05-01T23:00:00-05:00`` means 1 May to whoever wrote it.
    """
    try:
        if match := _US_DATE.fullmatch(text):
            return date(int(match[3]), int(match[1]), int(match[2]))
        if _ISO_DATE.fullmatch(text):
            return date.fromisoformat(text)
        if _ISO_DATETIME.fullmatch(text):
            return datetime.fromisoformat(text).date()
    except ValueError:  # 2/30/2024, 2024-13-01, a malformed time part
        return None
    return None


def parse_read_date(value: Any) -> date | None:
    """A date as the API reads it: ``"9/4/1998"``, ``"2024-05-01"``,
    ``"2024-05-01T00:00:00"``; ``""``, ``None`` and ``"Unavailable"`` are no date.
    ``date``/``datetime`` objects are accepted. ValueError for anything else.
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if value is None:
        return None
    if isinstance(value, str):
        if value.strip().lower() in NO_VALUE_WORDS:
            return None
        parsed = _date_from_text(value.strip())
        if parsed is not None:
            return parsed
    raise ValueError(f"not a date: {value!r}")


# -- coercion of one value -----------------------------------------------------------------

_FAILED: Final = object()  # a coercer's "no" (None is a legitimate result)


def _finite(value: float | Decimal) -> bool:
    return math.isfinite(value) if isinstance(value, float) else value.is_finite()


def _to_bool(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):  # 1/0 only: 2 is no answer to a yes/no question
        return {1: True, 0: False}.get(value, _FAILED)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    return _FAILED


def _to_int(value: Any) -> Any:
    if isinstance(value, bool):  # True is an int in Python, never a year
        return _FAILED
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        return int(value) if _finite(value) and value == int(value) else _FAILED
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        return int(text.split(".")[0]) if _INT_TEXT.fullmatch(text) else _FAILED
    return _FAILED


def _to_string(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # a boolean is not the text "True"
        return _FAILED
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal) and _finite(value):
        # A postal code that went through a spreadsheet arrives as 12345.0, and "1e+20"
        # is not what anyone typed: whole numbers without a fraction, others in full.
        exact = Decimal(str(value))
        return str(int(exact)) if exact == exact.to_integral_value() else format(exact, "f")
    return _FAILED


def _to_date(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        if not value.strip():
            return None
        parsed = _date_from_text(value.strip())
        return parsed.isoformat() if parsed else _FAILED
    return _FAILED


_COERCERS: Final[dict[Kind, Callable[[Any], Any]]] = {
    Kind.BOOL: _to_bool,
    Kind.INT: _to_int,
    Kind.STRING: _to_string,
    Kind.DATE: _to_date,
    Kind.OBJECT: lambda value: value if isinstance(value, Mapping) else _FAILED,
    Kind.ARRAY: lambda value: value if isinstance(value, list) else _FAILED,
}


def coerce(where: PathLike, kind: Kind, value: Any) -> Any:
    """``value`` in the natural type of ``kind``, ready to PUT; ``where`` names it in errors.

    - BOOL: true/false, "true"/"false" in any case, "yes"/"no", "1"/"0", 1/0. Not None.
    - INT: ints, "2010", " 2010 ", 2010.0; not 2010.5, not booleans, not "abc".
    - STRING: text exactly as given (trimming is the server's business, and
      ``normalize`` models it); numbers rendered plainly (12345 -> "12345").
    - DATE: "YYYY-MM-DD" from ISO date/datetime text, "M/D/YYYY", date/datetime.
    - TIMESTAMP, MONEY: read-only, always refused.
    - OBJECT, ARRAY: the container type is checked (``coerce_field`` goes inside).
    - OPAQUE: passed through untouched (custom field values: their type is org-defined).

    None stays None for the nullable kinds, and blank text means "no value" for INT and
    DATE (a spec-typed platform writes null as ""). CoercionError for anything else.
    """
    if kind is Kind.OPAQUE:
        return value
    name = str(where)
    if kind in (Kind.TIMESTAMP, Kind.MONEY):
        raise CoercionError(name, value, _EXPECTED[kind])
    if value is None:
        if kind is Kind.BOOL:
            raise CoercionError(name, value, _EXPECTED[kind] + ", not null")
        return None
    coerced = _COERCERS[kind](value)
    if coerced is _FAILED:
        raise CoercionError(name, value, _EXPECTED[kind])
    return coerced


# -- walking records -----------------------------------------------------------------------

Leaf = Callable[[Path, Field, Any, Mapping[str, Any]], Any]


def _item_path(array_at: Path, item: Any) -> Path:
    """An item's path for messages: by identity, or ``name[+]`` for one without any."""
    name = array_at.last.name
    try:
        identity_of(name, item)
        return array_at.parent.item(name, item)
    except (PathError, TypeError):
        return array_at.parent.append(name)


def _map_value(
    at: Path, field: Field, value: Any, holder: Mapping[str, Any], leaf: Leaf, writable_only: bool
) -> Any:
    """``value`` of ``field`` with ``leaf`` applied to every scalar inside it."""
    if field.kind is Kind.OBJECT and field.shape and isinstance(value, dict):
        return map_record(field.shape, value, leaf, at=at, writable_only=writable_only)
    if field.kind is Kind.ARRAY and isinstance(value, list):
        element = element_field(field)
        return [
            _map_value(_item_path(at, item), element, item, holder, leaf, writable_only)
            for item in value
        ]
    # A scalar, or a container of the wrong type: the leaf decides (coerce refuses it).
    return leaf(at, field, value, holder)


def map_record(
    shape_name: str,
    record: Mapping[str, Any],
    leaf: Leaf,
    *,
    at: Path = ROOT,
    writable_only: bool = False,
) -> Record:
    """A copy of ``record`` with ``leaf(path, field, value, holder)`` applied to every
    scalar field the schema knows; ``holder`` is the object the field sits in (the
    address whose ``country`` decides how its ``state`` reads). Nested objects and arrays
    are walked; unknown keys are copied as they are, and with ``writable_only`` so are
    read-only fields.

    The one record walker behind ``coerce_record`` and ``normalize``'s record functions.
    """
    fields = SHAPES[shape_name]
    out: Record = {}
    for key, value in record.items():
        field = fields.get(key)
        if field is None or (writable_only and not field.writable):
            out[key] = value
        else:
            out[key] = _map_value(at.key(key), field, value, record, leaf, writable_only)
    return out


def _coerce_leaf(at: Path, field: Field, value: Any, _holder: Mapping[str, Any]) -> Any:
    return coerce(at, field.kind, value)


def coerce_field(where: PathLike, field: Field, value: Any) -> Any:
    """Coerce a value to a schema ``Field``, going inside nested shapes and arrays
    (writable fields only, like ``coerce_record``)."""
    return _map_value(parse_path(where), field, value, {}, _coerce_leaf, True)


def coerce_record(shape_name: str, record: Mapping[str, Any], *, at: Path = ROOT) -> Record:
    """A copy of a full record with every WRITABLE known field in its natural type.

    Cleans a record from a spec-typed platform before a full PUT. Unknown keys and
    read-only fields (ids, audit fields, giving summaries) are passed through untouched:
    they are the server's, and it ignores or re-derives them.
    """
    return map_record(shape_name, record, _coerce_leaf, at=at, writable_only=True)


def coerce_change(record: Record, path: PathLike, value: Any, *, shape: str = "Contact") -> Any:
    """``value`` coerced for writing at ``path`` of ``record``; ``REMOVE`` passes through.

    The path is resolved on the record first, so a typo or a missing item fails before
    any value is judged. A key the schema does not know but the record has keeps its
    value untouched. ForbiddenChange for a read-only field: the server owns it.
    """
    p = parse_path(path)
    concrete = resolve(record, p, shape=shape)
    found = find_schema_field(p, shape=shape)
    if value is REMOVE or found is None:
        return value
    _shape, _name, field = found
    if not field.writable:
        raise ForbiddenChange(concrete.render(), "read-only field: the server sets it")
    return coerce_field(concrete, field, value)
