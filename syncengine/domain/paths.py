"""Change paths: how one field of a CRM+ record is named in ``push --set``, the journal,
the diff and the conflict reports.

Grammar (dot-separated segments)::

    path      := segment ("." segment)*
    segment   := name | name "[" selector "]"
    selector  := "+"                          a new item (contactReferences[+]); only the
                                              last segment can be written or read
               | "=" value                    a member of a scalar set  (tags[=Gala 2024])
               | key "=" value ("," key "=" value)*   an item by its fields
    value     := bare text (trimmed) | '"' text with \\" and \\\\ escapes '"'

Examples: ``address.address1``, ``contactIndividuals[id=9012].isDeceased``,
``contactIndividuals[isPrimary=true].contactMethods[type=Home Email].value``,
``customFields[name=Shirt Size].value``, ``contactReferences[source=portal,id=42]``,
``customFields[name="A, B"].value``.

Items are never addressed by position: positions shift when the server or another
client adds or removes an item, so a position recorded in a journal would later point at
the wrong person. Selector values are kept as text in a ``Path`` (so that
``parse_path(p.render()) == p``) and compared with the item's natural type when
resolved: ``id=9012`` matches the int 9012, ``isPrimary=true`` matches True, ``null``
matches null, strings match exactly. Bare values are trimmed and cannot hold
``[ ] , = "``: quote those (``name="A, B"``).

``resolve`` turns a path written by a person (``[isPrimary=true]``) into the concrete
path (``[id=2]``) that names the same item forever; the journal and reports store
concrete paths. ``apply_change`` applies one change to a deep copy of a record.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final, TypeAlias

from syncengine.domain.ports import Record
from syncengine.domain.records import copy_json
from syncengine.domain.schema import ARRAY_IDENTITY, NATURAL_KEY, SET, SHAPES, Field, Kind
from syncengine.errors import AmbiguousPath, ForbiddenChange, PathError

__all__ = [
    "IDENTITY_SCALARS",
    "REMOVE",
    "ROOT",
    "Append",
    "Item",
    "Key",
    "Path",
    "PathLike",
    "Removal",
    "Segment",
    "apply_change",
    "element_field",
    "find_schema_field",
    "get_value",
    "identity_of",
    "item_segment",
    "item_selector",
    "parse_path",
    "resolve",
    "schema_field",
]

ROOT_SHAPE: Final = "Contact"


class Removal(Enum):
    """The type of ``REMOVE``: an enum member so that ``value is REMOVE`` type-checks."""

    REMOVE = "REMOVE"

    def __repr__(self) -> str:
        return "REMOVE"


# Set an item path (``tags[=Gala 2024]``, ``contactMethods[id=7]``) to REMOVE to delete
# that item. ``--unset PATH`` maps to it. Object fields cannot be removed: see apply_change.
REMOVE: Final = Removal.REMOVE

# Characters that would make a name ambiguous in the grammar. Names are JSON keys, which
# in the CRM+ API are camelCase; anything stranger cannot be addressed (and is rejected
# early instead of rendering a path that would not parse back).
_NAME_FORBIDDEN: Final = frozenset('.[]",=+\\')
# A selector value containing any of these is rendered in double quotes.
_VALUE_NEEDS_QUOTES: Final = frozenset('[],="\\')


def _name_problem(name: str) -> str | None:
    if not name:
        return "empty name"
    bad = sorted({c for c in name if c in _NAME_FORBIDDEN or c.isspace()})
    if bad:
        return f"name {name!r} contains {''.join(bad)!r}"
    return None


def _check_name(name: str, where: str) -> None:
    problem = _name_problem(name)
    if problem:
        raise PathError(where, problem)


def _quote(value: str) -> str:
    # Quote only when a bare value would not parse back to the same text: bare values
    # are trimmed, so surrounding whitespace (and the empty string) need quotes too.
    if value and value == value.strip() and not (_VALUE_NEEDS_QUOTES & set(value)):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


# -- segments and paths --------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """An object field: ``name``."""

    name: str

    def __post_init__(self) -> None:
        _check_name(self.name, self.name)

    def render(self) -> str:
        return self.name


@dataclass(frozen=True)
class Item:
    """One item of an array, chosen by its fields: ``name[k=v,k2=v2]``.

    A single pair with the empty key is a member of a set of scalars: ``tags[=Gala]``.
    Values are text; they are compared with the item's natural types when resolved.
    """

    name: str
    match: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        where = self.render()
        _check_name(self.name, where)
        if not self.match:
            raise PathError(where, "empty selector")
        keys = [k for k, _ in self.match]
        if "" in keys and len(keys) > 1:
            raise PathError(where, "a set member '[=value]' cannot be combined with key=value")
        for key in keys:
            if key:
                _check_name(key, where)
        if len(set(keys)) != len(keys):
            raise PathError(where, "a key appears twice in the selector")

    @property
    def is_member(self) -> bool:
        """True for ``tags[=value]``: a member of a set of scalars, not an object."""
        return self.match[0][0] == ""

    def render(self) -> str:
        return self._rendered

    @functools.cached_property
    def _rendered(self) -> str:
        # Items are immutable and shared (``item_segment``): rendered once, when built.
        inner = ",".join(f"{k}={_quote(v)}" for k, v in self.match)
        return f"{self.name}[{inner}]"


@dataclass(frozen=True)
class Append:
    """A new item at the end of an array: ``name[+]``. Only the last segment of a path."""

    name: str

    def __post_init__(self) -> None:
        _check_name(self.name, f"{self.name}[+]")

    def render(self) -> str:
        return f"{self.name}[+]"


Segment: TypeAlias = Key | Item | Append


@dataclass(frozen=True)
class Path:
    """A parsed change path: a tuple of segments. ``Path()`` is the record itself.

    Build paths with ``parse_path`` or, from code, with ``key``/``item``/``append``::

        Path().item("contactIndividuals", individual).key("isDeceased")
    """

    segments: tuple[Segment, ...] = ()

    def __post_init__(self) -> None:
        # A set member is a scalar: nothing is below it. ``a[+].b`` is allowed in the
        # grammar ("b of the new item", as error messages about a new item say it), but
        # resolve and apply_change refuse it: a new item is written whole.
        for seg in self.segments[:-1]:
            if isinstance(seg, Item) and seg.is_member:
                raise PathError(self.render(), "a set member '[=value]' can only end a path")

    def render(self) -> str:
        """The canonical text: ``parse_path(p.render()) == p``."""
        return ".".join(seg.render() for seg in self.segments)

    def __str__(self) -> str:
        return self.render()

    @property
    def parent(self) -> Path:
        return Path(self.segments[:-1])

    @property
    def last(self) -> Segment:
        if not self.segments:
            raise PathError("", "the empty path has no last segment")
        return self.segments[-1]

    def key(self, name: str) -> Path:
        return Path((*self.segments, Key(name)))

    def item(self, array_name: str, item: Any) -> Path:
        """The concrete path of ``item`` in ``array_name`` below this path."""
        return Path((*self.segments, item_segment(array_name, item)))

    def append(self, array_name: str) -> Path:
        return Path((*self.segments, Append(array_name)))

    def __add__(self, other: Path) -> Path:
        return Path(self.segments + other.segments)


PathLike: TypeAlias = str | Path

# The empty path: the record itself. A base to build paths on (ROOT.key("name")).
ROOT: Final = Path()


def field_of(path: PathLike) -> str:
    """The field a path concerns, whatever the item: item selectors become ``[]``
    (``contactIndividuals[id=2].contactMethods[id=7].value`` ->
    ``contactIndividuals[].contactMethods[].value``). A selector by ``name`` alone stays:
    it names a custom field (``customFields[name=Shirt Size].value``), not an item.
    A path that does not parse is its own field (it came from an older release)."""
    try:
        parsed = parse_path(path)
    except PathError:
        return str(path)
    parts = []
    for seg in parsed.segments:
        if isinstance(seg, Key) or (isinstance(seg, Item) and dict(seg.match).keys() == {"name"}):
            parts.append(seg.render())
        else:
            parts.append(f"{seg.name}[]")
    return ".".join(parts)


# -- parsing -------------------------------------------------------------------------------


class _Scanner:
    """A hand-written scanner: selector values may hold dots, spaces and quotes, which no
    split()-based parser handles, and errors can point at a column."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0

    def fail(self, problem: str, at: int | None = None) -> PathError:
        column = (self.i if at is None else at) + 1
        return PathError(self.text, f"{problem} (column {column})")

    def peek(self) -> str:
        return self.text[self.i] if self.i < len(self.text) else ""

    def skip_spaces(self) -> None:
        while self.peek() and self.peek().isspace():
            self.i += 1

    def read_until(self, stops: str) -> str:
        start = self.i
        while self.peek() and self.peek() not in stops:
            self.i += 1
        return self.text[start : self.i]

    def segment(self) -> Segment:
        start = self.i
        name = self.read_until(".[")
        problem = _name_problem(name)
        if problem:
            raise self.fail(problem, start)
        if self.peek() != "[":
            return Key(name)
        self.i += 1
        sel_start = self.i
        self.skip_spaces()
        if self.peek() == "+":
            self.i += 1
            self.skip_spaces()
            if self.peek() != "]":
                raise self.fail("expected ']' after '+'")
            self.i += 1
            return Append(name)
        pairs = self.pairs(sel_start)
        try:
            return Item(name, pairs)
        except PathError as exc:
            raise self.fail(exc.problem, sel_start) from None

    def pairs(self, sel_start: int) -> tuple[tuple[str, str], ...]:
        pairs: list[tuple[str, str]] = []
        while True:
            key_start = self.i
            key = self.read_until('=,]"').strip()
            if self.peek() != "=":
                if not self.peek():
                    raise self.fail("unclosed '['", sel_start - 1)
                raise self.fail("expected key=value in selector", key_start)
            if key and _name_problem(key):
                raise self.fail(f"bad key: {_name_problem(key)}", key_start)
            self.i += 1
            pairs.append((key, self.value()))
            sep = self.peek()
            self.i += 1
            if sep == "]":
                return tuple(pairs)
            # value() stops only at ',', ']' or the end of the text.
            if sep != ",":
                raise self.fail("unclosed '['", sel_start - 1)

    def value(self) -> str:
        self.skip_spaces()
        if self.peek() != '"':
            start = self.i
            raw = self.read_until(',]"=[')
            if self.peek() in ('"', "=", "["):
                raise self.fail(f'quote values containing {self.peek()!r}: key="..."')
            if not self.peek():
                raise self.fail("unclosed '['", start)
            return raw.strip()
        quote_at = self.i
        self.i += 1
        out: list[str] = []
        while True:
            ch = self.peek()
            if not ch:
                raise self.fail("unclosed '\"'", quote_at)
            self.i += 1
            if ch == '"':
                break
            if ch == "\\":
                escaped = self.peek()
                if escaped not in ('"', "\\"):
                    raise self.fail('only \\" and \\\\ may be escaped', self.i - 1)
                self.i += 1
                ch = escaped
            out.append(ch)
        self.skip_spaces()
        if self.peek() not in (",", "]"):
            raise self.fail("expected ',' or ']' after a quoted value")
        return "".join(out)


