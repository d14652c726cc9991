"""Hostile or mistaken input, as a table: what is typed or set, the exit code, the words
the user gets, and proof that nothing changed on either side (no request reached CRM+,
the platform folder and the database untouched). Real commands, the sandbox over
loopback, a files platform.
"""

from __future__ import annotations

import json
import socket
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from syncengine.cli.main import cli
from syncengine.sandbox import SandboxServer
from syncengine.sandbox.faults import Fault
from syncengine.sandbox.requestlog import LoggedRequest
from tests.fixtures.db import fresh_database_url
from tests.fixtures.sandbox import SANDBOX_TOKEN

CONTACT = 4821
RANGE = "1<=x<=2147483647"  # click's words for the contact id range

# Short timeouts and no retries: should a case reach for the network after all, it
# fails fast instead of hanging on an unroutable address.
CONFIG = """\
local:
  adapter: files
  path: {platform}
crm:
  timeouts: {{connect: 0.5, read: 2}}
  retry: {{max_attempts: 1}}
"""


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    message: tuple[str, ...]  # each must be in stderr
    env: dict[str, str] = field(default_factory=dict)
    config: str = ""  # appended to the config file
    hidden: tuple[str, ...] = ()  # never in the output (secrets)
    exit_code: int = 2


CASES = [
    # -- contact and conflict ids: usage errors, exit 2, nothing sent (item 7) -----------
    Case("sync-negative", ("sync", "--contact", "-5"), ("--contact", RANGE)),
    Case("sync-zero", ("sync", "--contact", "0"), ("--contact", RANGE)),
    Case("sync-huge", ("sync", "--contact", "99999999999999999999"), (RANGE,)),
    Case("sync-int32-overflow", ("sync", "--contact", "2147483648"), (RANGE,)),
    Case("push-negative", ("push", "--contact", "-1", "--set", "name=x"), (RANGE,)),
    Case("archive-zero", ("archive", "--contact", "0"), (RANGE,)),
    Case("unarchive-huge", ("unarchive", "--contact", "99999999999999999999"), (RANGE,)),
    Case("conflicts-list-zero", ("conflicts", "list", "--contact", "0"), (RANGE,)),
    Case("journal-negative", ("journal", "--contact", "-7"), (RANGE,)),
    Case("conflicts-show-zero", ("conflicts", "show", "0"), ("1<=x",)),
    Case("conflicts-resolve-zero", ("conflicts", "resolve", "0", "--take", "crm"), ("1<=x",)),
    # -- the token in clear: plain http off loopback (item 5) -------------------------------
    Case(
        "http-base-url-from-env",
        ("sync", "--contact", str(CONTACT)),
        ("crm.base_url", "CRMPLUS_BASE_URL", "https://"),
        env={"CRMPLUS_BASE_URL": "http://192.0.2.2:18811"},
    ),
    Case(
        "http-base-url-from-file",
        ("push", "--contact", str(CONTACT), "--set", "name=x"),
        ("crm.base_url", "https://"),
        env={"CRMPLUS_BASE_URL": ""},
        config="  base_url: http://192.0.2.2:18811\n",
    ),
    # -- secrets that cannot be sent (item 10) ------------------------------------------------
    Case(
        "blank-token",
        ("sync", "--contact", str(CONTACT)),
        ("CRMPLUS_API_TOKEN", "blank"),
        env={"CRMPLUS_API_TOKEN": "  \n"},
    ),
    Case(
        "token-with-a-header-injection",
        ("push", "--contact", str(CONTACT), "--set", "name=x"),
        ("CRMPLUS_API_TOKEN",),
        env={"CRMPLUS_API_TOKEN": f"{SANDBOX_TOKEN}\r\nX-Injected: yes"},
        hidden=("X-Injected", SANDBOX_TOKEN),
    ),
    Case(
        "non-ascii-token",
        ("sync", "--contact", str(CONTACT)),
        ("CRMPLUS_API_TOKEN",),
        env={"CRMPLUS_API_TOKEN": "sändbox-tökén"},
        hidden=("sändbox-tökén",),
    ),
    Case(
        "blank-password",
        ("sync", "--contact", str(CONTACT)),
        ("CRMPLUS_PASSWORD",),
        env={"CRMPLUS_USERNAME": "sync@example.org", "CRMPLUS_PASSWORD": "\r\n"},
        config="  auth: {mode: password}\n",
    ),
    # -- the database URL (item 10) ---------------------------------------------------------
    Case(
        "unsupported-database-from-env",
        ("sync", "--contact", str(CONTACT)),
        ("database.url", "SYNCENGINE_DATABASE_URL", "notadb"),
        env={"SYNCENGINE_DATABASE_URL": "notadb://foo"},
    ),
    Case(
        "unsupported-database-from-file",
        ("journal",),
        ("database.url", "notadb"),
        env={"SYNCENGINE_DATABASE_URL": ""},
        config="database:\n  url: notadb://foo\n",
    ),
    Case(
        "unparseable-database-url-with-a-password",
        ("push", "--contact", str(CONTACT), "--set", "name=x"),
        ("database.url",),
        env={"SYNCENGINE_DATABASE_URL": "postgresql://sync:hunter2-secret@127.0.0.1:port/x"},
        hidden=("hunter2-secret",),
    ),
]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "platform").mkdir()
    return tmp_path


