"""Field-level diff between two versions of a CRM+ Contact, with arrays matched by identity.

How a diff is computed, and why each step is there:

1. ALIGN the versions (``align``): walk them together along the schema, keeping only the
   compared fields (writable ones: ``modifiedDateTimeUtc``, giving summaries, urls and
   ids are the server's and never a change). Arrays become items keyed by IDENTITY,
   never by position: individuals and methods by ``id``, custom fields by ``name``,
   references by ``source``+``id``, tags and groups as sets. An item without an id yet
   (created on the platform) is matched by its natural key (method ``type``+``value``)
   to an item that has one, so the server's id assignment is not a remove-and-add.
   A version holding one item twice (one id twice, or two id-less items with one
   natural key: two new people named "Jo Smith") cannot say which of the two a path
   or the other versions mean: the first is compared, the copy gets a slot of its own
   (``Slot.repeats``) that no diff compares and that the merge turns into a conflict,
   so that it is never dropped silently nor written anywhere.
2. NORMALISE each leaf (``normalize.normalize_value``): whitespace, state-code case,
   natural types, "" vs null. Server-side normalisation must not look like an edit.
3. COMPARE the two versions slot by slot: a slot one version lacks is an add or a
   removal (or, for a leaf, a value read as null), a leaf whose normalised values differ
   is a ``set`` (``values_equivalent`` has the last word). Arrays were keyed by identity
   in step 1, so nothing is ever matched by position.
4. REPORT ``FieldChange``s on canonical concrete paths
   (``contactIndividuals[id=2].contactMethods[id=2081].value``), with values as the
   records hold them (not normalised): ``set`` for leaves, ``add``/``remove`` for whole
   array items and set members, in document order.

Objects and items every version holds with the same compared values (``same_compared``:
the same keys, the same values of the same JSON types) hold no change: ``diff`` and
``merge`` align with ``prune=True``, which leaves such a slot childless instead of
walking it. A contact changed at one
field is then compared at that field's object, not at every field of the record.

Absence is not null: a key ABSENT from the newer version means "not managed by whoever
wrote it" and never clears anything; a key absent from the older version reads as null.
Custom fields are org-defined and always listed by the CRM, so they are never added or
removed, only their ``value`` set.

The aligned structure (``Slot`` trees) is shared with ``merge``, which walks three
versions at once with the same identity rules.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final, Literal

from syncengine.domain.normalize import normalize_value, same_normal_form, values_equivalent
from syncengine.domain.paths import (
    IDENTITY_SCALARS,
    REMOVE,
    Item,
    Key,
    Path,
    find_schema_field,
    get_value,
    item_segment,
    parse_path,
    write_in_place,
)
from syncengine.domain.policy import any_glob_match
from syncengine.domain.ports import Record
from syncengine.domain.records import copy_json
from syncengine.domain.schema import ARRAY_IDENTITY, NATURAL_KEY, SHAPES, Field, Kind
from syncengine.errors import PathError

__all__ = [
    "ChangeKind",
    "FieldChange",
    "Slot",
    "SlotKind",
    "align",
    "apply_changes",
    "apply_changes_in_place",
    "diff",
    "is_managed",
    "leaf_values",
    "natural_key",
]

ChangeKind = Literal["set", "add", "remove"]

ROOT_SHAPE: Final = "Contact"

# Arrays whose items are org-defined fields rather than things a client creates: the
# CRM lists every defined custom field (``value: null`` when unset), so an entry is
# never added or removed, only its ``value`` set. Treating a missing entry as a removal
# would make a platform that sends only the fields it knows clear all the others.
MAP_ARRAYS: Final = frozenset({"customFields"})

_MODIFIED: Final = "modifiedDateTimeUtc"


@dataclass(frozen=True)
class FieldChange:
    """One change between two versions of a record.

    ``path`` is canonical and concrete (items named by identity, never by position).
    ``set``: a leaf; ``old``/``new`` are the values as the records hold them (``old`` is
    None when the field was absent). ``add``/``remove``: a whole array item or set
    member; ``new`` (add) or ``old`` (remove) is the item, the other side is None.
    """

    path: str
    kind: ChangeKind
    old: Any = None
    new: Any = None

    def assignment(self) -> tuple[str, Any]:
        """The change as ``PATH=VALUE`` for the planner (``plan.Change``): an add appends
        (``contactMethods[+]``), a remove writes ``paths.REMOVE`` at the item."""
        if self.kind == "set":
            return self.path, self.new
        if self.kind == "remove":
            return self.path, REMOVE
        path = parse_path(self.path)
        return path.parent.append(path.last.name).render(), self.new


# -- the aligned structure -------------------------------------------------------------------


class SlotKind(Enum):
    LEAF = "leaf"  # a scalar field: compared by (normalised) value
    GROUP = "group"  # an object, an array, or a custom-field entry: only holds children
    ITEM = "item"  # an array item with an identity: added/removed whole, fields compared
    MEMBER = "member"  # a member of a set of scalars (tags): added or removed


@dataclass(eq=False)
class Slot:
    """One field, item or member, aligned across several versions of a record.

    Lists are indexed by version (the order given to ``align``). ``present[i]`` says
    whether version ``i`` has this slot at all; absence is meaningful (see the module
    docstring) and is never conflated with a null value.
    """

    kind: SlotKind
    key: str  # the identity under the parent: a field name or an item's match key
    segment: Key | Item | None  # how this slot is named under its parent (None: the root)
    field_name: str  # the schema field (for items and members: the array's name)
    field: Field | None
    parent: Slot | None
    present: list[bool]
    raw: list[Any]  # the value as each version holds it (None where absent)
    holder: list[Any]  # the object holding it (normalisation context: address -> state)
    stamp: list[str | None]  # modifiedDateTimeUtc of the smallest enclosing item with one
    display: Path  # the canonical concrete path
    local: list[Path | None]  # each version's own path to it (its own selectors)
    norm: list[Any] = dataclasses.field(default_factory=list)  # normalised leaf values, per version
    children: dict[str, Slot] = dataclasses.field(default_factory=dict)
    # Held with the same compared values by every version, so not walked (``align`` with
    # ``prune=True``): it has no children, and nothing below it differs.
    pruned: bool = False
    # An item its one version holds twice (see the module docstring): the slot of the
    # first one, which this copy repeats. The copy has no children and is compared with
    # nothing: its path names both items in its version, so nothing may be written at it.
    repeats: Slot | None = None

    @property
    def path(self) -> str:
        return self.display.render()

    def path_in(self, version: int, renamed: Mapping[Slot, Item] | None = None) -> Path:
        """The path naming this slot in ``version``: its own one if it has the slot, else
        where the slot would be once added (the parent's path there + this segment).

        ``renamed``: items that changes already made to ``version`` name otherwise now
        (an item without an id is named by natural key, and a change set it), with their
        new segment: it names them, and everything below them, from then on."""
        own = self.local[version]
        if own is not None and not (renamed and self.below(renamed)):
            return own
        if self.parent is None or self.segment is None:
            return Path()
        segment = (renamed or {}).get(self) or (own.last if own is not None else self.segment)
        assert isinstance(segment, Key | Item)  # a slot's own segment, never ``[+]``
        return _child_path(self.parent.path_in(version, renamed), segment)

    def below(self, slots: Collection[Slot]) -> bool:
        """Whether this slot is one of ``slots`` or inside one of them."""
        return self in slots or any(a in slots for a in self.ancestors())

    def walk(self) -> Iterator[Slot]:
        """This slot and every slot below it, parents first, in document order."""
        yield self
        for child in self.children.values():
            yield from child.walk()

    def ancestors(self) -> Iterator[Slot]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def same_as_aligned(self, a: Any, side_a: int, b: Any, side_b: int) -> bool | None:
        """``equivalent`` of two versions' own values, from the normal forms ``align``
        worked out (a merge compared each leaf up to three times, normalising both values
        each time); None where those cannot tell: a value that is not the version's own
        (a stand-in for an absent one), ``state`` (its normal form depends on the
        address holding it), or a container (``equivalent`` compares those by ``==``,
        their normal forms by canonical JSON)."""
        if (
            self.field_name == "state"
            or not (self.present[side_a] and self.present[side_b])
            or a is not self.raw[side_a]
            or b is not self.raw[side_b]
        ):
            return None
        x, y = self.norm[side_a], self.norm[side_b]
        if not (_plain_scalar(x) and _plain_scalar(y)):
            return None
        return same_normal_form(x, y)

    def equivalent(self, a: Any, ctx_a: Any, b: Any, ctx_b: Any) -> bool:
        """Whether two raw values of this leaf mean the same (``normalize``'s rules).

        Each value comes with the object holding it (``state`` reads by its address's
        ``country``). Equivalent under either context counts: "ca" and "CA" are one state
        code even if one version's country is blank and the other's says "USA". Checking
        both keeps the answer symmetric, which the merge's side-swap property needs.
        """
        kind = self.field.kind if self.field else Kind.OPAQUE
        if self.kind is SlotKind.MEMBER and self.field and self.field.item_kind:
            kind = self.field.item_kind
        return values_equivalent(kind, self.field_name, a, b, _mapping(ctx_a)) or (
            ctx_b is not ctx_a and values_equivalent(kind, self.field_name, a, b, _mapping(ctx_b))
        )


def _plain_scalar(norm: Any) -> bool:
    """A normal form that is a scalar, not a container's canonical JSON (``_atomic``)."""
    return type(norm) in _SCALARS and not (isinstance(norm, str) and norm.startswith(_JSON))


def _mapping(value: Any) -> Mapping[str, Any] | None:
    # Records are plain dicts and most values scalars: an ABC's isinstance check is slow,
    # and this runs for every value of every version aligned.
    kind = type(value)
    return value if kind is dict or (kind not in _SCALARS and isinstance(value, Mapping)) else None


class _Absent(Enum):
    """A key the version does not have (distinct from a key holding null)."""

    ABSENT = "ABSENT"


_ABSENT: Final = _Absent.ABSENT


# What starts a container's normal form (``_atomic``).
_JSON: Final = "\x00json:"
# The types whose equal values normalise alike (``_Aligner._like``).
_SCALARS: Final = frozenset({str, int, float, bool, type(None)})
_ROOT: Final = Path()


@functools.lru_cache(maxsize=256)
def _key(name: str) -> Key:
    # Field names come from the schema: a few dozen. Building (and validating) a Key per
    # field per record is most of align's cost otherwise.
    return Key(name)


def _child_path(parent: Path, segment: Key | Item) -> Path:
    # An item segment names the array too (``contactMethods[id=7]``), so it REPLACES the
    # array's own key segment that the container slot ended with.
    if isinstance(segment, Key):
        return Path((*parent.segments, segment))
    return Path((*parent.segments[:-1], segment))


def _atomic(value: Any) -> Any:
    """A normalised value compared whole: containers (opaque custom field values,
    customCollections) become canonical JSON text, so that comparing them never matches
    their lists by position, and ``True`` never equals ``1``."""
    if isinstance(value, dict | list | tuple | set | frozenset):
        return _JSON + json.dumps(value, sort_keys=True, default=str)
    return value


def _normalized(kind: Kind, name: str, value: Any, holder: Any) -> Any:
    return _atomic(normalize_value(kind, name, value, _mapping(holder)))


def _stamp_of(value: Any, inherited: str | None) -> str | None:
    if _mapping(value) is not None:
        own = value.get(_MODIFIED)
        if isinstance(own, str) and own.strip():
            return own
    return inherited


# One item of one version, as ``fill_items`` matches them: the item, its segment (by id,
# else by natural key), its normalised natural key, and whether it has its id.
_Entry = tuple[dict[str, Any], Item, tuple[Any, ...] | None, bool]


def _id_key(name: str, segment: Item) -> str:
    """The match key of an item named by its id: ``id[id=7]``."""
    return "id" + segment.render()[len(name) :]


class _Aligner:
    """Builds the ``Slot`` tree of several versions. One instance per ``align`` call."""

    def __init__(self, count: int, *, prune: bool = False, partial: int | None = None) -> None:
        self.count = count
        self.prune = prune
        self.partial = partial

    def identical(self, slot: Slot, shape: str, skip: Iterable[str]) -> bool:
        """Whether every version holds ``slot`` with the same compared values."""
        return (
            self.prune
            and all(slot.present)
            and same_compared(shape, slot.raw, skip, partial=self.partial)
        )

    def new_slot(
        self,
        kind: SlotKind,
        key: str,
        segment: Key | Item,
        field_name: str,
        schema_field: Field | None,
        parent: Slot,
    ) -> Slot:
        n = self.count
        slot = Slot(
            kind=kind,
            key=key,
            segment=segment,
            field_name=field_name,
            field=schema_field,
            parent=parent,
            present=[False] * n,
            raw=[None] * n,
            holder=[None] * n,
            stamp=list(parent.stamp),
            display=_child_path(parent.display, segment),
            local=[None] * n,
            norm=[None] * n,
        )
        parent.children[key] = slot
        return slot

    def place(self, slot: Slot, version: int, value: Any, holder: Any, segment: Key | Item) -> None:
        """Record that ``version`` has ``slot`` with ``value``."""
        parent = slot.parent
        assert parent is not None  # only the root has no parent, and it is built apart
        slot.present[version] = True
        slot.raw[version] = value
        slot.holder[version] = holder
        slot.stamp[version] = _stamp_of(value, parent.stamp[version])
        parent_path = parent.local[version]
        assert parent_path is not None  # a version has a slot only below one it has
        # The versions mostly agree: what an earlier version worked out for the same
        # parent path and segment, or the same scalar value, is taken, not built again
        # (building paths and normalising values were a third of a merge's time).
        slot.local[version] = self._path_in(slot, version, parent_path, segment)
        if slot.kind in (SlotKind.LEAF, SlotKind.MEMBER):
            like = self._like(slot, version, value)
            if like is not None and slot.field_name != "state":
                # Only ``state`` reads its holder (the address's country says whether it
                # is a US code): any other value normalises alike wherever it sits.
                slot.norm[version] = slot.norm[like]
                return
            kind = slot.field.kind if slot.field else Kind.OPAQUE
            if slot.kind is SlotKind.MEMBER and slot.field and slot.field.item_kind:
                kind = slot.field.item_kind
            slot.norm[version] = _normalized(kind, slot.field_name, value, holder)

    @staticmethod
    def _path_in(slot: Slot, version: int, parent_path: Path, segment: Key | Item) -> Path:
        """The slot's path in ``version``: an earlier version's when that one is under
        the very same parent path (by identity: a whole agreeing subtree shares its
        paths) with an equal segment, else built."""
        parent = slot.parent
        assert parent is not None
        for earlier in range(version):
            path = slot.local[earlier]
            if (
                path is not None
                and parent.local[earlier] is parent_path
                and path.segments[-1] == segment
            ):
                return path
        return _child_path(parent_path, segment)

    @staticmethod
    def _like(slot: Slot, version: int, value: Any) -> int | None:
        """An earlier version holding ``slot`` with the very same value: the same object,
        or an equal scalar of the same type (``True`` is not ``1``; containers are not
        compared, since ``[True] == [1]``)."""
        for earlier in range(version):
            if not slot.present[earlier]:
                continue
            other = slot.raw[earlier]
            if other is value or (
                type(other) is type(value) and type(value) in _SCALARS and other == value
            ):
                return earlier
        return None

    # -- objects ---------------------------------------------------------------------------

    def fill_shape(self, slot: Slot, shape: str, skip: Iterable[str] = ()) -> None:
        """The compared fields of an object of ``shape`` held by ``slot`` in each version.

        ``skip``: identity keys of an item (they cannot change without making it another
        item, and ``id="42"`` vs ``id=42`` would otherwise show up as a change).
        """
        if self.identical(slot, shape, skip):
            slot.pruned = True
            return
        skipped = set(skip)
        for name, schema_field in SHAPES[shape].items():
            if not schema_field.writable or name in skipped:
                continue
            values = [self.value_in(slot, version, name) for version in range(self.count)]
            if schema_field.kind is Kind.ARRAY:
                container = self.new_slot(
                    SlotKind.GROUP, name, _key(name), name, schema_field, slot
                )
                for version, value in enumerate(values):
                    if value is not _ABSENT:
                        # A null array (webhook shapes send ``contactMethods: null``) holds
                        # no items: it is present, and empty.
                        items = value if isinstance(value, list) else []
                        self.place(container, version, items, slot.raw[version], _key(name))
                if self.same_members(container, name, schema_field):
                    container.pruned = True
                elif schema_field.shape and name in MAP_ARRAYS:
                    self.fill_map(container, name, schema_field.shape)
                elif schema_field.shape:
                    self.fill_items(container, name, schema_field.shape)
                else:
                    self.fill_set(container, name)
            elif schema_field.kind is Kind.OBJECT and schema_field.shape:
                child = self.new_slot(SlotKind.GROUP, name, _key(name), name, schema_field, slot)
                for version, value in enumerate(values):
                    if value is not _ABSENT:
                        # A null object (``address: null``) is present: its fields read
                        # as null, so a platform sending null clears them explicitly.
                        obj = value if isinstance(value, dict) else None
                        self.place(child, version, obj, slot.raw[version], _key(name))
                self.fill_shape(child, schema_field.shape)
            else:
                leaf = self.new_slot(SlotKind.LEAF, name, _key(name), name, schema_field, slot)
                for version, value in enumerate(values):
                    if value is not _ABSENT:
                        self.place(leaf, version, value, slot.raw[version], _key(name))

    def same_members(self, container: Slot, name: str, schema_field: Field) -> bool:
        """Whether every version holds the array as the very same list: then none of its
        members, entries or items can differ, and they are not walked. An array of items
        only if each of its items has its own identity: one its versions all hold twice is
        still a conflict (``Slot.repeats``), found by walking it."""
        if not (self.prune and all(container.present)):
            return False
        first = container.raw[0]
        # ``==`` (at C speed) first: it holds wherever ``same_json`` does, and an array
        # that differs somewhere (the people of a household, one of them edited) is told
        # at once, not walked in Python up to the difference.
        if not all(first == other and same_json(first, other) for other in container.raw[1:]):
            return False
        if not schema_field.shape or name in MAP_ARRAYS:
            return True  # a set's members and a map's entries are one by text or name
        return _distinct_identities(first, ARRAY_IDENTITY.get(name, ("id",)))

    def value_in(self, slot: Slot, version: int, name: str) -> Any:
        """The value of field ``name`` of the object ``slot`` holds in ``version``."""
        if not slot.present[version]:
            return _ABSENT
        obj = slot.raw[version]
        if obj is None:
            return None  # a field of a null object reads as null
        if isinstance(obj, dict) and name in obj:
            return obj[name]
        return _ABSENT

    # -- arrays ----------------------------------------------------------------------------

    def items_of(self, container: Slot, version: int) -> list[Any]:
        return container.raw[version] if container.present[version] else []

    def fill_items(self, container: Slot, name: str, shape: str) -> None:
        """Items of an array of objects, matched by identity across the versions."""
        identity_keys = ARRAY_IDENTITY.get(name, ("id",))
        found: list[list[_Entry]] = []
        for version in range(self.count):
            entries = []
            for item in self.items_of(container, version):
                segment = item_segment(name, item)  # PathError for an item nobody could name
                has_id = all(item.get(k) is not None for k in identity_keys)
                entries.append((item, segment, natural_key(name, item), has_id))
            found.append(entries)

        # Match keys per version. Items with an id are named by it. An item without one
        # takes the id of an item with the same natural key in another version (base
        # first), unless that id is already taken in its own version: a platform's new
        # email and the id the CRM gave it on the last push are one item.
        # A key taken already in its version is a copy: see ``Slot.repeats``.
        keys: list[list[tuple[str, bool]]] = []
        for version, entries in enumerate(found):
            taken: set[str] = set()
            version_keys = [("", False)] * len(entries)
            for index, (_item, segment, _natural, has_id) in enumerate(entries):
                if has_id:
                    # A duplicate id in one version: the first item is the one compared.
                    key = _id_key(name, segment)
                    version_keys[index] = (key, key in taken)
                    taken.add(key)
            first_of: dict[tuple[Any, ...], str] = {}
            for index, (_item, _segment, natural, has_id) in enumerate(entries):
                if has_id:
                    continue
                if natural is not None and natural in first_of:
                    # Two items without an id and with one natural key: the first is
                    # compared, as above, whatever it was matched to (a run after the
                    # first gave it CRM+'s id, so the copy is seen as one on every run).
                    version_keys[index] = (first_of[natural], True)
                    continue
                key = self.adopt(found, version, index, taken, name)
                version_keys[index] = (key, key in taken)
                taken.add(key)
                if natural is not None:
                    first_of[natural] = key
            keys.append(version_keys)

        # One slot per match key, created in document order (versions in priority order).
        # The display segment prefers a version where the item has an id: an id names the
        # item forever; a natural key is only a stand-in until the server assigns one.
        for version, entries in enumerate(found):
            for index, ((item, segment, _natural, has_id), (key, repeated)) in enumerate(
                zip(entries, keys[version], strict=True)
            ):
                if repeated:
                    # The first item of this key came earlier in this version's own list,
                    # so its slot exists. The copy's key only has to be unique here: the
                    # merge names the copy by its own segment, which is stable.
                    copy = self.new_slot(
                        SlotKind.ITEM, f"{key}#{version}.{index}", segment, name, None, container
                    )
                    copy.repeats = container.children[key]
                    self.place(copy, version, item, container.raw[version], segment)
                    continue
                slot = container.children.get(key)
                if slot is None:
                    slot = self.new_slot(SlotKind.ITEM, key, segment, name, None, container)
                elif has_id and not self.shown_by_id(slot, identity_keys):
                    slot.segment = segment
                    slot.display = _child_path(container.display, segment)
                self.place(slot, version, item, container.raw[version], segment)
        for slot in container.children.values():
            if slot.repeats is None:  # a copy is compared with nothing: no fields
                self.fill_shape(slot, shape, skip=identity_keys)

    def shown_by_id(self, slot: Slot, identity_keys: tuple[str, ...]) -> bool:
        assert isinstance(slot.segment, Item)
        return all(k in dict(slot.segment.match) for k in identity_keys)

    def adopt(
        self,
        found: Sequence[Sequence[_Entry]],
        version: int,
        index: int,
        taken: set[str],
        name: str,
    ) -> str:
        natural = found[version][index][2]
        if natural is not None:
            # The id of the one item that carries this natural key in the other versions.
            # A version where two items share the key (two people of one household with
            # one name) cannot tell which one is meant and has no say; versions that name
            # different ids leave the item new rather than taken for one of them now and
            # for another (or none) on the next run. The current versions speak first:
            # the oldest one (the base, version 0) only when they are silent, since what
            # the key named then may have been renamed since on both sides.
            unique: dict[int, str] = {}
            for other, entries in enumerate(found):
                if other == version:
                    continue
                matches = [
                    _id_key(name, segment)
                    for _item, segment, candidate, has_id in entries
                    if has_id and candidate == natural
                ]
                if len(matches) == 1:
                    unique[other] = matches[0]
            current = {key for other, key in unique.items() if other != 0}
            if current:
                candidates = current
            elif 0 in unique and self.named_after_renames(found, version, index, unique[0], name):
                candidates = {unique[0]}
            else:
                candidates = set()
            if len(candidates) == 1 and not candidates <= taken:
                return candidates.pop()
        return "nk:" + json.dumps(natural, default=str)

    def named_after_renames(
        self, found: Sequence[Sequence[_Entry]], version: int, index: int, key: str, name: str
    ) -> bool:
        """Whether the id-less item ``index`` of ``version``, matched to the base's item
        ``key``, can still be told apart by natural key once it takes the one the current
        versions gave that item since (the merge brings their rename to it).

        Not when that key is empty, or another item of its version holds it, or another
        item of the renaming version does: the item's path would name no item or two,
        and the next run could not match it to ``key`` again. It stays new then, and the
        base's item reads as removed in its version, which the merge never lets pass
        silently (an item removed on one side and edited on the other is a conflict)."""
        mine = [natural for i, (*_, natural, _id) in enumerate(found[version]) if i != index]
        for other, entries in enumerate(found):
            if other in (0, version):
                continue
            renamed = [
                natural
                for _i, seg, natural, has_id in entries
                if has_id and _id_key(name, seg) == key
            ]
            for natural in renamed:
                held = [n for *_, n, _id in entries if n == natural]
                if natural is None or natural in mine or len(held) > 1:
                    return False
        return True

    def fill_map(self, container: Slot, name: str, shape: str) -> None:
        """Custom fields: entries keyed by ``name``, only ``value`` compared, never added
        or removed (see ``MAP_ARRAYS``)."""
        identity_keys = ARRAY_IDENTITY.get(name, ("name",))
        for version in range(self.count):
            for entry in self.items_of(container, version):
                segment = item_segment(name, entry)
                key = "entry" + segment.render()[len(name) :]
                slot = container.children.get(key)
                if slot is None:
                    slot = self.new_slot(SlotKind.GROUP, key, segment, name, None, container)
                if not slot.present[version]:  # a repeated name: the first entry wins
                    self.place(slot, version, entry, container.raw[version], segment)
        for slot in container.children.values():
            self.fill_shape(slot, shape, skip=identity_keys)

    def fill_set(self, container: Slot, name: str) -> None:
        """Tags and groups: a set of names; members matched by their normalised text."""
        assert container.field is not None
        kind = container.field.item_kind or Kind.STRING
        for version in range(self.count):
            for member in self.items_of(container, version):
                key = "member:" + json.dumps(_normalized(kind, name, member, None), default=str)
                segment = item_segment(name, member)
                slot = container.children.get(key)
                if slot is None:
                    slot = self.new_slot(
                        SlotKind.MEMBER, key, segment, name, container.field, container
                    )
                if not slot.present[version]:  # " Gala" and "Gala" are one member
                    self.place(slot, version, member, container.raw[version], segment)


def _distinct_identities(items: list[Any], keys: tuple[str, ...]) -> bool:
    """Whether every item is an object holding all its identity keys, scalars, and no two
    items the same identity (by type too: ``1`` and ``True`` name different items)."""
    seen: set[tuple[Any, ...]] = set()
    for item in items:
        if type(item) is not dict:
            return False
        identity = tuple((type(value), value) for value in map(item.get, keys))
        if any(kind not in _IDENTITY_TYPES for kind, _ in identity) or identity in seen:
            return False
        seen.add(identity)
    return True


# An item's identity values compared by equality without surprise; a null is no identity.
_IDENTITY_TYPES: Final = IDENTITY_SCALARS - {type(None)}


def natural_key(name: str, item: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The normalised natural key of an item of array ``name`` (a method's type+value),
    None if the array has no natural key or the item has none of its parts."""
    keys = NATURAL_KEY.get(name)
    if not keys:
        return None
    values = tuple(item.get(k) for k in keys)
    if all(value is None for value in values):
        return None
    if all(type(value) in _TEXT_OR_NULL for value in values):
        # Every version of every item is keyed when aligning: the same few texts, each
        # normalised once. (No natural key part is a ``state``, the one value whose
        # normal form reads the object holding it.)
        return _natural_key_of(name, values)
    return _natural_key_of.__wrapped__(name, values)


_TEXT_OR_NULL: Final = frozenset({str, type(None)})


@functools.lru_cache(maxsize=16_384)
def _natural_key_of(name: str, values: tuple[Any, ...]) -> tuple[Any, ...]:
    shape = SHAPES.get(_SHAPE_OF_ARRAY.get(name, ""), {})
    return tuple(
        _normalized(shape[key].kind if key in shape else Kind.STRING, key, value, None)
        for key, value in zip(NATURAL_KEY[name], values, strict=True)
    )


_SHAPE_OF_ARRAY: Final[dict[str, str]] = {
    name: schema_field.shape
    for table in SHAPES.values()
    for name, schema_field in table.items()
    if schema_field.kind is Kind.ARRAY and schema_field.shape
}


def same_json(a: Any, b: Any) -> bool:
    """Whether two JSON values are the same value of the same types throughout: unlike
    ``==``, ``True`` is not ``1`` and ``1`` is not ``1.0`` (normalisation tells those
    apart, so pruning must not take them for one)."""
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is dict:
        return a.keys() == b.keys() and all(same_json(v, b[k]) for k, v in a.items())
    if kind is list:
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b) and (a == a)  # NaN is never the same as anything


# The compared (writable) fields of each shape, in schema order, each with whether it
# holds objects of a shape (compared field by field, item by item) or plain values.
_COMPARED: Final[dict[str, tuple[tuple[str, Field, bool], ...]]] = {
    shape: tuple(
        (name, f, bool(f.shape) and f.kind in (Kind.OBJECT, Kind.ARRAY))
        for name, f in fields.items()
        if f.writable
    )
    for shape, fields in SHAPES.items()
}


def same_compared(
    shape: str, objects: Sequence[Any], skip: Iterable[str] = (), *, partial: int | None = None
) -> bool:
    """Whether the versions of an object of ``shape`` (a dict, or None for a null object)
    hold the same values at every compared field: the same keys present, equal values
    (``same_json``), array items equal position by position, identities included.

    ``partial``: the version whose ABSENT keys mean "not managed" (the platform's in a
    merge, the newer one in a diff): nothing is decided below such a key, so what the
    other versions hold there does not count. In the others an absent leaf is null.

    Then aligning them finds no difference below: ``align(prune=True)`` does not walk
    them. Fields that are not compared (ids, stamps, audit) may differ. Conservative:
    items equal in another order are "not the same" here, and simply walked.
    """
    first = objects[0]
    if any(type(other) is not type(first) for other in objects):
        return False
    if not isinstance(first, dict):
        return all(same_json(first, other) for other in objects)
    rest = objects[1:]
    for name, schema_field, nested in _COMPARED[shape]:
        if name in skip or (partial is not None and name not in objects[partial]):
            continue
        # Elsewhere an absent key reads as null (in the base, the CRM record, the older
        # side of a diff), a null array holds no items, and these leaves' normal form
        # of "" is null too: the forms the aligned walk takes for one.
        kind = schema_field.kind
        if nested:
            values = [_as_read(kind, obj.get(name)) for obj in objects]
            if not _same_field(name, schema_field, values, partial):
                return False
            continue
        # A leaf or a set of scalars, most of what is compared: ``_same_field``'s
        # ``same_json`` of each version against the first, without its lists and calls
        # for the usual equal scalars.
        mine = _as_read(kind, first.get(name))
        for other in rest:
            theirs = _as_read(kind, other.get(name))
            if theirs is mine or (
                type(theirs) is type(mine)
                and type(mine) in _SCALARS
                and theirs == mine
                and mine == mine  # NaN is never the same as anything (``same_json``)
            ):
                continue
            if not same_json(mine, theirs):
                return False
    return True


# Leaf kinds whose normal form of "" is null (``normalize.normalize_value``).
_EMPTY_IS_NULL: Final = frozenset({Kind.STRING, Kind.OPAQUE, Kind.DATE, Kind.TIMESTAMP})
_NO_ITEMS: Final[list[Any]] = []


def _as_read(kind: Kind, value: Any) -> Any:
    if value is None:
        return _NO_ITEMS if kind is Kind.ARRAY else None
    if value == "" and kind in _EMPTY_IS_NULL:
        return None
    return value


def _same_field(name: str, schema_field: Field, values: list[Any], partial: int | None) -> bool:
    first = values[0]
    if schema_field.kind is Kind.OBJECT and schema_field.shape and type(first) is dict:
        return same_compared(schema_field.shape, values, partial=partial)
    if not (schema_field.kind is Kind.ARRAY and schema_field.shape and type(first) is list):
        return all(same_json(first, other) for other in values)
    if any(type(other) is not list or len(other) != len(first) for other in values):
        return False
    identity = ARRAY_IDENTITY.get(name, ("id",))
    for position, item in enumerate(first):
        items = [other[position] for other in values]
        if type(item) is not dict:
            if not all(same_json(item, other) for other in items):
                return False
            continue
        if not all(
            type(other) is dict and same_json(item.get(k), other.get(k))
            for other in items
            for k in identity
        ):
            return False
        if not same_compared(schema_field.shape, items, identity, partial=partial):
            return False
    return True


def align(
    records: Sequence[Record | None], *, prune: bool = False, partial: int | None = None
) -> Slot:
    """Walk several versions of one Contact together; the root ``Slot`` of the result.

    Versions are given in priority order: where an item must be named by one version's
    values (a new item, a display path), the earliest version that has it wins. A
    ``None`` version is "no record at all" (a first sync has no base).
    ``prune``: objects and items every version holds with the same compared values are
    not walked (see ``Slot.pruned``), for callers that only look for differences;
    ``partial``: the version whose absent keys decide nothing (see ``same_compared``).
    PathError if an array item has no identity at all (no id and no natural key).
    """
    n = len(records)
    root = Slot(
        kind=SlotKind.GROUP,
        key="",
        segment=None,
        field_name="",
        field=None,
        parent=None,
        present=[r is not None for r in records],
        raw=list(records),
        holder=[None] * n,
        stamp=[_stamp_of(r, None) for r in records],
        display=Path(),
        # One object for every version: ``place`` knows paths it may share by identity.
        local=[_ROOT if r is not None else None for r in records],
        norm=[None] * n,
    )
    _Aligner(n, prune=prune, partial=partial).fill_shape(root, ROOT_SHAPE)
    return root


# -- the diff --------------------------------------------------------------------------------


def is_managed(slot: Slot, patterns: Sequence[str] | None) -> bool:
    """Whether a change at ``slot`` is inside the managed field globs.

    ``None`` manages everything. A glob manages the path it matches and everything
    below it (``address`` manages ``address.city``). An item or member is managed when
    a glob names it, something above it, or any field below it: a platform managing
    ``contactIndividuals[*].contactMethods[*].value`` adds and removes methods too.
    """
    if patterns is None:
        return True
    if any_glob_match(slot.path, patterns):
        return True
    if any(a.segment is not None and any_glob_match(a.path, patterns) for a in slot.ancestors()):
        return True
    if slot.kind in (SlotKind.ITEM, SlotKind.GROUP):
        return any(
            d.kind in (SlotKind.LEAF, SlotKind.MEMBER) and any_glob_match(d.path, patterns)
            for d in slot.walk()
        )
    return False


class _Differ:
    """Walks an aligned tree, collecting the changes from version ``old`` to ``new``."""

    def __init__(self, old: int, new: int) -> None:
        self.old = old
        self.new = new
        self.found: list[tuple[Slot, FieldChange]] = []

    def compare(self, slot: Slot) -> None:
        """The changes inside ``slot``, which both versions hold, in document order."""
        for child in slot.children.values():
            in_old, in_new = child.present[self.old], child.present[self.new]
            if in_old and in_new:
                if child.kind is SlotKind.LEAF:
                    if not _same_norm(child.norm[self.old], child.norm[self.new]):
                        self.leaf_set(child)
                elif child.kind is not SlotKind.MEMBER:
                    self.compare(child)
            elif in_new:
                self.added(child)
            elif in_old:
                self.removed(child)

    def leaf_set(self, slot: Slot) -> None:
        old = slot.raw[self.old] if slot.present[self.old] else None
        new = slot.raw[self.new]
        # The normal forms differ; ``values_equivalent`` has the last word (it may know
        # equivalences a single normal form cannot express).
        if not slot.equivalent(old, slot.holder[self.old], new, slot.holder[self.new]):
            self.found.append((slot, FieldChange(slot.path, "set", old, new)))

    def added(self, slot: Slot) -> None:
        """``slot`` is in the new version only: what that means depends on its kind."""
        if slot.repeats is not None:
            return  # a copy of an item the version holds twice: compared with nothing
        if slot.kind in (SlotKind.ITEM, SlotKind.MEMBER):
            self.found.append((slot, FieldChange(slot.path, "add", None, slot.raw[self.new])))
        elif slot.kind is SlotKind.LEAF:
            self.leaf_set(slot)  # a field absent before reads as null
        else:
            # A whole object or array appeared (the old version lacked the key): report
            # what is inside, at the level each thing is compared at.
            for child in slot.children.values():
                if child.present[self.new]:
                    self.added(child)

    def removed(self, slot: Slot) -> None:
        """``slot`` is in the old version only."""
        if slot.repeats is not None:
            return  # a copy of an item the version holds twice: compared with nothing
        parent = slot.parent
        if (
            slot.kind in (SlotKind.ITEM, SlotKind.MEMBER)
            and parent is not None
            and parent.present[self.new]
        ):
            # An item whose array the new version holds was really taken out.
            self.found.append((slot, FieldChange(slot.path, "remove", slot.raw[self.old], None)))
        # A leaf, object or array ABSENT from the new version is not managed by it: its
        # absence clears nothing.


def _same_norm(a: Any, b: Any) -> bool:
    # Normal forms are scalars or canonical JSON text (``_atomic``); bool is not int.
    return type(a) is type(b) and a == b


def diff(
    old: Record | None,
    new: Record | None,
    *,
    managed: Iterable[str] | None = None,
    held_by_old: bool = False,
    prune: bool = True,
) -> list[FieldChange]:
    """The field-level changes turning ``old`` into ``new``, in document order.

    ``old=None`` reads as an empty record. ``managed``: fnmatch-style globs on the
    canonical path (``address.*``, ``customFields[name=Shirt Size].value``,
    ``contactIndividuals[*].contactMethods[*].value``; see ``is_managed``); changes
    outside them are left out. Keys absent from ``new`` are not changes.
    ``held_by_old``: only ``set`` changes of fields ``old`` holds (what a record holding
    a subset of the fields takes from a newer full one); nothing is compared elsewhere.
    ``prune=False`` also walks what both hold alike (the property tests hold the pruned
    walk to it).
    """
    # Pruning may skip what cannot change: a key absent from ``new`` is no change; with
    # ``held_by_old``, neither is anything at a key ``old`` lacks.
    root = align([old, new], prune=prune, partial=0 if held_by_old else 1)
    differ = _Differ(0, 1)
    if root.present[0] and root.present[1]:
        differ.compare(root)
    elif root.present[1]:
        differ.added(root)
    found = differ.found
    if held_by_old:
        found = [(slot, c) for slot, c in found if c.kind == "set" and slot.present[0]]
    patterns = None if managed is None else tuple(managed)
    return [change for slot, change in found if is_managed(slot, patterns)]


# -- helpers for callers ---------------------------------------------------------------------


def leaf_values(*records: Record | None) -> list[dict[str, Any]]:
    """Each version's compared leaves and set members as ``{canonical path: raw value}``,
    aligned so that the same field has the same path in every version."""
    root = align(records)
    out: list[dict[str, Any]] = [{} for _ in records]
    for slot in root.walk():
        if slot.kind in (SlotKind.LEAF, SlotKind.MEMBER):
            for version, values in enumerate(out):
                if slot.present[version]:
                    values[slot.path] = slot.raw[version]
    return out


def apply_changes(record: Record, changes: Iterable[FieldChange]) -> Record:
    """A copy of ``record`` with ``changes`` applied (paths relative to ``record``).

    Items are changed in place by identity, never by replacing an array. A ``set``
    below a null object (``address: null``) creates the object; a ``set`` of a custom
    field the record does not list adds its entry. Values are written as given:
    coercion to wire types is ``fieldtypes``' job, right before a PUT.
    """
    return apply_changes_in_place(copy_json(record), changes)


def apply_changes_in_place(record: Record, changes: Iterable[FieldChange]) -> Record:
    """``apply_changes`` on ``record`` itself (returned): one copy for many changes."""
    result = record
    for change in changes:
        path = parse_path(change.path)
        if change.kind == "set":
            result = _make_room(result, path)
            result = write_in_place(result, path, change.new)
        elif change.kind == "add":
            last = path.last
            assert isinstance(last, Item), f"an add names an item: {change.path}"
            result = write_in_place(result, path.parent.append(last.name), change.new)
        else:
            result = write_in_place(result, path, REMOVE)
    return result


def _make_room(record: Record, path: Path) -> Record:
    """Create what a ``set`` at ``path`` needs above it: a null object, a custom field."""
    for depth in range(1, len(path.segments)):
        prefix = Path(path.segments[:depth])
        segment = prefix.last
        if isinstance(segment, Item) and segment.name in MAP_ARRAYS:
            try:
                get_value(record, prefix)
            except PathError:
                entry = dict(segment.match)
                record = write_in_place(record, prefix.parent.append(segment.name), entry)
        elif isinstance(segment, Key):
            found = find_schema_field(prefix)
            if found and found[2].kind is Kind.OBJECT and get_value(record, prefix) is None:
                record = write_in_place(record, prefix, {})
    return record