def parse_path(text: PathLike) -> Path:
    """Parse a change path. A ``Path`` is returned as it is, so callers can take either."""
    if isinstance(text, Path):
        return text
    scanner = _Scanner(text.strip())
    if not scanner.text:
        raise PathError(scanner.text, "empty path")
    segments: list[Segment] = []
    while True:
        segments.append(scanner.segment())
        if not scanner.peek():
            break
        if scanner.peek() != ".":
            raise scanner.fail("expected '.' between segments")
        scanner.i += 1
        if not scanner.peek():
            raise scanner.fail("path ends with '.'")
    try:
        return Path(tuple(segments))
    except PathError as exc:
        raise PathError(scanner.text, exc.problem) from None


# -- natural-type matching and identities --------------------------------------------------


def _natural_text(value: Any) -> str:
    """How an identity value is written in a selector (the inverse of ``_matches``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | str):
        return str(value)
    raise TypeError(f"{value!r} cannot identify an item")


def _matches(actual: Any, text: str) -> bool:
    """Does the natural-typed ``actual`` equal the selector text?"""
    # bool before int: True is an int in Python.
    if isinstance(actual, bool):
        return text.lower() == ("true" if actual else "false")
    if isinstance(actual, int):
        body = text[1:] if text[:1] in "+-" else text
        return body.isascii() and body.isdigit() and int(text) == actual
    if isinstance(actual, float):
        try:
            return float(text) == actual
        except ValueError:
            return False
    if actual is None:
        return text == "null"
    if isinstance(actual, str):
        return actual == text
    return False


def _item_matches(item: Any, match: tuple[tuple[str, str], ...]) -> bool:
    if match[0][0] == "":  # set member: the item is the scalar itself
        return not isinstance(item, Mapping | list) and _matches(item, match[0][1])
    return isinstance(item, Mapping) and all(
        key in item and _matches(item[key], text) for key, text in match
    )


def identity_of(array_name: str, item: Any) -> tuple[tuple[str, Any], ...]:
    """The identity of an array item as ``((key, value), ...)``: hashable, for matching
    items across record versions.

    Items are told apart by ``schema.ARRAY_IDENTITY`` (``id``; custom fields by ``name``;
    references by ``source`` and ``id``). A new item has no server id yet: it falls back
    to ``schema.NATURAL_KEY`` (methods by type+value, individuals by first+last name),
    keeping ``None`` parts so the identity still singles the item out. Members of scalar
    sets (tags) are their own identity, under the empty key. Arrays the schema does not
    know are matched by ``id``.
    """
    keys = ARRAY_IDENTITY.get(array_name, ("id",))
    if keys == SET:
        return (("", item),)
    if isinstance(item, Mapping):
        if all(item.get(k) is not None for k in keys):
            return tuple((k, item[k]) for k in keys)
        natural = NATURAL_KEY.get(array_name, ())
        if any(item.get(k) is not None for k in natural):
            return tuple((k, item.get(k)) for k in natural)
    wanted = " + ".join(keys)
    if array_name in NATURAL_KEY:
        wanted += " (or " + " + ".join(NATURAL_KEY[array_name]) + " for a new item)"
    raise PathError(f"{array_name}[?]", f"item has no identity: it needs {wanted}: {item!r}")


def item_segment(array_name: str, item: Any) -> Item:
    """The concrete segment naming ``item`` by its identity: ``contactIndividuals[id=2]``."""
    identity = identity_of(array_name, item)
    if all(type(value) in IDENTITY_SCALARS for _, value in identity):
        # Each value's type is part of the key: ``True`` and ``1`` hash alike but are
        # written "true" and "1".
        return _segment_of(array_name, tuple((k, type(v), v) for k, v in identity))
    # A float (not shared) is written as it is; a value that cannot identify an item
    # raises the TypeError naming it.
    return _segment(array_name, identity)


# The identity values equal only when written alike, by exact type: shared between calls
# (not float: ``-0.0 == 0.0``). ``None`` is written "null".
IDENTITY_SCALARS: Final = frozenset({str, int, bool, type(None)})


@functools.lru_cache(maxsize=16_384)
def _segment_of(array_name: str, typed: tuple[tuple[str, type, Any], ...]) -> Item:
    # Aligning three versions of a contact names every item of every array in each:
    # building and validating a segment anew each time was a quarter of a large
    # contact's merge. A segment is immutable, so one object serves every caller.
    return _segment(array_name, tuple((k, v) for k, _, v in typed))


def _segment(array_name: str, identity: tuple[tuple[str, Any], ...]) -> Item:
    return Item(array_name, tuple((k, _natural_text(v)) for k, v in identity))


def item_selector(array_name: str, item: Any) -> str:
    """The selector of ``item`` with its brackets, e.g. ``[id=2]`` or ``[=Gala 2024]``."""
    return item_segment(array_name, item).render()[len(array_name) :]


# -- the schema along a path ---------------------------------------------------------------

# Non-primary addresses are not part of a Contact GET: they live behind
# GET /api/ContactAddress/ByContact/{id}. The path root ``addresses[id=N]`` names them so
# a change can be written and typed; the engine routes it to that endpoint.
_VIRTUAL_FIELDS: Final[dict[str, dict[str, Field]]] = {
    "Contact": {"addresses": Field(Kind.ARRAY, shape="ContactAddress")},
}

_VIRTUAL_ABSENT: Final = (
    "non-primary addresses are not part of a Contact GET: the engine reads them with "
    "GET /api/ContactAddress/ByContact/{contactId} and writes them with "
    "PUT /api/ContactAddress/{id}"
)

# Fields that are not in a GET but people try to set; each says where the change goes.
_ELSEWHERE: Final[dict[tuple[str, str], str]] = {
    ("Contact", "isArchived"): (
        "archiving is its own call (PUT /api/Contact/Archive|Unarchive/{id}); "
        "use the archive/unarchive command, never a PUT field"
    ),
}


def _fields(shape: str) -> Mapping[str, Field]:
    return {**SHAPES[shape], **_VIRTUAL_FIELDS.get(shape, {})}


@dataclass(frozen=True)
class _Step:
    """The schema's view of one segment: the shape that holds the field and its type."""

    shape: str | None  # None once below something the schema does not describe
    field: Field | None  # None for a key the schema does not know


