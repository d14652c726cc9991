"""A CRM+ edit landing between a run's plan of a contact and its sync is never lost.

``sync --all`` plans every changed contact before its first write, against the mirror,
and merges it again on the record read just before its PUT; when that record is the one
it planned on, the plan's merge is reused (``engine.merge_memo``). Here CRM+ edits the
field the platform edited, after the run planned the contact and before its turn: the
sync must merge the record as it is now (both sides changed the field: the newer edit
wins), not push the plan's "only the platform changed it" over CRM+'s edit. Real
``files`` adapter, SQLite and PostgreSQL, the sandbox over loopback HTTP under both PUT
semantics, one contact at a time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from syncengine.bootstrap import open_app
from syncengine.config import Settings, SyncSettings
from syncengine.domain.ports import Priority
from syncengine.sandbox import SandboxServer
from syncengine.sandbox.faults import Fault
from tests.engine.conftest import files_engine_settings, household, write_settled

CONTACTS = range(901, 921)  # 20: the guard's minimum, so the run plans like a real one
EDITED = (903, 917)


def _alike(sandbox: SandboxServer, database_url: str, tmp_path: Path) -> tuple[Path, Settings]:
    """``CONTACTS`` alike in the sandbox and as settled documents; the engine's settings."""
    sandbox.hooks.seed({"contacts": [household(i) for i in CONTACTS]})
    folder = tmp_path / "platform"
    folder.mkdir()
    for contact_id in CONTACTS:
        write_settled(folder / f"{contact_id}.json", household(contact_id))
    return folder, files_engine_settings(sandbox.base_url, database_url, folder)


def _edited(folder: Path, contact_ids: Iterable[int], informal_name: Callable[[int], str]) -> None:
    """The documents of ``contact_ids`` edited on the platform (settled)."""
    for contact_id in contact_ids:
        document = _document(folder, contact_id)
        document["informalName"] = informal_name(contact_id)
        write_settled(folder / f"{contact_id}.json", document)


def _document(folder: Path, contact_id: int) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((folder / f"{contact_id}.json").read_text("utf-8"))
    return document


def test_a_crm_edit_after_the_plan_is_merged_not_the_plan(
    sandbox: SandboxServer, database_url: str, tmp_path: Path
) -> None:
    folder, settings = _alike(sandbox, database_url, tmp_path)
    settings = settings.model_copy(update={"sync": SyncSettings(concurrency=1)})
    with open_app(settings, {"CRMPLUS_API_TOKEN": sandbox.token}) as app:
        assert not app.runner().run_all(force=True).failed
        _edited(folder, EDITED, lambda contact_id: f"Edited on the platform {contact_id}")

        edited_in_crm: list[int] = []

        def between(done: int, total: int, label: str) -> None:
            """After the first edited contact's sync, CRM+ edits the other one's field
            the platform edited too: later than the platform did, so newest picks it."""
            if edited_in_crm or label not in {f"contact {i}" for i in EDITED}:
                return
            later = next(i for i in EDITED if label != f"contact {i}")
            sandbox.hooks.ui_edit(later, {"informalName": "Edited in CRM+ mid-run"})
            edited_in_crm.append(later)

        run = app.runner().run_all(progress=between)
        assert not run.failed, run.to_json()
        contacts = app.runner()._contacts  # the run's ContactSync: it keeps no plan after it
        assert contacts.kept_plans == 0
        (later,) = edited_in_crm
        (first,) = set(EDITED) - {later}
        assert run.to_json()["summary"]["pushed"] == 1

        assert sandbox.hooks.raw_contact(first)["informalName"] == f"Edited on the platform {first}"
        # Both sides changed it since the plan's base: the newer one, CRM+'s, stands on
        # both sides; the plan's "only the platform changed it" was never pushed.
        assert sandbox.hooks.raw_contact(later)["informalName"] == "Edited in CRM+ mid-run"
        assert _document(folder, later)["informalName"] == "Edited in CRM+ mid-run"

        # The next run has nothing to undo on either side.
        again = app.runner().run_all()
        assert not again.failed, again.to_json()
        assert again.to_json()["summary"]["pushed"] == 0
        assert sandbox.hooks.raw_contact(later)["informalName"] == "Edited in CRM+ mid-run"
        assert _document(folder, later)["informalName"] == "Edited in CRM+ mid-run"


def test_a_run_its_guard_stops_keeps_none_of_its_plans(
    sandbox: SandboxServer, database_url: str, tmp_path: Path
) -> None:
    """Every contact planned, none synced: the plans' merges are dropped with the run (a
    daemon or a long session keeps no memory of runs that are over)."""
    folder, settings = _alike(sandbox, database_url, tmp_path)
    with open_app(settings, {"CRMPLUS_API_TOKEN": sandbox.token}) as app:
        assert not app.runner().run_all(force=True).failed
        # Every contact: more than the guard lets through.
        _edited(folder, CONTACTS, lambda _contact_id: "Bulk edit")
        run = app.runner().run_all()
        assert run.stopped and run.to_json()["summary"]["pushed"] == 0
        assert app.runner()._contacts.kept_plans == 0


def test_a_worker_whose_read_from_crm_fails_keeps_no_plan(
    sandbox: SandboxServer, database_url: str, tmp_path: Path
) -> None:
    """The daemon's worker plans a platform change against the mirror (kept for the merge
    after the GET), then the GET fails for good: the worker keeps nothing (it never ends
    a run that would drop it)."""
    folder, settings = _alike(sandbox, database_url, tmp_path)
    (contact_id,) = EDITED[:1]
    with open_app(settings, {"CRMPLUS_API_TOKEN": sandbox.token}) as app:
        assert not app.runner().run_all(force=True).failed
        _edited(folder, [contact_id], lambda _contact_id: "Edited on the platform")
        parts = app.daemon_parts()
        parts.queue.add(contact_id, reason="platform", priority=Priority.PUSH, now=app.clock.now())
        sandbox.hooks.add_fault(Fault("GET", rf"^/api/Contact/{contact_id}$", status=503, count=50))
        (report,) = parts.worker.work()
        assert report.outcome == "failed"
        assert app.runner()._contacts.kept_plans == 0
