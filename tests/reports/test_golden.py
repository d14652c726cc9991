"""Golden files: each format's output for the hostile report, byte for byte.

The files in ``golden/`` are what a data manager gets; review them as such. After a
deliberate change to a renderer, regenerate them and read the diff before committing:

    UPDATE_GOLDEN=1 pytest tests/reports/test_golden.py

(``report.csv`` holds a NUL byte, as the value does, so git may call it binary; use
``git diff --text``.) The properties in ``test_properties.py`` hold whatever the golden
files say, so a blind regeneration cannot hide an escaping regression.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from syncengine.reports.csv_format import render_csv, render_problems_csv
from syncengine.reports.html import render_html
from syncengine.reports.json_format import render_json
from syncengine.reports.model import Report
from tests.reports.hostile import hostile_report

GOLDEN = Path(__file__).parent / "golden"

RENDERERS: dict[str, Callable[[Report], str]] = {
    "report.html": render_html,
    "report.csv": render_csv,
    "problems.csv": render_problems_csv,
    "report.json": render_json,
}


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_output_matches_the_golden_file(name: str) -> None:
    # Encoding here proves the output can be written UTF-8 (no lone surrogate left).
    actual = RENDERERS[name](hostile_report()).encode("utf-8")
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_bytes(actual)
    # Compared as text, so a failure shows a readable diff (line ends included).
    assert actual.decode("utf-8") == path.read_bytes().decode("utf-8")


def test_rendering_twice_gives_the_same_bytes() -> None:
    for render in RENDERERS.values():
        assert render(hostile_report()) == render(hostile_report())
