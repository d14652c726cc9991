"""``sync`` and ``conflicts`` as a data manager runs them: real commands, the sandbox over
loopback, a files platform, a real database."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from syncengine.cli.main import cli
from syncengine.sandbox import SandboxServer
from tests.fixtures.sandbox import SANDBOX_TOKEN

CONTACT = 4821


@pytest.fixture
def workdir(sandbox_replace: SandboxServer, tmp_path: Path) -> Path:
    (tmp_path / "platform").mkdir()
    (tmp_path / "config.yaml").write_text(
        "local:\n"
        "  adapter: files\n"
        f"  path: {tmp_path / 'platform'}\n"
        "  reference_source: portal\n"
        "sync:\n"
        "  default_policy: newest\n"
        "  policies:\n"
        "    - {path: informalName, policy: manual}\n"
        "  guard: {min_contacts: 1, max_contact_share: 0.5, max_field_share: 0.5}\n"
    )
    return tmp_path


def run(workdir: Path, sandbox: SandboxServer, *args: str) -> Result:
    env = {
        "CRMPLUS_BASE_URL": sandbox.base_url,
        "CRMPLUS_API_TOKEN": SANDBOX_TOKEN,
        "SYNCENGINE_DATABASE_URL": f"sqlite:///{workdir}/mirror.db",
        "SYNCENGINE_CONFIG": str(workdir / "config.yaml"),
    }
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def edit(workdir: Path, contact_id: int, **fields: Any) -> None:
    path = workdir / "platform" / f"{contact_id}.json"
    doc = json.loads(path.read_text())
    doc.update(fields)
    time.sleep(0.02)
    path.write_text(json.dumps(doc))


@pytest.mark.parametrize(
    "command",
    [
        ["sync"],
        ["conflicts"],
        ["conflicts", "list"],
        ["conflicts", "show"],
        ["conflicts", "resolve"],
    ],
)
def test_sync_and_conflict_commands_have_help(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.stdout


def test_sync_needs_exactly_one_of_contact_or_all(
    workdir: Path, sandbox_replace: SandboxServer
) -> None:
    assert run(workdir, sandbox_replace, "sync").exit_code == 2
    assert run(workdir, sandbox_replace, "sync", "--all", "--contact", "1").exit_code == 2


def test_sync_contact_then_dry_run_plan_then_push(
    workdir: Path, sandbox_replace: SandboxServer
) -> None:
    first = run(workdir, sandbox_replace, "sync", "--contact", str(CONTACT), "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["summary"]["pulled"] == 1
    edit(workdir, CONTACT, description="from the portal")

    plan = run(workdir, sandbox_replace, "sync", "--contact", str(CONTACT), "--dry-run", "--json")
    assert plan.exit_code == 0
    (contact,) = json.loads(plan.stdout)["contacts"]
    assert contact["changes"] == [
        {
            "direction": "to_crm",
            "path": "description",
            "kind": "set",
            "old": None,
            "new": "from the portal",
            "rule": None,
        }
    ]
    assert sandbox_replace.hooks.raw_contact(CONTACT)["description"] is None

    done = run(workdir, sandbox_replace, "sync", "--contact", str(CONTACT))
    assert done.exit_code == 0, done.output
    assert "-> CRM+  description" in done.stdout
    assert sandbox_replace.hooks.raw_contact(CONTACT)["description"] == "from the portal"


def test_a_conflict_exits_3_then_is_listed_resolved_and_applied(
    workdir: Path, sandbox_replace: SandboxServer
) -> None:
    assert run(workdir, sandbox_replace, "sync", "--contact", str(CONTACT)).exit_code == 0
    edit(workdir, CONTACT, informalName="Portal Name")
    sandbox_replace.hooks.ui_edit(CONTACT, {"informalName": "CRM Name"})
    result = run(workdir, sandbox_replace, "sync", "--contact", str(CONTACT))
    assert result.exit_code == 3, result.output

    listed = run(workdir, sandbox_replace, "conflicts", "list", "--open", "--json")
    (row,) = json.loads(listed.stdout)
    assert {k: row[k] for k in ("contact_id", "path", "base", "platform", "crm", "status")} == {
        "contact_id": CONTACT,
        "path": "informalName",
        "base": "Eleanor & Thomas",
        "platform": "Portal Name",
        "crm": "CRM Name",
        "status": "open",
    }
    assert row["platform_modified"] and row["crm_modified"]
    assert {"id", "suggestion"} <= set(row)

    shown = run(workdir, sandbox_replace, "conflicts", "show", str(row["id"]))
    assert shown.exit_code == 0 and "Portal Name" in shown.stdout

    dry = run(
        workdir,
        sandbox_replace,
        "conflicts",
        "resolve",
        str(row["id"]),
        "--take",
        "platform",
        "--dry-run",
    )
    assert dry.exit_code == 0
    assert sandbox_replace.hooks.raw_contact(CONTACT)["informalName"] == "CRM Name"

    resolved = run(
        workdir,
        sandbox_replace,
        "conflicts",
        "resolve",
        str(row["id"]),
        "--take",
        "platform",
        "--now",
        "--by",
        "dm@example.org",
    )
    assert resolved.exit_code == 0, resolved.output
    assert sandbox_replace.hooks.raw_contact(CONTACT)["informalName"] == "Portal Name"
    after = json.loads(
        run(workdir, sandbox_replace, "conflicts", "show", str(row["id"]), "--json").stdout
    )
    assert after["status"] == "resolved" and after["resolved_by"] == "dm@example.org"
    assert after["applied_at"] is not None
    assert run(workdir, sandbox_replace, "sync", "--contact", str(CONTACT)).exit_code == 0


def test_resolve_needs_exactly_one_choice(workdir: Path, sandbox_replace: SandboxServer) -> None:
    assert run(workdir, sandbox_replace, "conflicts", "resolve", "1").exit_code == 2
    result = run(workdir, sandbox_replace, "conflicts", "resolve", "999", "--take", "crm")
    assert result.exit_code == 2 and "no conflict #999" in result.stderr


def test_the_guard_stops_a_bulk_change_before_any_write_unless_forced(
    workdir: Path, sandbox_replace: SandboxServer
) -> None:
    for contact_id in (4817, 4818, 4819, 4820, CONTACT):
        assert run(workdir, sandbox_replace, "sync", "--contact", str(contact_id)).exit_code == 0
    for contact_id in (4817, 4818, 4819, 4820):
        edit(workdir, contact_id, description="bad import")
    sandbox_replace.hooks.clear_requests()
    stopped = run(workdir, sandbox_replace, "sync", "--all", "--json")
    assert stopped.exit_code == 1
    assert "would change" in json.loads(stopped.stdout)["stopped"]
    assert not [r for r in sandbox_replace.hooks.requests() if r.method == "PUT"]

    forced = run(workdir, sandbox_replace, "sync", "--all", "--force", "--json")
    assert forced.exit_code == 0, forced.output
    assert json.loads(forced.stdout)["summary"]["pushed"] == 4


def test_a_malformed_platform_document_is_reported_and_left_alone(
    workdir: Path, sandbox_replace: SandboxServer
) -> None:
    bad = workdir / "platform" / "4817.json"
    bad.write_text("{not json")
    result = run(workdir, sandbox_replace, "sync", "--all", "--json")
    assert result.exit_code == 1
    failed = [c for c in json.loads(result.stdout)["contacts"] if c["outcome"] == "failed"]
    assert any("4817.json" in (c["error"] or "") for c in failed)
    assert bad.read_text() == "{not json"


def test_a_missing_platform_folder_is_a_config_error(
    workdir: Path, sandbox_replace: SandboxServer
) -> None:
    (workdir / "platform").rmdir()
    result = run(workdir, sandbox_replace, "sync", "--all")
    assert result.exit_code == 2
    assert "local" in result.stderr


def test_resolving_a_conflict_twice_is_refused(
    workdir: Path, sandbox_replace: SandboxServer
) -> None:
    run(workdir, sandbox_replace, "sync", "--contact", str(CONTACT))
    edit(workdir, CONTACT, informalName="Portal Name")
    sandbox_replace.hooks.ui_edit(CONTACT, {"informalName": "CRM Name"})
    run(workdir, sandbox_replace, "sync", "--contact", str(CONTACT))
    (row,) = json.loads(run(workdir, sandbox_replace, "conflicts", "list", "--json").stdout)
    conflict = str(row["id"])
    assert (
        run(workdir, sandbox_replace, "conflicts", "resolve", conflict, "--take", "crm").exit_code
        == 0
    )
    again = run(workdir, sandbox_replace, "conflicts", "resolve", conflict, "--take", "platform")
    assert again.exit_code == 2
    assert "resolved" in again.stderr
