"""Several ``syncengine sync --all`` processes at once, and one killed in the middle.

Real OS processes (``python -m syncengine``), the sandbox served by the test process over
loopback HTTP, a files platform and one shared mirror database (SQLite file, PostgreSQL
schema). The engine must work each contact and each new platform record in one run only
(the run claims of ``syncengine/engine/claims.py``):

- every new platform record is created in CRM+ exactly once (issue 6, item 2: two runs at
  once created 25 duplicates on SQLite, 28 on PostgreSQL);
- every platform edit is pushed exactly once;
- nothing is left pending in the journal, and no claim is left in the claims table;
- a killed run's claims keep the next run off its contacts until they expire, and the run
  after that finishes its work without sending anything twice.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from syncengine.cli.main import cli
from syncengine.domain.ports import Claim, JournalEntry
from syncengine.sandbox import SandboxServer
from syncengine.sandbox.faults import Fault
from syncengine.sandbox.requestlog import LoggedRequest
from syncengine.store import SqlClaimStore, SqlJournal, make_engine
from tests.fixtures.db import backend_params, fresh_database_url
from tests.fixtures.sandbox import SANDBOX_TOKEN, SandboxFactory

REFERENCE_SOURCE = "portal"
FIRST_ID = 5001
SEMANTICS = ["replace", "patch"]
# A process that does not finish in this long is stuck (waiting for a claim forever, say).
PROCESS_TIMEOUT = 90.0
# The sandbox's hourly budget: far above what a test sends, so no run waits for a 429.
HOURLY_LIMIT = 1_000_000
# Matches the whole-record route of one contact: PUT /api/Contact/{id}.
CONTACT_PUT = re.compile(r"^/api/Contact/(\d+)$")


# -- the scene: sandbox, platform folder, database, config -------------------------------------


@dataclass
class Scene:
    sandbox: SandboxServer
    workdir: Path
    folder: Path
    database_url: str
    env: dict[str, str]
    linked: list[int]
    edited: list[int] = field(default_factory=list)
    new_keys: list[str] = field(default_factory=list)

    def process_env(self) -> dict[str, str]:
        return {**os.environ, **self.env}


def seed_contact(contact_id: int) -> dict[str, Any]:
    """A plain household with one person and one email, in the seed format."""
    return {
        "id": contact_id,
        "contactType": "Household",
        "name": f"The {contact_id} Household",
        "informalName": f"Household {contact_id}",
        "description": None,
        "modifiedDateTimeUtc": "2024-05-01T10:00:00.5",
        "contactIndividuals": [
            {
                "id": contact_id * 10 + 1,
                "firstName": f"First{contact_id}",
                "lastName": f"Last{contact_id}",
                "isPrimary": True,
                "contactMethods": [
                    {
                        "id": contact_id * 100 + 1,
                        "type": "Home Email",
                        "value": f"donor{contact_id}@example.org",
                        "isPrimary": True,
                    }
                ],
            }
        ],
    }


def platform_document(contact_id: int) -> dict[str, Any]:
    """What the platform holds of a linked contact: the fields it manages."""
    return {
        "id": contact_id,
        "contactType": "Household",
        "name": f"The {contact_id} Household",
        "description": None,
    }


def new_record_name(key: str) -> str:
    return f"Organisation {key}"


def edited_description(contact_id: int) -> str:
    return f"edited on the portal: {contact_id}"


def write_config(
    workdir: Path,
    folder: Path,
    claims: dict[str, float] | None = None,
    concurrency: int | None = None,
) -> Path:
    config = workdir / "config.yaml"
    sync_yaml = (
        ""
        if claims is None
        else "  claims: {" + ", ".join(f"{k}: {v}" for k, v in claims.items()) + "}\n"
    )
    if concurrency is not None:
        sync_yaml += f"  concurrency: {concurrency}\n"
    config.write_text(
        "local:\n"
        "  adapter: files\n"
        f"  path: {folder}\n"
        f"  reference_source: {REFERENCE_SOURCE}\n"
        "sync:\n"
        "  default_policy: newest\n"
        # Relaxed: these runs change every contact on purpose.
        "  guard: {min_contacts: 1000000, max_contact_share: 1.0, max_field_share: 1.0}\n"
        + sync_yaml
    )
    return config


@contextmanager
def scene(
    sandbox_factory: SandboxFactory,
    tmp_path: Path,
    *,
    backend: str,
    semantics: str,
    contacts: int,
    claims: dict[str, float] | None = None,
    concurrency: int | None = None,
) -> Iterator[Scene]:
    """``contacts`` CRM+ contacts, each linked on the platform by a first ``sync --all``."""
    ids = list(range(FIRST_ID, FIRST_ID + contacts))
    sandbox = sandbox_factory(
        seed={"contacts": [seed_contact(i) for i in ids]},
        put_semantics=semantics,
        hourly_limit=HOURLY_LIMIT,
    )
    folder = tmp_path / "platform"
    folder.mkdir()
    # The platform knows these contacts by their CRM+ ids already (an earlier export).
    for contact_id in ids:
        (folder / f"{contact_id}.json").write_text(json.dumps(platform_document(contact_id)))
    config = write_config(tmp_path, folder, claims, concurrency)
    with fresh_database_url(backend, tmp_path) as url:
        env = {
            "CRMPLUS_BASE_URL": sandbox.base_url,
            "CRMPLUS_API_TOKEN": SANDBOX_TOKEN,
            "SYNCENGINE_DATABASE_URL": url,
            "SYNCENGINE_CONFIG": str(config),
        }
        built = Scene(sandbox, tmp_path, folder, url, env, ids)
        first = CliRunner().invoke(cli, ["sync", "--all", "--force", "--json"], env=env)
        assert first.exit_code == 0, first.output
        summary = json.loads(first.stdout)["summary"]
        assert summary["failed"] == 0 and summary["pushed"] == 0, summary
        assert len(sync_states(url)) == contacts, "every contact is linked after the first sync"
        yield built


def edit_platform(scene: Scene, count: int) -> None:
    """Change ``description`` in ``count`` linked documents, their mtimes moved forward."""
    scene.edited = scene.linked[:count]
    for contact_id in scene.edited:
        path = scene.folder / f"{contact_id}.json"
        before = path.stat().st_mtime
        doc = json.loads(path.read_text())
        doc["description"] = edited_description(contact_id)
        path.write_text(json.dumps(doc))
        later = max(time.time(), before + 1.0)
        os.utime(path, (later, later))


def add_new_records(scene: Scene, count: int) -> None:
    """``new-<key>.json`` with a name and a type only: no email, so only our reference
    (source + key) can tell that a record was created already."""
    scene.new_keys = [f"org{n:03d}" for n in range(count)]
    for key in scene.new_keys:
        (scene.folder / f"new-{key}.json").write_text(
            json.dumps({"name": new_record_name(key), "contactType": "Organization"})
        )


# -- running processes -------------------------------------------------------------------------


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str

    def payload(self) -> dict[str, Any]:
        try:
            parsed = json.loads(self.stdout)
        except ValueError:
            pytest.fail(f"not JSON on stdout: {self.describe()}")
        assert isinstance(parsed, dict), self.describe()
        return parsed

    def describe(self) -> str:
        return (
            f"exit {self.returncode}\n--- stdout (end) ---\n{self.stdout[-3000:]}\n"
            f"--- stderr (end) ---\n{self.stderr[-3000:]}"
        )


SYNC_ALL = [sys.executable, "-m", "syncengine", "sync", "--all", "--force", "--json"]


def start_sync_all(scene: Scene) -> subprocess.Popen[str]:
    return subprocess.Popen(
        SYNC_ALL,
        cwd=scene.workdir,
        env=scene.process_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str]) -> Finished:
    try:
        stdout, stderr = process.communicate(timeout=PROCESS_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(f"sync --all did not finish in {PROCESS_TIMEOUT}s:\n{stderr[-3000:]}")
    return Finished(process.returncode, stdout, stderr)


def run_together(scene: Scene, count: int) -> list[Finished]:
    """``count`` ``sync --all`` processes started at the same moment; all waited for."""
    processes = [start_sync_all(scene) for _ in range(count)]
    with ended(*processes):
        return [finish(p) for p in processes]


def sync_all_once(scene: Scene) -> Finished:
    process = start_sync_all(scene)
    with ended(process):
        return finish(process)


@contextmanager
def ended(*processes: subprocess.Popen[str]) -> Iterator[None]:
    """Whatever happens in the block, no process outlives it (nor writes into the
    database of the next test)."""
    try:
        yield
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()


# -- reading what happened ---------------------------------------------------------------------


def query(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = make_engine(url)
    try:
        with engine.connect() as db:
            return [tuple(row) for row in db.execute(sa.text(sql))]
    finally:
        engine.dispose()


def journal_outcomes(url: str) -> Counter[tuple[str, str]]:
    return Counter((r[0], r[1]) for r in query(url, "SELECT method, outcome FROM journal"))


def claims_left(url: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in query(url, "SELECT subject, owner FROM claims")]


def sync_states(url: str) -> list[int]:
    return [int(r[0]) for r in query(url, "SELECT contact_id FROM sync_state")]


def crm_contacts(sandbox: SandboxServer) -> dict[int, dict[str, Any]]:
    return {int(c["id"]): c for c in sandbox.hooks.raw_state()["contacts"]}


def holders_of_references(sandbox: SandboxServer) -> dict[str, list[int]]:
    """Platform key -> the CRM+ contacts carrying our reference to it."""
    found: dict[str, list[int]] = {}
    for contact_id, contact in crm_contacts(sandbox).items():
        for reference in contact.get("contactReferences") or []:
            if reference.get("source") == REFERENCE_SOURCE:
                found.setdefault(str(reference.get("id")), []).append(contact_id)
    return found


def creates_sent(sandbox: SandboxServer) -> list[LoggedRequest]:
    return [r for r in sandbox.hooks.requests() if r.method == "POST" and r.path == "/api/Contact"]


def puts_by_contact(sandbox: SandboxServer) -> dict[int, list[LoggedRequest]]:
    """Every PUT the sandbox answered, by contact; any other PUT route fails the test
    (a description edit only ever needs the whole-record route)."""
    found: dict[int, list[LoggedRequest]] = {}
    for request in sandbox.hooks.requests():
        if request.method != "PUT":
            continue
        matched = CONTACT_PUT.match(request.path)
        assert matched, f"unexpected PUT {request.path}"
        found.setdefault(int(matched.group(1)), []).append(request)
    return found


def reports(payloads: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """(process number, contact report) over every run's ``contacts`` array."""
    return [(n, c) for n, payload in enumerate(payloads) for c in payload["contacts"]]


