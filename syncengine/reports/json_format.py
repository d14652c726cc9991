"""The report as one JSON document, for scripts and for other tools to import.

The same content as the HTML and CSV reports, but exact: every value from CRM+ or the
platform is kept as JSON as it is stored (a number stays a number, an object an object),
never turned into text, and nothing is cut or replaced. Keys come in the order the model
gives them and the lists in the report's order, so two runs on the same data give the
same bytes (and a diff between two reports shows what changed).
"""

from __future__ import annotations

import json
from typing import Any

from syncengine.reports.model import (
    Report,
    Summary,
    conflict_fields,
    filters_fields,
    problem_fields,
    run_fields,
    summarize,
)
from syncengine.reports.values import LONE_SURROGATE


def render_json(report: Report) -> str:
    """``report`` as a JSON document (indented, ending with a newline)."""
    document: dict[str, Any] = {
        "organization": report.organization,
        "generated_at": report.generated_at.isoformat(),
        "filters": filters_fields(report.filters),
        "summary": _summary_fields(summarize(report)),
        "conflicts": [conflict_fields(c) for c in report.conflicts],
        "problems": [problem_fields(p) for p in report.problems],
        "runs": [run_fields(r) for r in report.runs],
    }
    text = json.dumps(document, ensure_ascii=False, indent=2)
    return _escape_surrogates(text) + "\n"


def _summary_fields(summary: Summary) -> dict[str, Any]:
    # Lists of objects rather than one object per table: the order (largest first, ages
    # youngest first) is part of the content, and JSON objects have no order.
    return {
        "open_conflicts": summary.open_conflicts,
        "open_problems": summary.open_problems,
        "open_by_field": [{"field": k, "count": n} for k, n in summary.open_by_field],
        "open_by_age": [{"age": k, "count": n} for k, n in summary.open_by_age],
        "auto_by_rule": [{"rule": k, "count": n} for k, n in summary.auto_by_rule],
        "problems_by_kind": [{"kind": k, "count": n} for k, n in summary.problems_by_kind],
    }


def _escape_surrogates(text: str) -> str:
    """Each lone surrogate as a ``\\udcff`` escape, the rest of the text left as it is.

    A lone surrogate (from a file name that was not UTF-8) has no UTF-8 encoding, so the
    document could not be written. Escaping only those characters keeps the exact value
    (``json.loads`` gives back ``"\\udcff"``, which U+FFFD would lose) while every other
    non-ASCII character stays readable (``ensure_ascii=True`` would escape all of them).
    It is sound because JSON's structure is ASCII: a surrogate can only stand inside a
    string, where ``\\uXXXX`` means that very code unit. (A high surrogate directly
    followed by a low one would read back as one character; Python never builds such a
    pair from decoding, so it does not arise from the stores.)
    """
    return LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
