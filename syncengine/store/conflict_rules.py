"""What each conflict status allows: one answer for the SQL store and its in-memory twin."""

from syncengine.domain.ports import ConflictStatus

# What recording a field that is still in conflict refreshes: its values and who or what
# decides. Never the id, created_at or status, so whatever refers to the conflict (a
# report, a data manager's open page) still finds it. The same names on the row and the
# ConflictRecord.
REFRESHED = (
    "base",
    "platform",
    "crm",
    "platform_modified",
    "crm_modified",
    "platform_author",
    "crm_author",
    "suggestion",
    "rule",
)

# Only an open conflict waits for a choice; resolving a resolved one again would silently
# overwrite the first data manager's decision.
RESOLVE_ALLOWED = frozenset({ConflictStatus.OPEN})
# An open conflict has no decided value yet, so there is nothing that could have been
# applied; a resolved one (a person chose) or an auto one (a policy chose) has.
APPLY_ALLOWED = frozenset({ConflictStatus.RESOLVED, ConflictStatus.AUTO})


def spell(statuses: frozenset[ConflictStatus]) -> str:
    """``statuses`` for a message: "auto or resolved"."""
    return " or ".join(sorted(status.value for status in statuses))
