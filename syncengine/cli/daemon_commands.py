"""``syncengine daemon``, ``syncengine status`` and ``syncengine enqueue``."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import datetime, timedelta
from typing import Any

import click

from syncengine.cli.errors import ExitCode
from syncengine.cli.main import (
    Context,
    cli,
    dry_run_option,
    emit,
    fail,
    handled,
    json_option,
    pass_context,
)
from syncengine.cli.params import CONTACT_ID
from syncengine.cli.render import console
from syncengine.config import Settings
from syncengine.domain.ports import ConflictStatus, Priority
from syncengine.errors import UsageError
from syncengine.safe_text import safe


@cli.command()
@pass_context
def daemon(ctx: Context) -> None:
    """Run the two-way sync unattended (docs/daemon.md).

    Pushes platform changes every daemon.push_interval seconds, pulls CRM+ changes every
    daemon.pull_interval, reconciles everything on daemon.reconcile_cron, and takes
    webhooks, /enqueue, /healthz and /metrics on daemon.listen. SIGTERM or Ctrl-C: the
    contact in flight is finished, then exit 0. Exit 1 when CRM+ refuses the token or the
    database is lost; 2 on a configuration error.
    """
    from sqlalchemy import Engine

    from syncengine.bootstrap import open_app
    from syncengine.config import organization_environ, read_webhook_secret
    from syncengine.daemon import Daemon, OrganizationDaemon
    from syncengine.metrics import Metrics
    from syncengine.store.database import make_engine

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with handled(False):
        settings = ctx.settings()
        # One organisation (the top-level settings), or each of ``organizations``.
        served = [(settings, dict(os.environ))]
        if settings.organizations:
            served = [
                (settings.for_organization(org), organization_environ(os.environ, org))
                for org in settings.organizations
            ]
        metrics = Metrics()
        with ExitStack() as opened:
            # One engine (one connection pool) per database for every organisation of the
            # process, not one each: ten organisations in four processes would otherwise
            # hold more connections than PostgreSQL's default max_connections (100).
            engines: dict[str, Engine] = {}
            parts: list[OrganizationDaemon] = []
            for org_settings, environ in served:
                url = org_settings.database.url
                if url not in engines:
                    engines[url] = make_engine(url)
                    opened.callback(engines[url].dispose)
                observe = metrics.crm_observer(org_settings.organization)
                app = opened.enter_context(
                    open_app(
                        org_settings,
                        environ,
                        purpose="daemon",
                        observe=observe,
                        paced=True,
                        database=engines[url],
                    )
                )
                secret = read_webhook_secret(environ)
                parts.append(OrganizationDaemon(app, secret=secret, metrics=metrics, stop=stop))
            daemon = Daemon(
                parts,
                host=settings.daemon.host,
                port=settings.daemon.port,
                metrics=metrics,
                stop=stop,
            )
            fatal = daemon.run()
    if fatal is not None:
        fail(fatal, False)


ORGANIZATION = click.option(
    "--organization",
    "organization",
    default=None,
    metavar="NAME",
    help="With several organisations configured (organizations:), the one meant.",
)


def served(ctx: Context, organization: str | None) -> list[tuple[Settings, dict[str, str]]]:
    """The settings and environment of each organisation a command is about: the
    top-level one, or those of ``organizations`` (one when --organization names it)."""
    from syncengine.config import organization_environ

    settings = ctx.settings()
    if not settings.organizations:
        if organization not in (None, settings.organization):
            raise UsageError(
                f"--organization {organization!r}: only {settings.organization!r} is configured"
            )
        return [(settings, dict(os.environ))]
    chosen = [o for o in settings.organizations if organization in (None, o.name)]
    if not chosen:
        names = ", ".join(o.name for o in settings.organizations)
        raise UsageError(f"--organization {organization!r} is not configured (known: {names})")
    return [(settings.for_organization(o), organization_environ(os.environ, o)) for o in chosen]


@cli.command()
@click.option(
    "--contact",
    "contact_ids",
    type=CONTACT_ID,
    multiple=True,
    required=True,
    help="A CRM+ contact id to sync soon. Repeatable.",
)
@ORGANIZATION
@dry_run_option
@json_option
@pass_context
def enqueue(
    ctx: Context,
    contact_ids: Sequence[int],
    organization: str | None,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Ask the daemon to sync contacts soon (before the next pull comes round)."""
    from syncengine.bootstrap import open_app

    with handled(as_json):
        targets = served(ctx, organization)
        if len(targets) > 1:
            raise UsageError("several organisations are configured: name one with --organization")
        ((settings, environ),) = targets
        with open_app(settings, environ, purpose="enqueue") as app:
            queue = app.daemon_parts().queue
            if not dry_run:
                now = app.clock.now()
                for contact_id in contact_ids:
                    queue.add(contact_id, reason="enqueue", priority=Priority.PUSH, now=now)
            depth = queue.depth()
    payload = {"queued": list(contact_ids), "dry_run": dry_run, "queue_depth": depth}
    emit(
        payload,
        as_json,
        lambda: click.echo(
            ("would queue " if dry_run else "queued ")
            + ", ".join(str(c) for c in contact_ids)
            + f" (queue depth {depth})"
        ),
    )


