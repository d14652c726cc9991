"""Text from CRM+ or the platform, made safe to print on a terminal.

Any CRM user can type a value holding an escape sequence (``ESC[31m``, an OSC title
``ESC]0;...BEL``) or a bidi override that makes a line read differently than it is. In
text output such characters are shown escaped (ESC as the four characters ``\\x1b``, a
newline as ``\\n``), and a very long value is cut to its beginning and its length. Every
renderer and the error printer go through :func:`safe`; ``--json`` output does not (it
stays exact, and ``json.dumps`` escapes control characters itself).

Backslashes are NOT escaped: escaping is then idempotent (text escaped twice reads the
same), at the price that a value holding the four characters ``\\x1b`` looks like one
holding ESC. Neither can do anything to the terminal.
"""

from __future__ import annotations

from typing import Final

# Values longer than this are shown as their beginning, an ellipsis and their length.
MAX_VALUE: Final = 200
# Whole messages (errors, notes) get more room: their end often says what is wrong.
MAX_MESSAGE: Final = 2000

_NAMED: Final = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}

# Unicode's bidirectional formatting characters (the "Trojan Source" set, CVE-2021-42574)
# and the line and paragraph separators, which some terminals treat as line breaks.
_BIDI_AND_SEPARATORS: Final = (
    0x061C,  # ALM
    0x200E,  # LRM
    0x200F,  # RLM
    0x2028,  # LINE SEPARATOR
    0x2029,  # PARAGRAPH SEPARATOR
    *range(0x202A, 0x202F),  # LRE, RLE, PDF, LRO, RLO
    *range(0x2066, 0x206A),  # LRI, RLI, FSI, PDI
)


def _escape_table() -> dict[int, str]:
    table: dict[int, str] = {}
    # C0 controls, DEL, and the C1 controls (0x9B alone starts a CSI on some terminals).
    for code in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]:
        char = chr(code)
        table[code] = _NAMED.get(char, f"\\x{code:02x}")
    for code in _BIDI_AND_SEPARATORS:
        table[code] = f"\\u{code:04x}"
    return table


_ESCAPES: Final = _escape_table()


def escape_controls(text: str) -> str:
    """``text`` with every control, DEL, C1 and bidi formatting character escaped."""
    return text.translate(_ESCAPES)


def safe(text: str, *, limit: int = MAX_MESSAGE, quote: bool = False) -> str:
    """``text`` fit for a terminal: controls escaped, cut after ``limit`` characters.

    A cut text reads ``"Lorem ipsum…" (62,914,560 characters)`` with ``quote`` (a value),
    ``Lorem ipsum… (62,914,560 characters)`` without (a message). It is cut before it is
    escaped, so an escape is never cut in half and the length counted is the original's.
    """
    if len(text) <= limit:
        return escape_controls(text)
    head = escape_controls(text[:limit]) + "…"
    shown = f'"{head}"' if quote else head
    return f"{shown} ({len(text):,} characters)"