def element_field(array: Field) -> Field:
    """The type of one item of an array field, as if it were a field of its own: an
    OBJECT of the item shape (contactMethods), or the set's item kind (tags: STRING)."""
    if array.shape:
        return Field(Kind.OBJECT, writable=array.writable, shape=array.shape)
    return Field(array.item_kind or Kind.OPAQUE, writable=array.writable)


def _schema_steps(path: Path, root_shape: str) -> list[_Step]:
    """Walk the schema along ``path``; raise PathError where the path contradicts it."""
    text = path.render()
    shape: str | None = root_shape
    steps: list[_Step] = []
    for n, seg in enumerate(path.segments):
        where = Path(path.segments[: n + 1]).render()
        if shape is not None and (shape, seg.name) in _ELSEWHERE:
            raise ForbiddenChange(text, _ELSEWHERE[(shape, seg.name)])
        field = _fields(shape).get(seg.name) if shape is not None else None
        steps.append(_Step(shape, field))
        if field is None:
            shape = None
            continue
        if isinstance(seg, Key):
            if field.kind is Kind.ARRAY and n + 1 < len(path.segments):
                raise PathError(
                    text, f"'{where}' is an array: choose an item, e.g. {seg.name}[id=...]"
                )
            shape = field.shape
            if n + 1 < len(path.segments) and field.kind not in (Kind.OBJECT, Kind.OPAQUE):
                raise PathError(text, f"'{where}' is a {field.kind.value}: it has no fields")
            continue
        if field.kind is not Kind.ARRAY:
            raise PathError(text, f"'{seg.name}' is a {field.kind.value}, not an array")
        if isinstance(seg, Item) and seg.is_member and field.shape:
            raise PathError(
                text, f"'{seg.name}' holds objects: choose an item by key=value, not '[=value]'"
            )
        if isinstance(seg, Item) and not seg.is_member and not field.shape:
            raise PathError(text, f"'{seg.name}' is a set of values: address a member as [=value]")
        shape = field.shape
    return steps


