"""Browser fixtures: Playwright driving the system Chromium (Debian's ``chromium``).

    def test_form(page: Page) -> None: ...          # JavaScript on (the default)
    def test_plain(no_js_page: Page) -> None: ...   # JavaScript off
    def test_shot(page: Page, screenshot: Screenshot) -> None:
        screenshot(page, "review-page")             # see tests/browser/shots.py

``browser`` is started once for the browser tests (package scope) and every page gets a
fresh context (cookies, storage), 1280x900, closed after its test.

The browser is never downloaded (``playwright install`` is not used): it is
``SYNCENGINE_CHROMIUM`` if set, else ``chromium`` on the PATH, else /usr/bin/chromium.
Missing or unusable, the browser tests are skipped, unless ``SYNCENGINE_REQUIRE_BROWSER=1``
(set by CI), which makes them fail instead.

Why package scope and not session: Playwright's sync API leaves its event loop marked
as running in the main thread for as long as it lives, and ``asyncio.run()`` then
refuses to start (tests/web uses it). Stopping Playwright when the last test of this
package is done confines that to tests/browser: no test here may call ``asyncio.run()``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest
from playwright.sync_api import Browser, Error, Page, ViewportSize, sync_playwright

from tests.browser.shots import Screenshot, screenshot

CHROMIUM_VARIABLE = "SYNCENGINE_CHROMIUM"
REQUIRE_BROWSER_VARIABLE = "SYNCENGINE_REQUIRE_BROWSER"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
INSTALL_HINT = "install it with `apt-get install chromium` or set SYNCENGINE_CHROMIUM"

# --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start. The
# background-networking flags: without them Chromium dials Google's services at start,
# and the closed network of these machines refuses the connections.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
# Everything is on loopback: a selector that has not matched in 15 s never will, and
# failing then says which one (rather than pytest-timeout's stack dump at 120 s).
DEFAULT_TIMEOUT_MS = 15_000


def chromium_executable() -> str | None:
    """The Chromium to drive, or None when there is none."""
    configured = os.environ.get(CHROMIUM_VARIABLE)
    if configured:
        return configured
    found = shutil.which("chromium")
    if found:
        return found
    return DEFAULT_CHROMIUM if os.access(DEFAULT_CHROMIUM, os.X_OK) else None


def _unusable(problem: str) -> NoReturn:
    """Skip the calling test; fail it if CI requires a browser."""
    if os.environ.get(REQUIRE_BROWSER_VARIABLE) == "1":
        pytest.fail(
            f"a browser is required ({REQUIRE_BROWSER_VARIABLE}=1) but {problem}",
            pytrace=False,
        )
    pytest.skip(f"browser tests need Chromium: {problem}")


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """A headless Chromium, launched once for the browser tests."""
    executable = chromium_executable()
    if executable is None:
        _unusable(f"none was found; {INSTALL_HINT}")
    if not os.access(executable, os.X_OK):
        _unusable(f"{executable} is not an executable file; {INSTALL_HINT}")
    playwright = sync_playwright().start()
    try:
        try:
            launched = playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
        except Error as exc:
            first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            _unusable(f"{executable} did not start: {first_line}")
        yield launched
        launched.close()
    finally:
        playwright.stop()


@contextmanager
def _fresh_page(browser: Browser, *, java_script_enabled: bool) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT, java_script_enabled=java_script_enabled)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies, no storage), JavaScript on."""
    with _fresh_page(browser, java_script_enabled=True) as fresh:
        yield fresh


@pytest.fixture
def no_js_page(browser: Browser) -> Iterator[Page]:
    """Like ``page`` but with JavaScript off: what must work without it is tested here."""
    with _fresh_page(browser, java_script_enabled=False) as fresh:
        yield fresh


@pytest.fixture(name="screenshot")
def screenshot_fixture(tmp_path: Path) -> Screenshot:
    """``screenshot(page, name)``: a full-page PNG in the test's tmp dir, or in
    docs/images with ``SYNCENGINE_SCREENSHOTS=1`` (see tests/browser/shots.py)."""

    def take(page: Page, name: str) -> Path:
        return screenshot(page, name, tmp_path)

    return take
