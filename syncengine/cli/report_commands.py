"""``syncengine report``: conflicts and failures for data managers, as HTML, CSV or JSON."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Literal, cast

import click

from syncengine.cli.main import Context, cli, handled, pass_context
from syncengine.cli.params import CONTACT_ID, moment
from syncengine.errors import LocalPlatformError
from syncengine.private_files import write_owner_only

Format = Literal["html", "csv", "json"]


@cli.command()
@click.option(
    "--format",
    "format_name",
    type=click.Choice(["html", "csv", "json"]),
    default="html",
    show_default=True,
    help="html: one self-contained page; csv: one row per conflict; json: for tools.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write to this file (whole or not at all) instead of standard output.",
)
@click.option(
    "--status",
    type=click.Choice(["open", "all"]),
    default="open",
    show_default=True,
    help="open: what still waits for a decision; all: decided and automatic ones too.",
)
@click.option(
    "--since",
    callback=moment,
    metavar="DATE",
    default=None,
    help="Only what changed since DATE (2026-11-30, 2026-11-30T08:00; UTC unless a zone).",
)
@click.option("--contact", "contact_id", type=CONTACT_ID, default=None, help="Only this contact.")
@click.option(
    "--problems",
    "problems_only",
    is_flag=True,
    help="CSV only: one row per failure (refused writes, duplicates, merges...) instead.",
)
@pass_context
def report(
    ctx: Context,
    format_name: str,
    output: Path | None,
    status: str,
    since: datetime | None,
    contact_id: int | None,
    problems_only: bool,
) -> None:
    """Report open conflicts (or all), automatic decisions, failures and recent runs.

    Every value from CRM+ or the platform is escaped: the HTML runs nothing, and CSV
    cells that a spreadsheet would take for a formula are neutralised with a quote.
    """
    from syncengine.bootstrap import open_app
    from syncengine.reports.collect import collect_report
    from syncengine.reports.model import ReportFilters
    from syncengine.store import SqlRunLog

    with handled(False):
        if problems_only and format_name != "csv":
            from syncengine.errors import UsageError

            raise UsageError("--problems goes with --format csv (HTML and JSON show both)")
        settings = ctx.settings()
        with open_app(settings, os.environ) as app:
            built = collect_report(
                settings.organization,
                ReportFilters(cast(Literal["open", "all"], status), since, contact_id),
                conflicts=app.conflicts,
                problems=app.problems,
                runs=SqlRunLog(app.database, organization=settings.organization),
                now=app.clock.now(),
            )
        text = _render(cast(Format, format_name), built, problems_only)
        if output is None:
            sys.stdout.write(text)
            return
        _write_whole(output, text)
        click.echo(
            f"wrote {output} ({len(built.conflicts)} conflicts, {len(built.problems)} failures)",
            err=True,
        )


def _render(format_name: Format, built: object, problems_only: bool) -> str:
    from syncengine.reports.csv_format import render_csv, render_problems_csv
    from syncengine.reports.html import render_html
    from syncengine.reports.json_format import render_json
    from syncengine.reports.model import Report

    assert isinstance(built, Report)
    if format_name == "html":
        return render_html(built)
    if format_name == "json":
        return render_json(built)
    return render_problems_csv(built) if problems_only else render_csv(built)


def _write_whole(target: Path, text: str) -> None:
    """Write ``text`` UTF-8 through a temporary file renamed into place: a reader never
    sees half a report, and a failure leaves any earlier report as it was."""
    try:
        # A new report is owner-only (it lists donors' data): syncengine.private_files.
        write_owner_only(target, text)
    except OSError as exc:
        raise LocalPlatformError(str(target), f"cannot write the report: {exc.strerror}") from None
