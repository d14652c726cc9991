"""The commands that run servers or showcases: ``sandbox`` and ``demo``."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

import click

from syncengine.cli.errors import ExitCode
from syncengine.cli.main import Context, cli, emit, handled, json_option, pass_context
from syncengine.config import ENV_TOKEN


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=int, help="Port to listen on.")
@click.option(
    "--put-semantics",
    type=click.Choice(["replace", "patch"]),
    default="replace",
    show_default=True,
    help="replace: a PUT clears what its body omits (the spec). patch: omitted fields are kept.",
)
@click.option(
    "--hourly-limit",
    default=5000,
    show_default=True,
    type=int,
    help="Requests per hour before 429.",
)
@click.option(
    "--window-seconds",
    default=3600.0,
    show_default=True,
    type=float,
    help="The rate limit's window: an hour; shorter only to compress time in a rehearsal.",
)
@click.option(
    "--import-delay-seconds",
    default=86_400.0,
    show_default=True,
    type=float,
    help="How long an accepted import (Contact/Transaction, Batch) waits before it is "
    "applied: a day, as CRM+'s nightly batch; 0 applies it on the next request.",
)
@click.option(
    "--test-hooks", is_flag=True, help="Enable /_sandbox/ hooks (seed, faults, request log...)."
)
@click.option(
    "--seed",
    "seed_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Load this JSON seed instead of the built-in organisation.",
)
def sandbox(
    host: str,
    port: int,
    put_semantics: str,
    hourly_limit: int,
    window_seconds: float,
    import_delay_seconds: float,
    test_hooks: bool,
    seed_path: Path | None,
) -> None:
    """Serve the CRM+ sandbox (a faithful simulator of the CRM+ contacts API).

    The bearer token is $CRMPLUS_API_TOKEN when set, else a random one printed at start.
    """
    from syncengine.sandbox.server import serve

    token = os.environ.get(ENV_TOKEN) or secrets.token_urlsafe(24)
    if not os.environ.get(ENV_TOKEN):
        click.echo(f"token: export {ENV_TOKEN}={token}", err=True)
    click.echo(
        f"CRM+ sandbox on http://{host}:{port} ({put_semantics} semantics"
        + (", test hooks ON" if test_hooks else "")
        + ")",
        err=True,
    )
    with handled(False):
        serve(
            host,
            port,
            token,
            put_semantics,
            hourly_limit,
            test_hooks,
            seed_path,
            window_seconds=window_seconds,
            import_delay_seconds=import_delay_seconds,
        )


@cli.command()
@json_option
@pass_context
def demo(ctx: Context, as_json: bool) -> None:
    """Show the safe update next to a naive partial PUT, under both PUT semantics.

    Needs no configuration: it runs its own sandbox in-process on a free port and a
    throw-away database.
    """
    from syncengine.cli.render import render_demo
    from syncengine.demo import run_demo

    with handled(as_json):
        progress = (lambda _m: None) if as_json else (lambda m: click.echo(f"  {m}", err=True))
        rows = run_demo(progress)
    payload = [
        {
            "scenario": r.scenario,
            "semantics": r.semantics,
            "naive": {
                "ok": r.naive.ok,
                "lost": [c.path for c in r.naive.lost],
                "missing": r.naive.missing,
                "error": r.naive.error,
            },
            "safe": {
                "ok": r.safe.ok,
                "lost": [c.path for c in r.safe.lost],
                "missing": r.safe.missing,
                "error": r.safe.error,
            },
        }
        for r in rows
    ]
    emit(payload, as_json, lambda: render_demo(rows))
    if not all(r.safe.ok for r in rows):
        sys.exit(int(ExitCode.FAILED))