@cli.command()
@ORGANIZATION
@json_option
@pass_context
def status(ctx: Context, organization: str | None, as_json: bool) -> None:
    """The daemon's jobs (last and next runs), workers, cursor, budget, queue, failing
    contacts and open conflicts. Exit 1 when contacts are failing. With several
    organisations configured: each of them (a list in --json), or the one named."""
    from syncengine.bootstrap import open_app

    with handled(as_json):
        payloads = []
        for settings, environ in served(ctx, organization):
            with open_app(settings, environ, purpose="status") as app:
                payloads.append(_status(app))
    several = ctx.settings().organizations and organization is None

    def render_all() -> None:
        for payload in payloads:
            _render(payload)

    emit(payloads if several else payloads[0], as_json, render_all)
    if any(p["queue"]["failing"] for p in payloads):
        sys.exit(int(ExitCode.FAILED))


def _status(app: Any) -> dict[str, Any]:
    from syncengine.engine.scope import Scope, cursor_name
    from syncengine.scheduler import parse_cron
    from syncengine.store import SqlCursorStore

    settings = app.settings
    parts = app.daemon_parts()
    now = app.clock.now()
    runs = parts.runs.latest(limit=200)
    intervals = {
        "push": timedelta(seconds=settings.daemon.push_interval),
        "pull": timedelta(seconds=settings.daemon.pull_interval),
    }
    jobs: dict[str, Any] = {}
    for name in ("push", "pull", "reconcile"):
        last = next((r for r in runs if r.job == name), None)
        if name in intervals:
            next_run: datetime | None = (last.started_at + intervals[name]) if last else None
        else:
            next_run = parse_cron(settings.daemon.reconcile_cron).get_next_fire_time(None, now)
        jobs[name] = {
            "last_run": None
            if last is None
            else {
                "run_id": last.run_id,
                "worker": last.worker,
                "started_at": _iso(last.started_at),
                "finished_at": _iso(last.finished_at),
                "outcome": last.outcome or "running",
                "counts": last.counts,
                "error": last.error,
            },
            "next_run": _iso(next_run),
        }
    workers = [
        {"worker": c.owner, "until": _iso(c.until), "since": _iso(c.acquired_at)}
        for c in app.claims_store.held(now=now)
        if c.subject.startswith("worker:")
    ]
    scope = Scope(settings.local.scope)
    cursor = SqlCursorStore(app.database, organization=settings.organization).get(
        cursor_name(scope)
    )
    budget = next(
        (r.counts["budget_remaining"] for r in runs if "budget_remaining" in r.counts), None
    )
    failing = parts.queue.failing()
    return {
        "organization": settings.organization,
        "workers": workers,
        "jobs": jobs,
        "scope": str(scope),
        "cursor": None
        if cursor is None
        else {"high_water": cursor.high_water, "updated_at": _iso(cursor.updated_at)},
        "budget": {"remaining": budget, "low_budget": settings.daemon.low_budget},
        "queue": {
            "depth": parts.queue.depth(),
            "failing": [
                {
                    "contact_id": item.contact_id,
                    "attempts": item.attempts,
                    "last_error": item.last_error,
                    "next_attempt": _iso(item.due_at),
                }
                for item in failing
            ],
        },
        "open_conflicts": len(app.conflicts.list(status=ConflictStatus.OPEN)),
    }


def _render(payload: dict[str, Any]) -> None:
    out = console()
    workers = payload["workers"]
    out.print(
        f"organization {safe(payload['organization'])}: "
        + (f"{len(workers)} worker(s) running" if workers else "no daemon running")
    )
    for worker in workers:
        out.print(f"  worker {safe(worker['worker'])} since {worker['since']}")
    for name, job in payload["jobs"].items():
        last = job["last_run"]
        line = f"  {name:<9} next {job['next_run'] or '-'}"
        if last:
            line += f"; last {last['started_at']} {last['outcome']}"
            counted = {k: v for k, v in last["counts"].items() if k != "budget_remaining"}
            if counted:
                line += " " + ", ".join(f"{k} {v}" for k, v in sorted(counted.items()))
            if last["error"]:
                line += f" ({safe(last['error'])})"
        out.print(line)
    cursor = payload["cursor"]
    out.print(
        f"  scope {payload['scope']}; cursor "
        + (f"{cursor['high_water']}" if cursor and cursor["high_water"] else "(none yet)")
    )
    budget = payload["budget"]["remaining"]
    out.print(f"  request budget left: {budget if budget is not None else 'unknown'}")
    queue = payload["queue"]
    out.print(f"  queue: {queue['depth']} contact(s), {len(queue['failing'])} failing")
    for item in queue["failing"]:
        out.print(
            f"    contact {item['contact_id']}: {item['attempts']} attempt(s), next "
            f"{item['next_attempt']}: {safe(item['last_error'] or '')}"
        )
    out.print(f"  open conflicts: {payload['open_conflicts']}")


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat(timespec="seconds")
