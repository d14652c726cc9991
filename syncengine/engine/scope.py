"""Which CRM+ contacts belong on the platform (``local.scope``).

- ``linked`` (the default): only the contacts the platform already holds (or created);
  a contact created in CRM+ stays in CRM+.
- ``all``: every CRM+ contact; one created in CRM+ is written to the platform.

Either way, a contact the platform held once and no longer holds was removed on purpose
(the platform deleted it): it is never written back.
"""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    LINKED = "linked"
    ALL = "all"


def belongs(scope: Scope, *, on_platform: bool, synced_before: bool) -> bool:
    """Whether a contact is the sync's to sync, as the platform stands now."""
    if on_platform:
        return True
    if synced_before:
        return False  # the platform removed it: writing it back would undo that
    return scope is Scope.ALL


def cursor_name(scope: Scope) -> str:
    """The pull cursor of a scope. Each scope keeps its own, so that switching from
    ``linked`` to ``all`` starts a full refresh instead of resuming past the contacts the
    ``linked`` pulls skipped."""
    return "contacts" if scope is Scope.LINKED else "contacts:all"
