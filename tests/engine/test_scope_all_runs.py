"""`sync --all` under `local.scope: all`: a contact created in CRM+ reaches the platform,
once, whatever else the run meets (found by the whole-engine simulation: before, only
the daemon honoured the scope; a crash between a create and its link, and a merge's
survivor, each put one contact on the platform twice)."""

from __future__ import annotations

import pytest

from syncengine.sandbox import SandboxServer
from tests.engine.platforms import PlatformDriver
from tests.engine.synced import CONTACT, build, platform
from tests.simulation.world import Crash, Tripwire, wired_app

__all__ = ["platform"]  # the fixture, imported for pytest


def test_a_contact_created_in_crm_reaches_the_platform_under_scope_all(
    sandbox: SandboxServer, database_url: str, platform: PlatformDriver
) -> None:
    with build(sandbox, database_url, platform, scope="all") as app:
        app.runner().run_all(force=True)
        held = platform.stored_keys()
        assert platform.read(4820) is not None, held
        # 4822 is archived: the bulk query leaves it out, so it is not brought over.
        assert platform.read(4822) is None


def test_under_scope_linked_it_stays_in_crm(
    sandbox: SandboxServer, database_url: str, platform: PlatformDriver
) -> None:
    with build(sandbox, database_url, platform) as app:
        app.runner().run_one(CONTACT)
        app.runner().run_all(force=True)
        assert platform.read(4820) is None


def test_a_create_cut_off_before_its_link_is_linked_not_pulled_a_second_time(
    sandbox: SandboxServer, database_url: str, platform: PlatformDriver
) -> None:
    with build(sandbox, database_url, platform, scope="all") as app:
        app.runner().run_all(force=True)
        before = set(platform.stored_keys())
        platform.add_new("k1", {"name": "Portal k1", "contactType": "Household"})
        # The process dies after CRM+ answered the create and the journal closed it,
        # before the record is linked: CRM+ holds a contact with our reference to k1,
        # and no open intent tells the next run about it.
        tripwire = Tripwire(crash_at=None)
        doomed = wired_app(app, tripwire)
        original = tripwire.call

        created: list[str] = []

        def die_after_create(name, target, *args, **kwargs):  # type: ignore[no-untyped-def]
            result = original(name, target, *args, **kwargs)
            if name == "crm.create_contact":
                created.append(name)
            elif created and name == "journal.close":
                raise Crash("after the create was journaled as done, before the link")
            return result

        tripwire.call = die_after_create  # type: ignore[method-assign]
        with pytest.raises(Crash):
            doomed.runner().run_all(force=True)
        app.claims_store.release_all(app.claims.owner)

        summary = app.runner().run_all(force=True)
        app.runner().run_all(force=True)
        keys = platform.stored_keys()
        new = sorted(set(keys) - before)
        assert len(new) == 1, f"the new record is on the platform once: {keys}"
        assert not new[0].startswith("new-"), "and it is linked"
        outcomes = {r.key: r.outcome for r in summary.reports}
        assert "failed" not in outcomes.values(), summary.to_json()


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_survivor_of_a_merge_arrives_by_the_relink_only(
    sandbox: SandboxServer, database_url: str, platform: PlatformDriver, concurrency: int
) -> None:
    with build(sandbox, database_url, platform, scope="all", concurrency=concurrency) as app:
        app.runner().run_all(force=True)
        before = platform.stored_keys()
        # A contact created in CRM+ and, before any run saw it, the platform's contact
        # merged into it.
        survivor = sandbox.hooks.raw_state()["contacts"][-1]["id"] + 100
        seed_state = sandbox.hooks.raw_state()
        seed_state["contacts"].append(
            {"id": survivor, "contactType": "Household", "name": "The Survivors"}
        )
        sandbox.hooks.seed(seed_state)
        sandbox.hooks.merge(CONTACT, survivor, "pointer")

        app.runner().run_all(force=True)
        app.runner().run_all(force=True)
        assert platform.read(CONTACT) is None
        doc = platform.read(survivor)
        assert doc is not None and doc["name"] == "The Survivors"
        assert len(platform.stored_keys()) == len(before), platform.stored_keys()
