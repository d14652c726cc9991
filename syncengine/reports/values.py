"""How one value from CRM+ or the platform becomes text in a report, shared by the formats.

The stores keep values as JSON: a string, a number, a boolean, null, an object or a list.
The CSV and HTML reports show a string as itself and anything else as compact JSON, so a
data manager sees ``{"a":1}`` or ``true`` rather than Python's ``{'a': 1}`` or ``True``.
The JSON report keeps values exact: of this module it uses only ``LONE_SURROGATE``.

Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, Final

# A lone surrogate (U+D800-U+DFFF) in a Python string comes from a file name or a byte
# string that was not UTF-8 (``surrogateescape``). It has no UTF-8 encoding: writing it
# raises, and no spreadsheet or browser could show it anyway.
LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")

# Characters a browser drops, misrenders or obeys silently, and that a data manager must
# see because they make two values that look alike differ:
# - C0 controls except tab and newline, DEL, and the C1 controls, shown as ``\\u001b``;
# - zero-width and invisible characters (ZWSP, ZWNJ, ZWJ, LRM, RLM, WORD JOINER and the
#   invisible operators, the BOM) and Unicode's bidirectional formatting characters
#   (embeddings, overrides, isolates, ALM: the "Trojan Source" set, CVE-2021-42574), and
#   the line and paragraph separators, shown as ``<U+202E>``. Shown, a right-to-left
#   override cannot flip the text after it.
# A ZWJ inside an emoji sequence (👩‍👩‍👧) is shown too: the marker is the honest answer to
# "why do these two names differ", and emoji are rare in contact data.
_CONTROLS: Final = "\x00-\x08\x0b-\x1f\x7f-\x9f"
_INVISIBLES: Final = "\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
_HIDDEN: Final = re.compile(f"[{_CONTROLS}{_INVISIBLES}]")


def compact_json(value: Any) -> str:
    """``value`` as JSON without spaces, non-ASCII kept as is (it is text for people)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def display_text(value: Any) -> str | None:
    """A string as itself, null as ``None`` (each format shows "no value" its own way),
    anything else as compact JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return compact_json(value)


def without_surrogates(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD, so it can be written UTF-8."""
    return LONE_SURROGATE.sub("\ufffd", text)


def marker(char: str) -> str:
    """How a hidden character is shown: ``\\u0000`` for a control, ``<U+200B>`` otherwise."""
    code = ord(char)
    if code < 0xA0:
        return f"\\u{code:04x}"
    return f"<U+{code:04X}>"


def visible_parts(text: str) -> Iterator[tuple[str, bool]]:
    """``text`` cut into plain runs (``False``) and markers of hidden characters (``True``),
    so a renderer can style the markers apart from the text around them."""
    start = 0
    for match in _HIDDEN.finditer(text):
        if match.start() > start:
            yield text[start : match.start()], False
        yield marker(match.group()), True
        start = match.end()
    if start < len(text):
        yield text[start:], False


def visible(text: str) -> str:
    """``text`` with every hidden character replaced by its marker (see :func:`marker`).

    Backslashes are not escaped: a value holding the six characters ``\\u0000`` reads like
    one holding NUL (the HTML report styles real markers apart). Tab and newline stay:
    the report shows values with their line breaks.
    """
    return "".join(part for part, _ in visible_parts(text))
