"""How a field changed on BOTH sides is resolved, and which fields the platform manages.

A policy is plain data handed to ``merge3``: an ordered list of ``(glob, Rule)`` pairs
matched against the canonical concrete path of a field (first match wins), a default,
and the time zone in which CRM+ timestamps are to be read (they carry none).

Globs are fnmatch-style, but on our path language: ``*`` matches any run of characters
(dots and brackets included) and ``?`` one character; everything else, ``[`` and ``]``
in particular, is literal. Plain ``fnmatch`` would read ``contactMethods[*]`` as a
character class matching a literal ``*``, which is never what a policy author means.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, tzinfo
from enum import StrEnum
from functools import lru_cache


class Rule(StrEnum):
    """What wins when the platform and CRM+ changed one field to different values."""

    # The side modified last: the platform's modification time against the CRM
    # ``modifiedDateTimeUtc`` of the smallest enclosing item that has one.
    NEWEST = "newest"
    CRM = "crm"
    PLATFORM = "platform"
    # Keep the CRM value, push nothing either way, and open a conflict for a person.
    MANUAL = "manual"


@lru_cache(maxsize=512)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    for char in pattern:
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL)


def glob_match(path: str, pattern: str) -> bool:
    """Whether a canonical path matches a policy glob (``*`` any run, ``[``/``]`` literal)."""
    return _glob_regex(pattern).fullmatch(path) is not None


def any_glob_match(path: str, patterns: Iterable[str]) -> bool:
    return any(glob_match(path, pattern) for pattern in patterns)


@dataclass(frozen=True)
class FieldRule:
    """One policy line: fields whose canonical path matches ``pattern`` use ``rule``."""

    pattern: str
    rule: Rule


@dataclass(frozen=True)
class MergePolicy:
    """Everything ``merge3`` needs to decide a both-sides change, as plain data.

    ``managed``: the platform's managed field globs, or ``None`` for "every field the
    platform record carries". Changes the platform makes outside them are ignored and
    CRM changes outside them are not sent to it.

    ``tie_breaker``: what ``newest`` falls back to when it cannot decide (a timestamp is
    missing or both are equal). ``MANUAL`` by default: guessing there loses data silently.
    """

    default: Rule = Rule.MANUAL
    rules: tuple[FieldRule, ...] = ()
    zone: tzinfo = UTC
    managed: tuple[str, ...] | None = None
    tie_breaker: Rule = Rule.MANUAL

    def __post_init__(self) -> None:
        if self.tie_breaker is Rule.NEWEST:
            # newest falling back to newest would never decide.
            raise ValueError("tie_breaker must be crm, platform or manual, not newest")

    def rule_for(self, path: str) -> Rule:
        """The rule of a canonical path: the first matching line, else the default."""
        for line in self.rules:
            if glob_match(path, line.pattern):
                return line.rule
        return self.default

    def swapped(self) -> MergePolicy:
        """The same policy with the roles of the two sides exchanged (``crm`` <-> ``platform``).

        Used to state the symmetry of the merge: merging (base, a, b) under a policy is
        the mirror image of merging (base, b, a) under its swap.
        """

        def swap(rule: Rule) -> Rule:
            return {Rule.CRM: Rule.PLATFORM, Rule.PLATFORM: Rule.CRM}.get(rule, rule)

        return MergePolicy(
            default=swap(self.default),
            rules=tuple(FieldRule(line.pattern, swap(line.rule)) for line in self.rules),
            zone=self.zone,
            managed=self.managed,
            tie_breaker=swap(self.tie_breaker),
        )


def policy_from_mapping(
    rules: Iterable[tuple[str, str]] = (),
    *,
    default: str = "manual",
    zone: tzinfo = UTC,
    managed: Iterable[str] | None = None,
    tie_breaker: str = "manual",
) -> MergePolicy:
    """Build a policy from config-shaped strings (``[("address.*", "crm"), ...]``).

    Raises ``ValueError`` naming the bad rule; the config layer turns it into a ConfigError.
    """
    return MergePolicy(
        default=Rule(default),
        rules=tuple(FieldRule(pattern, Rule(rule)) for pattern, rule in rules),
        zone=zone,
        managed=None if managed is None else tuple(managed),
        tie_breaker=Rule(tie_breaker),
    )


__all__ = [
    "FieldRule",
    "MergePolicy",
    "Rule",
    "any_glob_match",
    "glob_match",
    "policy_from_mapping",
]
