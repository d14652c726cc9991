"""A run dies after its PUT, before its mirror update; the platform then edits the field
it had pushed. The next sync must push the platform's newer value, whatever the policy:
the value CRM+ holds is our own write, not a CRM-side change (found by the whole-engine
simulation's soak, seed 1662, with CRM+'s clock 90 s ahead and `newest`; shown here with
`default_policy: crm`, which gives every both-sides change to CRM+)."""

from __future__ import annotations

import dataclasses

import pytest

from syncengine.sandbox import SandboxServer
from tests.engine.platforms import PlatformDriver
from tests.engine.synced import CONTACT, build, platform
from tests.engine.test_sync_e2e import Crash, MirrorThatCrashesOnce

__all__ = ["platform"]  # the fixture, imported for pytest


def test_a_platform_edit_after_a_crash_between_put_and_mirror_is_pushed(
    sandbox: SandboxServer, database_url: str, platform: PlatformDriver
) -> None:
    with build(sandbox, database_url, platform, default_policy="crm") as app:
        app.runner().run_one(CONTACT)
        platform.edit(CONTACT, lambda d: d.update(description="first"))
        doomed = dataclasses.replace(
            app, mirror=MirrorThatCrashesOnce(app.mirror), _runner=None, _parts=None
        )
        with pytest.raises(Crash):
            doomed.runner().run_one(CONTACT)
        assert sandbox.hooks.raw_contact(CONTACT)["description"] == "first"
        app.claims_store.release_all(doomed.claims.owner)

        platform.edit(CONTACT, lambda d: d.update(description="second"))
        report = app.runner().run_one(CONTACT).reports[0]

        doc = platform.read(CONTACT)
        assert doc is not None and doc["description"] == "second"
        assert sandbox.hooks.raw_contact(CONTACT)["description"] == "second", report.to_json()
        assert report.conflicts == [], "our own write is no CRM-side change"