def _leaf(path: Path, steps: Sequence[_Step]) -> tuple[str, str, Field] | None:
    step, seg = steps[-1], path.segments[-1]
    if step.shape is None or step.field is None:
        return None
    if isinstance(seg, Key):
        return step.shape, seg.name, step.field
    return step.shape, seg.name, element_field(step.field)


def find_schema_field(path: PathLike, *, shape: str = ROOT_SHAPE) -> tuple[str, str, Field] | None:
    """Like ``schema_field``, but ``None`` when the schema does not know a key on the path
    (unknown keys are legal on records: the API grows keys over time)."""
    p = parse_path(path)
    if not p.segments:
        raise PathError("", "empty path")
    return _leaf(p, _schema_steps(p, shape))


def schema_field(path: PathLike, *, shape: str = ROOT_SHAPE) -> tuple[str, str, Field]:
    """``(shape name, field name, Field)`` of the value a path addresses.

    For an item or ``[+]`` of an array of objects the Field is an OBJECT of the item's
    shape; for a set member it is the set's item kind. PathError if a key is unknown.
    """
    p = parse_path(path)
    found = find_schema_field(p, shape=shape)
    if found is None:
        steps = _schema_steps(p, shape)
        n = next(i for i, s in enumerate(steps) if s.field is None)
        holder = steps[n].shape
        raise PathError(p.render(), _unknown_key_problem(p.segments[n].name, holder, ()))
    return found


