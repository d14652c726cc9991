"""Three-way merge of a contact: the merge base (the mirror), the platform and CRM+.

``merge3`` decides, field by field and item by item, what each side must receive. It is
pure: it returns what to do (``MergeResult``) and does nothing.

The three versions are aligned with ``diff.align`` (arrays matched by identity, values
compared in normal form, read-only fields ignored, what all three hold identically left
unwalked), then walked once. Each field or
item falls in exactly one case of the decision tables below, one commented branch per
case (the vdirsyncer ``_get_actions`` habit), so every outcome can be traced to a line.

Roles of absence (see ``diff``): a key absent from the PLATFORM record is not managed by
the platform: the CRM keeps its value and the platform is sent nothing for it. A key
absent from the CRM record (a full GET) reads as null. With no base at all (first sync)
nothing can be told about who changed what: equal values are agreed, different ones go
to the policy, and items present on one side only are kept (a union: no loss).

An item removed on one side and edited on the other is always a conflict, whatever the
policy: a removal wins only over an untouched item. While a conflict is open neither
side is written at its path: the CRM keeps its value in ``merged`` and the platform
keeps its own, so that nothing a person typed is lost before someone decides.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Final, Literal

from syncengine.domain.diff import (
    ChangeKind,
    FieldChange,
    Slot,
    SlotKind,
    align,
    apply_changes_in_place,
    is_managed,
    natural_key,
)
from syncengine.domain.paths import Path, get_value, item_segment, parse_path
from syncengine.domain.policy import MergePolicy, Rule
from syncengine.domain.ports import Record
from syncengine.domain.records import copy_json
from syncengine.domain.schema import ARRAY_IDENTITY, NATURAL_KEY
from syncengine.domain.timestamps import crm_ticks, parse_crm_timestamp

__all__ = [
    "Conflict",
    "ConflictRule",
    "MergeResult",
    "Resolution",
    "Side",
    "merge3",
]

Side = Literal["platform", "crm"]
# Why a conflict was opened: the field's rule is ``manual``; ``newest`` could not tell
# which side is newer (a timestamp missing, or equal) and the tie breaker is manual; or
# an item was removed on one side and edited on the other; or the conflict was already
# open from an earlier run and the sides still differ ("held"); or an item added on the
# platform has the natural key of another CRM item, so that it could not be told apart
# from that one once written, or one side holds an item twice (two id-less items with
# one natural key, or one id twice) so that a path names both ("duplicate-natural-key").
ConflictRule = Literal["manual", "newest", "removed-vs-edited", "held", "duplicate-natural-key"]
REMOVED_VS_EDITED: Final = "removed-vs-edited"
HELD: Final = "held"
DUPLICATE_NATURAL_KEY: Final = "duplicate-natural-key"

# Version order given to ``align``: the base first so that items keep the names (ids)
# they had at the last sync; then the CRM, whose items always carry server ids.
B, C, P = 0, 1, 2


class _NoBase(Enum):
    """No merge base for this field: a first sync, or an item added on both sides."""

    NO_BASE = "NO_BASE"


_NO_BASE: Final = _NoBase.NO_BASE


@dataclass(frozen=True)
class Resolution:
    """A field changed on both sides to different values, resolved by a rule.

    ``rule`` is the rule that actually decided: when ``newest`` could not and the tie
    breaker did, it is the tie breaker's rule. ``has_base`` is False for a first sync or
    an item added on both sides (``base`` is then None and means "none").
    """

    path: str
    base: Any
    platform: Any
    crm: Any
    chosen: Any
    rule: Rule
    winner: Side
    has_base: bool = True


@dataclass(frozen=True)
class Conflict:
    """A change left for a person. The CRM value stays; nothing is written either way.

    ``suggestion``/``suggested_side``: what ``newest`` would pick when the timestamps
    tell; for a removed-vs-edited item, the edited side (restoring loses nothing).
    ``platform``/``crm`` are None for the side that removed the item.
    """

    path: str
    base: Any
    platform: Any
    crm: Any
    platform_modified: datetime | None
    crm_modified: datetime | None
    suggestion: Any
    rule: ConflictRule
    suggested_side: Side | None = None
    has_base: bool = True


@dataclass(eq=False)
class MergeResult:
    """What a merge decided.

    ``merged``: the CRM record with ``to_crm`` applied (unknown and read-only keys kept,
    as a full-record PUT must send them back). ``to_crm``: changes relative to the CRM
    record. ``to_platform``: changes relative to the platform record, paths in the
    platform's own terms (an item it holds without an id is named by natural key).
    """

    # The merged record as the full merge built it; None: the two sides agreed, and
    # ``merged`` is a copy of ``agreed`` (the CRM record), made when first read.
    built: Record | None = field(default=None, repr=False)
    to_crm: list[FieldChange] = field(default_factory=list)
    to_platform: list[FieldChange] = field(default_factory=list)
    resolutions: list[Resolution] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    agreed: Record | None = field(default=None, repr=False, compare=False)

    @property
    def merged(self) -> Record:
        """The merged record. Of two sides that agree, a copy of the CRM record made now,
        not by the merge: no sync reads it (it plans from ``to_crm`` and ``to_platform``)
        and copying every agreeing contact's record was half of a first sync's merging.
        The records a sync merges are never changed in place (every change is made on a
        copy), so the copy is the same then as now."""
        if self.built is None:
            assert self.agreed is not None, "a merge result holds its record or the agreed one"
            self.built = copy_json(self.agreed)
        return self.built

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MergeResult):
            return NotImplemented
        return self._compared() == other._compared()

    __hash__ = None  # type: ignore[assignment]  # mutable, like any dataclass with eq

    def _compared(self) -> tuple[Any, ...]:
        return self.merged, self.to_crm, self.to_platform, self.resolutions, self.conflicts

    @property
    def in_sync(self) -> bool:
        """Nothing to write to either side and nothing open."""
        return not (self.to_crm or self.to_platform or self.conflicts)


def merge3(
    base: Record | None,
    platform: Record,
    crm: Record,
    policy: MergePolicy | None = None,
    *,
    platform_modified: datetime | None = None,
    open_conflicts: Collection[str] = (),
) -> MergeResult:
    """Merge a contact's platform and CRM versions against their common base.

    ``base=None``: first sync (no mirror yet). ``platform_modified``: when the platform
    last changed this record (a naive datetime is read as UTC); ``newest`` compares it
    with the CRM's ``modifiedDateTimeUtc`` of the smallest enclosing item that has one
    (method, address, individual, then contact), read in ``policy.zone``.

    ``open_conflicts``: paths of conflicts opened by earlier runs and not yet decided.
    The mirror (the next base) takes the CRM value at a conflict while the platform
    keeps its own, so without this the next run would see "only the platform changed"
    and push it: a silent resolution. A held path whose sides still differ is reported
    again (rule ``held``) and written nowhere; once the sides agree it is simply gone.
    PathError if an array item in any version has no identity (no id, no natural key).
    """
    if _agrees(platform, crm):
        # Every field the platform holds is CRM+'s value already: whatever the base, there
        # is nothing to write either way and nothing to decide (a held conflict whose
        # sides agree is simply gone). Most contacts of a first sync, and of a run's plan,
        # are this: a comparison at C speed instead of aligning three versions.
        return MergeResult(agreed=crm)
    return merge_all(base, platform, crm, policy, platform_modified, open_conflicts)


def merge_all(
    base: Record | None,
    platform: Record,
    crm: Record,
    policy: MergePolicy | None,
    platform_modified: datetime | None,
    open_conflicts: Collection[str],
    *,
    prune: bool = True,
) -> MergeResult:
    """``merge3`` without its shortcut for sides that agree: every field aligned and
    decided (the property tests hold the shortcut to this). ``prune=False`` also walks
    what every version holds alike (the property tests hold the pruned walk to it)."""
    merger = _Merger(
        base, platform, crm, policy or MergePolicy(), platform_modified, open_conflicts, prune
    )
    merger.walk(merger.root, base_exists=base is not None)
    merged = merger.build_merged(crm)
    merger.settle_platform_adds(platform)
    return MergeResult(
        built=merged,
        to_crm=merger.to_crm,
        to_platform=merger.to_platform,
        resolutions=merger.resolutions,
        conflicts=merger.conflicts,
    )


_MISSING: Final = object()


def _agrees(platform: Any, crm: Any, array: str = "") -> bool:
    """Does CRM+ hold, at every key the platform's record holds (at any depth), the very
    same value? Array items are compared in order, each carrying its array's identity
    (``ARRAY_IDENTITY``: an item without its id would get it from the merge). Anything
    else (another order, a value in another form) is for the merge to judge."""
    if isinstance(platform, dict):
        if not isinstance(crm, dict):
            return False
        for key, value in platform.items():
            other = crm.get(key, _MISSING)
            # Equal as a whole (C speed) or, for objects and arrays, at the platform's keys.
            if not (
                value == other or (isinstance(value, dict | list) and _agrees(value, other, key))
            ):
                return False
        return True
    if isinstance(platform, list):
        identity = ARRAY_IDENTITY.get(array, ("id",))
        return (
            isinstance(crm, list)
            and len(platform) == len(crm)
            and all(
                _same_item(mine, theirs, identity)
                for mine, theirs in zip(platform, crm, strict=True)
            )
        )
    return bool(platform == crm)


def _same_item(mine: Any, theirs: Any, identity: tuple[str, ...]) -> bool:
    if isinstance(theirs, dict) and not (
        isinstance(mine, dict)
        and all(mine.get(key, _MISSING) == theirs.get(key, _MISSING) for key in identity)
    ):
        return False
    return bool(mine == theirs) or _agrees(mine, theirs)


class _Merger:
    def __init__(
        self,
        base: Record | None,
        platform: Record,
        crm: Record,
        policy: MergePolicy,
        platform_modified: datetime | None,
        open_conflicts: Collection[str],
        prune: bool = True,
    ) -> None:
        # Pruned: what all three hold alike needs no decision, nor does anything below a
        # key the platform lacks (it does not manage it; see ``diff.same_compared``).
        self.root = align([base, crm, platform], prune=prune, partial=P)
        self.held = frozenset(open_conflicts)
        self.policy = policy
        if platform_modified is not None and platform_modified.tzinfo is None:
            platform_modified = platform_modified.replace(tzinfo=UTC)
        self.platform_modified = platform_modified
        self.to_crm: list[FieldChange] = []
        self.crm_slots: list[Slot] = []  # the slot of each ``to_crm`` change
        self.platform_slots: list[Slot] = []  # the slot of each ``to_platform`` change
        self.to_platform: list[FieldChange] = []
        # Per side, the items whose natural key the changes sent there so far have set,
        # with the values of its parts they hold now: an item without an id is named by
        # that key, so every later change at or below it names it by the new one.
        self.renamed: dict[int, dict[Slot, dict[str, Any]]] = {C: {}, P: {}}
        self.resolutions: list[Resolution] = []
        self.conflicts: list[Conflict] = []

    # -- walking ---------------------------------------------------------------------------

    def walk(self, slot: Slot, *, base_exists: bool) -> None:
        for child in slot.children.values():
            if child.kind is SlotKind.LEAF:
                self.leaf(child, base_exists=base_exists)
            elif child.kind is SlotKind.ITEM:
                self.item(child, base_exists=base_exists)
            elif child.kind is SlotKind.MEMBER:
                self.member(child)
            else:
                # An object, an array, a custom-field entry: only its contents are decided.
                self.walk(child, base_exists=base_exists)

    def platform_manages(self, slot: Slot) -> bool:
        return is_managed(slot, self.policy.managed)

    # -- leaves ----------------------------------------------------------------------------

    def leaf(self, slot: Slot, *, base_exists: bool) -> None:
        # CRM: a full record, so an absent key reads as null.
        crm = slot.raw[C] if slot.present[C] else None
        # Base: null where the base record (or the item) exists but lacks the key; no
        # base at all for a first sync or inside an item added on both sides.
        if slot.present[B]:
            base: Any = slot.raw[B]
        else:
            base = None if base_exists else _NO_BASE

        if not slot.present[P] or not self.platform_manages(slot):
            # The platform does not manage this field: the CRM value stands and the
            # platform is sent nothing.
            return
        platform = slot.raw[P]

        if self.same(slot, platform, P, crm, C):
            # Both sides hold the same value (changed alike, or not changed at all).
            return
        if slot.path in self.held:
            # Still different and a person has not decided yet: keep it open.
            self.hold(slot, base, platform, crm)
            return
        if base is not _NO_BASE and self.same(slot, base, B, platform, P):
            # Only the CRM changed it: the platform receives the CRM value.
            self.send_to_platform(slot, "set", old=platform, new=crm)
            return
        if base is not _NO_BASE and self.same(slot, base, B, crm, C):
            # Only the platform changed it: CRM+ receives the platform value.
            self.send_to_crm(slot, "set", old=crm, new=platform)
            return
        # Both changed it to different values, or there is no base to tell who did (a
        # first sync, an item added on both sides): the field's policy decides.
        self.resolve(slot, base, platform, crm)

    def same(self, slot: Slot, a: Any, side_a: int, b: Any, side_b: int) -> bool:
        aligned = slot.same_as_aligned(a, side_a, b, side_b)
        if aligned is not None:
            return aligned
        return slot.equivalent(a, slot.holder[side_a], b, slot.holder[side_b])

    def resolve(self, slot: Slot, base: Any, platform: Any, crm: Any) -> None:
        rule = self.policy.rule_for(slot.path)
        platform_at, crm_at = self.platform_modified, self.crm_modified(slot)
        newest = _newer_side(platform_at, crm_at)
        decided: Rule = rule
        if rule is Rule.NEWEST:
            # newest decides when the timestamps tell; otherwise the tie breaker does.
            decided = _RULE_OF_SIDE[newest] if newest else self.policy.tie_breaker
        has_base = base is not _NO_BASE
        base_value = base if has_base else None

        if decided is Rule.MANUAL:
            # Left to a person: the CRM value stays, nothing is written either way. The
            # suggestion is what newest would pick, when the timestamps tell.
            suggestion = {None: None, "platform": platform, "crm": crm}[newest]
            self.conflicts.append(
                Conflict(
                    path=slot.path,
                    base=base_value,
                    platform=platform,
                    crm=crm,
                    platform_modified=platform_at,
                    crm_modified=crm_at,
                    suggestion=suggestion,
                    rule="newest" if rule is Rule.NEWEST else "manual",
                    suggested_side=newest,
                    has_base=has_base,
                )
            )
            return
        winner: Side = "platform" if decided is Rule.PLATFORM else "crm"
        chosen = platform if winner == "platform" else crm
        # The rule that decided: newest when the timestamps told, else the tie breaker.
        deciding = Rule.NEWEST if rule is Rule.NEWEST and newest else decided
        self.resolutions.append(
            Resolution(slot.path, base_value, platform, crm, chosen, deciding, winner, has_base)
        )
        if winner == "platform":
            self.send_to_crm(slot, "set", old=crm, new=platform)
        else:
            self.send_to_platform(slot, "set", old=platform, new=crm)

    def crm_modified(self, slot: Slot) -> datetime | None:
        """The CRM modification time of the smallest enclosing item that has one."""
        raw = slot.stamp[C]
        if raw is None:
            return None
        try:
            return parse_crm_timestamp(raw, self.policy.zone)
        except ValueError:
            return None  # an unreadable stamp cannot decide anything

    # -- array items -----------------------------------------------------------------------

    def item(self, slot: Slot, *, base_exists: bool) -> None:
        container = slot.parent
        assert container is not None
        if not container.present[P] or not self.platform_manages(slot):
            # The platform's record has no such array, or the item is outside what the
            # platform manages: the CRM keeps what it has, the platform is told nothing.
            return
        if slot.repeats is not None:
            # A copy of an item its side holds twice: see ``repeated``.
            self.repeated(slot, slot.repeats)
            return
        in_base, in_crm, in_platform = slot.present[B], slot.present[C], slot.present[P]

        if in_crm != in_platform and _item_path(slot) in self.held:
            # One side has it, the other not, and a person has not decided yet: keep it
            # open (otherwise the next base would turn it into a plain add or remove).
            self.hold(
                slot,
                slot.raw[B] if in_base else _NO_BASE,
                slot.raw[P] if in_platform else None,
                slot.raw[C] if in_crm else None,
            )
        elif in_base and in_crm and in_platform:
            # Everywhere: the item itself stays; merge its fields.
            self.walk(slot, base_exists=True)
        elif not in_base and in_crm and in_platform:
            # Added on both sides with the same identity (or natural key), or a first
            # sync: one item; its fields merge with no base (differences go to policy).
            self.walk(slot, base_exists=False)
        elif not in_base and in_platform:
            # Added on the platform only (or only the platform has it on a first sync).
            self.send_to_crm(slot, "add", old=None, new=slot.raw[P])
        elif not in_base and in_crm:
            # Added in the CRM only (or only the CRM has it on a first sync).
            self.send_to_platform(slot, "add", old=None, new=slot.raw[C])
        elif in_crm and not in_platform:
            if self.edited(slot, C):
                # Removed on the platform, edited in the CRM: never a silent loss.
                self.removed_vs_edited(slot, edited_side="crm")
            elif self.namesake(slot, P) is not None:
                # Not matched on the platform, where an item without an id holds its
                # name: perhaps this very one (see ``namesake``). No removal on a guess.
                self.ambiguous_absence(slot, side=P)
            else:
                # Removed on the platform, untouched in the CRM: remove it there.
                self.send_to_crm(slot, "remove", old=slot.raw[C], new=None)
        elif in_platform and not in_crm:
            if self.edited(slot, P):
                # Removed in the CRM, edited on the platform: never a silent loss.
                self.removed_vs_edited(slot, edited_side="platform")
            elif self.namesake(slot, C) is not None:
                # The same, the other way round.
                self.ambiguous_absence(slot, side=C)
            else:
                # Removed in the CRM, untouched on the platform: remove it there.
                self.send_to_platform(slot, "remove", old=slot.raw[P], new=None)
        else:
            # Removed on both sides: nothing left to do.
            assert in_base and not in_crm and not in_platform

    def edited(self, slot: Slot, side: int) -> bool:
        """Whether ``side`` changed anything inside ``slot`` since the base."""
        for inner in _inside(slot):
            if side == P and not self.platform_manages(inner):
                continue  # what the platform does not manage, it cannot have edited
            if inner.kind is SlotKind.LEAF:
                if side == P and not inner.present[P]:
                    continue  # absent on the platform: not managed, not an edit
                before = inner.raw[B] if inner.present[B] else None
                after = inner.raw[side] if inner.present[side] else None
                if not self.same(inner, before, B, after, side):
                    return True
            elif inner.kind in (SlotKind.ITEM, SlotKind.MEMBER):
                container = inner.parent
                assert container is not None
                if container.present[side] and inner.present[B] != inner.present[side]:
                    return True
        return False

    def removed_vs_edited(self, slot: Slot, *, edited_side: Side) -> None:
        kept = slot.raw[C] if edited_side == "crm" else slot.raw[P]
        self.conflicts.append(
            Conflict(
                path=_item_path(slot),
                base=slot.raw[B],
                platform=slot.raw[P] if slot.present[P] else None,
                crm=slot.raw[C] if slot.present[C] else None,
                platform_modified=self.platform_modified,
                crm_modified=self.crm_modified(slot),
                suggestion=kept,
                rule=REMOVED_VS_EDITED,
                suggested_side=edited_side,
            )
        )

    def repeated(self, copy: Slot, first: Slot) -> None:
        """``copy`` is a second item its side holds under the identity of ``first`` (two
        new people named "Jo Smith", a method typed twice, an id twice): which of the two
        a path means cannot be told there, nor which one the other side's item is.

        The first goes on as if alone; the copy is written nowhere (the other side is
        not given an ambiguous pair, nor its own item overwritten by the copy) and stays
        on its side, since that side is only ever written changes at other paths. It is
        a conflict at the path naming both, which the next runs hold while the side
        still holds both: once someone renames one of them, each is its own item again.
        The conflict shows the copy on its side and, on the other, the item the first one
        is there (or will be once added), so the reviewer sees both."""
        side = next((s for s in (P, C) if copy.present[s]), None)
        if side is None:
            return  # a copy in the base only: the past, on neither side now
        other = C if side == P else P
        values = {side: copy.raw[side], other: first.raw[other if first.present[other] else side]}
        path = _item_path(copy)
        if path in self.held:
            self.hold(copy, _NO_BASE, values[P], values[C])
            return
        self.open(
            Conflict(
                path=path,
                base=None,
                platform=values[P],
                crm=values[C],
                platform_modified=self.platform_modified,
                crm_modified=self.crm_modified(first),
                suggestion=None,
                rule=DUPLICATE_NATURAL_KEY,
                has_base=False,
            )
        )

    def namesake(self, slot: Slot, side: int) -> Any:
        """An item without an id that ``side`` holds under the natural key ``slot`` has
        (in the base or the other side), or None.

        ``slot`` is absent from ``side``, so that item was not matched to it: its key
        names several items (two people named "Jo Smith" on a platform that keeps no
        ids), or it could not take the id. It may well be this item, so ``slot``'s
        absence is no sign that ``side`` removed it."""
        container = slot.parent
        assert container is not None
        name = slot.field_name
        identity = ARRAY_IDENTITY.get(name, ("id",))
        keys = {
            natural_key(name, slot.raw[v])
            for v in (B, C, P)
            if v != side and slot.present[v] and isinstance(slot.raw[v], Mapping)
        } - {None}
        for item in container.raw[side] or ():
            if (
                isinstance(item, Mapping)
                and any(item.get(k) is None for k in identity)
                and natural_key(name, item) in keys
            ):
                return item
        return None

    def ambiguous_absence(self, slot: Slot, *, side: int) -> None:
        """``slot`` is absent from ``side`` which holds a ``namesake`` of it: a conflict
        at the item, written nowhere, that the next runs hold (``_item_path``)."""
        other = C if side == P else P
        values = {side: self.namesake(slot, side), other: slot.raw[other]}
        self.open(
            Conflict(
                path=_item_path(slot),
                base=slot.raw[B],
                platform=values[P],
                crm=values[C],
                platform_modified=self.platform_modified,
                crm_modified=self.crm_modified(slot),
                suggestion=None,
                rule=DUPLICATE_NATURAL_KEY,
            )
        )

    def open(self, conflict: Conflict) -> None:
        """Report ``conflict``, unless one is open at its path already: a copy and the
        first item it repeats may both be named by one natural key, and each path is
        one decision."""
        if all(known.path != conflict.path for known in self.conflicts):
            self.conflicts.append(conflict)

    def hold(self, slot: Slot, base: Any, platform: Any, crm: Any) -> None:
        self.open(
            Conflict(
                path=_item_path(slot) if slot.kind is SlotKind.ITEM else slot.path,
                base=None if base is _NO_BASE else base,
                platform=platform,
                crm=crm,
                platform_modified=self.platform_modified,
                crm_modified=self.crm_modified(slot),
                suggestion=None,
                rule=HELD,
                has_base=base is not _NO_BASE,
            )
        )

    # -- set members (tags, groups) --------------------------------------------------------

    def member(self, slot: Slot) -> None:
        container = slot.parent
        assert container is not None
        if not container.present[P] or not self.platform_manages(slot):
            # The platform does not manage this set: the CRM keeps its members.
            return
        in_base, in_crm, in_platform = slot.present[B], slot.present[C], slot.present[P]

        if in_crm == in_platform:
            # Both have it or both lack it (added alike, removed alike, or untouched).
            return
        if not in_base and in_platform:
            # Added on the platform (or only the platform has it on a first sync).
            self.send_to_crm(slot, "add", old=None, new=slot.raw[P])
        elif not in_base and in_crm:
            # Added in the CRM (or only the CRM has it on a first sync).
            self.send_to_platform(slot, "add", old=None, new=slot.raw[C])
        elif in_crm:
            # Removed on the platform; a member has nothing to edit, so the removal holds.
            self.send_to_crm(slot, "remove", old=slot.raw[C], new=None)
        else:
            # Removed in the CRM: the platform drops it too.
            self.send_to_platform(slot, "remove", old=slot.raw[P], new=None)

    # -- output ----------------------------------------------------------------------------

    def send_to_crm(
        self, slot: Slot, kind: Literal["set", "add", "remove"], old: Any, new: Any
    ) -> None:
        self.to_crm.append(FieldChange(self.path_on(C, slot, kind, new), kind, old, new))
        self.crm_slots.append(slot)

    def build_merged(self, crm: Record) -> Record:
        """The CRM record with ``to_crm`` applied, change by change, in document order
        (so an item renamed away from a natural key frees it before an add needs it)."""
        merged, self.to_crm = self.written(C, copy_json(crm), self.crm_slots, self.to_crm)
        return merged

    def settle_platform_adds(self, platform: Record) -> None:
        """``build_merged``'s check, the other way: an item without an id sent to the
        platform whose natural key another item there holds (once the changes sent
        before it are applied) is a conflict, not written. A CRM+ item always has its
        id, so this only ever meets a CRM side holding new items (the property tests
        swap the sides): the merge decides alike whichever side is which."""
        pairs = zip(self.platform_slots, self.to_platform, strict=True)
        if not any(self.lacks_identity(slot, change) for slot, change in pairs):
            return  # the usual case: no record to build
        _, self.to_platform = self.written(
            P, copy_json(platform), self.platform_slots, self.to_platform
        )

    def written(
        self, side: int, record: Record, slots: list[Slot], changes: list[FieldChange]
    ) -> tuple[Record, list[FieldChange]]:
        """``record`` (``side``'s, a copy) with ``changes`` applied in order, and those
        applied. A new item whose natural key a different item of ``side`` holds (the
        other side renamed that one and reused its name, say) is not: written, the two
        could not be told apart, and paths refuse to try. A person decides."""
        kept: list[FieldChange] = []
        for slot, change in zip(slots, changes, strict=True):
            clash = self.clash(record, slot, change)
            if clash is None:
                record = apply_changes_in_place(record, [change])
                kept.append(change)
                continue
            # The item ``side`` holds, and the new one the other side would write there.
            values = {side: clash, (P if side == C else C): change.new}
            self.open(
                Conflict(
                    path=slot.path,
                    base=None,
                    platform=values[P],
                    crm=values[C],
                    platform_modified=self.platform_modified,
                    crm_modified=self.crm_modified(slot),
                    suggestion=change.new,
                    rule=DUPLICATE_NATURAL_KEY,
                    suggested_side="platform" if side == C else "crm",
                    has_base=False,
                )
            )
        return record, kept

    @staticmethod
    def lacks_identity(slot: Slot, change: FieldChange) -> bool:
        """An item added without its identity (a new item named by its natural key)."""
        return (
            change.kind == "add"
            and slot.kind is SlotKind.ITEM
            and not all(
                change.new.get(k) is not None for k in ARRAY_IDENTITY.get(slot.field_name, ("id",))
            )
        )

    def clash(self, merged: Record, slot: Slot, change: FieldChange) -> Any:
        """The item of ``merged`` already holding the natural key of an item to add."""
        if not self.lacks_identity(slot, change):
            return None  # not an add, or it has its own id: nothing else can hold it
        name = slot.field_name
        wanted = natural_key(name, change.new)
        at = parse_path(change.path)
        items = get_value(merged, Path(at.segments[:-1]).key(name))
        for item in items or ():
            if (
                isinstance(item, Mapping)
                and wanted is not None
                and natural_key(name, item) == wanted
            ):
                return item
        return None

    def send_to_platform(
        self, slot: Slot, kind: Literal["set", "add", "remove"], old: Any, new: Any
    ) -> None:
        self.to_platform.append(FieldChange(self.path_on(P, slot, kind, new), kind, old, new))
        self.platform_slots.append(slot)

    def path_on(self, side: int, slot: Slot, kind: ChangeKind, new: Any) -> str:
        """The path of a change sent to ``side``, as that side's record will stand when
        the change is applied (after the changes sent there before it)."""
        renamed = self.renamed[side]
        names = {
            item: item_segment(item.field_name, {**item.raw[side], **values})
            for item, values in renamed.items()
        }
        path = slot.path_in(side, names).render()
        item = slot.parent
        if (
            kind == "set"
            and item is not None
            and item.kind is SlotKind.ITEM
            and item.present[side]
            and slot.field_name in NATURAL_KEY.get(item.field_name, ())
        ):
            # A part of the item's natural key changes: if the item has no id there, the
            # changes after this one name it by its new key (an id would name it still).
            renamed.setdefault(item, {})[slot.field_name] = new
        return path


_RULE_OF_SIDE: Final[dict[Side, Rule]] = {"platform": Rule.PLATFORM, "crm": Rule.CRM}


def _newer_side(platform_at: datetime | None, crm_at: datetime | None) -> Side | None:
    """Which side changed last, to the CRM's 100-ns tick; None if unknown or a tie."""
    if platform_at is None or crm_at is None:
        return None
    platform_ticks, crm_ticks_ = crm_ticks(platform_at), crm_ticks(crm_at)
    if platform_ticks == crm_ticks_:
        return None
    return "platform" if platform_ticks > crm_ticks_ else "crm"


def _item_path(slot: Slot) -> str:
    """The path an item's conflict is opened and held at, the same from run to run.

    An item one side lacks that the other holds without an id was matched to the base's
    item by natural key: the next base (CRM+'s record as merged) lacks that id, so from
    then on the item is named by the side's natural key. It is named so from the start.
    """
    for side, other in ((P, C), (C, P)):
        own = slot.local[side]
        if own is not None and not slot.present[other]:
            return Path((*slot.display.segments[:-1], own.last)).render()
    return slot.path


def _inside(slot: Slot) -> Iterator[Slot]:
    """Every slot below ``slot`` (not ``slot`` itself)."""
    walker = slot.walk()
    next(walker)
    yield from walker