def platform_documents(folder: Path) -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


# -- the checks shared by the race and the crash -----------------------------------------------


def assert_each_new_record_created_once(scene: Scene) -> dict[str, int]:
    """Exactly one CRM+ contact per new record (by our reference), one ``<id>.json`` for
    it on the platform, no ``new-*.json`` left. Returns key -> contact id."""
    holders = holders_of_references(scene.sandbox)
    duplicated = {k: ids for k, ids in holders.items() if len(ids) > 1}
    assert not duplicated, f"created more than once (key -> CRM+ contacts): {duplicated}"
    missing = sorted(set(scene.new_keys) - set(holders))
    assert not missing, f"never created: {missing}"
    created = {key: holders[key][0] for key in scene.new_keys}

    documents = platform_documents(scene.folder)
    left_new = sorted(name for name in documents if name.startswith("new-"))
    assert not left_new, f"new records left unlinked on the platform: {left_new}"
    for key, contact_id in created.items():
        named = [n for n, doc in documents.items() if doc.get("name") == new_record_name(key)]
        assert named == [f"{contact_id}.json"], (key, contact_id, named)
    crm = crm_contacts(scene.sandbox)
    for key, contact_id in created.items():
        assert crm[contact_id]["name"] == new_record_name(key)
        assert crm[contact_id]["contactType"] == "Organization"
    return created