def _unknown_key_problem(name: str, shape: str | None, record_keys: Sequence[str]) -> str:
    known = sorted({*(_fields(shape) if shape else ()), *record_keys})
    close = difflib.get_close_matches(name, known, n=3)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
    where = f" on {shape}" if shape else ""
    return f"no field '{name}'{where}{hint}"


# -- walking a record ----------------------------------------------------------------------


@dataclass
class _Target:
    """Where a path lands inside a record, found by ``_locate``."""

    concrete: Path
    holder: dict[str, Any]  # the object holding the addressed field or array
    name: str  # the field / array name in ``holder``
    index: int | None  # the item's position for an Item segment (never stored anywhere)
    field: Field | None  # the schema's type of the field / array named ``name``


def _locate(record: Record, path: Path, root_shape: str) -> _Target:
    """Find what ``path`` addresses in ``record`` (no copy: apply_change passes its own)."""
    text = path.render()
    if not path.segments:
        raise PathError("", "empty path")
    steps = _schema_steps(path, root_shape)
    current: Any = record
    concrete: list[Segment] = []
    for n, (seg, step) in enumerate(zip(path.segments, steps, strict=True)):
        where = Path(tuple(concrete)).render() or "the record"
        if not isinstance(current, dict):
            raise PathError(
                text, f"'{where}' is {_describe(current)}: it has no field '{seg.name}'"
            )
        if seg.name not in current and step.field is None:
            raise PathError(text, _unknown_key_problem(seg.name, step.shape, list(current)))
        if seg.name not in current and seg.name in _VIRTUAL_FIELDS.get(step.shape or "", {}):
            raise PathError(text, _VIRTUAL_ABSENT)
        value = current.get(seg.name)
        last = n + 1 == len(path.segments)
        if isinstance(seg, Key):
            concrete.append(seg)
            if last:
                return _Target(Path(tuple(concrete)), current, seg.name, None, step.field)
            current = value
            continue
        if value is not None and not isinstance(value, list):
            raise PathError(text, f"'{seg.name}' is {_describe(value)}, not an array")
        items: list[Any] = value or []
        if isinstance(seg, Append):
            if not last:
                raise PathError(
                    text,
                    f"'{seg.name}[+]' must end the path: write the new item whole, as an object",
                )
            return _Target(Path((*concrete, seg)), current, seg.name, None, step.field)
        index = _unique_match(text, seg, items)
        concrete.append(_concrete_item(seg, items[index]))
        if last:
            return _Target(Path(tuple(concrete)), current, seg.name, index, step.field)
        current = items[index]
    raise AssertionError("unreachable: the loop returns at the last segment")


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__} ({value!r})"


