"""A platform edit that lands in the same tick of the file system's clock as the engine's
own write carries the same modification time. It must still reach CRM+.

File systems stamp mtimes from a coarse clock, so a partner reacting at once to the
engine's write of a document (an address-validation service watching the folder) can
leave the document with exactly the mtime the engine recorded. A record whose time is not
settled yet (``LocalRecord.settled``) gets no stamp, and the next run looks at it again:
without a request when nothing changed, with a push when something did. Real ``files``
adapter, real SQLite file or PostgreSQL, the sandbox over loopback HTTP.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from syncengine.bootstrap import App, open_app
from syncengine.config import Settings
from syncengine.local.files.platform import STAMP_RESOLUTION_NS
from syncengine.sandbox import SandboxServer
from syncengine.store.sync_state import SqlSyncStateStore
from tests.engine.conftest import AN_HOUR_NS, files_engine_settings, household, write_settled
from tests.fixtures.sandbox import SandboxFactory

CONTACTS = range(801, 821)  # 20: the guard's minimum, so the runs are real --all runs
PULLED = 805


def _linked(
    sandbox_factory: SandboxFactory, tmp_path: Path, database_url: str
) -> tuple[SandboxServer, Path, Settings]:
    """The platform's documents (settled) and the sandbox's contacts, alike."""
    folder = tmp_path / "platform"
    folder.mkdir()
    for contact_id in CONTACTS:
        write_settled(folder / f"{contact_id}.json", household(contact_id))
    sandbox = sandbox_factory(seed={"contacts": [household(i) for i in CONTACTS]})
    return sandbox, folder, files_engine_settings(sandbox.base_url, database_url, folder)


@contextmanager
def _first_synced(sandbox: SandboxServer, settings: Settings) -> Iterator[App]:
    """The engine, after a first sync that linked every contact."""
    with open_app(settings, {"CRMPLUS_API_TOKEN": sandbox.token}) as app:
        assert not app.runner().run_all(force=True).failed
        yield app


def _pull_an_edit(app: App, sandbox: SandboxServer) -> None:
    """CRM+ edits ``PULLED``; a run writes it to the platform."""
    sandbox.hooks.ui_edit(PULLED, {"informalName": "Changed in CRM+"})
    assert _run(app)["pulled"] == 1


def _run(app: App) -> dict[str, Any]:
    run = app.runner().run_all()
    assert not run.failed, run.to_json()
    summary: dict[str, Any] = run.to_json()["summary"]
    return summary


def _stamp(app: App, contact_id: int) -> Any:
    """The platform time the contact's last sync recorded."""
    state = SqlSyncStateStore(app.database).get(contact_id)
    assert state is not None
    return state.platform_modified


def _requests(sandbox: SandboxServer) -> list[str]:
    return [f"{r.method} {r.path}" for r in sandbox.hooks.requests()]


def test_an_edit_in_the_tick_of_the_engines_own_write_reaches_crm(
    sandbox_factory: SandboxFactory, tmp_path: Path, database_url: str
) -> None:
    sandbox, folder, settings = _linked(sandbox_factory, tmp_path, database_url)
    with _first_synced(sandbox, settings) as app:
        _pull_an_edit(app, sandbox)
        path = folder / f"{PULLED}.json"
        written = path.stat()
        assert json.loads(path.read_text())["informalName"] == "Changed in CRM+"

        # The partner rewrites the document at once: same tick, same mtime.
        document = json.loads(path.read_text())
        document["website"] = "https://validated.example.org"
        path.write_text(json.dumps(document))
        os.utime(path, ns=(written.st_atime_ns, written.st_mtime_ns))
        assert path.stat().st_mtime_ns == written.st_mtime_ns

        summary = _run(app)

    assert summary["pushed"] == 1, summary
    crm = sandbox.hooks.raw_contact(PULLED)
    assert crm["website"] == "https://validated.example.org"
    assert crm["informalName"] == "Changed in CRM+"


