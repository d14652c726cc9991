"""The common start of the two-way sync's end-to-end tests: a platform (files, or a sql
table holding documents), the real engine over loopback HTTP to the sandbox, a real
database, and contact 4821 synced once. Import the fixtures into a test module to use
them (``from tests.engine.synced import app, platform``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncengine.bootstrap import App, open_app
from syncengine.config import LocalSettings, SyncSettings
from syncengine.sandbox import SandboxServer
from tests.engine.conftest import engine_settings
from tests.engine.platforms import FilesDriver, PlatformDriver, SqlDocumentDriver
from tests.fixtures.sandbox import SANDBOX_TOKEN

CONTACT = 4821
ELEANOR = 48211


@pytest.fixture(params=["files", "sql"])
def platform(request: pytest.FixtureRequest, tmp_path: Path) -> PlatformDriver:
    if request.param == "files":
        return FilesDriver(tmp_path / "platform")
    return SqlDocumentDriver(f"sqlite:///{tmp_path}/platform.db")


def build(
    sandbox: SandboxServer,
    database_url: str,
    platform: PlatformDriver,
    fields: list[dict[str, str]] | None = None,
    scope: str = "linked",
    **sync: Any,
) -> Any:
    settings = engine_settings(sandbox.base_url, database_url)
    local = LocalSettings(
        adapter=platform.adapter,
        reference_source="portal",
        scope=scope,
        **platform.options(),
        **({"fields": fields} if fields is not None else {}),
    )
    return open_app(
        settings.model_copy(update={"local": local, "sync": SyncSettings(**sync)}),
        {"CRMPLUS_API_TOKEN": SANDBOX_TOKEN},
    )


@pytest.fixture
def app(sandbox: SandboxServer, database_url: str, platform: PlatformDriver) -> Iterator[App]:
    with build(sandbox, database_url, platform) as built:
        # The first sync writes the CRM contact to the platform: the common starting point.
        report = built.runner().run_one(CONTACT)
        assert report.reports[0].outcome == "pulled"
        yield built


def puts(sandbox: SandboxServer) -> list[str]:
    return [
        f"{r.method} {r.path}"
        for r in sandbox.hooks.requests()
        if r.method in ("PUT", "POST") and "Query" not in r.path
    ]


def outcome(app: App, contact_id: int = CONTACT) -> Any:
    (report,) = app.runner().run_one(contact_id).reports
    return report
