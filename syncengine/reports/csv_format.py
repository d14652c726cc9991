"""The report as CSV, for data managers who sort and filter in a spreadsheet.

A CSV file holds one table, so the conflicts (:func:`render_csv`) and the failures that
are not conflicts (:func:`render_problems_csv`) are two files; the summary is left to the
HTML and JSON reports (a spreadsheet computes it from the rows). RFC 4180: a header row
first, fields quoted only when needed, CRLF line ends. The text is returned; the caller
writes it as plain UTF-8 (no BOM).

A cell shows a string as itself, null as an empty cell and any other value as compact
JSON (``{"a":1}``, ``true``, ``42``); the JSON report has the exact values.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import Any, Final

from syncengine.reports.model import Report, conflict_fields, problem_fields
from syncengine.reports.values import display_text, without_surrogates

# The columns of the conflicts file, in order: the keys of ``conflict_fields``. Spreadsheets
# and scripts address columns by position or name, so both are part of the interface:
# add new columns at the end, never rename or reorder.
COLUMNS: Final[tuple[str, ...]] = (
    "id",
    "contact_id",
    "path",
    "field",  # the path without item selectors, to group by
    "status",  # open / auto / resolved
    "rule",
    "base",  # the value both sides last agreed on
    "platform",
    "platform_modified",
    "platform_author",
    "crm",
    "crm_modified",
    "crm_author",
    "suggestion",
    "reason",  # why the rule suggests (or chose) what it does
    "resolution",
    "resolved_by",
    "resolved_at",
    "applied_at",
    "created_at",
    "updated_at",
    "resolved_from",  # where a decision came from: "review 10.0.0.5", "cli"
)

# The columns of the failures file: the keys of ``problem_fields``, same promise.
PROBLEM_COLUMNS: Final[tuple[str, ...]] = (
    "subject",  # contact:4821, new:<platform key>
    "contact_id",
    "key",  # the platform's key (a file name, a row key) where known
    "kind",
    "message",
    "details",  # per-field details of a refused write, as a JSON list
    "count",  # how many times it failed
    "first_seen",
    "last_seen",
    "resolved_at",
)

# Formula injection (CSV injection): a spreadsheet runs a cell starting with one of these
# as a formula (``=HYPERLINK("http://evil",...)``, ``@SUM(...)``, DDE via ``+``/``-``),
# and tab and carriage return can hide such a start from a quick look. Any CRM+ user can
# type such a value, so, as OWASP advises, such a cell gets a leading single quote: the
# spreadsheet shows it as text. A negative number (-2) is prefixed too; the JSON report
# keeps it a number.
_FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")


def render_csv(report: Report) -> str:
    """The conflicts: a header row (:data:`COLUMNS`), then one row per conflict."""
    return _table(COLUMNS, (conflict_fields(c) for c in report.conflicts))


def render_problems_csv(report: Report) -> str:
    """The failures: a header row (:data:`PROBLEM_COLUMNS`), then one row per problem."""
    return _table(PROBLEM_COLUMNS, (problem_fields(p) for p in report.problems))


def _table(columns: tuple[str, ...], rows: Iterable[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row[name]) for name in columns])
    return out.getvalue()


def _cell(value: Any) -> str:
    text = display_text(value)
    if text is None:
        return ""
    # A lone surrogate (a file name that was not UTF-8) cannot be written UTF-8 nor shown
    # by a spreadsheet: U+FFFD marks where it was.
    text = without_surrogates(text)
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
    return text
