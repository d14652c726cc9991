"""Model-based property: random interleavings of platform edits, CRM+ edits and syncs
(under both PUT semantics) end with both sides agreeing, every edit accounted for: the
latest edit of a field survives unless the other side also edited it since the last sync
and the policy gave that side the field. Nothing is ever cleared or invented."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncengine.bootstrap import App, open_app
from syncengine.config import LocalSettings, SyncSettings
from syncengine.local import MemoryPlatform
from syncengine.sandbox import SandboxServer
from tests.engine.conftest import engine_settings, strip_audit
from tests.fixtures.sandbox import SANDBOX_TOKEN

CONTACT = 4821
FIELDS = ("informalName", "description", "website", "maritalStatus")
VALUES = st.text("abcdefghij", min_size=1, max_size=6)

Step = tuple[str, str, str]  # (who, field, value); who: platform | crm | sync


def steps() -> st.SearchStrategy[list[Step]]:
    edit = st.tuples(st.sampled_from(["platform", "crm"]), st.sampled_from(FIELDS), VALUES)
    sync = st.just(("sync", "", ""))
    return st.lists(st.one_of(edit, sync), min_size=1, max_size=8)


@dataclass
class Model:
    """The base (the last agreed values) and what each side holds now. A side changed a
    field when it holds something other than the base: an edit back to the base value
    is no change, exactly as the three-way merge sees it."""

    base: dict[str, Any]
    sides: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sides = {"platform": dict(self.base), "crm": dict(self.base)}

    def edit(self, side: str, name: str, value: str) -> None:
        self.sides[side][name] = value

    def sync(self, winner: str) -> None:
        other = "crm" if winner == "platform" else "platform"
        for name, base in self.base.items():
            if self.sides[winner][name] != base:
                self.base[name] = self.sides[winner][name]
            elif self.sides[other][name] != base:
                self.base[name] = self.sides[other][name]
        self.sides = {"platform": dict(self.base), "crm": dict(self.base)}


@pytest.fixture
def memory_app(sandbox: SandboxServer, tmp_path: Path) -> Iterator[App]:
    settings = engine_settings(sandbox.base_url, f"sqlite:///{tmp_path}/model.db")
    settings = settings.model_copy(
        update={
            "local": LocalSettings(adapter="memory", reference_source="portal"),
            # The platform wins a field both sides changed: deterministic, whatever the clocks.
            "sync": SyncSettings(default_policy="platform"),
        }
    )
    with open_app(settings, {"CRMPLUS_API_TOKEN": SANDBOX_TOKEN}) as app:
        yield app


@settings(max_examples=30)
@given(script=steps())
def test_any_interleaving_converges_with_every_edit_accounted_for(
    memory_app: App, sandbox: SandboxServer, script: list[Step]
) -> None:
    sandbox.hooks.reset()
    platform = memory_app.platform()
    assert isinstance(platform, MemoryPlatform)
    runner = memory_app.runner()
    # Each example starts from a fresh pair: the CRM contact written to the platform.
    for key in [str(CONTACT)] if platform.get(CONTACT) else []:
        platform.remove(key)
    _forget(memory_app)
    assert runner.run_one(CONTACT).reports[0].outcome == "pulled"
    start = sandbox.hooks.raw_contact(CONTACT)
    model = Model({name: start[name] for name in FIELDS})

    for who, name, value in [*script, ("sync", "", "")]:
        if who == "sync":
            report = runner.run_one(CONTACT).reports[0]
            assert report.outcome not in ("failed", "conflict"), report.error
            model.sync("platform")
        elif who == "platform":
            local = platform.get(CONTACT)
            assert local is not None
            platform.put_linked(CONTACT, {**local.record, name: value})
            model.edit("platform", name, value)
        else:
            sandbox.hooks.ui_edit(CONTACT, {name: value})
            model.edit("crm", name, value)

    crm = sandbox.hooks.raw_contact(CONTACT)
    local = platform.get(CONTACT)
    assert local is not None
    for name in FIELDS:
        assert crm[name] == local.record[name] == model.base[name], name
    # Everything else on the record is as it was (audit stamps aside).
    others = [k for k in start if k not in FIELDS]
    assert strip_audit({k: crm[k] for k in others}) == strip_audit({k: start[k] for k in others})


def _forget(app: App) -> None:
    """A fresh mirror, journal and sync state for the next example."""
    import sqlalchemy as sa

    with app.database.begin() as db:
        for table in ("mirror", "sync_state", "conflicts", "journal", "cursors"):
            db.execute(sa.text(f"DELETE FROM {table}"))