def invoke(workdir: Path, sandbox: SandboxServer, case: Case) -> Result:
    config = CONFIG.format(platform=workdir / "platform")
    # The case's lines go under the section they name (crm: unless they open their own).
    extra = case.config
    if extra and not extra.startswith("database:"):
        config = config.replace("crm:\n", "crm:\n" + extra)
    else:
        config += extra
    (workdir / "config.yaml").write_text(config)
    env = {
        "CRMPLUS_BASE_URL": sandbox.base_url,
        "CRMPLUS_API_TOKEN": SANDBOX_TOKEN,
        "SYNCENGINE_DATABASE_URL": f"sqlite:///{workdir}/mirror.db",
        "SYNCENGINE_CONFIG": str(workdir / "config.yaml"),
        **case.env,
    }
    return CliRunner().invoke(cli, list(case.args), env=env, catch_exceptions=False)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_with_words_that_say_why_and_nothing_changes(
    workdir: Path, sandbox_replace: SandboxServer, case: Case
) -> None:
    crm_before = json.dumps(sandbox_replace.hooks.raw_state(), sort_keys=True)
    platform_before = sorted(p.name for p in (workdir / "platform").iterdir())

    result = invoke(workdir, sandbox_replace, case)

    assert result.exit_code == case.exit_code, result.output
    for words in case.message:
        assert words in result.stderr, result.stderr
    for secret in case.hidden:
        assert secret not in result.output
    assert "Traceback" not in result.output
    # Nothing changed on either side, and nothing was even asked of CRM+.
    assert sandbox_replace.hooks.requests() == []
    assert json.dumps(sandbox_replace.hooks.raw_state(), sort_keys=True) == crm_before
    assert sorted(p.name for p in (workdir / "platform").iterdir()) == platform_before
    assert not (workdir / "mirror.db").exists()


def test_a_pasted_token_with_a_trailing_newline_still_works(
    workdir: Path, sandbox_replace: SandboxServer
) -> None:
    case = Case(
        "token-with-newline",
        ("sync", "--contact", str(CONTACT)),
        (),
        env={"CRMPLUS_API_TOKEN": f"{SANDBOX_TOKEN}\n"},
        exit_code=0,
    )
    result = invoke(workdir, sandbox_replace, case)
    assert result.exit_code == 0, result.output
    assert (workdir / "platform" / f"{CONTACT}.json").exists()


def test_a_platform_file_named_beyond_crms_id_range_is_reported_and_the_run_goes_on(
    workdir: Path, sandbox_replace: SandboxServer
) -> None:
    first = Case("first", ("sync", "--contact", str(CONTACT)), (), exit_code=0)
    assert invoke(workdir, sandbox_replace, first).exit_code == 0
    linked = workdir / "platform" / f"{CONTACT}.json"
    linked.write_text(json.dumps({**json.loads(linked.read_text()), "description": "portal"}))
    huge = workdir / "platform" / "99999999999999999999.json"
    huge.write_text('{"name": "Nobody"}')

    case = Case("sync-all", ("sync", "--all", "--force", "--json"), (), exit_code=1)
    result = invoke(workdir, sandbox_replace, case)

    assert result.exit_code == 1, result.output  # one record failed...
    contacts = json.loads(result.stdout)["contacts"]
    (failed,) = [c for c in contacts if c["outcome"] == "failed"]
    assert "99999999999999999999.json" in failed["key"]
    assert "1 to 2147483647" in failed["error"]
    # ...the others were synced all the same, and the bad file was left as it was.
    assert sandbox_replace.hooks.raw_contact(CONTACT)["description"] == "portal"
    assert huge.read_text() == '{"name": "Nobody"}'


# ======================================================================================
# Hostile values and situations that reach the engine
# ======================================================================================
#
# The table above is refused at the door. These get in: a platform record, an answer from
# CRM+, a fault on the wire, a setting. Each row prepares the platform folder and the
# sandbox (first syncs, edits, faults), runs one command and checks: the exit code; the
# words, in the stream the row names; that CRM+ (`raw_state()`) and the platform folder
# (file names and bytes) are exactly as the setup left them, unless the row allows a
# narrow change; which write requests reached CRM+. On every row: no traceback, no raw
# ESC or BEL, and no secret (the sandbox token first) in any output.

Record = dict[str, Any]
Files = dict[str, bytes]

ESC_AND_BEL = ("\x1b", "\x07")
FRESH_EMAIL = "twin.donor@example.net"  # in no seeded contact
OTHER_CONTACTS_EMAIL = "aiko.nakamura@example.org"  # contact 4820's primary email
CLOSED_DATABASE = "postgresql://sync:hunter2-secret@127.0.0.1:1/x"
WRONG_TOKEN = "wrong-token-7f3a9c"
# What any CRM user can type: an OSC window title ended by BEL, then an SGR colour.
TITLE_AND_COLOUR = "\x1b]0;pwned\x07\x1b[31mred"
LONG_DESCRIPTION = "\x1b[2J" + "The quick brown fox jumps over the lazy dog." * 120
DEEP_ARRAY = "[" * 100_000 + "]" * 100_000
NESTED_TOO_DEEP = '{"description": ' + DEEP_ARRAY + "}"

# Short timeouts, one quick retry: a row that reaches for a dead address fails fast.
BASE_CONFIG: dict[str, Any] = {
    "local": {"adapter": "files"},
    "crm": {
        "timeouts": {"connect": 0.5, "read": 2},
        "retry": {"max_attempts": 2, "backoff_initial": 0, "backoff_max": 0},
    },
}


