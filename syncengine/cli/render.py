"""Human-readable output of the commands (``--json`` bypasses all of this).

Every piece of data printed here (values, paths, keys, notes, errors, authors) goes
through ``safe_text``: CRM+ and the platform hold text anyone can type, and a terminal
must never receive it raw.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from syncengine.cli.errors import field_problem_line
from syncengine.demo import Outcome as DemoOutcome
from syncengine.demo import Row
from syncengine.domain.ports import ConflictRecord
from syncengine.engine.budget import DEFERRED, budget_note
from syncengine.engine.push import PushReport, jsonable
from syncengine.engine.run_all import RunSummary
from syncengine.engine.sync import ContactReport, PlannedChange
from syncengine.safe_text import MAX_VALUE, safe


def console() -> Console:
    # soft_wrap: long paths stay whole, so output can be copied back into --set.
    # markup off: paths such as contactIndividuals[id=2] are data, not rich markup; emoji
    # off: a value holding ":smile:" is shown as typed.
    return Console(soft_wrap=True, highlight=False, markup=False, emoji=False)


def show(value: Any) -> str:
    """A value for text output: text as it is, anything else as JSON; escaped, shortened."""
    value = jsonable(value)
    if isinstance(value, str):
        return safe(value, limit=MAX_VALUE, quote=True) if value else '""'
    return safe(json.dumps(value, default=str), limit=MAX_VALUE)


def render_push(report: PushReport) -> None:
    out = console()
    title = "plan (dry run)" if report.dry_run else "result"
    out.print(f"contact {report.contact_id}: {title}")
    for note in report.notes:
        out.print(f"  {safe(note)}")
    for write in report.writes:
        out.print(f"\n{write.method} {write.endpoint} ({write.route} route): {write.outcome.value}")
        for f in write.fields:
            stored = ""
            if not report.dry_run:
                stored = f"  (CRM+ stored {show(f.stored)}{', normalised' if f.normalised else ''})"
            why = "" if f.reason == "requested" else f"  [{f.reason}]"
            out.print(f"  {safe(f.path)}: {show(f.old)} -> {show(f.new)}{stored}{why}")
        if write.verified_by_get:
            out.print("  confirmed by a follow-up GET (high-stakes field)")
        if write.concurrent_write_suspected:
            out.print("  WARNING: possible concurrent write by someone else:")
        for note in write.notes:
            out.print(f"  - {safe(note)}")
        if write.journal_id is not None:
            out.print(f"  journal entry #{write.journal_id}")
    out.print(f"\nrequests used: {report.requests_used}")


def render_demo(rows: list[Row]) -> None:
    out = console()
    if not out.is_terminal:
        out = Console(width=120, highlight=False, markup=False)
    out.print(
        "\nWhat each update left on contact 4821 (fields changed that nobody meant to change):\n"
    )
    table = Table(show_lines=True)
    table.add_column("scenario")
    table.add_column("PUT semantics")
    table.add_column("naive partial PUT")
    table.add_column("safe update (GET, apply, PUT all, verify)")
    for row in rows:
        table.add_row(row.scenario, row.semantics, _verdict(row.naive), _verdict(row.safe))
    out.print(table)
    naive_lost = sum(len(r.naive.lost) for r in rows)
    safe_lost = sum(len(r.safe.lost) for r in rows)
    out.print(
        f"\nnaive: {naive_lost} fields lost or damaged in {len(rows)} runs; "
        f"safe: {safe_lost} fields lost."
    )


def _verdict(outcome: DemoOutcome) -> str:
    if outcome.error:
        return f"FAILED: {outcome.error}"
    if outcome.ok:
        return "ok: only the intended change"
    lines = []
    if outcome.lost:
        shown = ", ".join(c.path for c in outcome.lost[:4])
        more = f" (+{len(outcome.lost) - 4} more)" if len(outcome.lost) > 4 else ""
        lines.append(f"LOST {len(outcome.lost)}: {shown}{more}")
    if outcome.missing:
        lines.append(f"NOT APPLIED {len(outcome.missing)}: " + ", ".join(outcome.missing))
    return "\n".join(lines)


def render_run(summary: RunSummary, open_conflicts: int) -> None:
    out = console()
    data = summary.to_json()
    if summary.recovered:
        out.print("recovered from an interrupted run:")
        for line in summary.recovered:
            out.print(f"  - {safe(line)}")
    for report in summary.reports:
        if report.outcome == DEFERRED:
            continue  # listed in one line below: the reason is the same for each
        _render_contact(out, report)
    if summary.guard is not None and summary.guard.reasons:
        out.print("\nbulk-change guard: " + safe("; ".join(summary.guard.reasons)))
    if summary.stopped:
        out.print(
            f"\nSTOPPED before any write: {safe(summary.stopped)}\n(use --force to run anyway)"
        )
    if summary.aborted is not None:
        out.print(
            f"\nSTOPPED part-way: {summary.not_reached} contact(s) not reached; the ones "
            "above were done (reason below)"
        )
    if summary.budget_stop is not None:
        deferred = [r for r in summary.reports if r.outcome == DEFERRED]
        out.print(
            f"\nSTOPPED at the request budget: {len(deferred)} contact(s) deferred to the "
            f"next run ({safe(budget_note(summary.budget_stop))}):"
        )
        out.print("  " + safe(", ".join(_who(r) for r in deferred)))
    counts = data["summary"]
    title = "plan (dry run)" if summary.dry_run else "summary"
    out.print(
        f"\n{title}: pushed {counts['pushed']}, pulled {counts['pulled']}, created "
        f"{counts['created']}, linked {counts['linked']}, unchanged {counts['unchanged']}, "
        f"conflicts {counts['conflicts']}, failed {counts['failed']}"
        + (f", skipped {counts['skipped']}" if counts["skipped"] else "")
        + (f", deferred {counts['deferred']}" if counts["deferred"] else "")
        + "; "
        f"requests used {counts['requests_used']}; open conflicts {open_conflicts}"
    )


def _who(report: ContactReport) -> str:
    return f"contact {report.contact_id}" if report.contact_id else f"record {report.key or ''}"


def _render_contact(out: Console, report: ContactReport) -> None:
    out.print(f"\n{safe(_who(report))}: {report.outcome}")
    for change in report.changes:
        out.print(f"  {_change_line(report, change)}")
    for path in report.conflicts:
        out.print(f"  CONFLICT  {safe(path)} (see `syncengine conflicts list --open`)")
    for note in report.notes:
        out.print(f"  - {safe(note)}")
    if report.error:
        out.print(f"  ERROR: {safe(report.error)}")
    for problem in report.problems:
        # The same lines push shows for a refused write, one level further in.
        line = field_problem_line(str(problem.get("field") or ""), str(problem.get("message")))
        out.print(f"  {safe(line)}")


# The paths the engine gives a change that is a whole record rather than one field
# (engine/sync.py: a record written to the platform; engine/creates.py: a contact
# created in CRM+). Printed as one line each: where it went and how many fields.
_RECORD_TO_PLATFORM = "(record)"
_NEW_CONTACT = "(new contact)"


def _change_line(report: ContactReport, change: PlannedChange) -> str:
    arrow = "-> CRM+" if change.direction == "to_crm" else "-> platform"
    size = _fields(change.new)
    if change.path == _RECORD_TO_PLATFORM:
        # written_to is filled by the engine once the record is written; until then (and
        # in a dry run) the platform's key for it is the best name there is.
        target = report.written_to or f"platform record {report.key or report.contact_id}"
        verb = "would write" if report.dry_run else "written"
        return f"{arrow}  {verb} {safe(target)} ({size})"
    if change.path == _NEW_CONTACT:
        verb = "would create" if report.dry_run else "created"
        contact = f"contact {report.contact_id}" if report.contact_id else "a contact"
        source = f" from platform record {safe(report.key)}" if report.key else ""
        return f"{arrow}  {verb} {contact}{source} ({size})"
    rule = f"  [{safe(change.rule)}]" if change.rule else ""
    return f"{arrow}  {safe(change.path)}: {show(change.old)} -> {show(change.new)}{rule}"


def _fields(record: Any) -> str:
    count = len(record) if isinstance(record, dict) else 0
    return f"{count} field" if count == 1 else f"{count} fields"


def render_conflicts(rows: Sequence[ConflictRecord]) -> None:
    out = console()
    if not rows:
        out.print("no conflicts")
        return
    table = Table(show_edge=False, pad_edge=False)
    for column in ("id", "contact", "field", "platform", "CRM+", "status", "suggestion"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            str(row.id),
            str(row.contact_id),
            safe(row.path),
            show(row.platform),
            show(row.crm),
            row.status.value,
            show(row.suggestion),
        )
    out.print(table)


def render_conflict(row: ConflictRecord) -> None:
    out = console()
    out.print(
        f"conflict #{row.id}: contact {row.contact_id}, field {safe(row.path)} ({row.status.value})"
    )
    out.print(f"  base:      {show(row.base)}")
    out.print(f"  platform:  {show(row.platform)}  (modified {row.platform_modified})")
    out.print(
        f"  CRM+:      {show(row.crm)}  (modified {row.crm_modified} by {_text(row.crm_author)})"
    )
    out.print(f"  rule:      {_text(row.rule)}; suggestion {show(row.suggestion)}")
    if row.resolved_at is not None:
        out.print(
            f"  resolved:  {show(row.resolution)} by {_text(row.resolved_by)} at {row.resolved_at}"
        )
    if row.applied_at is not None:
        out.print(f"  applied:   {row.applied_at}")


def render_journal(rows: Sequence[dict[str, Any]]) -> None:
    out = console()
    if not rows:
        out.print("the journal is empty")
        return
    for row in rows:
        who = (
            f"contact {row['contact_id']}"
            if row["contact_id"]
            else f"record {_text(row['local_key'])}"
        )
        out.print(
            f"#{row['id']} {row['started_at']} {row['method']} {_text(row['endpoint'])} "
            f"({who}): {row['outcome']}"
        )
        for path in row["fields"]:
            before, after = show(row["before"].get(path)), show(row["after"].get(path))
            out.print(f"  {safe(path)}: {before} -> {after}")
        if row["concurrent_write_suspected"]:
            out.print("  possible concurrent write by someone else")
        for label in ("error", "note"):
            if row[label]:
                out.print(f"  {label}: {safe(row[label])}")


def _text(value: Any) -> str:
    """Text that may be missing (an author, a key), for a message: escaped, or "None"."""
    return safe(str(value))
