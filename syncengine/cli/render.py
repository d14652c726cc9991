"""Human-readable output of the commands (``--json`` bypasses all of this)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from syncengine.demo import Outcome as DemoOutcome
from syncengine.demo import Row
from syncengine.domain.ports import ConflictRecord
from syncengine.engine.push import PushReport, jsonable
from syncengine.engine.run_all import RunSummary
from syncengine.engine.sync import ContactReport


def console() -> Console:
    # soft_wrap: long paths stay whole, so output can be copied back into --set.
    # markup off: paths such as contactIndividuals[id=2] are data, not rich markup.
    return Console(soft_wrap=True, highlight=False, markup=False)


def show(value: Any) -> str:
    value = jsonable(value)
    if isinstance(value, str):
        return value if value else '""'
    return json.dumps(value, default=str)


def render_push(report: PushReport) -> None:
    out = console()
    title = "plan (dry run)" if report.dry_run else "result"
    out.print(f"contact {report.contact_id}: {title}")
    for note in report.notes:
        out.print(f"  {note}")
    for write in report.writes:
        out.print(f"\n{write.method} {write.endpoint} ({write.route} route): {write.outcome.value}")
        for f in write.fields:
            stored = ""
            if not report.dry_run:
                stored = f"  (CRM+ stored {show(f.stored)}{', normalised' if f.normalised else ''})"
            why = "" if f.reason == "requested" else f"  [{f.reason}]"
            out.print(f"  {f.path}: {show(f.old)} -> {show(f.new)}{stored}{why}")
        if write.verified_by_get:
            out.print("  confirmed by a follow-up GET (high-stakes field)")
        if write.concurrent_write_suspected:
            out.print("  WARNING: possible concurrent write by someone else:")
        for note in write.notes:
            out.print(f"  - {note}")
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
            out.print(f"  - {line}")
    for report in summary.reports:
        _render_contact(out, report)
    if summary.guard is not None and summary.guard.reasons:
        out.print("\nbulk-change guard: " + "; ".join(summary.guard.reasons))
    if summary.stopped:
        out.print(f"\nSTOPPED before any write: {summary.stopped}\n(use --force to run anyway)")
    counts = data["summary"]
    title = "plan (dry run)" if summary.dry_run else "summary"
    out.print(
        f"\n{title}: pushed {counts['pushed']}, pulled {counts['pulled']}, created "
        f"{counts['created']}, linked {counts['linked']}, unchanged {counts['unchanged']}, "
        f"conflicts {counts['conflicts']}, failed {counts['failed']}; "
        f"requests used {counts['requests_used']}; open conflicts {open_conflicts}"
    )


def _render_contact(out: Console, report: ContactReport) -> None:
    who = f"contact {report.contact_id}" if report.contact_id else f"record {report.key}"
    out.print(f"\n{who}: {report.outcome}")
    for change in report.changes:
        rule = f"  [{change.rule}]" if change.rule else ""
        arrow = "-> CRM+" if change.direction == "to_crm" else "-> platform"
        out.print(f"  {arrow}  {change.path}: {show(change.old)} -> {show(change.new)}{rule}")
    for path in report.conflicts:
        out.print(f"  CONFLICT  {path} (see `syncengine conflicts list --open`)")
    for note in report.notes:
        out.print(f"  - {note}")
    if report.error:
        out.print(f"  ERROR: {report.error}")


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
            row.path,
            show(row.platform),
            show(row.crm),
            row.status.value,
            show(row.suggestion),
        )
    out.print(table)


def render_conflict(row: ConflictRecord) -> None:
    out = console()
    out.print(
        f"conflict #{row.id}: contact {row.contact_id}, field {row.path} ({row.status.value})"
    )
    out.print(f"  base:      {show(row.base)}")
    out.print(f"  platform:  {show(row.platform)}  (modified {row.platform_modified})")
    out.print(f"  CRM+:      {show(row.crm)}  (modified {row.crm_modified} by {row.crm_author})")
    out.print(f"  rule:      {row.rule}; suggestion {show(row.suggestion)}")
    if row.resolved_at is not None:
        out.print(f"  resolved:  {show(row.resolution)} by {row.resolved_by} at {row.resolved_at}")
    if row.applied_at is not None:
        out.print(f"  applied:   {row.applied_at}")


def render_journal(rows: Sequence[dict[str, Any]]) -> None:
    out = console()
    if not rows:
        out.print("the journal is empty")
        return
    for row in rows:
        who = f"contact {row['contact_id']}" if row["contact_id"] else f"record {row['local_key']}"
        out.print(
            f"#{row['id']} {row['started_at']} {row['method']} {row['endpoint']} ({who}): "
            f"{row['outcome']}"
        )
        for path in row["fields"]:
            out.print(
                f"  {path}: {show(row['before'].get(path))} -> {show(row['after'].get(path))}"
            )
        if row["concurrent_write_suspected"]:
            out.print("  possible concurrent write by someone else")
        for label in ("error", "note"):
            if row[label]:
                out.print(f"  {label}: {row[label]}")
