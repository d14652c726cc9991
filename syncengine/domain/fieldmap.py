"""Which fields the local platform manages, and in which direction each one flows.

Configured as an ordered list of rules (``local.fields`` in the config file)::

    fields:
      - {path: "customFields[name=Internal Note].value", direction: to_crm}
      - {path: "address.*", direction: both}
      - {path: "contactIndividuals[*].firstName", direction: both}
      - {path: "contactIndividuals[*].contactMethods[*].value", direction: to_platform}

A rule's ``path`` is a glob (``policy.glob_match``: ``*`` any run of characters, ``[`` and
``]`` literal) matched against the canonical CONCRETE path of a field, e.g.
``contactIndividuals[id=2].contactMethods[id=7].value``. The first matching rule wins; a
field no rule matches is not managed by the platform at all (it never flows either way).

A rule also covers everything below what it matches: ``address`` covers
``address.city``, ``contactIndividuals`` and ``contactIndividuals[*]`` cover every field
of every individual. So a broad rule placed after narrower ones acts as their default.

Pure: standard library and the domain only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from syncengine.domain.paths import ROOT, Key, Path, PathLike, identity_of, parse_path
from syncengine.domain.policy import glob_match
from syncengine.domain.ports import Record
from syncengine.domain.schema import ARRAY_IDENTITY, SET
from syncengine.errors import ConfigError, PathError

__all__ = ["Direction", "FieldMap", "FieldRule"]

# Marks "this value is not part of the projection" (None is a real value: "empty").
_DROP: Final = object()


class Direction(StrEnum):
    """Which way changes of a managed field flow."""

    BOTH = "both"
    TO_CRM = "to_crm"  # the platform is the source; CRM+ changes are not sent to it
    TO_PLATFORM = "to_platform"  # CRM+ is the source; platform edits are ignored


@dataclass(frozen=True)
class FieldRule:
    """One ``{path, direction}`` line of ``local.fields``."""

    pattern: str
    direction: Direction


@dataclass(frozen=True)
class FieldMap:
    """The ordered field rules; see the module docstring for the matching rules."""

    rules: tuple[FieldRule, ...] = ()
    # direction_of is called for every leaf of every record: remember its answers.
    _cache: dict[str, Direction | None] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    @classmethod
    def from_rules(
        cls, rules: Iterable[Mapping[str, Any]] | None, *, key: str = "local.fields"
    ) -> FieldMap:
        """Build from config-shaped rules; ConfigError naming ``local.fields[i].<key>``."""
        if rules is None:
            return cls()
        if isinstance(rules, str | bytes) or not isinstance(rules, Iterable):
            raise ConfigError(key, "must be a list of {path, direction} rules")
        return cls(tuple(_rule(rule, f"{key}[{n}]") for n, rule in enumerate(rules)))

    def direction_of(self, path: PathLike) -> Direction | None:
        """The direction of the first rule matching ``path`` (or an ancestor), else None."""
        text = path.render() if isinstance(path, Path) else path
        if text not in self._cache:
            candidates = _self_and_ancestors(text)
            self._cache[text] = next(
                (
                    rule.direction
                    for rule in self.rules
                    if any(glob_match(c, rule.pattern) for c in candidates)
                ),
                None,
            )
        return self._cache[text]

    def flows_to_crm(self, path: PathLike) -> bool:
        return self.direction_of(path) in (Direction.BOTH, Direction.TO_CRM)

    def flows_to_platform(self, path: PathLike) -> bool:
        return self.direction_of(path) in (Direction.BOTH, Direction.TO_PLATFORM)

    def project(self, record: Mapping[str, Any], *, to_platform: bool) -> Record:
        """``record`` trimmed to the fields that flow one way (a new record; input untouched).

        ``to_platform=True``: what CRM+ may change on the platform; False: what the
        platform may change in CRM+. Array items are matched by identity, so a kept item
        keeps its identity keys (``id``; ``name`` of a custom field; the natural key of a
        new item) even when they do not flow themselves. Items with no identity at all
        cannot be matched across versions and are left out.

        An array whose items all went away is kept as ``[]`` only when a rule matches the
        array or ``array[*]`` itself; with item-field rules only (``tags[*]`` matches,
        ``contactMethods[*].value`` does not) an emptied array reads as "not managed",
        which never clears anything.
        """
        wanted = self.flows_to_platform if to_platform else self.flows_to_crm
        projected = _Projector(wanted).object(record, ROOT)
        return projected if isinstance(projected, dict) else {}


def _rule(rule: Any, where: str) -> FieldRule:
    if not isinstance(rule, Mapping):
        raise ConfigError(where, "must be a mapping with 'path' and 'direction'")
    unknown = sorted(set(rule) - {"path", "direction"})
    if unknown:
        raise ConfigError(f"{where}.{unknown[0]}", "unknown key (expected path, direction)")
    pattern = rule.get("path")
    if not isinstance(pattern, str) or not pattern.strip():
        raise ConfigError(f"{where}.path", "must be a non-empty path glob")
    direction = rule.get("direction")
    choices = [d.value for d in Direction]
    if not isinstance(direction, str) or direction not in choices:
        raise ConfigError(
            f"{where}.direction", f"must be one of {', '.join(choices)}, not {direction!r}"
        )
    return FieldRule(_canonical_pattern(pattern), Direction(direction))


def _canonical_pattern(pattern: str) -> str:
    # Rules are matched against canonical paths, in which selector values are quoted only
    # when they must be: ``customFields[name="Shirt Size"]`` would never match as written.
    # Globs with a bare ``*`` selector do not parse; they are taken as they are.
    try:
        return parse_path(pattern).render()
    except PathError:
        return pattern.strip()


def _self_and_ancestors(text: str) -> list[str]:
    """``text`` and every path above it; an item's array counts as its ancestor too."""
    try:
        segments = parse_path(text).segments
    except PathError:
        return [text]
    found = [text]
    for n in range(len(segments) - 1, -1, -1):
        seg = segments[n]
        if n:
            found.append(Path(segments[:n]).render())
        if not isinstance(seg, Key):
            found.append(Path((*segments[:n], Key(seg.name))).render())
    return found


