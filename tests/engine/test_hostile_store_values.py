"""A value the databases cannot hold as it is (NUL, typed into the CRM UI) goes through the
real engine on SQLite and PostgreSQL: it reaches the platform exactly, the journal is left
with nothing pending, and the rest of a ``sync --all`` run goes on.

Before the store escaped such values, PostgreSQL refused the mirror write ("unsupported
Unicode escape sequence") and every ``sync --all`` aborted, leaving a pending journal row.
"""

from __future__ import annotations

from pathlib import Path

from syncengine.sandbox import SandboxServer
from tests.engine.platforms import FilesDriver
from tests.engine.synced import CONTACT, build

OTHER = 4817  # another contact the platform holds, changed on the platform side


def test_a_nul_typed_in_the_crm_reaches_the_platform_and_the_run_goes_on(
    sandbox: SandboxServer, database_url: str, tmp_path: Path
) -> None:
    platform = FilesDriver(tmp_path / "platform")
    with build(sandbox, database_url, platform) as app:
        # The common start: both contacts on the platform, in step with CRM+.
        for contact_id in (CONTACT, OTHER):
            (first,) = app.runner().run_one(contact_id).reports
            assert first.outcome == "pulled"

        # One contact: a CRM UI edit with a NUL in it.
        sandbox.hooks.ui_edit(CONTACT, {"description": "before\x00after"})
        (report,) = app.runner().run_one(CONTACT).reports
        assert (report.outcome, report.error) == ("pulled", None)
        doc = platform.read(CONTACT)
        assert doc is not None and doc["description"] == "before\x00after"
        mirrored = app.mirror.get(CONTACT)
        assert mirrored is not None and mirrored.record["description"] == "before\x00after"
        assert app.journal.pending() == []

        # All contacts: another NUL edit in the CRM, and a platform change (itself with
        # a NUL) on another contact, in the same run.
        sandbox.hooks.ui_edit(CONTACT, {"description": "\x00again\x00", "informalName": "a\x00b"})
        platform.edit(
            OTHER,
            lambda d: d.update(
                description="from the platform\x00side", website="https://o.example"
            ),
        )
        summary = app.runner().run_all()
        outcomes = {r.contact_id: (r.outcome, r.error) for r in summary.reports}
        assert summary.aborted is None
        assert outcomes[CONTACT] == ("pulled", None)
        assert outcomes[OTHER] == ("pushed", None)
        doc = platform.read(CONTACT)
        assert doc is not None
        assert (doc["description"], doc["informalName"]) == ("\x00again\x00", "a\x00b")
        raw = sandbox.hooks.raw_contact(OTHER)
        assert (raw["description"], raw["website"]) == (
            "from the platform\x00side",
            "https://o.example",
        )
        assert app.journal.pending() == []
        (write,) = [e for e in app.journal.for_contact(OTHER) if e.method == "PUT"]
        assert write.after["description"] == "from the platform\x00side"

        # And nothing is left to do: the stored merge base is exactly what both sides hold.
        again = app.runner().run_all()
        assert {r.contact_id: r.outcome for r in again.reports if r.outcome != "unchanged"} == {}