def assert_edits_in_crm(scene: Scene) -> None:
    """CRM+ holds every platform edit, and nothing else of the contacts was lost."""
    crm = crm_contacts(scene.sandbox)
    wrong = {
        contact_id: crm[contact_id].get("description")
        for contact_id in scene.edited
        if crm[contact_id].get("description") != edited_description(contact_id)
    }
    assert not wrong, f"edits missing in CRM+ (contact -> description there): {wrong}"
    for contact_id in scene.linked:
        contact = crm[contact_id]
        assert contact["name"] == f"The {contact_id} Household"
        (person,) = contact["contactIndividuals"]
        emails = [m["value"] for m in person["contactMethods"]]
        assert emails == [f"donor{contact_id}@example.org"], (contact_id, emails)
    untouched = [c for c in scene.linked if c not in set(scene.edited)]
    assert all(crm[c].get("description") is None for c in untouched)


def assert_nothing_left_open(scene: Scene) -> None:
    outcomes = journal_outcomes(scene.database_url)
    unresolved = {k: n for k, n in outcomes.items() if k[1] != "ok"}
    assert not unresolved, f"journal rows not ok (method, outcome) -> count: {unresolved}"
    assert claims_left(scene.database_url) == [], "every run gives its claims back"


# -- the race ----------------------------------------------------------------------------------

