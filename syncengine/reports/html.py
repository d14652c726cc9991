"""The report as one self-contained HTML page, for data managers to read, share and print.

One file that opens anywhere, offline, and loads nothing: the styles are inline, and there
is no script, stylesheet, font, image or URL (a Content-Security-Policy says so again, so
a browser would refuse to run or fetch anything even if an escape were missed). At the top
a summary (open conflicts by field and by age, automatic decisions by rule, failures by
kind with the contacts failing and why, recent runs); then one card per conflict (the
base, platform and CRM+ values side by side, the rule, its suggestion and why); then the
failures that are not conflicts.

Every value comes from CRM+ or the platform, where anyone can type anything, so each goes
through :func:`_text`: lone surrogates replaced, hidden characters made visible (see
``values.visible``), then ``html.escape`` with quotes. Each value stands in a ``<bdi>``
so right-to-left text cannot reorder the layout around it. Plain f-strings: the page is
small, and one escaping helper is easier to audit than a template engine's rules.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from syncengine.domain.ports import Problem
from syncengine.reports.markup import CSP, CSS, esc, html_list, html_table, show, show_box
from syncengine.reports.model import (
    Report,
    Summary,
    conflict_fields,
    filters_fields,
    problem_fields,
    run_fields,
    summarize,
)


def render_html(report: Report) -> str:
    """``report`` as an HTML5 document."""
    summary = summarize(report)
    title = f"Conflict report: {esc(report.organization, marks=False)}"
    return "".join(
        [
            "<!DOCTYPE html>\n",
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n',
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n',
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
            f"<title>{title}</title>\n",
            f"<style>{CSS}</style>\n</head>\n<body>\n",
            _header(report),
            "<main>\n",
            _summary(report, summary),
            _conflicts(report),
            _problems(report),
            "</main>\n</body>\n</html>\n",
        ]
    )


# -- sections ------------------------------------------------------------------------------


def _header(report: Report) -> str:
    filters = filters_fields(report.filters)
    return (
        f"<header>\n<h1>Conflict report: {show(report.organization)}</h1>\n"
        f"<p>Generated {show(report.generated_at.isoformat())}. "
        f"Showing {show(filters['status'])} conflicts and failures"
        f"{_since_and_contact(filters)}.</p>\n</header>\n"
    )


def _since_and_contact(filters: Mapping[str, Any]) -> str:
    words = ""
    if filters["since"] is not None:
        words += f" since {show(filters['since'])}"
    if filters["contact_id"] is not None:
        words += f" of contact {show(filters['contact_id'])}"
    return words


def _summary(report: Report, summary: Summary) -> str:
    counts = (
        f"<p>{summary.open_conflicts} open conflicts, {summary.open_problems} open "
        f"failures; this report lists {len(report.conflicts)} conflicts and "
        f"{len(report.problems)} failures.</p>\n"
    )
    tables = [
        html_table(
            "Open conflicts by field",
            ["Field", "Open"],
            ([f"<code>{show(k)}</code>", str(n)] for k, n in summary.open_by_field),
            none="No open conflicts.",
        ),
        html_table(
            "Open conflicts by age",
            ["Age", "Open"],
            ([show(k), str(n)] for k, n in summary.open_by_age),
        ),
        html_table(
            "Automatic decisions by rule",
            ["Rule", "Decided"],
            ([show(k), str(n)] for k, n in summary.auto_by_rule),
            none="No automatic decisions.",
        ),
    ]
    failing = html_table(
        "Failures by kind",
        ["Kind", "Open", "Contacts failing, and why"],
        (
            [show(kind), str(count), html_list(_failing(p) for p in problems)]
            for kind, count, problems in _open_problems_by_kind(report, summary)
        ),
        none="No open failures.",
    )
    runs = html_table(
        "Recent runs",
        ["Job", "Run", "Worker", "Started", "Finished", "Outcome", "Counts", "Error"],
        (_run_row(run_fields(r)) for r in report.runs),
        none="No runs.",
    )
    return (
        f'<section aria-labelledby="summary">\n<h2 id="summary">Summary</h2>\n{counts}'
        f'<div class="tables">\n{"".join(tables)}</div>\n{failing}{runs}</section>\n'
    )


def _open_problems_by_kind(
    report: Report, summary: Summary
) -> list[tuple[str, int, list[Problem]]]:
    """The open problems of each kind the summary counts, in the summary's order."""
    return [
        (
            kind,
            count,
            [p for p in report.problems if p.kind.value == kind and p.resolved_at is None],
        )
        for kind, count in summary.problems_by_kind
    ]


