"""What text output shows of hostile or huge values, and of whole records: control
characters escaped, long values shortened, a written record as one line; ``--json``
exact. Real commands, the sandbox over loopback, a files platform, a real database."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from syncengine.cli.main import cli
from syncengine.cli.render import render_run
from syncengine.engine.run_all import RunSummary
from syncengine.engine.sync import ContactReport
from syncengine.sandbox import SandboxServer
from syncengine.sandbox.faults import Fault
from tests.fixtures.sandbox import SANDBOX_TOKEN

CONTACT = 4821
# An SGR colour, an OSC window title ended by BEL, a C1 CSI, DEL, a right-to-left
# override, a line break and a carriage return: what any CRM user can type into a field.
HOSTILE = "\x1b[31mRed\x1b]0;pwned\x07 \x9b2J\x7f \u202eevil\u2066 line\nnext\rover"
RAW = ["\x1b", "\x07", "\x9b", "\x7f", "\u202e", "\u2066", "\r"]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "platform").mkdir()
    (tmp_path / "config.yaml").write_text(
        f"local:\n  adapter: files\n  path: {tmp_path / 'platform'}\n"
        "sync:\n  policies:\n    - {path: informalName, policy: manual}\n"
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


def assert_escaped(text: str) -> None:
    for char in RAW:
        assert char not in text, f"{char!r} reached the terminal"
    assert "\\x1b[31mRed\\x1b]0;pwned\\x07" in text
    assert "\\u202eevil" in text and "line\\nnext\\rover" in text


# -- terminal escapes (item 6) ---------------------------------------------------------


def test_push_and_journal_show_control_characters_escaped_and_json_keeps_them(
    workdir: Path, sandbox_replace: SandboxServer
) -> None:
    pushed = run(
        workdir,
        sandbox_replace,
        "push",
        "--contact",
        str(CONTACT),
        "--set",
        f"description={HOSTILE}",
    )
    assert pushed.exit_code == 0, pushed.output
    assert_escaped(pushed.stdout)
    assert sandbox_replace.hooks.raw_contact(CONTACT)["description"] == HOSTILE

    journal = run(workdir, sandbox_replace, "journal")
    assert journal.exit_code == 0
    assert_escaped(journal.stdout)

    exact = json.loads(run(workdir, sandbox_replace, "journal", "--json").stdout)
    assert exact[0]["after"] == {"description": HOSTILE}


def test_sync_shows_a_crm_value_with_control_characters_escaped(
    workdir: Path, sandbox_replace: SandboxServer
) -> None:
    assert run(workdir, sandbox_replace, "sync", "--contact", str(CONTACT)).exit_code == 0
    sandbox_replace.hooks.ui_edit(CONTACT, {"description": HOSTILE})

    plan = run(workdir, sandbox_replace, "sync", "--contact", str(CONTACT), "--dry-run")
    assert plan.exit_code == 0, plan.output
    assert "-> platform  description" in plan.stdout
    assert_escaped(plan.stdout)

    exact = run(workdir, sandbox_replace, "sync", "--contact", str(CONTACT), "--dry-run", "--json")
    (contact,) = json.loads(exact.stdout)["contacts"]
    assert contact["changes"][0]["new"] == HOSTILE


def test_conflicts_list_and_show_escape_both_sides_values(
    workdir: Path, sandbox_replace: SandboxServer
) -> None:
    assert run(workdir, sandbox_replace, "sync", "--contact", str(CONTACT)).exit_code == 0
    edit(workdir, CONTACT, informalName=HOSTILE)
    sandbox_replace.hooks.ui_edit(CONTACT, {"informalName": "CRM \x1b[2JName"})
    assert run(workdir, sandbox_replace, "sync", "--contact", str(CONTACT)).exit_code == 3

    listed = run(workdir, sandbox_replace, "conflicts", "list")
    (row,) = json.loads(run(workdir, sandbox_replace, "conflicts", "list", "--json").stdout)
    shown = run(workdir, sandbox_replace, "conflicts", "show", str(row["id"]))

    for result in (listed, shown):
        assert result.exit_code == 0, result.output
        for char in RAW:
            assert char not in result.stdout
        assert "\\x1b" in result.stdout and "\\u202e" in result.stdout
    assert_escaped(shown.stdout)
    assert "CRM \\x1b[2JName" in shown.stdout
    assert (row["platform"], row["crm"]) == (HOSTILE, "CRM \x1b[2JName")


def test_an_error_message_shows_control_characters_escaped(
    workdir: Path, sandbox_replace: SandboxServer
) -> None:
    result = run(
        workdir, sandbox_replace, "push", "--contact", str(CONTACT), "--set", f"{HOSTILE}=x"
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert_escaped(result.stderr)
    assert result.stderr.count("\n") == 1  # the value's line break did not start a line

    as_json = run(
        workdir,
        sandbox_replace,
        "push",
        "--contact",
        str(CONTACT),
        "--set",
        f"{HOSTILE}=x",
        "--json",
    )
    assert HOSTILE in json.loads(as_json.stdout)["message"]


# -- long values (item 9) ----------------------------------------------------------------


def test_a_long_value_is_shortened_to_its_beginning_and_length_in_text_only(
    workdir: Path, sandbox_replace: SandboxServer
) -> None:
    assert run(workdir, sandbox_replace, "sync", "--contact", str(CONTACT)).exit_code == 0
    sandbox_replace.hooks.ui_edit(CONTACT, {"description": "Lorem ipsum dolor sit amet. " * 4000})
    long_text = sandbox_replace.hooks.raw_contact(CONTACT)["description"]  # as CRM+ keeps it
    assert len(long_text) > 100_000

    text = run(workdir, sandbox_replace, "sync", "--contact", str(CONTACT), "--dry-run")
    assert text.exit_code == 0, text.output
    (line,) = [x for x in text.stdout.splitlines() if "description" in x]
    assert line.startswith('  -> platform  description: null -> "Lorem ipsum dolor sit amet.')
    assert line.endswith(f'…" ({len(long_text):,} characters)')
    assert len(line) < 400

    exact = run(workdir, sandbox_replace, "sync", "--contact", str(CONTACT), "--dry-run", "--json")
    (contact,) = json.loads(exact.stdout)["contacts"]
    assert contact["changes"][0]["new"] == long_text


# -- whole records: one line each (item 10) ------------------------------------------------


def test_a_first_sync_prints_where_the_record_was_written_and_its_field_count(
    workdir: Path, sandbox_replace: SandboxServer
) -> None:
    plan = run(workdir, sandbox_replace, "sync", "--contact", str(CONTACT), "--dry-run", "--json")
    (contact,) = json.loads(plan.stdout)["contacts"]
    (change,) = contact["changes"]
    fields = len(change["new"])  # JSON keeps the whole record
    assert fields > 5

    result = run(workdir, sandbox_replace, "sync", "--contact", str(CONTACT))

    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("  -> platform")]
    where = rf"(platform record {CONTACT}|\S*{CONTACT}\.json)"
    assert re.fullmatch(rf"  -> platform  written {where} \({fields} fields\)", line), line
    assert "{" not in result.stdout


def test_a_created_contact_prints_one_line_naming_the_new_contact_and_its_field_count(
    workdir: Path, sandbox_replace: SandboxServer
) -> None:
    (workdir / "platform" / "new-ab12.json").write_text(
        json.dumps({"name": "Acme Trust", "contactType": "Organization"})
    )

    result = run(workdir, sandbox_replace, "sync", "--all", "--force")

    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.stdout.splitlines() if x.startswith("  -> CRM+")]
    assert re.fullmatch(
        r"  -> CRM\+  created contact \d+ from platform record ab12 \(\d+ fields\)", line
    ), line
    assert "{" not in result.stdout


# -- per-field details of a refused write in sync (item 10) ----------------------------------


def test_the_fields_crm_refused_are_listed_under_the_contacts_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = ContactReport(
        CONTACT,
        outcome="failed",
        error="PUT /api/Contact/4821: HTTP 400: The request is invalid.",
        problems=[
            {"field": "address.city", "message": "too long", "code": None},
            {"field": "birthYear", "message": "\x1b[31mnot a year", "code": "Range"},
        ],
    )

    render_run(RunSummary(dry_run=False, reports=[report]), open_conflicts=0)

    out = capsys.readouterr().out.splitlines()
    at = out.index("  ERROR: PUT /api/Contact/4821: HTTP 400: The request is invalid.")
    assert out[at + 1 : at + 3] == [
        "    - address.city: too long",
        "    - birthYear: \\x1b[31mnot a year",
    ]


def test_a_400_during_sync_shows_the_refused_fields_like_push_does(
    workdir: Path, sandbox_replace: SandboxServer
) -> None:
    assert run(workdir, sandbox_replace, "sync", "--contact", str(CONTACT)).exit_code == 0
    edit(workdir, CONTACT, description="from the portal")
    sandbox_replace.hooks.add_fault(
        Fault(
            "PUT",
            r"^/api/Contact/4821$",
            status=400,
            body={
                "message": "The request is invalid.",
                "modelState": {"contact.description": ["too long"]},
            },
        )
    )

    result = run(workdir, sandbox_replace, "sync", "--all")

    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    at = next(n for n, line in enumerate(lines) if line.startswith("  ERROR: "))
    assert lines[at + 1] == "    - description: too long"
