"""``syncengine review``: the browser page where data managers decide conflicts."""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import TYPE_CHECKING

import click

from syncengine.cli.main import Context, cli, handled, pass_context
from syncengine.errors import CrmError, UsageError

if TYPE_CHECKING:
    from syncengine.bootstrap import App
    from syncengine.config import ReviewSettings
    from syncengine.review.services import ContactSides, ReviewOptions, ReviewServices


@cli.group(invoke_without_command=True)
@click.option("--listen", default=None, help="host:port to serve on (default: review.listen).")
@pass_context
def review(ctx: Context, listen: str | None) -> None:
    """Serve the review page (docs/review.md): open conflicts, each contact's three
    versions and history, decisions one by one or in bulk.

    Open without a login on loopback when review.users is empty; refuses any other address
    without users. Ctrl-C or SIGTERM stops it.
    """
    if click.get_current_context().invoked_subcommand is not None:
        return
    from syncengine.bootstrap import open_app
    from syncengine.config import secret_values
    from syncengine.review.access import check_exposure
    from syncengine.review.app import build_review_app
    from syncengine.web.server import WebServer

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with handled(False):
        settings = ctx.settings()
        listening = settings.review if listen is None else _listen(settings.review, listen)
        options = review_options(listening, secret_values(os.environ))
        check_exposure(options.host, options.users)  # before anything is opened
        with open_app(settings, os.environ) as app:
            web = build_review_app(review_services(app), options)
            with WebServer(web, listening.host, listening.port, log_level="warning") as server:
                click.echo(f"review page on {server.base_url}/ (Ctrl-C stops it)", err=True)
                while not stop.wait(0.5):
                    if not server.running:
                        sys.exit(1)


def _listen(current: ReviewSettings, listen: str) -> ReviewSettings:
    from pydantic import ValidationError

    try:
        return current.model_copy(update={"listen": type(current)(listen=listen).listen})
    except ValidationError:
        raise UsageError(f"--listen {listen!r}: must be host:port, e.g. 127.0.0.1:8767") from None


def review_options(settings: ReviewSettings, secrets: list[str]) -> ReviewOptions:
    from syncengine.config import ENV_REVIEW_SECRET
    from syncengine.review.services import ReviewOptions

    return ReviewOptions(
        host=settings.host,
        users={user.name: user.password_hash for user in settings.users},
        session_minutes=settings.session_minutes,
        page_size=settings.page_size,
        session_secret=os.environ.get(ENV_REVIEW_SECRET) or None,
        secrets=secrets,
    )


def review_services(app: App) -> ReviewServices:
    """The review page's view of ``app``: its stores, and reads of the three sides."""
    from syncengine.domain.ports import Priority
    from syncengine.review.services import ReviewServices
    from syncengine.store import SqlWorkQueue

    queue = SqlWorkQueue(app.database, organization=app.settings.organization)

    def decided(contact_id: int) -> None:
        # The daemon's workers take it from the queue; without a daemon, the next
        # `sync` applies it all the same.
        queue.add(contact_id, reason="decision", priority=Priority.PUSH, now=app.clock.now())

    def sync_now(contact_id: int) -> str:
        summary = app.runner().run_one(contact_id)
        report = summary.reports[0] if summary.reports else None
        if report is None:
            return "nothing to do"
        said = report.outcome
        if report.conflicts:
            said += f", {len(report.conflicts)} conflict(s) still open"
        return said

    return ReviewServices(
        organization=app.settings.organization,
        conflicts=app.conflicts,
        problems=app.problems,
        contact_sides=lambda contact_id: contact_sides(app, contact_id),
        history=app.journal.for_contact,
        sync_now=sync_now,
        decided=decided,
    )


def contact_sides(app: App, contact_id: int) -> ContactSides:
    from syncengine.review.services import ContactSides

    problems: list[str] = []
    local = app.platform().get(contact_id)
    entry = app.mirror.get(contact_id)
    try:
        crm = app.crm.get_contact(contact_id)
    except CrmError as exc:
        crm = None
        problems.append(f"CRM+ could not be read: {exc}")
    return ContactSides(
        contact_id=contact_id,
        platform=local.record if local is not None else None,
        mirror=entry.record if entry is not None else None,
        crm=crm,
        problems=problems,
        platform_leaves=local.leaves if local is not None else None,
    )


@review.command("hash-password")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input (for scripts) instead of a prompt.",
)
def hash_password_command(password_stdin: bool) -> None:
    """Print the Argon2id hash of a password, for review.users[].password_hash.

    The password itself is never written anywhere: only its hash goes in config.yaml.
    """
    from syncengine.review.access import hash_password

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 12:
        raise click.UsageError("the password is too short: use 12 characters or more")
    click.echo(hash_password(password))
