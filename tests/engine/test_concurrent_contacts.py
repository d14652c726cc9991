"""``sync --all`` with several contacts at once (``sync.concurrency``) ends exactly where
one contact after the other ends: the same CRM+ records, the same platform documents,
each contact's requests in the same order, never two of one contact at once; and one
contact's failure stays its own. The real engine over loopback HTTP to the sandbox (with
latency, so the contacts really overlap), both PUT semantics, files and sql platforms,
SQLite and PostgreSQL."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from syncengine.bootstrap import open_app
from syncengine.config import LocalSettings, SyncSettings
from syncengine.sandbox import SandboxServer
from syncengine.sandbox.faults import Fault
from tests.engine.conftest import engine_settings, snapshot, strip_audit
from tests.engine.platforms import FilesDriver, PlatformDriver, SqlDocumentDriver
from tests.fixtures.db import fresh_database_url
from tests.fixtures.sandbox import SANDBOX_TOKEN

CONTACTS = (4817, 4818, 4819, 4820, 4821)
FAILING = 4819  # its PUT is refused (400): its own failure, nobody else's


def driver(kind: str, folder: Path) -> PlatformDriver:
    folder.mkdir(parents=True)
    if kind == "files":
        return FilesDriver(folder / "platform")
    return SqlDocumentDriver(f"sqlite:///{folder}/platform.db")


def run_all(
    sandbox: SandboxServer, backend: str, kind: str, folder: Path, concurrency: int
) -> tuple[dict[str, Any], dict[int, list[str]], dict[int, Any]]:
    """Link the contacts, change each on both sides, then one ``sync --all``: its outcomes
    (and whether contacts overlapped), each contact's requests in order, and what both
    sides hold after it."""
    sandbox.hooks.reset()
    platform = driver(kind, folder)
    with fresh_database_url(backend, folder) as url:
        settings = engine_settings(sandbox.base_url, url)
        local = LocalSettings(
            adapter=platform.adapter, reference_source="portal", **platform.options()
        )
        settings = settings.model_copy(
            update={"local": local, "sync": SyncSettings(concurrency=concurrency)}
        )
        with open_app(settings, {"CRMPLUS_API_TOKEN": SANDBOX_TOKEN}) as app:
            for contact_id in CONTACTS:
                app.runner().run_one(contact_id)
            for contact_id in CONTACTS:
                platform.edit(contact_id, lambda d, c=contact_id: d.update(description=f"p{c}"))
                sandbox.hooks.ui_edit(
                    contact_id, {"website": f"https://crm.example.org/{contact_id}"}
                )
            sandbox.hooks.add_fault(Fault("PUT", rf"^/api/Contact/{FAILING}$", status=400))
            sandbox.hooks.clear_requests()
            sandbox.hooks.set_latency(0.05)
            summary = app.runner().run_all(force=True)
            sandbox.hooks.set_latency(0.0)
            assert app.journal.unresolved() == []
    per_contact: dict[int, list[str]] = defaultdict(list)
    order: list[int] = []  # whose request each was, in the order the sandbox got them
    for request in sandbox.hooks.requests():
        tail = request.path.rsplit("/", 1)[-1]
        if tail.isdigit():
            per_contact[int(tail)].append(f"{request.method} {request.path} {request.status}")
            order.append(int(tail))
    held = {c: (snapshot(sandbox, c), strip_audit(platform.read(c))) for c in CONTACTS}
    outcomes = {str(r.contact_id): r.outcome for r in summary.reports}
    outcomes["overlapped"] = str(_interleaved(order))
    return outcomes, dict(per_contact), held


def _interleaved(order: list[int]) -> bool:
    """Whether another contact's request came between two of one contact's."""
    spans = {c: (order.index(c), len(order) - order[::-1].index(c)) for c in set(order)}
    return any(order[first:last].count(c) != last - first for c, (first, last) in spans.items())


@pytest.mark.parametrize("kind", ["files", "sql"])
def test_several_contacts_at_once_end_exactly_where_one_after_the_other_ends(
    sandbox: SandboxServer, database_url: str, kind: str, tmp_path: Path
) -> None:
    backend = "postgres" if database_url.startswith("postgresql") else "sqlite"
    alone = run_all(sandbox, backend, kind, tmp_path / "alone", concurrency=1)
    together = run_all(sandbox, backend, kind, tmp_path / "together", concurrency=4)

    outcomes, per_contact, held = together
    assert alone[0].pop("overlapped") == "False"
    assert outcomes.pop("overlapped") == "True", "the contacts really ran at once"
    assert outcomes == alone[0]
    assert outcomes[str(FAILING)] == "failed"
    assert all(outcomes[str(c)] == "synced" for c in CONTACTS if c != FAILING)
    assert per_contact == alone[1], "each contact's requests in the same order"
    assert held == alone[2], "the same records on both sides"
