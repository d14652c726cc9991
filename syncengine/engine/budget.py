"""Running out of the hourly request budget: what a unit of work costs, and "deferred".

Every way of syncing lets a contact in through ``CrmPort.admit`` with the requests it
may need (a run stops between contacts, not inside one: see ``crm.ratelimit``). When
the budget is spent until a reset further away than ``crm.rate_limit.max_wait``
(``CrmBudgetExhausted``), the contacts not done are *deferred*: neither failed (nothing
is wrong with them, no problem is recorded) nor skipped (no other run has them). They
are left for the next run or the daemon, which comes back after the reset.
"""

from __future__ import annotations

from datetime import UTC, datetime

from syncengine.engine.sync import ContactReport
from syncengine.errors import CrmBudgetExhausted

# The most requests one contact's sync is let in for: its GET, its PUT and, when a
# high-stakes field changed, the follow-up GET (docs/safe-update.md). A contact that
# turns out to need more (several write routes) is still finished: once let in, a unit
# may go below the reserve (never past the hard limit).
CONTACT_REQUESTS = 3
# A new platform record: Find by reference, Find by email, the POST, the GET after it.
CREATE_REQUESTS = 4

DEFERRED = "deferred"


def resets_at(exc: CrmBudgetExhausted) -> datetime:
    """When the budget comes back (UTC, to the second)."""
    return datetime.fromtimestamp(exc.resets_at, UTC).replace(microsecond=0)


def budget_note(exc: CrmBudgetExhausted) -> str:
    """What a person reads: the budget is spent until when, and what happens next."""
    return (
        f"the CRM+ request budget is spent until {resets_at(exc).isoformat()} "
        f"(in {_minutes(exc.retry_after)}): left for the next run"
    )


def deferred_report(
    contact_id: int | None, key: str | None, exc: CrmBudgetExhausted
) -> ContactReport:
    report = ContactReport(contact_id, key=key, outcome=DEFERRED)
    report.notes.append(budget_note(exc))
    return report


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "an unknown time"
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"