LINKED = 210  # 10 of them not edited: they must cost nothing and stay as they are
EDITED = 200
NEW = 30


def race(
    sandbox_factory: SandboxFactory,
    tmp_path: Path,
    *,
    backend: str,
    semantics: str,
    processes: int,
) -> None:
    with scene(
        sandbox_factory, tmp_path, backend=backend, semantics=semantics, contacts=LINKED
    ) as built:
        edit_platform(built, EDITED)
        add_new_records(built, NEW)
        built.sandbox.hooks.clear_requests()

        finished = run_together(built, processes)

        payloads = [run.payload() for run in finished]
        outputs = "\n\n".join(run.describe() for run in finished)

        # Every new record created exactly once: in CRM+, in the requests, on the platform.
        posts = creates_sent(built.sandbox)
        sent_keys = Counter(str(p.body.get("referenceId")) for p in posts)
        assert sent_keys == Counter(built.new_keys), (
            f"{len(posts)} creates sent for {NEW} new records; sent twice: "
            f"{sorted(k for k, n in sent_keys.items() if n > 1)}\n{outputs}"
        )
        created = assert_each_new_record_created_once(built)
        for run in finished:
            assert run.returncode == 0, outputs

        # Every platform edit pushed exactly once, and CRM+ holds it.
        puts = puts_by_contact(built.sandbox)
        assert sorted(puts) == built.edited, "PUTs only for the edited contacts"
        twice = {c: len(r) for c, r in puts.items() if len(r) != 1}
        assert not twice, f"contacts written more than once (contact -> PUTs): {twice}"
        assert_edits_in_crm(built)

        # The journal: one ok row per write, nothing pending or unknown; no claim left.
        assert journal_outcomes(built.database_url) == Counter(
            {("POST", "ok"): NEW, ("PUT", "ok"): EDITED}
        )
        assert_nothing_left_open(built)

        # The run summaries account for every record: one run did it, the others
        # skipped it (or never got to it).
        seen = reports(payloads)
        bad = [(n, r) for n, r in seen if r["outcome"] not in ("created", "pushed", "skipped")]
        assert not bad, f"unexpected outcomes: {bad}"
        created_by = Counter(r["key"] for _, r in seen if r["outcome"] == "created")
        assert created_by == Counter(built.new_keys), "each new record reported created once"
        assert {r["key"]: r["contact_id"] for _, r in seen if r["outcome"] == "created"} == created
        pushed_by = Counter(r["contact_id"] for _, r in seen if r["outcome"] == "pushed")
        assert pushed_by == Counter(built.edited), "each edit reported pushed once"
        assert sum(p["summary"]["created"] for p in payloads) == NEW
        assert sum(p["summary"]["pushed"] for p in payloads) == EDITED
        for payload in payloads:
            assert payload["summary"]["failed"] == 0
            assert payload["aborted"] is None and payload["stopped"] is None
        # The runs did meet: without a skip, this test would have shown nothing.
        assert sum(p["summary"]["skipped"] for p in payloads) > 0, outputs


@pytest.mark.timeout(240)
@pytest.mark.parametrize("semantics", SEMANTICS)
@pytest.mark.parametrize("backend", backend_params())
def test_two_runs_at_once_create_each_new_record_once_and_push_each_edit_once(
    sandbox_factory: SandboxFactory, tmp_path: Path, backend: str, semantics: str
) -> None:
    race(sandbox_factory, tmp_path, backend=backend, semantics=semantics, processes=2)


# Four processes on "replace" only (the unforgiving reading, where a PUT that is not the
# whole record loses data): the claims do not depend on the semantics, which the two-run
# test covers both of, and each four-run case costs about a minute of CI time.
@pytest.mark.timeout(240)
@pytest.mark.parametrize("backend", backend_params())
def test_four_runs_at_once_create_each_new_record_once_and_push_each_edit_once(
    sandbox_factory: SandboxFactory, tmp_path: Path, backend: str
) -> None:
    race(sandbox_factory, tmp_path, backend=backend, semantics="replace", processes=4)


# -- a run killed in the middle ----------------------------------------------------------------

CRASH_CONTACTS = 30
CRASH_EDITED = 20
CRASH_NEW = 10
# The killed run's claims outlive it by at most this long. Long enough for the second run,
# a real process that needs a few seconds to start on a loaded machine, to meet them
# still valid; short enough for the third run to wait them out.
CRASH_TTL = 12.0
# How long the sandbox holds the write that is in flight when its sender is killed; then
# it answers it (to nobody), applied or refused, as a real server would finish a request
# whose client went away.
IN_FLIGHT_DELAY = 1.0


