"""A run dies after writing the platform, before its mirror update or before the journal
marks a push carried; the platform then edits that field. The next sync must keep and
push the platform's newer value, whatever the policy (found by the whole-engine
simulation's soak, seeds 1391 and 3120; shown here with ``default_policy: crm``, which
gives every both-sides change to CRM+). The platform write is journaled before it is
made (``platform_writes``), and the next sync reads from the platform whether it landed.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from syncengine.bootstrap import App
from syncengine.domain.plan import parse_assignment
from syncengine.sandbox import SandboxServer
from tests.engine.platforms import PlatformDriver
from tests.engine.synced import CONTACT, build, platform
from tests.engine.test_sync_e2e import Crash, MirrorThatCrashesOnce

__all__ = ["platform"]  # the fixture, imported for pytest


class JournalThatCrashesOnMarkCarried:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def mark_carried(self, *args: Any, **kwargs: Any) -> None:
        raise Crash

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class PlatformThatCrashesBeforeSave:
    """A run that dies just before the platform write: the write never lands."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def save(self, *args: Any, **kwargs: Any) -> Any:
        raise Crash

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def crashed_run(app: App, **parts: Any) -> None:
    doomed = dataclasses.replace(app, **parts, _runner=None, _parts=None)
    with pytest.raises(Crash):
        doomed.runner().run_one(CONTACT)
    app.claims_store.release_all(doomed.claims.owner)


def test_a_platform_edit_after_a_crash_between_a_pull_and_the_mirror_is_pushed(
    sandbox: SandboxServer, database_url: str, platform: PlatformDriver
) -> None:
    with build(sandbox, database_url, platform, default_policy="crm") as app:
        app.runner().run_one(CONTACT)
        sandbox.hooks.ui_edit(CONTACT, {"website": "https://crm.example.org"})
        crashed_run(app, mirror=MirrorThatCrashesOnce(app.mirror))
        doc = platform.read(CONTACT)
        assert doc is not None and doc["website"] == "https://crm.example.org", "pulled"
        assert app.journal.platform_writes(CONTACT), "the write is still open"

        platform.edit(CONTACT, lambda d: d.update(website="https://platform.example.org"))
        report = app.runner().run_one(CONTACT).reports[0]

        doc = platform.read(CONTACT)
        assert doc is not None and doc["website"] == "https://platform.example.org"
        raw = sandbox.hooks.raw_contact(CONTACT)
        assert raw["website"] == "https://platform.example.org", report.to_json()
        assert report.conflicts == [], "the pulled value is no CRM-side change any more"
        assert app.journal.platform_writes(CONTACT) == [], "settled by the sync that ended"


def test_a_pull_that_never_reached_the_platform_is_pulled_again(
    sandbox: SandboxServer, database_url: str, platform: PlatformDriver
) -> None:
    # The write was journaled, the platform never took it: the journal must not make the
    # base think it did (the platform's older value would then read as a platform edit
    # and be pushed back over CRM+'s).
    with build(sandbox, database_url, platform, default_policy="crm") as app:
        app.runner().run_one(CONTACT)
        before = platform.read(CONTACT)
        assert before is not None
        sandbox.hooks.ui_edit(CONTACT, {"website": "https://crm.example.org"})
        crashed_run(app, _platform=PlatformThatCrashesBeforeSave(app.platform()))
        assert platform.read(CONTACT) == before

        report = app.runner().run_one(CONTACT).reports[0]

        doc = platform.read(CONTACT)
        assert doc is not None and doc["website"] == "https://crm.example.org"
        raw = sandbox.hooks.raw_contact(CONTACT)
        assert raw["website"] == "https://crm.example.org", report.to_json()
        assert app.journal.platform_writes(CONTACT) == []


def test_a_push_carried_before_a_crash_is_not_carried_again_over_a_later_edit(
    sandbox: SandboxServer, database_url: str, platform: PlatformDriver
) -> None:
    with build(sandbox, database_url, platform, default_policy="crm") as app:
        app.runner().run_one(CONTACT)
        app.manual.push(CONTACT, [parse_assignment("informalName=Nell")])
        crashed_run(app, journal=JournalThatCrashesOnMarkCarried(app.journal))
        doc = platform.read(CONTACT)
        assert doc is not None and doc["informalName"] == "Nell", "carried"
        assert app.journal.uncarried(CONTACT), "but not marked carried"

        platform.edit(CONTACT, lambda d: d.update(informalName="Ellie"))
        report = app.runner().run_one(CONTACT).reports[0]

        doc = platform.read(CONTACT)
        assert doc is not None and doc["informalName"] == "Ellie", report.to_json()
        assert sandbox.hooks.raw_contact(CONTACT)["informalName"] == "Ellie"
        assert app.journal.uncarried(CONTACT) == []
