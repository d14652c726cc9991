"""``sync.max_value_size``: a contact holding a value over the limit, on either side, is
reported with the field and left alone; the run goes on with the others.

Before: a 60 MB ``description`` was sent, stored about four times in the database and
echoed in full to the terminal.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from syncengine.errors import ValueTooLarge
from syncengine.sandbox import SandboxServer
from tests.engine.platforms import PlatformDriver
from tests.engine.synced import CONTACT, build, platform, puts

__all__ = ["platform"]  # a fixture, imported for pytest

LIMIT = 4096
HUGE = "x" * (LIMIT + 1)


def test_a_platform_value_over_the_limit_fails_its_contact_names_the_field_and_sends_nothing(
    sandbox: SandboxServer, database_url: str, platform: PlatformDriver, tmp_path: Path
) -> None:
    with build(sandbox, database_url, platform, max_value_size=LIMIT) as app:
        app.runner().run_one(CONTACT)
        app.runner().run_one(4820)
        platform.edit(CONTACT, lambda d: d.update(description=HUGE))
        platform.edit(4820, lambda d: d.update(description="fine"))
        sandbox.hooks.clear_requests()

        summary = app.runner().run_all(force=True)

        (failed,) = [r for r in summary.reports if r.outcome == "failed"]
        assert failed.contact_id == CONTACT
        assert failed.error is not None
        assert "description" in failed.error and f"{LIMIT + 1:,} bytes" in failed.error
        assert "sync.max_value_size" in failed.error
        assert puts(sandbox) == ["PUT /api/Contact/4820"], "the other contact still goes"
        assert sandbox.hooks.raw_contact(CONTACT)["description"] is None
        assert summary.aborted is None


def test_a_crm_value_over_the_limit_is_not_brought_to_the_platform(
    sandbox: SandboxServer, database_url: str, platform: PlatformDriver
) -> None:
    with build(sandbox, database_url, platform, max_value_size=LIMIT) as app:
        app.runner().run_one(CONTACT)
        before = platform.read(CONTACT)
        sandbox.hooks.ui_edit(CONTACT, {"description": HUGE})

        with pytest.raises(ValueTooLarge, match=r"CRM\+ contact 4821: value too large: descr"):
            app.runner().run_one(CONTACT)

        assert platform.read(CONTACT) == before
        entry = app.mirror.get(CONTACT)
        assert entry is not None and entry.record.get("description") is None


@pytest.mark.parametrize("size", [LIMIT - 8])
def test_a_value_within_the_limit_syncs(
    sandbox: SandboxServer, database_url: str, platform: PlatformDriver, size: int
) -> None:
    with build(sandbox, database_url, platform, max_value_size=LIMIT) as app:
        app.runner().run_one(CONTACT)
        platform.edit(CONTACT, lambda d: d.update(description="y" * size))
        (report,) = app.runner().run_one(CONTACT).reports
        assert report.outcome == "pushed"