def _failing(problem: Problem) -> str:
    fields = problem_fields(problem)
    return f"{_who(fields)}: {show_box(fields['message'])}"


def _who(fields: Mapping[str, Any]) -> str:
    """A problem's subject: its contact, else its platform key, else the subject itself."""
    if fields["contact_id"] is not None:
        who = f"contact {show(fields['contact_id'], typed=False)}"
    else:
        who = show(fields["subject"])
    if fields["key"] is not None:
        who += f" (key {show(fields['key'])})"
    return who


def _run_row(fields: Mapping[str, Any]) -> list[str]:
    counts = html_list(f"{show(k)}: {show(n, typed=False)}" for k, n in fields["counts"].items())
    return [
        show(fields["job"]),
        f"<code>{show(fields['run_id'])}</code>",
        show(fields["worker"]),
        show(fields["started_at"]),
        show(fields["finished_at"]),
        show(fields["outcome"]),
        counts,
        show(fields["error"]),
    ]


def _conflicts(report: Report) -> str:
    cards = "".join(_conflict(conflict_fields(c)) for c in report.conflicts)
    if not cards:
        cards = '<p class="empty">No conflicts.</p>\n'
    return (
        f'<section aria-labelledby="conflicts">\n'
        f'<h2 id="conflicts">Conflicts ({len(report.conflicts)})</h2>\n{cards}</section>\n'
    )


def _conflict(c: Mapping[str, Any]) -> str:
    status = str(c["status"])
    # The status is one of ConflictStatus's values; escaped anyway, like every value.
    badge = f'<span class="status status-{html.escape(status)}">{show(status)}</span>'
    sides = (
        '<table class="sides">\n<thead><tr><td></td>'
        '<th scope="col">Base</th><th scope="col">Platform</th><th scope="col">CRM+</th>'
        "</tr></thead>\n<tbody>\n"
        f'<tr><th scope="row">Value</th><td>{show_box(c["base"])}</td>'
        f"<td>{show_box(c['platform'])}</td><td>{show_box(c['crm'])}</td></tr>\n"
        f'<tr><th scope="row">Modified</th><td></td>'
        f"<td>{show(c['platform_modified'])}</td><td>{show(c['crm_modified'])}</td></tr>\n"
        f'<tr><th scope="row">Author</th><td></td>'
        f"<td>{show(c['platform_author'])}</td><td>{show(c['crm_author'])}</td></tr>\n"
        "</tbody>\n</table>\n"
    )
    details = [
        ("Field", f"<code>{show(c['field'])}</code>"),
        ("Rule", show(c["rule"])),
        ("Suggestion", show_box(c["suggestion"])),
        ("Why", show(c["reason"])),
        ("Status", show(status)),
        ("Resolution", show_box(c["resolution"])),
        ("Resolved by", show(c["resolved_by"])),
        ("Resolved at", show(c["resolved_at"])),
        ("Applied at", show(c["applied_at"])),
        ("Recorded", show(c["created_at"])),
        ("Updated", show(c["updated_at"])),
    ]
    dl = "".join(f"<dt>{term}</dt><dd>{desc}</dd>" for term, desc in details)
    return (
        f'<article class="conflict">\n'
        f"<h3>Conflict {show(c['id'], typed=False)}: "
        f"contact {show(c['contact_id'], typed=False)}, "
        f"<code>{show(c['path'])}</code> {badge}</h3>\n"
        f"{sides}<dl>{dl}</dl>\n</article>\n"
    )


def _problems(report: Report) -> str:
    table = html_table(
        "Failures that are not conflicts",
        [
            "Kind",
            "Contact or key",
            "Message",
            "Details",
            "Count",
            "First seen",
            "Last seen",
            "Resolved",
        ],
        (_problem_row(problem_fields(p)) for p in report.problems),
        none="No failures.",
    )
    return (
        f'<section aria-labelledby="problems">\n'
        f'<h2 id="problems">Failures ({len(report.problems)})</h2>\n{table}</section>\n'
    )


def _problem_row(fields: Mapping[str, Any]) -> list[str]:
    return [
        show(fields["kind"]),
        _who(fields),
        show_box(fields["message"]),
        html_list(_detail(d) for d in fields["details"]),
        show(fields["count"], typed=False),
        show(fields["first_seen"]),
        show(fields["last_seen"]),
        show(fields["resolved_at"]),
    ]


def _detail(detail: Any) -> str:
    """One per-field detail of a refused write: ``field: message``, else the JSON as is."""
    if isinstance(detail, Mapping) and set(detail) == {"field", "message"}:
        return f"<code>{show(detail['field'])}</code>: {show(detail['message'])}"
    return show(detail)