def _unique_match(text: str, seg: Item, items: Sequence[Any]) -> int:
    hits = [i for i, item in enumerate(items) if _item_matches(item, seg.match)]
    if len(hits) == 1:
        return hits[0]
    selector = seg.render()[len(seg.name) :]
    if not hits:
        present = ", ".join(_label(seg.name, it) for it in items) or "none"
        raise PathError(text, f"no item of '{seg.name}' matches {selector} (items: {present})")
    listed = ", ".join(_label(seg.name, items[i]) for i in hits)
    raise AmbiguousPath(text, f"{len(hits)} items of '{seg.name}' match {selector}: {listed}")


def _label(array_name: str, item: Any) -> str:
    """An item's selector for error messages, even when it has no usable identity."""
    try:
        return item_selector(array_name, item)
    except (PathError, TypeError):
        return repr(item)


def _concrete_item(seg: Item, item: Any) -> Item:
    # An item with no identity (no id, no natural key) was still singled out by the
    # selector the caller wrote, so that selector stays the best name for it.
    try:
        return item_segment(seg.name, item)
    except (PathError, TypeError):
        return seg


def resolve(record: Record, path: PathLike, *, shape: str = ROOT_SHAPE) -> Path:
    """The concrete path: every selector replaced by the matched item's identity
    (``contactIndividuals[isPrimary=true]`` -> ``contactIndividuals[id=2]``).

    PathError when no item or several items match, or a key is neither on the record nor
    in the schema. ``[+]`` stays ``[+]``: the new item has no identity yet.
    """
    return _locate(record, parse_path(path), shape).concrete