def wait_for(condition: Callable[[], bool], what: str, *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def valid_claims(url: str) -> list[Claim]:
    engine = make_engine(url)
    try:
        return list(SqlClaimStore(engine).held(now=datetime.now(UTC)))
    finally:
        engine.dispose()


def unresolved_intents(url: str) -> list[JournalEntry]:
    engine = make_engine(url)
    try:
        return list(SqlJournal(engine).unresolved())
    finally:
        engine.dispose()


def kill_in_flight(scene: Scene, fault: Fault) -> tuple[subprocess.Popen[str], list[Claim]]:
    """Start ``sync --all``, and SIGKILL it while the request ``fault`` delays is in
    flight (the process holds that subject's claim, the intent is journaled pending).
    Returns the dead process and the claims valid right after its death."""
    scene.sandbox.hooks.add_fault(fault)
    process = start_sync_all(scene)

    def in_flight() -> bool:
        if process.poll() is not None:
            _, stderr = process.communicate()
            pytest.fail(f"the run ended (exit {process.returncode}) before the kill:\n{stderr}")
        return not scene.sandbox.hooks.pending_faults()

    with ended(process):
        wait_for(in_flight, f"{fault.method} {fault.path} to be sent")
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=PROCESS_TIMEOUT)
    assert process.returncode == -signal.SIGKILL
    claims = valid_claims(scene.database_url)
    return process, claims


@dataclass(frozen=True)
class Kill:
    """Where the first run dies: the request in flight, and the subject it holds."""

    subject: str
    fault: Fault
    contact_id: int | None  # the contact whose PUT is cut off
    key: str | None  # the new record whose create is cut off
    applied: bool  # whether the sandbox applies the write after its sender died