class _Projector:
    """One projection walk; ``wanted`` says whether a concrete path flows."""

    def __init__(self, wanted: Callable[[str], bool]) -> None:
        self.wanted = wanted

    def object(self, obj: Mapping[str, Any], at: Path) -> Any:
        out: dict[str, Any] = {}
        for name, value in obj.items():
            try:
                below = at.key(name)
            except PathError:
                continue  # a key the path language cannot name cannot be managed either
            kept = self.value(value, at, below)
            if kept is not _DROP:
                out[name] = kept
        if out:
            return out
        # An empty object is itself the value ("no fields"); a non-empty one whose fields
        # all fell out is simply not part of this direction.
        return {} if not obj and self.wanted(at.render()) else _DROP

    def value(self, value: Any, parent: Path, at: Path) -> Any:
        if isinstance(value, Mapping):
            return self.object(value, at)
        if isinstance(value, list):
            return self.array(value, parent, at)
        return value if self.wanted(at.render()) else _DROP

    def array(self, items: list[Any], parent: Path, at: Path) -> Any:
        name = at.last.name
        if not items:
            text = at.render()
            return [] if self.wanted(text) or self.wanted(f"{text}[*]") else _DROP
        scalars = all(not isinstance(item, Mapping | list) for item in items)
        if ARRAY_IDENTITY.get(name) == SET or (scalars and name not in ARRAY_IDENTITY):
            if name not in ARRAY_IDENTITY:
                # An array the schema does not know, of plain values: no identity to
                # match members by, so it is managed as one value.
                return list(items) if self.wanted(at.render()) else _DROP
            kept = [m for m in items if self.wanted(parent.item(name, m).render())]
            return kept if kept else _DROP
        out = [p for p in (self.item(name, item, parent) for item in items) if p is not _DROP]
        return out if out else _DROP

    def item(self, name: str, item: Any, parent: Path) -> Any:
        if not isinstance(item, Mapping):
            return _DROP
        try:
            at = parent.item(name, item)
            identity = {key for key, _ in identity_of(name, item)}
        except (PathError, TypeError):
            return _DROP  # no identity: it could not be matched on the other side
        projected = self.object(item, at)
        if not isinstance(projected, dict) or not projected:
            return _DROP
        # The item's own key order, with its identity keys whatever their direction.
        return {
            key: projected.get(key, value)
            for key, value in item.items()
            if key in projected or key in identity
        }
