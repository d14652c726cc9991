"""Screenshots taken by the browser tests: documentation images, or scratch files.

    def test_review_page(page: Page, screenshot: Screenshot) -> None:
        page.goto(...)
        screenshot(page, "review-page")

By default the image (the full page, PNG) goes into the test's pytest tmp dir, so a CI
run never dirties the repository. With ``SYNCENGINE_SCREENSHOTS=1`` it is written to
``docs/images/<name>.png`` instead; that is how a developer regenerates the images the
docs show:

    SYNCENGINE_SCREENSHOTS=1 pytest tests/browser

then reviews ``git diff --stat docs/images`` and commits the images that changed.
The ``screenshot`` fixture (tests/browser/conftest.py) binds ``screenshot()`` below to
the test's ``tmp_path``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page

SCREENSHOTS_VARIABLE = "SYNCENGINE_SCREENSHOTS"
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"

# A file stem: no directories, no extension (".png" is added), nothing hidden.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")

Screenshot = Callable[[Page, str], Path]
"""What the ``screenshot`` fixture gives: ``screenshot(page, name) -> the PNG's path``."""


def for_docs() -> bool:
    """Whether screenshots go to ``docs/images`` (``SYNCENGINE_SCREENSHOTS=1``)."""
    return os.environ.get(SCREENSHOTS_VARIABLE) == "1"


def screenshot_path(name: str, scratch: Path) -> Path:
    """Where the screenshot ``name`` goes: ``docs/images/<name>.png`` or ``scratch``."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"a screenshot name is a plain file stem like 'review-page': {name!r}")
    return (DOCS_IMAGES if for_docs() else scratch) / f"{name}.png"


# Taller pages are cut here: an image for the docs shows the top of a page, readable and
# small (a contact's full field list is some 8,000 pixels).
MAX_HEIGHT = 1600


def screenshot(page: Page, name: str, scratch: Path) -> Path:
    """Save a full-page screenshot of ``page`` (its first ``MAX_HEIGHT`` pixels) as
    ``<name>.png``; return its path."""
    path = screenshot_path(name, scratch)
    path.parent.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 1280
    try:
        height = min(int(page.evaluate("document.documentElement.scrollHeight")), MAX_HEIGHT)
    except Exception:  # a page without JavaScript cannot measure itself: the viewport
        height = page.viewport_size["height"] if page.viewport_size else 900
    # No animations and no blinking caret: regenerated images differ only when the page
    # does.
    page.screenshot(
        path=path,
        full_page=True,
        clip={"x": 0, "y": 0, "width": width, "height": height},
        animations="disabled",
        caret="hide",
    )
    return path