def kill_point(scene: Scene, kill_during: str) -> Kill:
    if kill_during in ("push", "push-lost"):
        # Pushes come first in a run; this one is in the middle of them.
        victim = scene.edited[len(scene.edited) // 2]
        applied = kill_during == "push"
        fault = Fault(
            "PUT",
            rf"^/api/Contact/{victim}$",
            delay=IN_FLIGHT_DELAY,
            # Not applied: the server fails it (after its sender is gone anyway).
            status=None if applied else 503,
        )
        return Kill(f"contact:{victim}", fault, victim, None, applied)
    # Creates come after every push in a run; the first one is cut off.
    key = scene.new_keys[0]
    fault = Fault("POST", r"^/api/Contact$", delay=IN_FLIGHT_DELAY)
    return Kill(f"new:{key}", fault, None, key, applied=True)


def answered(scene: Scene, kill: Kill) -> bool:
    """Whether the sandbox has answered (to nobody) the write the dead run sent."""
    for request in scene.sandbox.hooks.requests():
        if request.method != kill.fault.method or not re.search(kill.fault.path, request.path):
            continue
        if kill.key is None or (request.body or {}).get("referenceId") == kill.key:
            return True
    return False


def crash(
    sandbox_factory: SandboxFactory,
    tmp_path: Path,
    *,
    backend: str,
    semantics: str,
    kill_during: str,
) -> None:
    with scene(
        sandbox_factory,
        tmp_path,
        backend=backend,
        semantics=semantics,
        contacts=CRASH_CONTACTS,
        claims={"ttl": CRASH_TTL, "wait": 0},
        # One contact after the other: these tests follow THE write in flight at the
        # kill (its claim, its one open intent, the exact journal rows after). With
        # several contacts at once, up to that many are cut off together, each the same
        # one-contact case; the whole-engine simulation's crash sweep kills runs at
        # concurrency 4 at every call (tests/simulation/test_simulation.py).
        concurrency=1,
    ) as built:
        edit_platform(built, CRASH_EDITED)
        add_new_records(built, CRASH_NEW)
        hooks = built.sandbox.hooks
        hooks.clear_requests()
        # Slow enough that the run is still working when it is killed.
        hooks.set_latency(0.05)
        kill = kill_point(built, kill_during)

        killed, held = kill_in_flight(built, kill.fault)

        # The dead run holds the subject, and its intent is journaled, still open.
        holders = {c.subject: c for c in held}
        assert kill.subject in holders, f"{kill.subject} not claimed by the killed run: {held}"
        assert f":{killed.pid}:" in holders[kill.subject].owner
        until = holders[kill.subject].until
        (intent,) = unresolved_intents(built.database_url)
        if kill.contact_id is not None:
            assert (intent.method, intent.contact_id) == ("PUT", kill.contact_id)
        else:
            assert (intent.method, intent.local_key) == ("POST", kill.key)
        hooks.set_latency(0)

        # A second run right after: everything but the dead run's subject gets done; the
        # subject is left alone (and so is its open intent) while the claim is valid.
        second = sync_all_once(built)
        second_done = datetime.now(UTC)
        assert second.returncode == 0, second.describe()
        mine = [
            c
            for c in second.payload()["contacts"]
            if (c["contact_id"], c["key"]) in ((kill.contact_id, None), (None, kill.key))
        ]
        assert [c["outcome"] for c in mine] == ["skipped"], (
            f"{kill.subject} in the second run: {mine}; the run ended at {second_done}, the "
            f"dead run's claim was valid until {until} (if the run ended after that, the "
            "machine was too slow to show the skip: raise CRASH_TTL)\n" + second.describe()
        )
        assert [e.id for e in unresolved_intents(built.database_url)] == [intent.id]

        # After the ttl (and once the dead run's write has been answered, to nobody), a
        # third run takes the subject over, settles the intent by reading CRM+, and
        # finishes: the write is sent again only if CRM+ does not show it.
        wait_for(lambda: answered(built, kill), "the dead run's write to be answered")
        wait_for(lambda: datetime.now(UTC) > until, "the dead run's claim to expire")
        third = sync_all_once(built)
        assert third.returncode == 0, third.describe()
        assert third.payload()["recovered"], third.describe()

        created = assert_each_new_record_created_once(built)
        posts = creates_sent(built.sandbox)
        assert len(posts) == CRASH_NEW, [p.body.get("referenceId") for p in posts]
        puts = puts_by_contact(built.sandbox)
        assert sorted(puts) == built.edited
        statuses = {c: [r.status for r in rs] for c, rs in puts.items()}
        expected = {c: [200] for c in built.edited}
        if not kill.applied:
            assert kill.contact_id is not None
            expected[kill.contact_id] = [503, 200]  # refused, so sent again
        assert statuses == expected, "every change applied exactly once"
        assert_edits_in_crm(built)
        assert set(created.values()).isdisjoint(built.linked)

        rows = query(built.database_url, "SELECT id, method, outcome FROM journal")
        not_ok = {(r[0], r[1], r[2]) for r in rows if r[2] != "ok"}
        assert not_ok == (set() if kill.applied else {(intent.id, "PUT", "failed")}), not_ok
        assert Counter(r[1] for r in rows) == Counter(
            {"POST": CRASH_NEW, "PUT": CRASH_EDITED + (0 if kill.applied else 1)}
        )
        assert claims_left(built.database_url) == [], "the dead run's claim was taken over"


@pytest.mark.timeout(180)
@pytest.mark.parametrize("semantics", SEMANTICS)
@pytest.mark.parametrize("backend", backend_params())
def test_a_killed_runs_contact_is_skipped_until_its_claim_expires_then_finished_once(
    sandbox_factory: SandboxFactory, tmp_path: Path, backend: str, semantics: str
) -> None:
    """Killed while its PUT is in flight; CRM+ applies it: it is never sent again."""
    crash(sandbox_factory, tmp_path, backend=backend, semantics=semantics, kill_during="push")


# The two below do not depend on the PUT semantics: "replace" is enough.


@pytest.mark.timeout(180)
@pytest.mark.parametrize("backend", backend_params())
def test_a_killed_runs_write_that_never_reached_crm_is_sent_once_by_a_later_run(
    sandbox_factory: SandboxFactory, tmp_path: Path, backend: str
) -> None:
    """Killed while its PUT is in flight; CRM+ refuses it: a later run sends it once."""
    crash(sandbox_factory, tmp_path, backend=backend, semantics="replace", kill_during="push-lost")


@pytest.mark.timeout(180)
@pytest.mark.parametrize("backend", backend_params())
def test_a_create_cut_off_by_a_kill_is_found_by_reference_and_never_repeated(
    sandbox_factory: SandboxFactory, tmp_path: Path, backend: str
) -> None:
    """Killed while its POST is in flight; CRM+ creates the contact: it is linked, never
    created again."""
    crash(sandbox_factory, tmp_path, backend=backend, semantics="replace", kill_during="create")
