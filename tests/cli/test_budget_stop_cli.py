"""A ``sync --all`` that runs out of the request budget says so: the contacts it did not
get to are listed as deferred (text and ``--json``), the run is recorded ``deferred``,
and it exits 4; a ``push`` that cannot get the budget sends nothing and says when it
resets. Real commands, the sandbox over loopback, a files platform, SQLite."""

from __future__ import annotations

import json
from pathlib import Path

from syncengine.sandbox import SandboxServer
from syncengine.store import SqlRunLog, make_engine
from tests.cli.test_run_stops import synced
from tests.cli.test_sync_cli import run, workdir
from tests.engine.test_budget_stop import avoid_the_top_of_the_hour, remaining

__all__ = ["synced", "workdir"]  # fixtures, imported for pytest


def keep_in_reserve(workdir: Path, reserve: int) -> None:
    with (workdir / "config.yaml").open("a") as config:
        config.write(f"crm:\n  rate_limit: {{reserve: {reserve}, max_wait: 5}}\n")


def test_a_run_out_of_budget_lists_the_deferred_contacts_and_exits_4(
    synced: Path, sandbox_replace: SandboxServer
) -> None:
    avoid_the_top_of_the_hour()
    # The bulk query, then one contact (let in for 3, it spends 2): 3 contacts changed.
    keep_in_reserve(synced, remaining(sandbox_replace) - 4)

    result = run(synced, sandbox_replace, "sync", "--all", "--force")

    assert result.exit_code == 4, result.output
    assert "STOPPED at the request budget: 2 contact(s) deferred to the next run" in result.stdout
    assert "left for the next run" in result.stdout
    assert "deferred 2" in result.stdout and "failed 0" in result.stdout
    (recorded,) = SqlRunLog(make_engine(f"sqlite:///{synced}/mirror.db")).latest(1)
    assert recorded.job == "sync-all" and recorded.outcome == "deferred"
    assert recorded.counts["deferred"] == 2 and recorded.counts["failed"] == 0
    assert recorded.error is not None and "max wait" in recorded.error


def test_a_run_out_of_budget_in_json(synced: Path, sandbox_replace: SandboxServer) -> None:
    avoid_the_top_of_the_hour()
    keep_in_reserve(synced, remaining(sandbox_replace) - 4)

    result = run(synced, sandbox_replace, "sync", "--all", "--force", "--json")

    assert result.exit_code == 4, result.output
    payload = json.loads(result.stdout)
    assert payload["summary"]["deferred"] == 2 and payload["summary"]["failed"] == 0
    deferred = [c for c in payload["contacts"] if c["outcome"] == "deferred"]
    assert len(deferred) == 2 and all(c["error"] is None for c in deferred)
    assert payload["budget_stop"]["resets_at"]
    assert payload["aborted"] is None


def test_a_push_without_budget_sends_nothing_and_says_when_it_resets(
    synced: Path, sandbox_replace: SandboxServer
) -> None:
    avoid_the_top_of_the_hour()
    keep_in_reserve(synced, remaining(sandbox_replace) - 1)  # the GET, then nothing
    sandbox_replace.hooks.clear_requests()

    result = run(synced, sandbox_replace, "push", "--contact", "4817", "--set", "description=late")

    assert result.exit_code == 4, result.output
    assert "request budget spent" in result.stderr and "resets at" in result.stderr
    assert [r.method for r in sandbox_replace.hooks.requests()] == ["GET"]
    assert sandbox_replace.hooks.raw_contact(4817)["description"] != "late"
