"""The review page's HTML: plain server-rendered pages with forms that work without
JavaScript (there is no script at all; the Content-Security-Policy forbids one).

Every value from CRM+, the platform or a person goes through ``reports.markup`` (``esc``
for text, ``show`` for values), the same escaping path as the HTML report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode

from syncengine.domain.ports import ConflictRecord, ConflictStatus, JournalEntry, Problem
from syncengine.reports.markup import CSS, EMPTY, esc, html_table, show, show_box
from syncengine.reports.model import AGE_BUCKETS, age_bucket, suggestion_reason
from syncengine.review.access import CSRF_FIELD
from syncengine.review.services import ContactSides

_REVIEW_CSS: Final = """
nav { display: flex; gap: 1rem; align-items: baseline; border-bottom: 1px solid #ccc;
  padding-bottom: 0.5rem; }
nav .who { margin-left: auto; }
form.inline { display: inline; }
.filters { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: end;
  margin: 1rem 0; }
.filters .filter { display: flex; flex-direction: column; font-size: 0.9rem; }
.flash { background: #eef7ee; border: 1px solid #8c8; padding: 0.5rem; }
.error { background: #fdecec; border: 1px solid #d88; padding: 0.5rem; }
.differs { background: #fff6e0; }
.pager { display: flex; gap: 1rem; align-items: baseline; }
.actions { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; }
button { cursor: pointer; }
.queue td { max-width: 22rem; }
table.fields { width: 100%; table-layout: fixed; }
table.fields th[scope="row"] { width: 28%; }
"""

SORTS: Final = {
    "id": "oldest first",
    "created_at": "age",
    "contact_id": "contact",
    "path": "field path",
    "rule": "rule",
}
SUGGESTS: Final = {"platform": "the platform's value", "crm": "CRM+'s value", "other": "neither"}


@dataclass(frozen=True)
class Chrome:
    """What every page shows around its content."""

    organization: str
    user: str | None  # None: no login on this page (loopback, no users configured)
    csrf: str
    flash: str | None = None
    error: str | None = None


def page(title: str, chrome: Chrome, body: str, *, status_line: str = "") -> str:
    who = ""
    if chrome.user is not None:
        who = (
            f'<span class="who">Signed in as {show(chrome.user)} '
            f'<form class="inline" method="post" action="/logout">{hidden_csrf(chrome.csrf)}'
            '<button type="submit">Sign out</button></form></span>'
        )
    notices = ""
    if chrome.flash:
        notices += f'<p class="flash" role="status">{esc(chrome.flash)}</p>\n'
    if chrome.error:
        notices += f'<p class="error" role="alert">{esc(chrome.error)}</p>\n'
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title, marks=False)} · {esc(chrome.organization, marks=False)}</title>\n"
        f"<style>{CSS}{_REVIEW_CSS}</style>\n</head>\n<body>\n"
        f'<nav><strong>syncengine review</strong> <a href="/">Open conflicts</a>'
        f"<span>organisation {show(chrome.organization)}</span>{who}</nav>\n"
        f"<main>\n<h1>{esc(title)}</h1>\n{status_line}{notices}{body}</main>\n</body>\n</html>\n"
    )


def hidden_csrf(token: str) -> str:
    return f'<input type="hidden" name="{CSRF_FIELD}" value="{esc(token, marks=False)}">'


# -- the queue -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueView:
    conflicts: Sequence[ConflictRecord]
    total: int
    page_number: int
    pages: int
    filters: Mapping[str, str]  # as submitted, for the form and the pager's links
    fields: Sequence[tuple[str, int]]  # the field filter's choices, with counts
    rules: Sequence[str]
    now: datetime


def queue_page(view: QueueView, chrome: Chrome) -> str:
    summary = (
        f"<p>{view.total} open conflict{'s' if view.total != 1 else ''} match. "
        "Decide one on its contact's page, or select several and take what the engine "
        "suggests.</p>\n"
    )
    rows = "\n".join(_queue_row(c, view.now) for c in view.conflicts)
    if not rows:
        rows = '<tr><td colspan="9" class="empty">No open conflict matches.</td></tr>'
    bulk = (
        '<form method="post" action="/bulk">\n'
        f"{hidden_csrf(chrome.csrf)}\n"
        '<table class="queue">\n<caption>Open conflicts</caption>\n<thead><tr>'
        '<th scope="col">Select</th><th scope="col">#</th><th scope="col">Contact</th>'
        '<th scope="col">Field</th><th scope="col">Platform</th><th scope="col">CRM+</th>'
        '<th scope="col">Suggestion</th><th scope="col">Rule</th><th scope="col">Age</th>'
        f"</tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>\n"
        '<div class="actions">'
        '<label><input type="checkbox" name="apply_now" value="1"> and sync those contacts '
        "now</label>"
        '<button type="submit" name="action" value="take-suggestion">'
        "Take the suggestion for the selected</button></div>\n</form>\n"
    )
    return page(
        "Open conflicts",
        chrome,
        summary + _filters_form(view) + bulk + _pager(view),
    )


def _queue_row(c: ConflictRecord, now: datetime) -> str:
    return (
        f'<tr><td><input type="checkbox" name="ids" value="{c.id}" '
        f'aria-label="select conflict {c.id}"></td>'
        f"<td>{c.id}</td>"
        f'<td><a href="/contacts/{c.contact_id}">{c.contact_id}</a></td>'
        f"<td><code>{show(c.path)}</code></td>"
        f"<td>{show_box(c.platform)}</td><td>{show_box(c.crm)}</td>"
        f"<td>{show_box(c.suggestion)}</td><td>{show(c.rule)}</td>"
        f"<td>{esc(age_bucket(c.created_at, now))}</td></tr>"
    )


def _filters_form(view: QueueView) -> str:
    f = view.filters
    fields = [("", "any field")] + [(name, f"{name} ({count})") for name, count in view.fields]
    ages = [("", "any age")] + [(label, label) for label, _ in AGE_BUCKETS]
    rules = [("", "any rule")] + [(rule, rule) for rule in view.rules]
    suggests = [("", "anything"), *SUGGESTS.items()]
    return (
        '<form class="filters" method="get" action="/">\n'
        + _select("field", "Field", fields, f.get("field", ""))
        + '<div class="filter"><label for="filter-contact">Contact</label>'
        '<input id="filter-contact" type="number" name="contact" min="1" '
        f'value="{esc(f.get("contact", ""), marks=False)}"></div>\n'
        + _select("age", "Age", ages, f.get("age", ""))
        + _select("rule", "Rule", rules, f.get("rule", ""))
        + _select("suggests", "Suggestion is", suggests, f.get("suggests", ""))
        + _select("sort", "Sort by", list(SORTS.items()), f.get("sort", "id"))
        + _select(
            "order", "Order", [("asc", "ascending"), ("desc", "descending")], f.get("order", "asc")
        )
        + '<button type="submit">Filter</button> <a href="/">Clear</a>\n</form>\n'
    )


def _select(name: str, label: str, options: Iterable[tuple[str, str]], chosen: str) -> str:
    items = "".join(
        f'<option value="{esc(value, marks=False)}"{" selected" if value == chosen else ""}>'
        f"{esc(text, marks=False)}</option>"
        for value, text in options
    )
    return (
        f'<div class="filter"><label for="filter-{name}">{esc(label)}</label>'
        f'<select id="filter-{name}" name="{name}">{items}</select></div>\n'
    )


def _pager(view: QueueView) -> str:
    def link(number: int, text: str) -> str:
        query = urlencode({**{k: v for k, v in view.filters.items() if v}, "page": number})
        return f'<a href="/?{esc(query, marks=False)}">{text}</a>'

    parts = [f"<span>Page {view.page_number} of {max(view.pages, 1)}</span>"]
    if view.page_number > 1:
        parts.insert(0, link(view.page_number - 1, "← Previous"))
    if view.page_number < view.pages:
        parts.append(link(view.page_number + 1, "Next →"))
    return f'<p class="pager">{" ".join(parts)}</p>\n'


# -- one contact -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactView:
    sides: ContactSides
    open_conflicts: Sequence[ConflictRecord]
    decided: Sequence[ConflictRecord]  # resolved and automatic decisions
    writes: Sequence[JournalEntry]
    problems: Sequence[Problem]
    rows: Sequence[tuple[str, Any, Any, Any]]  # path, platform, mirror, CRM+ (leaf values)
    typed: Mapping[int, str]  # a typed value to show again after an error, by conflict id


def contact_page(view: ContactView, chrome: Chrome) -> str:
    contact_id = view.sides.contact_id
    notes = "".join(f'<p class="error">{esc(problem)}</p>\n' for problem in view.sides.problems)
    body = (
        notes
        + _open_conflicts(view, chrome)
        + _problems(view.problems)
        + _fields_table(view.rows)
        + _history(view)
    )
    return page(f"Contact {contact_id}", chrome, body)


def _open_conflicts(view: ContactView, chrome: Chrome) -> str:
    if not view.open_conflicts:
        return "<h2>Open conflicts</h2>\n<p>None: nothing waits for a decision.</p>\n"
    cards = "\n".join(
        _decision_form(c, chrome, view.typed.get(c.id or 0, "")) for c in view.open_conflicts
    )
    return f"<h2>Open conflicts</h2>\n{cards}\n"


def _decision_form(c: ConflictRecord, chrome: Chrome, typed: str) -> str:
    return (
        f'<section class="conflict" id="conflict-{c.id}" aria-label="conflict {c.id}">\n'
        f"<h3>#{c.id} <code>{show(c.path)}</code></h3>\n"
        '<table class="sides"><thead><tr><td></td><th scope="col">Value</th>'
        '<th scope="col">Modified</th><th scope="col">By</th></tr></thead><tbody>\n'
        f'<tr><th scope="row">Base</th><td>{show_box(c.base)}</td><td></td><td></td></tr>\n'
        f'<tr><th scope="row">Platform</th><td>{show_box(c.platform)}</td>'
        f"<td>{_when(c.platform_modified)}</td><td>{show(c.platform_author)}</td></tr>\n"
        f'<tr><th scope="row">CRM+</th><td>{show_box(c.crm)}</td>'
        f"<td>{_when(c.crm_modified)}</td><td>{show(c.crm_author)}</td></tr>\n"
        f'<tr><th scope="row">Suggestion</th><td>{show_box(c.suggestion)}</td>'
        f'<td colspan="2">{esc(suggestion_reason(c))} (rule {show(c.rule)})</td></tr>\n'
        "</tbody></table>\n"
        f'<form method="post" action="/conflicts/{c.id}/resolve" class="actions">\n'
        f"{hidden_csrf(chrome.csrf)}\n"
        '<button type="submit" name="choice" value="platform">Take platform</button>\n'
        '<button type="submit" name="choice" value="crm">Take CRM+</button>\n'
        f'<label>or type a value <input type="text" name="value" '
        f'value="{esc(typed, marks=False)}"></label>\n'
        '<button type="submit" name="choice" value="typed">Use this value</button>\n'
        '<label><input type="checkbox" name="apply_now" value="1"> sync now</label>\n'
        "</form>\n</section>"
    )


def _problems(problems: Sequence[Problem]) -> str:
    if not problems:
        return ""
    rows = [
        [esc(p.kind.value), show(p.message), str(p.count), _when(p.last_seen)] for p in problems
    ]
    return "<h2>Failures</h2>\n" + html_table(
        "What failed for this contact", ["Kind", "Message", "Times", "Last seen"], rows
    )


def _fields_table(rows: Sequence[tuple[str, Any, Any, Any]]) -> str:
    lines = []
    for path, platform, mirror, crm in rows:
        differs = ' class="differs"' if not (platform == mirror == crm) else ""
        lines.append(
            f'<tr{differs}><th scope="row"><code>{show(path)}</code></th>'
            f"<td>{show_box(platform)}</td><td>{show_box(mirror)}</td><td>{show_box(crm)}</td></tr>"
        )
    body = "\n".join(lines) or '<tr><td colspan="4" class="empty">No record on any side.</td></tr>'
    return (
        "<h2>Fields</h2>\n<p>As the platform holds them, as syncengine last saw CRM+ (the "
        "base of the next merge), and as CRM+ holds them now. Rows that differ are "
        "highlighted.</p>\n"
        '<table class="fields"><thead><tr><th scope="col">Field</th><th scope="col">Platform'
        '</th><th scope="col">Last synced</th><th scope="col">CRM+ now</th></tr></thead>\n'
        f"<tbody>\n{body}\n</tbody></table>\n"
    )


def _history(view: ContactView) -> str:
    events: list[tuple[datetime | None, str, str, str]] = []
    for entry in view.writes:
        for name in entry.fields:
            events.append(
                (
                    entry.started_at,
                    name,
                    f"{show(entry.before.get(name))} → {show(entry.after.get(name))}",
                    esc(f"{entry.method} to CRM+ ({entry.outcome.value})")
                    + (f": {esc(entry.note)}" if entry.note else ""),
                )
            )
    for c in view.decided:
        if c.status is ConflictStatus.RESOLVED:
            source = f"decided by {show(c.resolved_by)}" + (
                f" ({show(c.resolved_from)})" if c.resolved_from else ""
            )
            when = c.resolved_at
        else:
            source = f"rule {show(c.rule)}: {esc(suggestion_reason(c))}"
            when = c.created_at
        applied = "applied" if c.applied_at else "not applied yet"
        events.append((when, c.path, show(c.resolution), f"{source}; {applied}"))
    events.sort(key=lambda e: e[0].timestamp() if e[0] else 0.0, reverse=True)
    rows = [
        [_when(when), f"<code>{show(path)}</code>", value, source]
        for when, path, value, source in events
    ]
    return "<h2>History</h2>\n" + html_table(
        "Where each value came from, newest first",
        ["When", "Field", "Value", "From"],
        rows,
        none="Nothing recorded yet.",
    )


def _when(moment: datetime | None) -> str:
    return EMPTY if moment is None else show(moment.isoformat(timespec="seconds"))


# -- login and errors ------------------------------------------------------------------------


def login_page(chrome: Chrome, *, next_path: str, name: str = "") -> str:
    form = (
        '<form method="post" action="/login">\n'
        f"{hidden_csrf(chrome.csrf)}\n"
        f'<input type="hidden" name="next" value="{esc(next_path, marks=False)}">\n'
        f'<p><label>Name <input name="name" autocomplete="username" required '
        f'value="{esc(name, marks=False)}"></label></p>\n'
        '<p><label>Password <input type="password" name="password" '
        'autocomplete="current-password" required></label></p>\n'
        '<p><button type="submit">Sign in</button></p>\n</form>\n'
    )
    return page("Sign in", chrome, form)


def message_page(title: str, chrome: Chrome, text: str) -> str:
    return page(title, chrome, f'<p>{esc(text)}</p>\n<p><a href="/">Back to the queue</a></p>\n')
