"""HTML building blocks shared by the HTML report and the review page: the stylesheet,
and the one escaping path every value from CRM+ or the platform goes through.

A value is first cut into plain text and markers of hidden characters (see
``values.visible_parts``), lone surrogates replaced, then ``html.escape``d with quotes,
and set in a ``<bdi>`` so right-to-left text cannot reorder the layout around it.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from typing import Any, Final

from syncengine.reports.values import display_text, visible_parts, without_surrogates

# A system font stack: nothing to download, and the data manager's own UI font.
CSS: Final = """
:root { color: #1a1a1a; background: #fff; }
body {
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    sans-serif;
  line-height: 1.4; margin: 1.5rem auto; max-width: 80rem; padding: 0 1rem;
}
h1 { font-size: 1.6rem; margin-bottom: 0.25rem; }
h2 { font-size: 1.3rem; border-bottom: 2px solid #ccc; margin-top: 2rem; }
h3 { font-size: 1.05rem; margin: 0 0 0.5rem; }
code, .box, .json { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
caption { font-weight: 600; text-align: left; padding-bottom: 0.25rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.5rem; text-align: left;
  vertical-align: top; }
th { background: #f2f2f2; }
/* Long unbroken values (paths, keys) wrap instead of widening the page. */
td { overflow-wrap: anywhere; }
.tables { display: flex; flex-wrap: wrap; gap: 0 2rem; }
.conflict { border: 1px solid #bbb; border-radius: 4px; padding: 0.75rem; margin: 1rem 0; }
.sides { width: 100%; table-layout: fixed; }
.sides td { width: 30%; }
.sides thead td, .sides tbody th { width: 10%; }
.box {
  max-height: 12rem; overflow: auto; white-space: pre-wrap; word-break: break-all;
  margin: 0;
}
.empty { color: #767676; font-style: italic; }
.mark { color: #a00; background: #fee; border-radius: 2px; }
.status { border: 1px solid; border-radius: 3px; padding: 0 0.3rem; font-size: 0.85rem; }
.status-open { color: #8a4b00; }
.status-auto { color: #00509e; }
.status-resolved { color: #1d6b2c; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; margin: 0; }
dt { font-weight: 600; }
dd { margin: 0; }
ul { margin: 0; padding-left: 1.2rem; }
@media print {
  .box { max-height: none; overflow: visible; }
  .conflict, tr { break-inside: avoid; }
}
"""

# Defence in depth: were a value ever left unescaped, the browser still runs and fetches
# nothing (only the inline <style> is allowed).
CSP: Final = "default-src 'none'; style-src 'unsafe-inline'"

EMPTY: Final = '<span class="empty">— (empty)</span>'


def esc(text: str, *, marks: bool = True) -> str:
    """Text from outside, safe in HTML: each hidden character as a visible marker (in a
    ``<span class="mark">`` unless ``marks`` is false, as in ``<title>``, which holds text
    only), everything escaped."""
    # A lone surrogate has no UTF-8 encoding and no glyph: U+FFFD shows where it was.
    parts = visible_parts(without_surrogates(text))
    if not marks:
        return "".join(html.escape(part, quote=True) for part, _ in parts)
    return "".join(
        f'<span class="mark">{html.escape(part, quote=True)}</span>'
        if hidden
        else html.escape(part, quote=True)
        for part, hidden in parts
    )


def show(value: Any, *, typed: bool = True) -> str:
    """A value from CRM+ or the platform (any JSON), isolated for bidi.

    ``typed``: a value that is not a string is set in a monospace font, so that the number
    42 and the text "42" differ; ids and counts, always numbers, pass ``False``."""
    text = display_text(value)
    if text is None:
        return EMPTY
    if text == "":
        return '<span class="empty">"" (empty text)</span>'
    css = ' class="json"' if typed and not isinstance(value, str) else ""
    return f"<bdi{css}>{esc(text)}</bdi>"


def show_box(value: Any) -> str:
    """A value that may be long: whole, but in a box that scrolls (and prints whole)."""
    return f'<div class="box">{show(value)}</div>'


def html_table(
    caption: str,
    head: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    none: str = "None.",
) -> str:
    """A table of already-escaped cells; each row's first cell is its header."""
    header = "".join(f'<th scope="col">{h}</th>' for h in head)
    body = [
        f'<tr><th scope="row">{row[0]}</th>{"".join(f"<td>{cell}</td>" for cell in row[1:])}</tr>'
        for row in rows
    ]
    if not body:
        body = [f'<tr><td colspan="{len(head)}" class="empty">{none}</td></tr>']
    lines = "\n".join(body)
    return (
        f"<table>\n<caption>{caption}</caption>\n<thead><tr>{header}</tr></thead>\n"
        f"<tbody>\n{lines}\n</tbody>\n</table>\n"
    )


def html_list(items: Iterable[str]) -> str:
    lines = "".join(f"<li>{item}</li>" for item in items)
    return f"<ul>{lines}</ul>" if lines else EMPTY
