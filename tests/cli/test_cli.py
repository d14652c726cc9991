"""The command line end to end: real commands, the real sandbox over loopback, a real
database; exit codes, JSON output and error messages as a user sees them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from syncengine.cli.main import cli
from syncengine.sandbox import SandboxServer
from syncengine.sandbox.faults import Fault
from tests.fixtures.sandbox import SANDBOX_TOKEN

CONTACT = 4821


@pytest.fixture
def env(sandbox_replace: SandboxServer, tmp_path: Path) -> dict[str, str]:
    return {
        "CRMPLUS_BASE_URL": sandbox_replace.base_url,
        "CRMPLUS_API_TOKEN": SANDBOX_TOKEN,
        "SYNCENGINE_DATABASE_URL": f"sqlite:///{tmp_path}/cli.db",
        # No config file in the test's folder: built-in defaults plus the above.
        "SYNCENGINE_CONFIG": "",
    }


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["push"],
        ["archive"],
        ["unarchive"],
        ["sandbox"],
        ["demo"],
        ["db"],
        ["db", "upgrade"],
        ["db", "current"],
    ],
)
def test_every_command_has_help(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.stdout


def test_push_changes_the_contact_and_exits_0(
    env: dict[str, str], sandbox_replace: SandboxServer
) -> None:
    result = run(env, "push", "--contact", str(CONTACT), "--set", "address.city=Denver")
    assert result.exit_code == 0, result.output
    assert "address.city" in result.stdout and "Denver" in result.stdout
    assert sandbox_replace.hooks.raw_contact(CONTACT)["address"]["city"] == "Denver"


def test_push_json_describes_each_write(env: dict[str, str]) -> None:
    result = run(env, "push", "--contact", str(CONTACT), "--set", "address.state=ny", "--json")
    assert result.exit_code == 0, result.output
    (write,) = as_json(result)["writes"]
    assert write["endpoint"] == "/api/ContactAddress/48215"
    assert write["outcome"] == "ok"
    assert write["fields"] == [
        {
            "path": "address.state",
            "old": "CO",
            "new": "ny",
            "stored": "NY",
            "reason": "requested",
            "normalised": True,
        }
    ]


def test_dry_run_prints_the_plan_and_writes_nothing(
    env: dict[str, str], sandbox_replace: SandboxServer
) -> None:
    result = run(
        env,
        "push",
        "--contact",
        str(CONTACT),
        "--set",
        "contactIndividuals[id=48212].isDeceased=true",
        "--dry-run",
        "--json",
    )
    assert result.exit_code == 0, result.output
    report = as_json(result)
    assert report["dry_run"] is True
    assert [(f["path"], f["old"], f["new"]) for f in report["writes"][0]["fields"]] == [
        ("contactIndividuals[id=48212].isDeceased", False, True),
        ("contactIndividuals[id=48212].contactMethods[id=482121].isOptedIn", True, False),
    ]
    assert not [r for r in sandbox_replace.hooks.requests() if r.method != "GET"]


def test_a_bad_path_is_a_usage_error_naming_it(env: dict[str, str]) -> None:
    result = run(env, "push", "--contact", str(CONTACT), "--set", "adress.city=Denver")
    assert result.exit_code == 2
    assert "adress" in result.stderr


def test_is_archived_points_to_the_archive_command(env: dict[str, str]) -> None:
    result = run(env, "push", "--contact", str(CONTACT), "--set", "isArchived=true")
    assert result.exit_code == 2
    assert "archive" in result.stderr


def test_an_uncoercible_value_is_refused_before_any_write(
    env: dict[str, str], sandbox_replace: SandboxServer
) -> None:
    result = run(env, "push", "--contact", str(CONTACT), "--set", "anniversaryYear=soon")
    assert result.exit_code == 2
    assert "anniversaryYear" in result.stderr
    assert not [r for r in sandbox_replace.hooks.requests() if r.method == "PUT"]


def test_a_missing_token_is_a_config_error(env: dict[str, str]) -> None:
    env = {**env, "CRMPLUS_API_TOKEN": ""}
    result = run(env, "push", "--contact", str(CONTACT), "--set", "name=x")
    assert result.exit_code == 2
    assert "CRMPLUS_API_TOKEN" in result.stderr


def test_a_refused_token_exits_1_and_never_shows_the_token(env: dict[str, str]) -> None:
    env = {**env, "CRMPLUS_API_TOKEN": "a-wrong-secret-token", "SYNCENGINE_CONFIG": ""}
    result = run(env, "--log-level", "DEBUG", "push", "--contact", str(CONTACT), "--set", "name=x")
    assert result.exit_code == 1
    assert "refused the API token" in result.stderr
    assert "a-wrong-secret-token" not in result.output


def test_an_unknown_contact_says_it_may_be_merged_or_deleted(env: dict[str, str]) -> None:
    result = run(env, "push", "--contact", "999999", "--set", "name=x", "--json")
    assert result.exit_code == 1
    error = as_json(result)
    assert error["status"] == 404 and "merged" in error["message"]


def test_a_409_names_the_colliding_value(env: dict[str, str]) -> None:
    result = run(
        env,
        "push",
        "--contact",
        str(CONTACT),
        "--set",
        "contactIndividuals[id=48212].contactMethods[id=482121].value=maria.alvarez@example.org",
    )
    assert result.exit_code == 1
    assert "maria.alvarez@example.org" in result.stderr and "409" in result.stderr


def test_a_422_lists_the_fields(env: dict[str, str]) -> None:
    result = run(
        env,
        "push",
        "--contact",
        str(CONTACT),
        "--set",
        "contactIndividuals[id=48212].contactMethods[id=482121].value=not-an-email",
        "--json",
    )
    assert result.exit_code == 1
    error = as_json(result)
    assert error["status"] == 422 and error["problems"]


def test_a_400_lists_the_fields(env: dict[str, str], sandbox_replace: SandboxServer) -> None:
    sandbox_replace.hooks.add_fault(
        Fault(
            "PUT",
            "ContactAddress",
            status=400,
            body={
                "message": "The request is invalid.",
                "modelState": {"contactAddress.city": ["too long"]},
            },
        )
    )
    result = run(env, "push", "--contact", str(CONTACT), "--set", "address.city=Denver")
    assert result.exit_code == 1
    assert "city: too long" in result.stderr


def test_a_bad_config_file_names_the_key(env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("crm:\n  retry:\n    max_attempts: many\n")
    result = run(env, "--config", str(config), "push", "--contact", "1", "--set", "name=x")
    assert result.exit_code == 2
    assert "crm.retry.max_attempts" in result.stderr


def test_archive_and_unarchive(env: dict[str, str], sandbox_replace: SandboxServer) -> None:
    assert run(env, "archive", "--contact", str(CONTACT), "--dry-run").exit_code == 0
    assert sandbox_replace.hooks.raw_contact(CONTACT)["isArchived"] is False
    assert run(env, "archive", "--contact", str(CONTACT)).exit_code == 0
    assert sandbox_replace.hooks.raw_contact(CONTACT)["isArchived"] is True
    assert run(env, "unarchive", "--contact", str(CONTACT)).exit_code == 0
    assert sandbox_replace.hooks.raw_contact(CONTACT)["isArchived"] is False


def test_db_upgrade_then_current(env: dict[str, str]) -> None:
    upgraded = run(env, "db", "upgrade", "--json")
    assert upgraded.exit_code == 0, upgraded.output
    current = run(env, "db", "current", "--json")
    assert current.exit_code == 0
    status = as_json(current)
    assert status["up_to_date"] is True and status["current"] == status["head"]


def test_db_current_on_an_empty_database_says_it_needs_an_upgrade(env: dict[str, str]) -> None:
    result = run(env, "db", "current")
    assert result.exit_code == 1
    assert "db upgrade" in result.stdout


def test_demo_runs_and_the_safe_update_loses_nothing() -> None:
    result = CliRunner().invoke(cli, ["demo", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    rows = as_json(result)
    assert len(rows) == 10
    assert all(r["safe"]["ok"] for r in rows)
    assert any(r["naive"]["lost"] for r in rows if r["semantics"] == "replace")


def test_a_database_at_an_older_revision_stops_with_a_pointer_to_db_upgrade(
    env: dict[str, str], sandbox_replace: SandboxServer
) -> None:
    from syncengine.store import make_engine, upgrade

    engine = make_engine(env["SYNCENGINE_DATABASE_URL"])
    upgrade(engine, "0001")
    engine.dispose()
    result = run(env, "push", "--contact", str(CONTACT), "--set", "address.city=Denver")
    assert result.exit_code == 1
    assert "syncengine db upgrade" in result.stderr
    assert not [r for r in sandbox_replace.hooks.requests() if r.method == "PUT"]
    assert run(env, "db", "upgrade").exit_code == 0
    assert (
        run(env, "push", "--contact", str(CONTACT), "--set", "address.city=Denver").exit_code == 0
    )


def test_text_output_shows_paths_exactly_as_they_can_be_typed_back(env: dict[str, str]) -> None:
    result = run(
        env,
        "push",
        "--contact",
        str(CONTACT),
        "--set",
        "contactIndividuals[isPrimary=true].nickname=Nell",
        "--dry-run",
    )
    assert result.exit_code == 0
    assert "contactIndividuals[id=48211].nickname: null -> Nell" in result.stdout
    assert "(individual route)" in result.stdout


def test_the_journal_shows_each_write_attempt(env: dict[str, str]) -> None:
    assert run(env, "push", "--contact", str(CONTACT), "--set", "address.state=ny").exit_code == 0
    result = run(env, "journal", "--contact", str(CONTACT), "--json")
    assert result.exit_code == 0, result.output
    (row,) = as_json(result)
    assert (row["method"], row["endpoint"], row["outcome"]) == (
        "PUT",
        "/api/ContactAddress/48215",
        "ok",
    )
    assert row["before"] == {"address.state": "CO"} and row["after"] == {"address.state": "ny"}
    assert row["stored"] == {"address.state": "NY"}
    assert as_json(run(env, "journal", "--unresolved", "--json")) == []
    text = run(env, "journal")
    assert "address.state: CO -> ny" in text.stdout


def test_an_unreachable_crm_is_reported_without_a_trace(env: dict[str, str]) -> None:
    import socket

    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    env = {**env, "CRMPLUS_BASE_URL": f"http://127.0.0.1:{closed}"}
    result = run(env, "push", "--contact", str(CONTACT), "--set", "name=x")
    assert result.exit_code == 1
    assert "CRM+ did not answer" in result.stderr
    assert "Traceback" not in result.output


def test_an_unreachable_database_is_named_without_its_password(env: dict[str, str]) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    url = f"postgresql://sync:hunter2-secret@127.0.0.1:{closed}/nowhere"
    result = run(
        {**env, "SYNCENGINE_DATABASE_URL": url}, "push", "--contact", "1", "--set", "name=x"
    )
    assert result.exit_code == 1
    assert f"127.0.0.1:{closed}" in result.stderr
    assert "hunter2-secret" not in result.output