def test_a_record_looked_at_again_costs_no_request_and_settles(
    sandbox_factory: SandboxFactory, tmp_path: Path, database_url: str
) -> None:
    sandbox, folder, settings = _linked(sandbox_factory, tmp_path, database_url)
    with _first_synced(sandbox, settings) as app:
        _pull_an_edit(app, sandbox)
        assert _stamp(app, PULLED) is None, "a time not settled was recorded"

        # Looked at again while its time is not settled: the bulk query's one page, no
        # GET, no PUT, nothing written on either side.
        before = (folder / f"{PULLED}.json").stat().st_mtime_ns
        sandbox.hooks.clear_requests()
        summary = _run(app)
        assert (summary["pushed"], summary["pulled"]) == (0, 0)
        assert _requests(sandbox) == ["POST /api/Contact/Query/FullContact"]
        assert (folder / f"{PULLED}.json").stat().st_mtime_ns == before

        # Once its tick has passed, the next look records its time: it is skipped.
        path = folder / f"{PULLED}.json"
        settled = before - STAMP_RESOLUTION_NS - 1
        os.utime(path, ns=(settled, settled))
        _run(app)
        assert _stamp(app, PULLED) is not None
        sandbox.hooks.clear_requests()
        summary = _run(app)
        assert summary["unchanged"] == len(CONTACTS)
        assert _requests(sandbox) == ["POST /api/Contact/Query/FullContact"]


def test_a_touched_document_costs_no_request(
    sandbox_factory: SandboxFactory, tmp_path: Path, database_url: str
) -> None:
    """Its mtime moved, its content did not: planned against the mirror, nothing to do."""
    sandbox, folder, settings = _linked(sandbox_factory, tmp_path, database_url)
    with _first_synced(sandbox, settings) as app:
        path = folder / "811.json"
        later = time.time_ns() - AN_HOUR_NS // 2
        os.utime(path, ns=(later, later))
        sandbox.hooks.clear_requests()
        summary = _run(app)
    assert summary["unchanged"] == len(CONTACTS)
    assert _requests(sandbox) == ["POST /api/Contact/Query/FullContact"]


def test_an_edit_in_the_tick_a_first_sync_read_the_document_in_reaches_crm(
    sandbox_factory: SandboxFactory, tmp_path: Path, database_url: str
) -> None:
    """A first sync links documents that agree with CRM+ without writing them; one the
    platform wrote just before (time not settled) is still looked at again."""
    sandbox, folder, settings = _linked(sandbox_factory, tmp_path, database_url)
    path = folder / "803.json"
    path.write_text(json.dumps(household(803)))  # written now: its time is not settled
    written = path.stat()
    with open_app(settings, {"CRMPLUS_API_TOKEN": sandbox.token}) as app:
        first = app.runner().run_all(force=True)
        assert not first.failed
        assert _stamp(app, 803) is None
        assert _stamp(app, 804) is not None

        document = json.loads(path.read_text())
        document["description"] = "Edited in the same tick"
        path.write_text(json.dumps(document))
        os.utime(path, ns=(written.st_atime_ns, written.st_mtime_ns))
        summary = _run(app)

    assert summary["pushed"] == 1, summary
    assert sandbox.hooks.raw_contact(803)["description"] == "Edited in the same tick"


def _half_written(path: Path, document: dict[str, Any]) -> threading.Timer:
    """``path`` truncated now and written 0.2 s on, as a partner writing in place does."""
    path.write_text("")
    timer = threading.Timer(0.2, lambda: path.write_text(json.dumps(document)))
    timer.start()
    return timer


@pytest.mark.parametrize("run", ["all", "one"])
def test_a_document_read_half_written_is_pushed_once_written_with_no_problem(
    sandbox_factory: SandboxFactory, tmp_path: Path, database_url: str, run: str
) -> None:
    """Read between a partner's truncate and write, the document is read again once
    written: pushed, no problem recorded (in CI the daemon took the empty document for a
    malformed one and retried it half a minute later)."""
    sandbox, folder, settings = _linked(sandbox_factory, tmp_path, database_url)
    with _first_synced(sandbox, settings) as app:
        edited = {**household(807), "description": "Written in place"}
        timer = _half_written(folder / "807.json", edited)
        if run == "all":
            summary = _run(app)
            assert (summary["pushed"], summary["failed"]) == (1, 0), summary
        else:
            report = app.runner().run_one(807)
            assert not report.failed, report.to_json()
        timer.join()
        assert app.problems.list(only_open=False) == []

    assert sandbox.hooks.raw_contact(807)["description"] == "Written in place"
