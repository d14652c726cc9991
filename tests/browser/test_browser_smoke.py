"""The browser setup end to end: Chromium, over real loopback HTTP, posts a plain HTML
form to a Starlette app served by ``WebServer``, with JavaScript on and off."""

from __future__ import annotations

import html
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from playwright.sync_api import Page
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from syncengine.web import WebServer
from tests.browser.shots import SCREENSHOTS_VARIABLE, Screenshot

# The script turns "off" into "on": which one shows says whether JavaScript ran.
FORM_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Smoke</title></head>
<body>
<p>JavaScript: <span id="js">off</span></p>
<script>document.getElementById("js").textContent = "on";</script>
<form method="post" action="/greet">
  <label>Name <input name="name"></label>
  <button type="submit">Greet</button>
</form>
</body></html>
"""


@dataclass
class GreetingApp:
    """A form and its post-redirect-get result page; records what was posted."""

    posted: list[str] = field(default_factory=list)

    async def form(self, request: Request) -> Response:
        return HTMLResponse(FORM_PAGE)

    async def greet(self, request: Request) -> Response:
        # The body as the browser sent it (urlencoded), parsed without Starlette: this
        # checks what Chromium posts, not how the framework reads it.
        fields = parse_qs((await request.body()).decode("utf-8"))
        self.posted.append(fields.get("name", [""])[0])
        return RedirectResponse("/greeted", status_code=303)

    async def greeted(self, request: Request) -> Response:
        name = html.escape(self.posted[-1]) if self.posted else "nobody"
        return HTMLResponse(f'<!doctype html><p id="result">Hello, {name}!</p>')

    def starlette(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/", self.form),
                Route("/greet", self.greet, methods=["POST"]),
                Route("/greeted", self.greeted),
            ]
        )


@dataclass
class Served:
    app: GreetingApp
    base_url: str


@pytest.fixture(scope="module")
def _server() -> Iterator[Served]:
    app = GreetingApp()
    with WebServer(app.starlette(), "127.0.0.1", 0) as server:
        yield Served(app, server.base_url)


@pytest.fixture
def served(_server: Served) -> Served:
    _server.app.posted.clear()
    return _server


def _greet(page: Page, served: Served, name: str) -> None:
    page.goto(f"{served.base_url}/")
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Greet").click()
    page.wait_for_url(f"{served.base_url}/greeted")


def test_a_form_post_round_trips_with_javascript(
    page: Page,
    served: Served,
    screenshot: Screenshot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page.goto(f"{served.base_url}/")
    assert page.locator("#js").inner_text() == "on"

    _greet(page, served, "Zoë & <co>")

    assert served.app.posted == ["Zoë & <co>"]
    assert page.locator("#result").inner_text() == "Hello, Zoë & <co>!"
    # Not a documentation image: always into the test's tmp dir.
    monkeypatch.delenv(SCREENSHOTS_VARIABLE, raising=False)
    shot = screenshot(page, "smoke-greeted")
    assert shot == tmp_path / "smoke-greeted.png"
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_a_form_post_works_without_javascript(no_js_page: Page, served: Served) -> None:
    no_js_page.goto(f"{served.base_url}/")
    assert no_js_page.locator("#js").inner_text() == "off"

    _greet(no_js_page, served, "no script")

    assert served.app.posted == ["no script"]
    assert no_js_page.locator("#result").inner_text() == "Hello, no script!"
