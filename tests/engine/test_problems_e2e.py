"""Failures that are not conflicts are kept per contact (or new platform record) for the
reports and the review page, by every way of syncing, and cleared by the next success;
``syncengine report`` shows them beside the conflicts, in its three formats."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from syncengine.bootstrap import App
from syncengine.domain.ports import ProblemKind
from syncengine.sandbox import SandboxServer
from syncengine.sandbox.faults import Fault
from tests.engine.platforms import PlatformDriver
from tests.engine.synced import CONTACT, app, platform
from tests.fixtures.sandbox import SANDBOX_TOKEN

__all__ = ["app", "platform"]  # fixtures used by the tests below


def break_email(doc: dict[str, Any]) -> None:
    doc["contactIndividuals"][0]["contactMethods"][0]["value"] = "not-an-email"


def mend_email(doc: dict[str, Any]) -> None:
    doc["contactIndividuals"][0]["contactMethods"][0]["value"] = "maria.new@example.org"


def test_a_refused_write_is_kept_with_its_field_details_until_the_contact_syncs(
    app: App, platform: PlatformDriver
) -> None:
    app.runner().run_one(4817)
    platform.edit(4817, break_email)
    app.runner().run_all(force=True)
    app.runner().run_all(force=True)  # fails again: one problem, counted twice
    (problem,) = app.problems.list()
    assert (problem.subject, problem.kind, problem.count) == (
        "contact:4817",
        ProblemKind.REFUSED,
        2,
    )
    assert "422" in problem.message
    assert any("value" in str(detail.get("field")) for detail in problem.details)

    platform.edit(4817, mend_email)
    app.runner().run_one(4817)
    assert app.problems.list() == []
    (history,) = app.problems.list(only_open=False)
    assert history.resolved_at is not None


def test_a_malformed_platform_record_is_kept_by_its_key(
    app: App, platform: PlatformDriver, tmp_path: Path
) -> None:
    platform.add_new("broken", {"contactType": 7, "name": ["not", "a", "name"]})
    app.runner().run_all(force=True)
    kinds = {p.key: p.kind for p in app.problems.list()}
    broken = [key for key in kinds if key and "broken" in key]
    assert broken, kinds
    assert kinds[broken[0]] is ProblemKind.MALFORMED


def test_a_contact_gone_from_crm_is_kept_as_missing(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    sandbox.hooks.add_fault(Fault("GET", rf"^/api/Contact/{CONTACT}$", status=404, count=5))
    platform.edit(CONTACT, lambda d: d.update(description="edited after it went"))
    app.runner().run_one(CONTACT)
    (problem,) = app.problems.list(contact_id=CONTACT)
    assert problem.kind is ProblemKind.MISSING
    assert "not in CRM+" in problem.message


def test_a_merge_in_crm_is_kept_as_a_notice_on_the_merged_away_contact(
    app: App, platform: PlatformDriver, sandbox: SandboxServer
) -> None:
    sandbox.hooks.merge(CONTACT, 4817)
    app.runner().run_one(CONTACT)
    (notice,) = app.problems.list(contact_id=CONTACT)
    assert notice.kind is ProblemKind.MERGED
    assert "merged into 4817" in notice.message


def test_the_report_command_shows_conflicts_and_failures_in_three_formats(
    app: App, platform: PlatformDriver, tmp_path: Path
) -> None:
    app.runner().run_one(4817)
    platform.edit(4817, break_email)
    config = tmp_path / "config.yaml"
    config.write_text(_config_yaml(app), encoding="utf-8")
    env = {**os.environ, "SYNCENGINE_CONFIG": str(config), "CRMPLUS_API_TOKEN": SANDBOX_TOKEN}

    def syncengine(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "syncengine", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            cwd=tmp_path,
        )

    def report(*args: str) -> subprocess.CompletedProcess[str]:
        return syncengine("report", *args)

    ran = syncengine("sync", "--all", "--force", "--json")
    assert ran.returncode == 1, ran.stderr  # one contact failed

    as_json = report("--format", "json", "--status", "all")
    assert as_json.returncode == 0, as_json.stderr
    body = json.loads(as_json.stdout)
    assert [p["subject"] for p in body["problems"]] == ["contact:4817"]
    assert body["problems"][0]["kind"] == "refused"
    (run,) = body["runs"]  # the command line's run is recorded like a daemon job's
    assert (run["job"], run["outcome"], run["counts"]["failed"]) == ("sync-all", "ok", 1)

    written = tmp_path / "out" / "failures.csv"
    written.parent.mkdir()
    as_csv = report("--format", "csv", "--problems", "--output", str(written))
    assert as_csv.returncode == 0, as_csv.stderr
    rows = list(csv.DictReader(io.StringIO(written.read_text(encoding="utf-8"))))
    assert [row["subject"] for row in rows] == ["contact:4817"]
    assert not list(written.parent.glob(".*.tmp"))  # written whole, nothing left over

    as_html = report("--format", "html", "--contact", "4817")
    assert as_html.returncode == 0
    assert "contact:4817" in as_html.stdout or "4817" in as_html.stdout
    assert "<script" not in as_html.stdout.lower()

    bad_date = report("--since", "last tuesday")
    assert bad_date.returncode == 2 and "is not a date" in bad_date.stderr
    mixed = report("--format", "json", "--problems")
    assert mixed.returncode == 2 and "--problems goes with --format csv" in mixed.stderr
    future = report("--format", "json", "--since", "2999-01-01")
    assert json.loads(future.stdout)["problems"] == []


def _config_yaml(app: App) -> str:
    """The app's settings as a config file (the token stays in the environment)."""
    settings = app.settings
    return yaml.safe_dump(
        {
            "crm": {"base_url": settings.crm.base_url},
            "database": {"url": settings.database.url},
            "local": settings.local.model_dump(mode="json", exclude_defaults=True),
        }
    )
