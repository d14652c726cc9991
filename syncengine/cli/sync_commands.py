"""``syncengine sync`` and ``syncengine conflicts``."""

from __future__ import annotations

import getpass
import json
import os
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from syncengine.cli.errors import ExitCode, error_json, exit_code_for
from syncengine.cli.main import (
    Context,
    cli,
    dry_run_option,
    emit,
    handled,
    json_option,
    pass_context,
    say_error,
)
from syncengine.cli.params import CONFLICT_ID, CONTACT_ID
from syncengine.cli.render import console, render_conflict, render_conflicts, render_run, show
from syncengine.domain.limits import MAX_DEPTH, too_deep
from syncengine.domain.ports import ConflictStatus
from syncengine.engine.run_all import Progress as ProgressCallback
from syncengine.engine.run_all import RunSummary
from syncengine.errors import CrmBudgetExhausted, SyncEngineError, UsageError
from syncengine.safe_text import safe

if TYPE_CHECKING:
    from syncengine.bootstrap import App


@cli.command()
@click.option(
    "--contact", "contact_id", type=CONTACT_ID, default=None, help="Sync this CRM+ contact."
)
@click.option("--all", "everything", is_flag=True, help="Sync every contact (platform and mirror).")
@click.option(
    "--force", is_flag=True, help="Run even when the bulk-change guard would stop the run."
)
@dry_run_option
@json_option
@pass_context
def sync(
    ctx: Context,
    contact_id: int | None,
    everything: bool,
    force: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Two-way sync of one contact (--contact ID) or of all (--all).

    Exit codes: 0 done, 1 some contacts failed, 2 usage or configuration error,
    3 done with open conflicts, 4 the request budget is spent: the contacts left are
    deferred to the next run (nothing failed).
    """
    from syncengine.bootstrap import open_app

    with handled(as_json):
        if (contact_id is None) == (not everything):
            raise UsageError("give exactly one of --contact ID or --all")
        purpose = "sync --all" if everything else f"sync --contact {contact_id}"
        with open_app(ctx.settings(), os.environ, purpose=purpose) as app:
            runner = app.runner()
            if everything:
                with (
                    _recorded(app, "sync-all", enabled=not dry_run) as record,
                    _progress(enabled=not as_json) as progress,
                ):
                    summary = runner.run_all(dry_run=dry_run, force=force, progress=progress)
                    record(summary)
            else:
                assert contact_id is not None
                summary = runner.run_one(contact_id, dry_run=dry_run)
            open_conflicts = len(app.conflicts.list(status=ConflictStatus.OPEN))
        payload = summary.to_json()
        payload["open_conflicts"] = open_conflicts
        if summary.aborted is not None:
            payload["aborted"] = error_json(summary.aborted)
        emit(payload, as_json, lambda: render_run(summary, open_conflicts))
    if summary.aborted is not None:
        # The run stopped part-way (a refused token, a lost database): what it did is
        # printed above; the reason, in the words and exit code any command would use.
        if not as_json:
            say_error(summary.aborted)
        sys.exit(int(exit_code_for(summary.aborted)))
    if summary.stopped or summary.failed:
        sys.exit(int(ExitCode.FAILED))
    if summary.budget_stop is not None:
        sys.exit(int(ExitCode.DEFERRED))
    if open_conflicts or summary.conflicts:
        sys.exit(int(ExitCode.CONFLICTS))


@contextmanager
def _progress(*, enabled: bool) -> Iterator[ProgressCallback | None]:
    out = console()
    if not enabled or not out.is_terminal:
        yield None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
        transient=True,
    ) as bar:
        task = bar.add_task("syncing", total=None)

        def update(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total, description=label)

        yield update


@contextmanager
def _recorded(app: App, job: str, *, enabled: bool) -> Iterator[Callable[[RunSummary], None]]:
    """Record the run like a daemon job's (``status`` and the reports list recent runs):
    started now, finished with its counts, or failed with what stopped it."""
    from syncengine.domain.ports import JobRun
    from syncengine.store import SqlRunLog

    if not enabled:
        yield lambda _summary: None
        return
    runs = SqlRunLog(app.database, organization=app.settings.organization)
    run_id = secrets.token_hex(8)
    runs.start(JobRun(job, run_id, app.clock.now(), worker=app.claims.owner))
    finished: list[RunSummary] = []
    try:
        yield finished.append
    except SyncEngineError as exc:
        # The budget spent before any contact (the bulk query's): not a failure either.
        outcome = "deferred" if isinstance(exc, CrmBudgetExhausted) else "failed"
        runs.finish(run_id, outcome=outcome, at=app.clock.now(), error=str(exc))
        raise
    summary = finished[0] if finished else None
    if summary is None:
        runs.finish(run_id, outcome="failed", at=app.clock.now(), error="no summary")
        return
    outcome = "failed" if summary.aborted else "stopped" if summary.stopped else "ok"
    error = str(summary.aborted) if summary.aborted else summary.stopped
    if outcome == "ok" and summary.budget_stop is not None:
        # Not a failure: the rest waits for the budget's reset (engine.budget).
        outcome, error = "deferred", str(summary.budget_stop)
    counts = {
        **summary.counts(),
        "failed": summary.failed,
        "conflicts": summary.conflicts,
        "deferred": summary.deferred,
    }
    runs.finish(run_id, outcome=outcome, at=app.clock.now(), counts=counts, error=error)


# -- conflicts ------------------------------------------------------------------------------


@cli.group()
def conflicts() -> None:
    """Review and resolve fields both sides changed."""


@conflicts.command("list")
@click.option("--open", "only_open", is_flag=True, help="Only conflicts waiting for a decision.")
@click.option("--contact", "contact_id", type=CONTACT_ID, default=None, help="Only this contact.")
@json_option
@pass_context
def conflicts_list(ctx: Context, only_open: bool, contact_id: int | None, as_json: bool) -> None:
    """List conflicts (newest decisions included)."""
    from syncengine.bootstrap import open_app
    from syncengine.cli.conflict_json import conflict_json

    with handled(as_json), open_app(ctx.settings(), os.environ) as app:
        rows = app.conflicts.list(
            status=ConflictStatus.OPEN if only_open else None, contact_id=contact_id
        )
    emit([conflict_json(r) for r in rows], as_json, lambda: render_conflicts(rows))


@conflicts.command("show")
@click.argument("conflict_id", type=CONFLICT_ID)
@json_option
@pass_context
def conflicts_show(ctx: Context, conflict_id: int, as_json: bool) -> None:
    """Show one conflict in full."""
    from syncengine.bootstrap import open_app
    from syncengine.cli.conflict_json import conflict_json

    with handled(as_json), open_app(ctx.settings(), os.environ) as app:
        row = app.conflicts.get(conflict_id)
        if row is None:
            raise UsageError(f"no conflict #{conflict_id}")
    emit(conflict_json(row), as_json, lambda: render_conflict(row))


@conflicts.command("resolve")
@click.argument("conflict_id", type=CONFLICT_ID)
@click.option(
    "--take", type=click.Choice(["platform", "crm"]), default=None, help="Keep one side's value."
)
@click.option("--value", "value_json", default=None, help="Use this value instead (JSON).")
@click.option("--now", "apply_now", is_flag=True, help="Sync the contact at once to apply it.")
@click.option("--by", "resolved_by", default=None, help="Who decides (default: your user name).")
@dry_run_option
@json_option
@pass_context
def conflicts_resolve(
    ctx: Context,
    conflict_id: int,
    take: str | None,
    value_json: str | None,
    apply_now: bool,
    resolved_by: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Decide a conflict; the choice reaches both sides on the contact's next sync
    (or at once with --now)."""
    from syncengine.bootstrap import open_app
    from syncengine.cli.conflict_json import conflict_json

    with handled(as_json):
        if (take is None) == (value_json is None):
            raise UsageError("give exactly one of --take platform|crm or --value JSON")
        with open_app(ctx.settings(), os.environ) as app:
            row = app.conflicts.get(conflict_id)
            if row is None:
                raise UsageError(f"no conflict #{conflict_id}")
            if value_json is not None:
                try:
                    value = json.loads(value_json)
                except ValueError as exc:
                    raise UsageError(f"--value is not JSON: {exc}") from None
                except RecursionError:
                    raise UsageError("--value is JSON nested too deeply") from None
                if too_deep(value):
                    raise UsageError(f"--value is JSON nested more than {MAX_DEPTH} levels deep")
            else:
                value = row.platform if take == "platform" else row.crm
            payload: dict[str, Any] = {"conflict": conflict_json(row), "value": value}
            if dry_run:
                payload["dry_run"] = True
                emit(
                    payload,
                    as_json,
                    lambda: click.echo(
                        f"would resolve #{conflict_id} ({safe(row.path)}) with {show(value)}"
                    ),
                )
                return
            who = resolved_by or _user()
            resolved = app.conflicts.resolve(
                conflict_id, value, resolved_by=who, at=app.clock.now()
            )
            payload["conflict"] = conflict_json(resolved)
            if apply_now:
                summary = app.runner().run_one(resolved.contact_id)
                payload["sync"] = summary.to_json()
        emit(
            payload,
            as_json,
            lambda: click.echo(
                f"resolved #{conflict_id} ({safe(row.path)}) = {show(value)}"
                + ("; applied" if apply_now else "; applied on the contact's next sync")
            ),
        )


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# -- journal --------------------------------------------------------------------------------


@cli.command()
@click.option("--contact", "contact_id", type=CONTACT_ID, default=None, help="Only this contact.")
@click.option("--unresolved", is_flag=True, help="Only writes whose outcome is not known yet.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@pass_context
def journal(
    ctx: Context, contact_id: int | None, unresolved: bool, limit: int, as_json: bool
) -> None:
    """Show the journal of write attempts (newest first): endpoint, fields, before and
    after values, outcome, error."""
    from syncengine.bootstrap import open_app
    from syncengine.cli.render import render_journal
    from syncengine.engine.push import jsonable

    with handled(as_json), open_app(ctx.settings(), os.environ) as app:
        if unresolved:
            found = app.journal.unresolved()
        elif contact_id is not None:
            found = app.journal.for_contact(contact_id)
        else:
            found = app.journal.recent(limit)
        wanted = [r for r in found if contact_id is None or r.contact_id == contact_id]
        rows = sorted(wanted, key=lambda r: r.id or 0, reverse=True)[:limit]
    payload = [
        {
            "id": r.id,
            "contact_id": r.contact_id,
            "local_key": r.local_key,
            "method": r.method,
            "endpoint": r.endpoint,
            "fields": r.fields,
            "before": {k: jsonable(v) for k, v in r.before.items()},
            "after": {k: jsonable(v) for k, v in r.after.items()},
            "stored": dict(r.response_after),
            "outcome": r.outcome.value,
            "error": r.error,
            "note": r.note,
            "concurrent_write_suspected": r.concurrent_write_suspected,
            "started_at": r.started_at.isoformat() if r.started_at else None,
            "finished_at": r.finished_at.isoformat() if r.finished_at else None,
        }
        for r in rows
    ]
    emit(payload, as_json, lambda: render_journal(payload))
