"""A `sync --all` reads the platform documents that changed, and no other.

Whether a linked document changed since its last sync is told by its modification time
against the one its sync recorded (the test the run has always made); since
``scan_changed`` a document that passes it is not even opened. Which files the run opens
is observed with a Python audit hook (``tests.fixtures.opened_files``), over the real
``files`` adapter, a real SQLite file and the sandbox over loopback HTTP.
"""

from __future__ import annotations

import json
from pathlib import Path

from syncengine.bootstrap import open_app
from tests.engine.conftest import files_engine_settings, household, write_settled
from tests.fixtures.opened_files import opened_in
from tests.fixtures.sandbox import SandboxFactory

CONTACTS = range(701, 721)  # 20: the guard's minimum, so the run is a real --all


def test_a_run_opens_only_the_documents_that_changed(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    folder = tmp_path / "platform"
    folder.mkdir()
    for contact_id in CONTACTS:
        write_settled(folder / f"{contact_id}.json", household(contact_id))
    sandbox = sandbox_factory(seed={"contacts": [household(i) for i in CONTACTS]})
    settings = files_engine_settings(sandbox.base_url, f"sqlite:///{tmp_path}/mirror.db", folder)
    with open_app(settings, {"CRMPLUS_API_TOKEN": sandbox.token}) as app:
        with opened_in(folder) as first_opens:
            first = app.runner().run_all(force=True)
        assert not first.failed, first.to_json()
        assert set(first_opens) == {f"{i}.json" for i in CONTACTS}, "a first sync reads all"

        with opened_in(folder) as quiet_opens:
            quiet = app.runner().run_all()
        assert quiet.to_json()["summary"]["unchanged"] == len(CONTACTS)
        assert quiet_opens == [], "a run with nothing changed opened a document"

        edited = folder / "705.json"
        document = json.loads(edited.read_text())
        document["informalName"] = "Changed on the platform"
        edited.write_text(json.dumps(document))
        sandbox.hooks.ui_edit(712, {"informalName": "Changed in CRM+"})
        with opened_in(folder) as opens:
            run = app.runner().run_all()

    assert not run.failed, run.to_json()
    summary = run.to_json()["summary"]
    assert (summary["pushed"], summary["pulled"]) == (1, 1)
    assert sandbox.hooks.raw_contact(705)["informalName"] == "Changed on the platform"
    assert json.loads((folder / "712.json").read_text())["informalName"] == "Changed in CRM+"
    # The edited document, and the one CRM+ changed (read to be merged, then written):
    # never any of the 18 others.
    assert {name for name in opens if not name.startswith(".")} == {"705.json", "712.json"}
