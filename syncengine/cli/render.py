"""Human-readable output of the commands (``--json`` bypasses all of this)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from syncengine.demo import Outcome as DemoOutcome
from syncengine.demo import Row
from syncengine.engine.push import PushReport, jsonable


def console() -> Console:
    # soft_wrap: long paths stay whole, so output can be copied back into --set.
    return Console(soft_wrap=True, highlight=False)


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
        out.print(
            f"\n{write.method} {write.endpoint}  [{write.route} route]  -> {write.outcome.value}"
        )
        table = Table(show_edge=False, pad_edge=False)
        table.add_column("field")
        table.add_column("old")
        table.add_column("new")
        if not report.dry_run:
            table.add_column("stored by CRM+")
        table.add_column("why")
        for f in write.fields:
            row = [f.path, show(f.old), show(f.new)]
            if not report.dry_run:
                row.append(show(f.stored) + (" (normalised)" if f.normalised else ""))
            row.append(f.reason)
            table.add_row(*row)
        out.print(table)
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
        out = Console(width=120, highlight=False)
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
        lines.append("not applied: " + ", ".join(outcome.missing))
    return "\n".join(lines)