def get_value(record: Record, path: PathLike, *, shape: str = ROOT_SHAPE) -> Any:
    """The value at ``path``. A field the schema knows but the record lacks reads as None."""
    p = parse_path(path)
    target = _locate(record, p, shape)
    if isinstance(p.last, Append):
        raise PathError(p.render(), "'[+]' names an item that does not exist yet: nothing to read")
    if target.index is None:
        return target.holder.get(target.name)
    return target.holder[target.name][target.index]


def apply_change(record: Record, path: PathLike, value: Any, *, shape: str = ROOT_SHAPE) -> Record:
    """A deep copy of ``record`` with ``value`` written at ``path``; the input is untouched.

    - ``field`` / ``a.b``: set the field (it must be on the record or in the schema).
    - ``array[sel]``: replace that item; with ``REMOVE``, delete it.
    - ``array[+]``: append ``value`` (an object, or a scalar for sets such as tags).
      Appending a set member already present, or an object whose identity is present
      with the same values, changes nothing, so re-applying a change is harmless;
      an object whose identity is present with other values is refused (change it in
      place instead).

    Refused: ``REMOVE`` on an object field (with a full-record PUT a missing key may or
    may not clear the field, depending on which reading of the API is true: set it to
    null instead), and replacing a whole array of objects (that drops the items the
    change did not mean to touch: change items by identity).
    """
    return write_in_place(copy_json(record), path, value, shape=shape)


def write_in_place(
    record: Record, path: PathLike, value: Any, *, shape: str = ROOT_SHAPE
) -> Record:
    """``apply_change`` on ``record`` itself (returned): for a caller applying several
    changes to one copy it made, instead of a copy of the whole record per change."""
    p = parse_path(path)
    result = record
    target = _locate(result, p, shape)
    text = p.render()
    seg = p.last
    element = element_field(target.field) if target.field else None
    new = copy_json(value)  # the record must not alias the caller's objects

    if isinstance(seg, Key):
        if value is REMOVE:
            raise ForbiddenChange(
                text, "REMOVE deletes array items and set members; set a field to null to clear it"
            )
        if target.field and target.field.kind is Kind.ARRAY and target.field.shape:
            raise ForbiddenChange(
                text,
                f"replacing the whole '{seg.name}' array would drop items not meant to change: "
                f"change items by identity ({seg.name}[id=...]) or append with {seg.name}[+]",
            )
        target.holder[target.name] = new
        return result

    if isinstance(seg, Item):
        items: list[Any] = target.holder[target.name]
        assert target.index is not None  # an Item target always has its position
        if value is REMOVE:
            del items[target.index]
        else:
            _check_element(text, element, new)
            items[target.index] = new
        return result

    if value is REMOVE:
        raise PathError(text, "'[+]' names an item that does not exist yet: nothing to remove")
    _check_element(text, element, new)
    items = target.holder.get(target.name) or []
    target.holder[target.name] = items
    if not _already_there(text, seg.name, items, new):
        items.append(new)
    return result


def _check_element(text: str, element: Field | None, value: Any) -> None:
    if element is None:
        return  # an array the schema does not know: take the item as given
    if element.kind is Kind.OBJECT and not isinstance(value, Mapping):
        raise PathError(text, f"an item here must be an object, not {_describe(value)}")
    if element.kind is not Kind.OBJECT and isinstance(value, Mapping | list):
        raise PathError(text, f"a member here must be a single value, not {_describe(value)}")


def _already_there(text: str, array_name: str, items: list[Any], new: Any) -> bool:
    """Is ``new`` (about to be appended) already in ``items``? Raise if it clashes."""
    if not isinstance(new, Mapping):
        return new in items
    try:
        identity = identity_of(array_name, new)
    except PathError as exc:
        raise PathError(text, exc.problem) from None
    match = tuple((k, _natural_text(v)) for k, v in identity)
    for item in items:
        if _item_matches(item, match):
            if all(k in item and item[k] == v for k, v in new.items()):
                return True
            raise PathError(
                text,
                f"{array_name}{_label(array_name, item)} already has this identity "
                f"({', '.join(f'{k}={v!r}' for k, v in identity)}): change that item instead",
            )
    return False