def _merged(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def _plain(data: Any) -> Any:
    """``data`` as JSON would carry it: comparable whatever types the sandbox keeps."""
    return json.loads(json.dumps(data, sort_keys=True, default=str))


@dataclass
class Stage:
    """One row's world: a platform folder, the sandbox, a database; ``env`` holds what
    the setup adds to the environment of the command under test."""

    root: Path
    sandbox: SandboxServer
    database_url: str
    env: dict[str, str] = field(default_factory=dict)

    @property
    def platform(self) -> Path:
        return self.root / "platform"

    def document(self, contact_id: int) -> Path:
        return self.platform / f"{contact_id}.json"

    def run(
        self,
        *args: str,
        config: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> Result:
        settings = _merged(BASE_CONFIG, {"local": {"path": str(self.platform)}})
        (self.root / "config.yaml").write_text(yaml.safe_dump(_merged(settings, config or {})))
        environment = {
            "CRMPLUS_BASE_URL": self.sandbox.base_url,
            "CRMPLUS_API_TOKEN": SANDBOX_TOKEN,
            "SYNCENGINE_DATABASE_URL": self.database_url,
            "SYNCENGINE_CONFIG": str(self.root / "config.yaml"),
            **(env or {}),
        }
        return CliRunner().invoke(cli, list(args), env=environment, catch_exceptions=True)

    def first_sync(self, *contact_ids: int) -> None:
        for contact_id in contact_ids:
            result = self.run("sync", "--contact", str(contact_id))
            assert result.exit_code == 0, f"setup: sync --contact {contact_id}: {result.output}"

    def change_document(self, contact_id: int, change: Callable[[Record], None]) -> None:
        path = self.document(contact_id)
        document = json.loads(path.read_text())
        change(document)
        time.sleep(0.02)  # a modification time the last sync did not see
        path.write_text(json.dumps(document))

    def files(self) -> Files:
        return {p.name: p.read_bytes() for p in self.platform.iterdir() if p.is_file()}

    def conflicts_open(self) -> list[Record]:
        listed = self.run("conflicts", "list", "--open", "--json")
        assert listed.exit_code == 0, listed.output
        rows: list[Record] = json.loads(listed.stdout)
        return rows


Setup = Callable[[Stage], None]
Check = Callable[[Stage, Result], None]
CrmAllowance = Callable[[Record, Record], None]  # (before, after), asserts
PlatformAllowance = Callable[[Files, Files], None]  # (before, after), asserts


# -- setup steps ---------------------------------------------------------------------------


def steps(*parts: Setup) -> Setup:
    def setup(stage: Stage) -> None:
        for part in parts:
            part(stage)

    return setup


def synced(*contact_ids: int) -> Setup:
    """First syncs: the platform holds these contacts, the mirror knows them."""
    return lambda stage: stage.first_sync(*contact_ids)


def edited(contact_id: int, **fields: Any) -> Setup:
    """The platform changes top-level fields of its copy of the contact."""
    return lambda stage: stage.change_document(contact_id, lambda doc: doc.update(fields))


def edited_each(contact_ids: Sequence[int], field_name: str) -> Setup:
    """A platform edit on each contact: ``field_name`` = "portal note <id>"."""
    return steps(*(edited(c, **{field_name: f"portal note {c}"}) for c in contact_ids))


def ran(exit_code: int, *args: str) -> Setup:
    """A command the setup runs, ending as expected (a conflict opened by a sync, say)."""

    def setup(stage: Stage) -> None:
        result = stage.run(*args)
        assert result.exit_code == exit_code, f"setup: {' '.join(args)}: {result.output}"

    return setup


def written(name: str, text: str) -> Setup:
    def setup(stage: Stage) -> None:
        time.sleep(0.02)
        (stage.platform / name).write_text(text)

    return setup


def new_record(key: str, name: str, email: str) -> Setup:
    """A platform record not in CRM+ yet, in the CRM+ Contact shape."""
    document = {
        "name": name,
        "contactType": "Household",
        "contactIndividuals": [
            {
                "firstName": name,
                "lastName": "Twin",
                "isPrimary": True,
                "contactMethods": [{"type": "Home Email", "value": email, "isPrimary": True}],
            }
        ],
    }
    return written(f"new-{key}.json", json.dumps(document))


def fault(method: str, path: str, **behaviour: Any) -> Setup:
    """A sandbox fault, made at setup time (a fault counts down as it is used)."""

    def setup(stage: Stage) -> None:
        stage.sandbox.hooks.add_fault(Fault(method, path, **behaviour))

    return setup


def ui_edit(contact_id: int, changes: Record) -> Setup:
    """A change made by a person in the CRM+ UI."""

    def setup(stage: Stage) -> None:
        stage.sandbox.hooks.ui_edit(contact_id, changes)

    return setup


def merged(source_id: int, into_id: int, mode: str) -> Setup:
    return lambda stage: stage.sandbox.hooks.merge(source_id, into_id, mode)


def crm_at_a_closed_port(stage: Stage) -> None:
    # A port that was free a moment ago: nothing listens there, connecting is refused.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stage.env["CRMPLUS_BASE_URL"] = f"http://127.0.0.1:{port}"


def email_taken_from_another_contact(stage: Stage) -> None:
    def change(document: Record) -> None:
        primary = document["contactIndividuals"][0]["contactMethods"][0]
        assert primary["type"] == "Home Email", primary
        primary["value"] = OTHER_CONTACTS_EMAIL

    stage.change_document(CONTACT, change)


def new_method_copied_with_its_audit_stamps(stage: Stage) -> None:
    # A platform that adds an email by copying an existing method keeps its read-only
    # stamps (createDateTimeUtc, createdByUser, ...) and drops only the id.
    def change(document: Record) -> None:
        methods = document["contactIndividuals"][0]["contactMethods"]
        copied = {k: v for k, v in methods[0].items() if k != "id"}
        copied.update(type="Other Email", value=FRESH_EMAIL, isPrimary=False)
        methods.append(copied)

    stage.change_document(CONTACT, change)


def crm_answers_with(body: Callable[[Stage], Any]) -> Setup:
    """GET /api/Contact/4821 answers 200 with ``body`` (a broken proxy, a stale cache)."""

    def setup(stage: Stage) -> None:
        stage.sandbox.hooks.add_fault(
            Fault("GET", rf"^/api/Contact/{CONTACT}$", status=200, body=body(stage), count=20)
        )

    return setup


def another_contacts_record(stage: Stage) -> Record:
    record: Record = _plain(stage.sandbox.hooks.raw_contact(4820))
    return record


# -- what may change -------------------------------------------------------------------------


def _contacts(state: Record) -> dict[int, Record]:
    return {int(c["id"]): c for c in state["contacts"]}


def _differing(before: Record, after: Record) -> str:
    old, new = _contacts(before), _contacts(after)
    changed = {
        cid: sorted(k for k in set(old[cid]) | set(new[cid]) if old[cid].get(k) != new[cid].get(k))
        for cid in old.keys() & new.keys()
        if old[cid] != new[cid]
    }
    return (
        f"contacts changed {changed}, created {sorted(new.keys() - old.keys())}, "
        f"removed {sorted(old.keys() - new.keys())}"
    )


def crm_unchanged(before: Record, after: Record) -> None:
    assert after == before, f"CRM+ changed: {_differing(before, after)}"


def crm_contacts_changed(expected: Mapping[int, Mapping[str, Any]]) -> CrmAllowance:
    """Only these contacts may change, each to hold these top-level values."""

    def allowance(before: Record, after: Record) -> None:
        old, new = _contacts(before), _contacts(after)
        assert old.keys() == new.keys(), f"contacts created or removed: {_differing(before, after)}"
        for contact_id, record in new.items():
            if contact_id not in expected:
                assert record == old[contact_id], (
                    f"contact {contact_id} changed: {_differing(before, after)}"
                )
        for contact_id, values in expected.items():
            for name, value in values.items():
                assert new[contact_id][name] == value, (
                    f"contact {contact_id} {name}: {new[contact_id][name]!r}, not {value!r}"
                )
        assert after["customFieldDefinitions"] == before["customFieldDefinitions"]

    return allowance


def _emails(record: Record) -> set[str]:
    return {
        str(method["value"])
        for individual in record.get("contactIndividuals") or []
        for method in individual.get("contactMethods") or []
        if "Email" in str(method.get("type"))
    }


def crm_contact_created_once(email: str) -> CrmAllowance:
    """Exactly one new contact, holding ``email``; the others as they were."""

    def allowance(before: Record, after: Record) -> None:
        old, new = _contacts(before), _contacts(after)
        created = sorted(new.keys() - old.keys())
        assert len(created) == 1, f"{len(created)} contacts created: {created}"
        assert email in _emails(new[created[0]]), _emails(new[created[0]])
        assert {c: new[c] for c in old} == old, f"others changed: {_differing(before, after)}"

    return allowance


def crm_method_added(contact_id: int, email: str) -> CrmAllowance:
    """Only ``contact_id`` changes, and it holds ``email`` afterwards."""

    def allowance(before: Record, after: Record) -> None:
        crm_contacts_changed({contact_id: {}})(before, after)
        assert email in _emails(_contacts(after)[contact_id])

    return allowance


def _files_differing(before: Files, after: Files) -> str:
    changed = sorted(n for n in before.keys() & after.keys() if before[n] != after[n])
    return (
        f"rewritten {changed}, new {sorted(after.keys() - before.keys())}, "
        f"gone {sorted(before.keys() - after.keys())}"
    )


def platform_unchanged(before: Files, after: Files) -> None:
    assert after == before, f"the platform folder changed: {_files_differing(before, after)}"


def platform_rewritten(*names: str) -> PlatformAllowance:
    """These files may be rewritten; no file comes or goes, the others keep their bytes."""

    def allowance(before: Files, after: Files) -> None:
        assert after.keys() == before.keys(), _files_differing(before, after)
        for name in after.keys() - set(names):
            assert after[name] == before[name], _files_differing(before, after)

    return allowance


def platform_new_record_linked(new_name: str) -> PlatformAllowance:
    """``new_name`` becomes ``<contactId>.json``; every other file keeps its bytes."""

    def allowance(before: Files, after: Files) -> None:
        appeared = sorted(after.keys() - before.keys())
        assert before.keys() - after.keys() == {new_name}, _files_differing(before, after)
        assert len(appeared) == 1 and appeared[0][:-5].isdigit(), _files_differing(before, after)
        kept = before.keys() - {new_name}
        assert all(after[n] == before[n] for n in kept), _files_differing(before, after)

    return allowance


def platform_one_new_record_linked(*new_names: str) -> PlatformAllowance:
    """One of ``new_names`` becomes ``<contactId>.json``, the others keep their bytes."""

    def allowance(before: Files, after: Files) -> None:
        gone = before.keys() - after.keys()
        assert len(gone) == 1 and gone <= set(new_names), _files_differing(before, after)
        platform_new_record_linked(next(iter(gone)))(before, after)

    return allowance


# -- checks after the command ------------------------------------------------------------------


def the_record_left_is_named(stage: Stage, result: Result) -> None:
    """The new record not linked is the one the run names as left as it is."""
    (left,) = [name for name in stage.files() if name.startswith("new-")]
    assert f"{left} matches contact" in result.stdout, result.stdout


def a_merge_conflict_is_listed(stage: Stage, _result: Result) -> None:
    rows = [(r["contact_id"], r["path"], r["status"]) for r in stage.conflicts_open()]
    assert (CONTACT, "mergedIntoContactId", "open") in rows, rows


def a_duplicate_value_conflict_is_listed(stage: Stage, _result: Result) -> None:
    rows = stage.conflicts_open()
    assert [(r["contact_id"], r["rule"], r["platform"]) for r in rows] == [
        (CONTACT, "duplicate-value", OTHER_CONTACTS_EMAIL)
    ], rows


def the_platform_holds_the_exact_values(stage: Stage, _result: Result) -> None:
    document = json.loads(stage.document(CONTACT).read_text())
    assert document["informalName"] == TITLE_AND_COLOUR
    assert document["description"] == LONG_DESCRIPTION


def json_holds_the_exact_values(stage: Stage, result: Result) -> None:
    (contact,) = json.loads(result.stdout)["contacts"]
    changes = {c["path"]: c["new"] for c in contact["changes"]}
    assert changes["informalName"] == TITLE_AND_COLOUR, changes
    assert changes["description"] == LONG_DESCRIPTION
    the_platform_holds_the_exact_values(stage, result)


def the_nul_value_reached_the_platform(stage: Stage, _result: Result) -> None:
    document = json.loads(stage.document(4820).read_text())
    assert document["description"] == "before\x00after", document["description"]


@dataclass(frozen=True)
class Situation:
    id: str
    setup: Setup
    args: tuple[str, ...]
    exit_code: int
    stdout: tuple[str, ...] = ()  # each must be in stdout
    stderr: tuple[str, ...] = ()  # each must be in stderr
    absent: tuple[str, ...] = ()  # in neither (words that send the user the wrong way)
    # Every write request (PUT/POST other than a Query) that reached CRM+ during the
    # command, refused or not, as "METHOD /path", in any order.
    writes: tuple[str, ...] = ()
    crm: CrmAllowance = crm_unchanged
    platform: PlatformAllowance = platform_unchanged
    config: Mapping[str, Any] = field(default_factory=dict)  # merged into BASE_CONFIG
    env: Mapping[str, str] = field(default_factory=dict)
    hidden: tuple[str, ...] = ()  # secrets besides the sandbox token
    no_requests: bool = False  # not one request reached CRM+
    then: Check | None = None
    database: str = "sqlite"


def row(situation: Situation, *, defect: str | None = None) -> Any:
    marks: list[pytest.MarkDecorator] = []
    if defect is not None:
        marks.append(pytest.mark.xfail(strict=True, reason=defect))
    if situation.database == "postgres":
        marks.append(pytest.mark.postgres)
    return pytest.param(situation, id=situation.id, marks=marks)


CONTACT_SYNC = ("sync", "--contact", str(CONTACT))
THREE_EDITED = steps(synced(4817, 4818, CONTACT), edited_each((4817, 4818, CONTACT), "description"))
TWO_PUSHED = crm_contacts_changed(
    {4817: {"description": "portal note 4817"}, 4818: {"description": "portal note 4818"}}
)
THREE_PUTS = ("PUT /api/Contact/4817", "PUT /api/Contact/4818", f"PUT /api/Contact/{CONTACT}")
MODEL_STATE = {
    "message": "The request is invalid.",
    "modelState": {"contact.name": ["The Name field is required."]},
}
DETAILS = {
    "error": {
        "code": "validation_failed",
        "message": "Validation failed",
        "details": [
            {"field": "description", "code": "too_long", "message": "Description is too long."}
        ],
    }
}
RATE_LIMITED = {"crm": {"rate_limit": {"max_wait": 0.1}}}
# One contact after the other: a row that stops a run part-way names which contacts were
# done before the stop, which depends on the order when several run at once. Under any
# order the same properties (what was done is reported, nothing is lost) are tested in
# tests/cli/test_run_stops.py and tests/engine/test_budget_stop.py.
IN_TURN = {"sync": {"concurrency": 1}}
SMALL_VALUES = {"sync": {"max_value_size": 1024}}

SITUATIONS = [
    # -- the platform's records -------------------------------------------------------------
    row(
        Situation(
            "wrong-typed-platform-field-is-refused-naming-file-and-field",
            steps(synced(CONTACT), edited(CONTACT, isPrivate="yes please")),
            CONTACT_SYNC,
            exit_code=1,
            stderr=(f"/platform/{CONTACT}.json", "isPrivate", "yes please"),
        )
    ),
    row(
        Situation(
            "platform-array-holding-a-string-is-refused-and-no-tag-is-deleted",
            steps(synced(CONTACT), edited(CONTACT, tags="Major Donor")),
            CONTACT_SYNC,
            exit_code=1,
            stderr=(f"{CONTACT}.json", "tags"),
        ),
    ),
    row(
        Situation(
            "platform-individuals-holding-an-object-are-refused-and-nobody-is-deleted",
            steps(synced(CONTACT), edited(CONTACT, contactIndividuals={"firstName": "Eleanor"})),
            CONTACT_SYNC,
            exit_code=1,
            stderr=(f"{CONTACT}.json", "contactIndividuals"),
        ),
    ),
    row(
        Situation(
            "platform-address-holding-a-string-is-refused-naming-the-address",
            steps(synced(CONTACT), edited(CONTACT, address="somewhere")),
            CONTACT_SYNC,
            exit_code=1,
            stderr=(f"{CONTACT}.json", "address"),
        )
    ),
    row(
        Situation(
            "platform-id-disagreeing-with-its-file-name-is-refused",
            steps(synced(CONTACT), edited(CONTACT, id=4820, description="portal")),
            CONTACT_SYNC,
            exit_code=1,
            stderr=(f"{CONTACT}.json", "disagrees"),
        )
    ),
    row(
        Situation(
            "platform-edits-to-read-only-fields-send-nothing",
            steps(
                synced(CONTACT),
                edited(
                    CONTACT,
                    createdByUser="Mallory",
                    modifiedDateTimeUtc="2099-01-01T00:00:00",
                    lifeToDateGiving=1_000_000,
                    contactGiftsUrl="https://evil.example/",
                ),
            ),
            CONTACT_SYNC,
            exit_code=0,
            stdout=(f"contact {CONTACT}: unchanged",),
        )
    ),
    row(
        Situation(
            "platform-new-method-copied-with-audit-stamps-is-pushed-and-verified",
            steps(synced(CONTACT), new_method_copied_with_its_audit_stamps),
            CONTACT_SYNC,
            exit_code=0,
            stdout=(f"contact {CONTACT}: pushed", FRESH_EMAIL),
            absent=("does not show the change",),
            writes=(f"PUT /api/Contact/{CONTACT}",),
            crm=crm_method_added(CONTACT, FRESH_EMAIL),
        ),
    ),
    row(
        Situation(
            "malformed-platform-json-is-reported-by-file-name-and-the-run-goes-on",
            steps(
                synced(4817, CONTACT),
                edited(4817, description="portal note 4817"),
                written(f"{CONTACT}.json", "{not json"),
            ),
            ("sync", "--all"),
            exit_code=1,
            stdout=(f"{CONTACT}.json", "invalid JSON", "contact 4817: pushed"),
            writes=("PUT /api/Contact/4817",),
            crm=crm_contacts_changed({4817: {"description": "portal note 4817"}}),
        )
    ),
    row(
        Situation(
            "malformed-platform-json-fails-sync-contact-naming-the-file",
            steps(synced(CONTACT), written(f"{CONTACT}.json", "{not json")),
            CONTACT_SYNC,
            exit_code=1,
            stderr=(f"{CONTACT}.json", "invalid JSON"),
        )
    ),
    row(
        Situation(
            "platform-json-nested-too-deep-is-reported-and-the-run-goes-on",
            steps(
                synced(4817, CONTACT),
                edited(4817, description="portal note 4817"),
                written(f"{CONTACT}.json", NESTED_TOO_DEEP),
            ),
            ("sync", "--all"),
            exit_code=1,
            stdout=(f"{CONTACT}.json", "contact 4817: pushed"),
            writes=("PUT /api/Contact/4817",),
            crm=crm_contacts_changed({4817: {"description": "portal note 4817"}}),
        ),
    ),
    row(
        Situation(
            "platform-json-nested-too-deep-fails-sync-contact-naming-the-file",
            steps(synced(CONTACT), written(f"{CONTACT}.json", NESTED_TOO_DEEP)),
            CONTACT_SYNC,
            exit_code=1,
            stderr=(f"{CONTACT}.json",),
        ),
    ),
    row(
        Situation(
            "platform-value-over-max-value-size-is-refused-naming-field-and-limit",
            steps(synced(CONTACT), edited(CONTACT, description="x" * 2000)),
            CONTACT_SYNC,
            exit_code=1,
            stderr=(f"{CONTACT}.json", "description", "1,024 bytes", "sync.max_value_size"),
            config=SMALL_VALUES,
        )
    ),
    row(
        Situation(
            "two-new-records-with-one-email-create-one-contact-and-leave-the-second",
            steps(new_record("a", "Ann", FRESH_EMAIL), new_record("b", "Bea", FRESH_EMAIL)),
            ("sync", "--all", "--force"),
            exit_code=1,  # the second cannot be synced: a person must merge or fix it
            stdout=("two platform records for one contact", "left as it is"),
            absent=("changed on the platform while syncing",),
            writes=("POST /api/Contact",),
            crm=crm_contact_created_once(FRESH_EMAIL),
            # Created concurrently, either one may take the email first (whichever the
            # run reaches first): one is created and linked, the other left and named.
            platform=platform_one_new_record_linked("new-a.json", "new-b.json"),
            then=the_record_left_is_named,
        )
    ),
    row(
        Situation(
            "hostile-new-record-file-name-never-reaches-the-terminal-raw",
            steps(synced(CONTACT), written(f"new-{TITLE_AND_COLOUR}.json", "{}")),
            ("sync", "--all"),
            exit_code=1,
            stdout=("\\x1b]0;pwned\\x07", "needs a 'name'"),
        ),
    ),
    # -- what CRM+ answers ----------------------------------------------------------------------
    row(
        Situation(
            "crm-400-model-state-fails-the-contact-with-its-field-lines-and-the-run-goes-on",
            steps(
                THREE_EDITED,
                fault("PUT", rf"^/api/Contact/{CONTACT}$", status=400, body=MODEL_STATE),
            ),
            ("sync", "--all"),
            exit_code=1,
            stdout=(
                "contact 4817: pushed",
                "contact 4818: pushed",
                f"contact {CONTACT}: failed",
                "HTTP 400",
                "  - name: The Name field is required.",
            ),
            writes=THREE_PUTS,
            crm=TWO_PUSHED,
        )
    ),
    row(
        Situation(
            "crm-422-details-fail-the-contact-with-its-field-lines-and-the-run-goes-on",
            steps(
                THREE_EDITED, fault("PUT", rf"^/api/Contact/{CONTACT}$", status=422, body=DETAILS)
            ),
            ("sync", "--all"),
            exit_code=1,
            stdout=(
                "contact 4817: pushed",
                "contact 4818: pushed",
                f"contact {CONTACT}: failed",
                "HTTP 422",
                "  - description: Description is too long.",
            ),
            writes=THREE_PUTS,
            crm=TWO_PUSHED,
        )
    ),
    row(
        Situation(
            "crm-409-on-an-email-another-contact-owns-opens-a-listed-conflict",
            steps(synced(CONTACT), email_taken_from_another_contact),
            CONTACT_SYNC,
            exit_code=3,
            stdout=("HTTP 409", "already belongs to another contact", "CONFLICT"),
            writes=(f"PUT /api/Contact/{CONTACT}",),  # refused
            then=a_duplicate_value_conflict_is_listed,
        )
    ),
    row(
        Situation(
            "crm-contact-deleted-without-survivor-leaves-the-platform-record-alone",
            steps(synced(CONTACT), merged(CONTACT, 4820, "gone")),
            CONTACT_SYNC,
            exit_code=1,
            stdout=("not in CRM+", "the platform record was left alone"),
        )
    ),
    row(
        Situation(
            "crm-contact-deleted-without-survivor-is-reported-by-sync-all-after-a-platform-edit",
            steps(
                synced(CONTACT),
                merged(CONTACT, 4820, "gone"),
                edited(CONTACT, description="portal note"),
            ),
            ("sync", "--all"),
            exit_code=1,
            stdout=(f"contact {CONTACT}: failed", "the platform record was left alone"),
        )
    ),
    row(
        Situation(
            "crm-merge-into-a-contact-the-platform-holds-opens-a-listed-conflict",
            steps(synced(CONTACT, 4820), merged(CONTACT, 4820, "pointer")),
            CONTACT_SYNC,
            exit_code=3,
            stdout=("merged into 4820", "holds both"),
            then=a_merge_conflict_is_listed,
        )
    ),
    row(
        Situation(
            "crm-terminal-escapes-are-shown-escaped-in-text",
            steps(
                synced(CONTACT),
                ui_edit(
                    CONTACT, {"informalName": TITLE_AND_COLOUR, "description": LONG_DESCRIPTION}
                ),
            ),
            CONTACT_SYNC,
            exit_code=0,
            stdout=(
                "\\x1b]0;pwned\\x07\\x1b[31mred",
                '"\\x1b[2JThe quick brown fox',
                f"({len(LONG_DESCRIPTION):,} characters)",
            ),
            platform=platform_rewritten(f"{CONTACT}.json"),
            then=the_platform_holds_the_exact_values,
        )
    ),
    row(
        Situation(
            "crm-terminal-escapes-are-kept-exact-in-json",
            steps(
                synced(CONTACT),
                ui_edit(
                    CONTACT, {"informalName": TITLE_AND_COLOUR, "description": LONG_DESCRIPTION}
                ),
            ),
            (*CONTACT_SYNC, "--json"),
            exit_code=0,
            platform=platform_rewritten(f"{CONTACT}.json"),
            then=json_holds_the_exact_values,
        )
    ),
    row(
        Situation(
            "crm-value-over-max-value-size-on-a-synced-contact-is-refused",
            steps(synced(4820), ui_edit(4820, {"description": "y" * 3000})),
            ("sync", "--contact", "4820"),
            exit_code=1,
            stderr=("description", "1,024 bytes", "sync.max_value_size"),
            config=SMALL_VALUES,
        )
    ),
    row(
        Situation(
            "crm-value-over-max-value-size-is-not-written-to-the-platform-on-a-first-sync",
            ui_edit(4820, {"description": "y" * 3000}),
            ("sync", "--contact", "4820"),
            exit_code=1,
            stderr=("description", "1,024 bytes", "sync.max_value_size"),
            config=SMALL_VALUES,
        ),
    ),
    row(
        Situation(
            "crm-answering-an-empty-object-wipes-nothing-and-sends-no-partial-put",
            steps(
                synced(CONTACT),
                edited(CONTACT, description="portal note"),
                crm_answers_with(lambda _stage: {}),
            ),
            CONTACT_SYNC,
            exit_code=1,
            stderr=(f"GET /api/Contact/{CONTACT}",),
        ),
    ),
    row(
        Situation(
            "crm-answering-another-contacts-record-never-overwrites-the-platform",
            steps(synced(CONTACT), crm_answers_with(another_contacts_record)),
            CONTACT_SYNC,
            exit_code=1,
            stderr=(f"GET /api/Contact/{CONTACT}",),
        ),
    ),
    row(
        Situation(
            "crm-answering-html-is-reported-and-nothing-is-written",
            steps(
                synced(CONTACT),
                edited(CONTACT, description="portal note"),
                crm_answers_with(lambda _stage: "<html>maintenance</html>"),
            ),
            CONTACT_SYNC,
            exit_code=1,
            stderr=(f"GET /api/Contact/{CONTACT}", "expected a JSON object"),
        )
    ),
    # -- the wire -------------------------------------------------------------------------------
    row(
        Situation(
            "rate-limit-beyond-max-wait-defers-sync-contact-and-changes-nothing",
            steps(
                synced(CONTACT),
                edited(CONTACT, description="portal note"),
                fault("*", r"^/api/", status=429, retry_after=60, count=1000),
            ),
            CONTACT_SYNC,
            exit_code=4,
            stderr=("request budget spent", "(in 60 s)", "Nothing more was sent"),
            config=RATE_LIMITED,
        )
    ),
    row(
        Situation(
            "rate-limit-beyond-max-wait-defers-sync-all-and-changes-nothing",
            steps(
                THREE_EDITED,
                fault("*", r"^/api/", status=429, retry_after=60, count=1000),
            ),
            ("sync", "--all"),
            exit_code=4,
            stderr=("request budget spent", "Nothing more was sent"),
            config=RATE_LIMITED,
        )
    ),
    row(
        Situation(
            "rate-limit-mid-run-defers-the-rest-and-keeps-what-was-pushed",
            steps(
                THREE_EDITED,
                fault(
                    "*", rf"^/api/Contact/(4818|{CONTACT})$", status=429, retry_after=60, count=99
                ),
            ),
            ("sync", "--all"),
            exit_code=4,
            stdout=(
                "contact 4817: pushed",
                "STOPPED at the request budget: 2 contact(s) deferred",
                f"contact 4818, contact {CONTACT}",
            ),
            writes=("PUT /api/Contact/4817",),
            crm=crm_contacts_changed({4817: {"description": "portal note 4817"}}),
            config=RATE_LIMITED | IN_TURN,
        )
    ),
    row(
        Situation(
            "crm-503-on-one-contacts-get-fails-it-and-the-others-sync",
            steps(THREE_EDITED, fault("GET", rf"^/api/Contact/{CONTACT}$", status=503, count=50)),
            ("sync", "--all"),
            exit_code=1,
            stdout=(
                "contact 4817: pushed",
                "contact 4818: pushed",
                f"contact {CONTACT}: failed",
                "HTTP 503",
            ),
            writes=THREE_PUTS[:2],
            crm=TWO_PUSHED,
            config={"crm": {"retry": {"max_attempts": 2, "backoff_initial": 0}}},
        )
    ),
    row(
        Situation(
            "crm-unreachable-fails-sync-contact-saying-nothing-was-written",
            steps(
                synced(CONTACT), edited(CONTACT, description="portal note"), crm_at_a_closed_port
            ),
            CONTACT_SYNC,
            exit_code=1,
            stderr=("CRM+ did not answer", "Nothing was written"),
            absent=("journaled", "may or may not"),
            no_requests=True,
        )
    ),
    row(
        Situation(
            "crm-unreachable-fails-sync-all-saying-nothing-was-written",
            steps(THREE_EDITED, crm_at_a_closed_port),
            ("sync", "--all"),
            exit_code=1,
            stderr=("CRM+ did not answer", "Nothing was written"),
            absent=("journaled", "may or may not"),
            no_requests=True,
        )
    ),
    row(
        Situation(
            "crm-refusing-the-token-on-the-first-request-names-the-variable",
            steps(THREE_EDITED, fault("*", r"^/api/", status=401, count=1000)),
            ("sync", "--all"),
            exit_code=1,
            stderr=("CRM+ refused the API token", "CRMPLUS_API_TOKEN"),
        )
    ),
    row(
        Situation(
            "crm-refusing-the-token-mid-run-stops-it-and-reports-what-was-pushed",
            steps(THREE_EDITED, fault("PUT", r"^/api/Contact/4818$", status=401)),
            ("sync", "--all"),
            exit_code=1,
            stdout=("contact 4817: pushed", "STOPPED part-way: 2 contact(s) not reached"),
            stderr=("CRM+ refused the API token",),
            writes=("PUT /api/Contact/4817", "PUT /api/Contact/4818"),  # the second refused
            crm=crm_contacts_changed({4817: {"description": "portal note 4817"}}),
            config=IN_TURN,
        )
    ),
    row(
        Situation(
            "wrong-api-token-is-refused-and-never-shown",
            steps(synced(CONTACT), edited(CONTACT, description="portal note")),
            CONTACT_SYNC,
            exit_code=1,
            stderr=("CRM+ refused the API token", "CRMPLUS_API_TOKEN"),
            env={"CRMPLUS_API_TOKEN": WRONG_TOKEN},
            hidden=(WRONG_TOKEN,),
        )
    ),
    row(
        Situation(
            "database-unreachable-fails-sync-all-hiding-the-password",
            THREE_EDITED,
            ("sync", "--all"),
            exit_code=1,
            stderr=("cannot connect to the database", "127.0.0.1:1"),
            env={"SYNCENGINE_DATABASE_URL": CLOSED_DATABASE},
            hidden=("hunter2-secret",),
            no_requests=True,
        )
    ),
    row(
        Situation(
            "database-unreachable-fails-sync-contact-hiding-the-password",
            synced(CONTACT),
            CONTACT_SYNC,
            exit_code=1,
            stderr=("cannot connect to the database",),
            env={"SYNCENGINE_DATABASE_URL": CLOSED_DATABASE},
            hidden=("hunter2-secret",),
            no_requests=True,
        )
    ),
    row(
        Situation(
            "crm-nul-character-is-synced-on-postgres-and-the-run-goes-on",
            steps(
                synced(4820, CONTACT),
                ui_edit(4820, {"description": "before\x00after"}),
                edited(CONTACT, description="portal note"),
            ),
            ("sync", "--all"),
            exit_code=0,
            stdout=("contact 4820: pulled", f"contact {CONTACT}: pushed"),
            writes=(f"PUT /api/Contact/{CONTACT}",),
            crm=crm_contacts_changed({CONTACT: {"description": "portal note"}}),
            platform=platform_rewritten("4820.json"),
            then=the_nul_value_reached_the_platform,
            database="postgres",
        )
    ),
    # -- values typed on the command line that reach the engine's JSON parser -----------------
    row(
        Situation(
            "push-value-nested-too-deep-is-a-usage-error",
            synced(CONTACT),
            ("push", "--contact", str(CONTACT), "--set", f"description={DEEP_ARRAY}"),
            exit_code=2,
            stderr=("error:", "description"),
            no_requests=True,
        ),
    ),
    row(
        Situation(
            "conflicts-resolve-value-nested-too-deep-is-a-usage-error",
            steps(
                synced(CONTACT),
                email_taken_from_another_contact,
                ran(3, *CONTACT_SYNC),
            ),
            ("conflicts", "resolve", "1", "--value", DEEP_ARRAY),
            exit_code=2,
            stderr=("--value",),
            no_requests=True,
            then=a_duplicate_value_conflict_is_listed,  # still open, as it was
        ),
    ),
    # -- settings -------------------------------------------------------------------------------
    row(
        Situation(
            "misspelt-setting-is-refused-naming-the-key",
            synced(CONTACT),
            CONTACT_SYNC,
            exit_code=2,
            stderr=("sync.polcies", "unknown setting"),
            config={"sync": {"polcies": []}},
            no_requests=True,
        )
    ),
    row(
        Situation(
            "negative-max-value-size-is-refused-naming-the-key-and-the-minimum",
            synced(CONTACT),
            CONTACT_SYNC,
            exit_code=2,
            stderr=("sync.max_value_size", "1024"),
            config={"sync": {"max_value_size": -1}},
            no_requests=True,
        )
    ),
]


def _writes(requests: Sequence[LoggedRequest]) -> list[str]:
    return sorted(
        f"{r.method} {r.path}"
        for r in requests
        if r.method in ("PUT", "POST", "PATCH", "DELETE") and "/Query/" not in r.path
    )


@pytest.mark.parametrize("situation", SITUATIONS)
def test_hostile_values_reaching_the_engine_change_only_what_the_row_allows(
    tmp_path: Path, sandbox_replace: SandboxServer, situation: Situation
) -> None:
    """The setup leaves a baseline; the command may change only what the row allows, says
    what the row expects, and never shows a traceback, a raw ESC/BEL or a secret."""
    tag = f"[{situation.id}]"
    hooks = sandbox_replace.hooks
    (tmp_path / "platform").mkdir()
    with fresh_database_url(situation.database, tmp_path) as database_url:
        stage = Stage(tmp_path, sandbox_replace, database_url)
        try:
            situation.setup(stage)
        except AssertionError as exc:
            raise AssertionError(f"{tag} {exc}") from None
        hooks.clear_requests()
        crm_before = _plain(hooks.raw_state())
        files_before = stage.files()

        result = stage.run(
            *situation.args, config=situation.config, env={**situation.env, **stage.env}
        )

        requests = hooks.requests()
        hooks.clear_faults()  # what the checks below ask of CRM+ is answered normally
        out, err = result.stdout, result.stderr
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            trace = "".join(traceback.format_exception(result.exception))
            pytest.fail(f"{tag} uncaught {type(result.exception).__name__}:\n{trace[-3000:]}")
        assert result.exit_code == situation.exit_code, (
            f"{tag} exit {result.exit_code}, not {situation.exit_code}\n{out}\n{err}"
        )
        for words in situation.stdout:
            assert words in out, f"{tag} {words!r} not in stdout:\n{out}\n{err}"
        for words in situation.stderr:
            assert words in err, f"{tag} {words!r} not in stderr:\n{err}"
        for words in situation.absent:
            assert words not in out + err, f"{tag} {words!r} misleads:\n{out}\n{err}"
        assert "Traceback" not in out + err, f"{tag} a traceback:\n{err}"
        for char in ESC_AND_BEL:
            assert char not in out + err, f"{tag} raw {char!r} reached the terminal"
        for secret in (SANDBOX_TOKEN, *situation.hidden):
            assert secret not in out + err, f"{tag} a secret was shown"
        if situation.no_requests:
            sent = [f"{r.method} {r.path}" for r in requests]
            assert not sent, f"{tag} requests reached CRM+: {sent}"
        assert _writes(requests) == sorted(situation.writes), (
            f"{tag} writes {_writes(requests)}, not {sorted(situation.writes)}"
        )
        try:
            situation.crm(crm_before, _plain(hooks.raw_state()))
            situation.platform(files_before, stage.files())
            if situation.then is not None:
                situation.then(stage, result)
        except AssertionError as exc:
            raise AssertionError(f"{tag} {exc}") from None
