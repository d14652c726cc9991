"""The ``syncengine`` command line.

Every command: ``--help``; ``--json`` for scripting; ``--dry-run`` where it writes.
Exit codes: 0 ok, 1 the change failed, 2 usage or configuration error (nothing sent),
3 done with open conflicts (sync).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NoReturn

import click

from syncengine import __version__
from syncengine.cli.errors import ExitCode, describe_lines, error_json, exit_code_for
from syncengine.cli.params import CONTACT_ID
from syncengine.cli.render import render_push
from syncengine.config import Settings, load_settings, secret_values
from syncengine.errors import SyncEngineError, UsageError
from syncengine.logging_setup import configure_logging
from syncengine.safe_text import safe


@dataclass
class Context:
    config_path: str | None
    log_level: str | None
    log_format: str | None
    _settings: Settings | None = None

    def settings(self) -> Settings:
        """Loaded on first use, so ``--help`` works even with a broken config file."""
        if self._settings is None:
            settings = load_settings(self.config_path, os.environ)
            configure_logging(
                self.log_level or settings.logging.level,
                self.log_format or settings.logging.format,
                secrets=secret_values(os.environ),
            )
            self._settings = settings
        return self._settings


pass_context = click.make_pass_decorator(Context)


def fail(exc: BaseException, as_json: bool) -> NoReturn:
    """The single exit path for errors: words and codes come from cli.errors."""
    if as_json:
        click.echo(json.dumps(error_json(exc), indent=2, default=str))
    else:
        say_error(exc)
    sys.exit(int(exit_code_for(exc)))


def say_error(exc: BaseException) -> None:
    """The error in words, on stderr."""
    # Each line escaped on its own: a value in a message must not reach the terminal raw.
    first, *rest = describe_lines(exc)
    click.echo("\n".join(safe(line) for line in [f"error: {first}", *rest]), err=True)


@contextmanager
def handled(as_json: bool) -> Iterator[None]:
    try:
        yield
    except SyncEngineError as exc:
        fail(exc, as_json)


def emit(payload: Any, as_json: bool, text: Callable[[], None]) -> None:
    if as_json:
        click.echo(json.dumps(payload, indent=2, default=str))
    else:
        text()


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
dry_run_option = click.option(
    "--dry-run", is_flag=True, help="Show what would be written; send and store nothing."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="syncengine")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Configuration file (env SYNCENGINE_CONFIG; default ./config.yaml).",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default=None,
    help="Override logging.level.",
)
@click.option(
    "--log-format",
    type=click.Choice(["console", "json"]),
    default=None,
    help="Override logging.format (logs go to stderr).",
)
@click.pass_context
def cli(
    ctx: click.Context, config_path: str | None, log_level: str | None, log_format: str | None
) -> None:
    """syncengine: safe two-way sync between a partner platform and CRM+.

    Every write follows the safe pattern: GET the record, apply the change, PUT the
    complete record, verify. See README.md and docs/.
    """
    ctx.obj = Context(config_path, log_level, log_format)
    # Until the settings are read (some commands never read them), log quietly to stderr.
    # The secrets are checked (read_secrets) where they are used, inside the error handler.
    configure_logging(
        log_level or "WARNING", log_format or "console", secrets=secret_values(os.environ)
    )


# -- push / archive ------------------------------------------------------------------------


@cli.command()
@click.option("--contact", "contact_id", type=CONTACT_ID, required=True, help="CRM+ contact id.")
@click.option(
    "--set",
    "assignments",
    multiple=True,
    metavar="PATH=VALUE",
    help="A change, e.g. address.city=Austin or "
    "'contactIndividuals[id=9012].isDeceased=true'. Repeatable. VALUE is JSON where it "
    "parses, else text.",
)
@click.option(
    "--unset",
    "removals",
    multiple=True,
    metavar="PATH",
    help="Remove an array item or set member, e.g. 'tags[=Gala 2024]'. Repeatable.",
)
@dry_run_option
@json_option
@pass_context
def push(
    ctx: Context,
    contact_id: int,
    assignments: Sequence[str],
    removals: Sequence[str],
    dry_run: bool,
    as_json: bool,
) -> None:
    """Apply a change set to one contact with the safe full-record update."""
    from syncengine.bootstrap import open_app
    from syncengine.domain.paths import REMOVE
    from syncengine.domain.plan import Change, parse_assignment

    with handled(as_json):
        changes = [parse_assignment(a) for a in assignments]
        changes += [Change(path, REMOVE) for path in removals]
        if not changes:
            raise UsageError("nothing to push: give at least one --set PATH=VALUE or --unset PATH")
        with open_app(ctx.settings(), os.environ, purpose="push") as app:
            report = app.manual.push(contact_id, changes, dry_run=dry_run)
        emit(report.to_json(), as_json, lambda: render_push(report))


def _lifecycle(archived: bool) -> Callable[..., None]:
    verb = "Archive" if archived else "Unarchive"

    @click.option(
        "--contact", "contact_id", type=CONTACT_ID, required=True, help="CRM+ contact id."
    )
    @dry_run_option
    @json_option
    @pass_context
    def command(ctx: Context, contact_id: int, dry_run: bool, as_json: bool) -> None:
        from syncengine.bootstrap import open_app

        with handled(as_json), open_app(ctx.settings(), os.environ, purpose=verb.lower()) as app:
            report = app.manual.set_archived(contact_id, archived, dry_run=dry_run)
        emit(report.to_json(), as_json, lambda: render_push(report))

    command.__doc__ = f"{verb} a contact through PUT /api/Contact/{verb}/{{id}}."
    return command


cli.command("archive")(_lifecycle(True))
cli.command("unarchive")(_lifecycle(False))


# -- database ------------------------------------------------------------------------------


@cli.group()
def db() -> None:
    """The mirror/journal database schema."""


@db.command("upgrade")
@dry_run_option
@json_option
@pass_context
def db_upgrade_command(ctx: Context, dry_run: bool, as_json: bool) -> None:
    """Migrate the database to the schema this syncengine needs."""
    from syncengine.store.database import safe_url
    from syncengine.store.migrate import db_current, db_upgrade

    with handled(as_json):
        url = ctx.settings().database.url
        if dry_run:
            status = db_current(url)
            payload = {
                "database": safe_url(url),
                "current": status.current,
                "head": status.head,
                "would_upgrade": not status.up_to_date,
                "dry_run": True,
            }
            emit(
                payload,
                as_json,
                lambda: click.echo(
                    f"{payload['database']}: at {status.current or '(empty)'}; "
                    + ("would upgrade to " + status.head if not status.up_to_date else "up to date")
                ),
            )
            return
        result = db_upgrade(url)
        payload = {"database": safe_url(url), "before": result.before, "after": result.after}
        emit(
            payload,
            as_json,
            lambda: click.echo(
                f"{payload['database']}: "
                + (
                    f"upgraded {result.before or '(empty)'} -> {result.after}"
                    if result.changed
                    else f"already at {result.after}"
                )
            ),
        )


@db.command("current")
@json_option
@pass_context
def db_current_command(ctx: Context, as_json: bool) -> None:
    """Show the database's schema revision and the one this syncengine needs."""
    from syncengine.store.database import safe_url
    from syncengine.store.migrate import db_current

    with handled(as_json):
        url = ctx.settings().database.url
        status = db_current(url)
        payload = {
            "database": safe_url(url),
            "current": status.current,
            "head": status.head,
            "up_to_date": status.up_to_date,
            "known": status.known,
        }
        emit(
            payload,
            as_json,
            lambda: click.echo(
                f"{payload['database']}: {status.current or '(empty)'} "
                + (
                    "(up to date)"
                    if status.up_to_date
                    else f"(needs {status.head}: run `syncengine db upgrade`)"
                )
            ),
        )
        if not status.up_to_date:
            sys.exit(int(ExitCode.FAILED))


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=argv, prog_name="syncengine")
