"""A review scenario on the real engine: the sandbox over loopback HTTP, a real
database, a files platform, and four open conflicts (three on contact 4821, one on 4817
whose CRM+ value is a script). Import the fixtures into a test module to use them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from syncengine.bootstrap import App
from syncengine.cli.review_commands import review_services
from syncengine.domain.ports import ConflictStatus
from syncengine.review.app import build_review_app
from syncengine.review.services import ReviewOptions
from syncengine.sandbox import SandboxServer
from syncengine.web import WebServer
from tests.engine.platforms import FilesDriver
from tests.engine.synced import CONTACT, build

OTHER = 4817  # Maria Alvarez in the built-in organisation
HOSTILE = "<script>alert(1)</script>"
MANUAL = [
    {"path": "informalName", "policy": "manual"},
    {"path": "description", "policy": "manual"},
    {"path": "website", "policy": "manual"},
]


@pytest.fixture
def platform_files(tmp_path: Path) -> FilesDriver:
    return FilesDriver(tmp_path / "platform")


@pytest.fixture
def conflicted(
    sandbox: SandboxServer, database_url: str, platform_files: FilesDriver
) -> Iterator[App]:
    """Contact 4821 with three open conflicts (the platform edited later: the suggestion
    is the platform's value), contact 4817 with one whose CRM+ value is a script."""
    platform = platform_files
    with build(sandbox, database_url, platform, policies=MANUAL) as app:
        for contact_id in (CONTACT, OTHER):
            app.runner().run_one(contact_id)
        sandbox.hooks.ui_edit(
            CONTACT,
            {
                "informalName": "CRM nick",
                "description": "CRM notes",
                "website": "https://crm.example",
            },
        )
        sandbox.hooks.ui_edit(OTHER, {"informalName": HOSTILE})
        time.sleep(0.05)  # the platform's edits are the newer ones

        def ours(doc: dict[str, Any]) -> None:
            doc.update(
                informalName="Portal nick",
                description="Portal notes",
                website="https://portal.example",
            )

        platform.edit(CONTACT, ours)
        platform.edit(OTHER, lambda doc: doc.update(informalName="Maria"))
        for contact_id in (CONTACT, OTHER):
            app.runner().run_one(contact_id)
        assert len(app.conflicts.list(status=ConflictStatus.OPEN)) == 4
        yield app


@pytest.fixture
def review_url(conflicted: App) -> Iterator[str]:
    web = build_review_app(review_services(conflicted), ReviewOptions(host="127.0.0.1"))
    with WebServer(web, "127.0.0.1", 0) as server:
        yield server.base_url
