"""Four ``syncengine daemon`` workers on one PostgreSQL database, one of them killed.

Issue 7, section 5 and its "Must show": four worker processes over at least 2,000
contacts with changes on both sides and one worker killed mid-run: every change applied
exactly once, no contact held by two workers, the killed worker's contacts taken over.

The scene: 2,000 CRM+ contacts in the sandbox, all of them on a files platform and
linked by one first ``sync --all`` (``tests/engine/test_concurrent_runs.py``'s scene: a
platform document holds ``id``, ``contactType``, ``name`` and ``description``). Then,
before any daemon starts:

- 350 platform edits (``description``, one field per contact, mtime moved forward);
- 350 CRM+ edits by a person in the UI (``name``), 50 of them on contacts the platform
  changed too (another field: both must survive).

Four real daemon processes (``python -m syncengine daemon``) share the work through the
run claims. Each reaches the sandbox through a loopback proxy of its own, run by the
test: the sandbox's request log cannot tell the workers apart, and the proxies record
which worker sent which request, when it was sent and when it was answered. Once the
work is well under way, one worker's proxy holds that worker's next PUT; the worker is
SIGKILLed with the PUT in flight (its contact claimed, the intent journaled pending), and
the PUT then reaches CRM+ anyway, as a real server finishes a request whose client went
away. After ``sync.claims.ttl`` another worker must take the contact over, settle the
intent by reading CRM+ and not write it again. Once everything has converged the three
others get SIGTERM and must exit 0 within 30 s each.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from syncengine.domain.ports import Claim, JournalEntry, WorkItem
from syncengine.store import SqlClaimStore, SqlJournal, SqlWorkQueue, make_engine
from tests.daemon.test_daemon_process import free_port
from tests.engine.test_concurrent_runs import (
    REFERENCE_SOURCE,
    Scene,
    crm_contacts,
    edited_description,
    platform_document,
    puts_by_contact,
    query,
    scene,
)
from tests.fixtures.sandbox import SANDBOX_TOKEN, SandboxFactory

pytestmark = pytest.mark.postgres

CONTACTS = 2_000
WORKERS = 4
VICTIM = 1  # the worker that is killed
# Which contacts change, by position among the 2,000 (spread over the whole id range):
# 300 on the platform only, 300 in CRM+ only, 50 on both sides.
PLATFORM_ONLY = frozenset(n for n in range(CONTACTS) if n % 20 in (0, 1, 2))
CRM_ONLY = frozenset(n for n in range(CONTACTS) if n % 20 in (3, 4, 5))
BOTH = frozenset(n for n in range(CONTACTS) if n % 40 == 6)
# A killed worker's claims expire after this long (a live one renews every ttl/4).
CLAIM_TTL = 6.0
PUSH_INTERVAL = 5
PULL_INTERVAL = 5
# Per request: the work takes long enough for the kill to land in the middle of it.
LATENCY = 0.02
# The kill comes once this many PUTs were answered, this many of them the victim's.
KILL_AFTER_PUTS = 60
KILL_AFTER_VICTIM_PUTS = 5
# A reconciliation compares all 2,000 contacts: not this test's subject. Once a year.
RECONCILE_CRON = "0 3 1 1 *"
STOP_LIMIT = 30.0  # seconds a SIGTERMed daemon may take (issue 7, section 4)
# How often the platform's edited documents are read while the workers run.
WATCH_EVERY = 0.25
CONVERGE = 180.0  # seconds from the kill until everything is in place

CONTACT_PATH = re.compile(r"^/api/Contact/(\d+)(?:/|$)")
# Not forwarded by the proxy (hop-by-hop, or set by its own server).
NOT_FORWARDED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "date",
        "server",
    }
)
# Log events that must not appear: no claim lost, no failed contact, no crashed run.
TROUBLE = frozenset(
    {
        "claims.lost",
        "claims.renew_failed",
        "daemon.fatal",
        "daemon.job_failed",
        "daemon.job_crashed",
        "daemon.worker_failed",
        "daemon.worker_crashed",
        "work.contact_failed",
    }
)


def crm_edited_name(contact_id: int) -> str:
    return f"renamed in CRM+: {contact_id}"


def original_name(contact_id: int) -> str:
    return f"The {contact_id} Household"


# -- a recording proxy per worker ----------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    """One request a worker sent to CRM+, as its proxy saw it (monotonic seconds)."""

    worker: int
    method: str
    path: str
    received: float
    answered: float
    status: int | None

    @property
    def contact_id(self) -> int | None:
        matched = CONTACT_PATH.match(self.path)
        return int(matched.group(1)) if matched else None

    def describe(self, origin: float) -> str:
        return (
            f"w{self.worker} {self.method} {self.path} "
            f"[{self.received - origin:.3f}..{self.answered - origin:.3f}] {self.status}"
        )


class RequestLog:
    def __init__(self) -> None:
        self._entries: list[Sent] = []
        self._lock = threading.Lock()

    def add(self, entry: Sent) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[Sent]:
        with self._lock:
            return list(self._entries)

    def puts(self, worker: int | None = None) -> int:
        return sum(
            1
            for e in self.entries()
            if e.method == "PUT" and e.status == 200 and worker in (None, e.worker)
        )


class WorkerProxy:
    """Loopback HTTP between one worker and the sandbox: forwards every request and
    records it; after ``hold_next_put`` it keeps the worker's next PUT until ``release``."""

    def __init__(self, worker: int, upstream: str, log: RequestLog) -> None:
        parts = urlsplit(upstream)
        self.worker = worker
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._log = log
        self._local = threading.local()
        self._lock = threading.Lock()
        self._armed = False
        self.held = threading.Event()
        self.held_path: str | None = None
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> WorkerProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def hold_next_put(self) -> None:
        with self._lock:
            self._armed = True

    def release(self) -> None:
        self._release.set()

    def _hold(self, method: str, path: str) -> None:
        with self._lock:
            if method != "PUT" or not self._armed:
                return
            self._armed = False
            self.held_path = path
        self.held.set()
        self._release.wait(timeout=120)

    def _forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        for attempt in (1, 2):
            connection = getattr(self._local, "connection", None)
            if connection is None:
                connection = http.client.HTTPConnection(*self._upstream, timeout=60)
                self._local.connection = connection
            try:
                connection.request(method, path, body=body or None, headers=headers)
                response = connection.getresponse()
                return response.status, response.getheaders(), response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                self._local.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def handle_one_request(self) -> None:
                try:
                    super().handle_one_request()
                except OSError:  # the worker went away (killed) mid-request
                    self.close_connection = True

            def relay(self) -> None:
                received = time.monotonic()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in NOT_FORWARDED}
                proxy._hold(self.command, self.path)
                status: int | None = None
                try:
                    status, answer_headers, data = proxy._forward(
                        self.command, self.path, headers, body
                    )
                finally:
                    path = urlsplit(self.path).path
                    proxy._log.add(
                        Sent(proxy.worker, self.command, path, received, time.monotonic(), status)
                    )
                self.send_response(status)
                for name, value in answer_headers:
                    if name.lower() not in NOT_FORWARDED:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        for method in ("GET", "PUT", "POST", "DELETE", "PATCH"):
            setattr(Handler, f"do_{method}", Handler.relay)
        return Handler


# -- the workers -----------------------------------------------------------------------------


@dataclass
class Worker:
    index: int
    workdir: Path
    proxy: WorkerProxy
    env: dict[str, str]
    port: int
    process: subprocess.Popen[bytes] | None = None
    exit_code: int | None = None
    stop_seconds: float | None = None

    @property
    def log_path(self) -> Path:
        return self.workdir / "daemon.log"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "syncengine",
                "--log-format",
                "json",
                "--log-level",
                "INFO",
                "daemon",
            ],
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=self.log_path.open("ab"),
        )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def healthy(self) -> bool:
        if not self.alive():
            pytest.fail(f"worker {self.index} exited before it was up:\n{self.tail()}")
        try:
            answer = httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1)
        except httpx.HTTPError:
            return False
        return answer.status_code == 200

    def events(self) -> list[dict[str, Any]]:
        """The log lines, parsed (a line that is not JSON becomes ``{"event": "raw"}``)."""
        found: list[dict[str, Any]] = []
        if not self.log_path.exists():
            return found
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                parsed = json.loads(line)
            except ValueError:
                parsed = None
            found.append(parsed if isinstance(parsed, dict) else {"event": "raw", "raw": line})
        return found

    def tail(self, size: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-size:] if self.log_path.exists() else ""


def write_worker_config(workdir: Path, folder: Path, port: int) -> Path:
    daemon = {
        "push_interval": PUSH_INTERVAL,
        "pull_interval": PULL_INTERVAL,
        "reconcile_cron": RECONCILE_CRON,
        "listen": f"127.0.0.1:{port}",
        "reports": str(workdir / "reports"),
    }
    config = workdir / "config.yaml"
    config.write_text(
        "local:\n"
        "  adapter: files\n"
        f"  path: {folder}\n"
        f"  reference_source: {REFERENCE_SOURCE}\n"
        "crm:\n"
        "  retry: {max_attempts: 3, backoff_initial: 0.05, backoff_max: 0.2}\n"
        "  rate_limit: {reserve: 0, max_wait: 2}\n"
        "sync:\n"
        "  default_policy: newest\n"
        f"  claims: {{ttl: {CLAIM_TTL}, wait: 5}}\n"
        f"daemon: {json.dumps(daemon)}\n"
    )
    return config


@contextmanager
def team_of_workers(built: Scene, log: RequestLog) -> Iterator[list[Worker]]:
    """The workers (not started yet), each with its config, port, log file and proxy;
    whatever happens, none outlives the block."""
    made: list[Worker] = []
    with ExitStack() as stack:
        for index in range(WORKERS):
            proxy = WorkerProxy(index, built.sandbox.base_url, log).start()
            stack.callback(proxy.stop)
            workdir = built.workdir / f"worker-{index}"
            workdir.mkdir()
            port = free_port()
            env = {
                **os.environ,
                "CRMPLUS_BASE_URL": proxy.base_url,
                "CRMPLUS_API_TOKEN": SANDBOX_TOKEN,
                "SYNCENGINE_DATABASE_URL": built.database_url,
                "SYNCENGINE_CONFIG": str(write_worker_config(workdir, built.folder, port)),
            }
            env.pop("SYNCENGINE_WEBHOOK_SECRET", None)
            made.append(Worker(index, workdir, proxy, env, port))
        try:
            yield made
        finally:
            for worker in made:
                if worker.alive():
                    assert worker.process is not None
                    worker.process.kill()
                    worker.process.wait()


# -- the edits -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edits:
    platform: list[int]  # description changed on the platform
    crm: list[int]  # name changed in CRM+
    both: list[int]  # both of the above


def make_edits(built: Scene) -> Edits:
    ids = built.linked
    edits = Edits(
        platform=sorted(ids[n] for n in PLATFORM_ONLY | BOTH),
        crm=sorted(ids[n] for n in CRM_ONLY | BOTH),
        both=sorted(ids[n] for n in BOTH),
    )
    for contact_id in edits.platform:
        path = built.folder / f"{contact_id}.json"
        before = path.stat().st_mtime
        document = json.loads(path.read_text())
        document["description"] = edited_description(contact_id)
        path.write_text(json.dumps(document))
        later = max(time.time(), before + 1.0)
        os.utime(path, (later, later))
    for contact_id in edits.crm:
        built.sandbox.hooks.ui_edit(contact_id, {"name": crm_edited_name(contact_id)})
    return edits


# -- reading what happened -------------------------------------------------------------------


def wait_for(condition: Callable[[], bool], what: str, *, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting until {what}")
        time.sleep(0.05)


def read_document(built: Scene, contact_id: int) -> dict[str, Any] | None:
    try:
        loaded = json.loads((built.folder / f"{contact_id}.json").read_text())
    except (OSError, ValueError):  # being replaced at this very moment
        return None
    return loaded if isinstance(loaded, dict) else None


def missing_changes(built: Scene, edits: Edits) -> list[str]:
    """What is not where it belongs yet: a platform edit not in CRM+ (or no longer on the
    platform), a CRM edit not on the platform."""
    missing: list[str] = []
    hooks = built.sandbox.hooks
    for contact_id in edits.platform:
        if hooks.raw_contact(contact_id).get("description") != edited_description(contact_id):
            missing.append(f"{contact_id}: the platform's description not in CRM+")
        document = read_document(built, contact_id) or {}
        if document.get("description") != edited_description(contact_id):
            missing.append(f"{contact_id}: the platform's description not on the platform")
    for contact_id in edits.crm:
        document = read_document(built, contact_id) or {}
        if document.get("name") != crm_edited_name(contact_id):
            missing.append(f"{contact_id}: CRM+'s name not on the platform")
    return missing


class RevertWatch:
    """Reads the platform's edited documents over and over while the workers run: the
    platform's own edit must never leave its document (a stale CRM+ record written over
    it), not even for a moment that the end state would not show."""

    def __init__(self, built: Scene, edits: Edits) -> None:
        self._built = built
        self._watched = edits.platform
        self.reverted: dict[int, tuple[datetime, Any]] = {}  # first sighting per contact
        self.passes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> RevertWatch:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _watch(self) -> None:
        while not self._stop.wait(WATCH_EVERY):
            for contact_id in self._watched:
                document = read_document(self._built, contact_id)
                if document is None or contact_id in self.reverted:
                    continue
                if document.get("description") != edited_description(contact_id):
                    self.reverted[contact_id] = (datetime.now(UTC), document.get("description"))
            self.passes += 1


class Database:
    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)

    def close(self) -> None:
        self.engine.dispose()

    def unresolved(self) -> list[JournalEntry]:
        return list(SqlJournal(self.engine).unresolved())

    def depth(self) -> int:
        return SqlWorkQueue(self.engine).depth()

    def failing(self) -> list[WorkItem]:
        return list(SqlWorkQueue(self.engine).failing())

    def valid_claims(self) -> list[Claim]:
        return list(SqlClaimStore(self.engine).held(now=datetime.now(UTC)))


@contextmanager
def database_on(url: str) -> Iterator[Database]:
    database = Database(url)
    try:
        yield database
    finally:
        database.close()


def overlapping_work(sent: list[Sent], origin: float) -> list[str]:
    """Requests for one contact from two workers at once, and any GET..PUT of one worker
    (the read its PUT was built on, and the PUT) with another worker's request for that
    contact in between."""
    by_contact: dict[int, list[Sent]] = {}
    for entry in sent:
        if entry.contact_id is not None:
            by_contact.setdefault(entry.contact_id, []).append(entry)
    found: list[str] = []
    for contact_id, entries in sorted(by_contact.items()):
        entries.sort(key=lambda e: e.received)
        for n, first in enumerate(entries):
            for second in entries[n + 1 :]:
                if second.received >= first.answered:
                    break
                if second.worker != first.worker:
                    found.append(
                        f"{contact_id}: two workers at once: {first.describe(origin)} and "
                        f"{second.describe(origin)}"
                    )
        for put in (e for e in entries if e.method == "PUT"):
            reads = [
                e
                for e in entries
                if e.worker == put.worker and e.method == "GET" and e.received < put.received
            ]
            if not reads:
                found.append(f"{contact_id}: a PUT with no GET before it: {put.describe(origin)}")
                continue
            read = reads[-1]
            between = [
                e.describe(origin)
                for e in entries
                if e.worker != put.worker
                and e.received < put.answered
                and e.answered > read.received
            ]
            if between:
                found.append(
                    f"{contact_id}: {read.describe(origin)} .. {put.describe(origin)} "
                    f"interleaved with {between}"
                )
    return found


# -- the run ---------------------------------------------------------------------------------


@dataclass
class Kill:
    """The moment the victim died, what it held and what it left open."""

    at: float  # monotonic
    wall: datetime
    contact_id: int  # of its PUT in flight
    owner: str  # its claims owner
    claims: list[Claim]  # its claims, still valid right after its death
    pending: list[JournalEntry]  # the intents open right after its death


def kill_the_victim(team: list[Worker], log: RequestLog, database: Database) -> Kill:
    """SIGKILL the victim while its PUT is in flight, then let the PUT reach CRM+."""
    victim = team[VICTIM]
    wait_for(
        lambda: log.puts() >= KILL_AFTER_PUTS and log.puts(VICTIM) >= KILL_AFTER_VICTIM_PUTS,
        f"{KILL_AFTER_PUTS} PUTs answered, {KILL_AFTER_VICTIM_PUTS} of them the victim's",
        timeout=120,
    )
    victim.proxy.hold_next_put()
    wait_for(victim.proxy.held.is_set, "the victim's next PUT is in flight", timeout=60)
    assert victim.process is not None
    victim.process.send_signal(signal.SIGKILL)
    victim.exit_code = victim.process.wait(timeout=30)
    died, wall = time.monotonic(), datetime.now(UTC)
    claims = database.valid_claims()
    pending = database.unresolved()
    victim.proxy.release()  # CRM+ applies it; the dead worker never learns it
    assert victim.proxy.held_path is not None
    matched = CONTACT_PATH.match(victim.proxy.held_path)
    assert matched, victim.proxy.held_path
    owners = {c.owner for c in claims if f":{victim.pid}:" in c.owner}
    assert len(owners) == 1, f"the claims right after the victim's death: {claims}"
    owner = owners.pop()
    mine = [c for c in claims if c.owner == owner]
    return Kill(died, wall, int(matched.group(1)), owner, mine, pending)


def converge_and_stop(
    built: Scene, edits: Edits, team: list[Worker], database: Database
) -> str | None:
    """Wait until every change is where it belongs and nothing is queued or pending (up
    to ``CONVERGE`` seconds), then SIGTERM the survivors, all at once. Returns what was
    still missing when the wait ran out (None: nothing), so that the checks still run."""
    survivors = [w for w in team if w.index != VICTIM]

    def converged() -> bool:
        for worker in survivors:
            if not worker.alive():
                pytest.fail(f"worker {worker.index} exited:\n{worker.tail()}")
        return (
            not missing_changes(built, edits)
            and database.depth() == 0
            and not database.unresolved()
        )

    deadline = time.monotonic() + CONVERGE
    while not converged() and time.monotonic() < deadline:
        time.sleep(1)
    unfinished = None
    if not converged():
        missing = missing_changes(built, edits)
        unfinished = (
            f"not converged {CONVERGE:.0f} s after the kill: {len(missing)} changes not in "
            f"place (e.g. {missing[:10]}), {database.depth()} items queued (failing: "
            f"{database.failing()[:5]}), open intents: {database.unresolved()}"
        )
    signalled = time.monotonic()
    for worker in survivors:
        assert worker.process is not None
        worker.process.send_signal(signal.SIGTERM)
    for worker in survivors:
        assert worker.process is not None
        try:
            worker.exit_code = worker.process.wait(timeout=STOP_LIMIT + 15)
        except subprocess.TimeoutExpired:
            worker.exit_code = None
        worker.stop_seconds = time.monotonic() - signalled
    return unfinished


# -- the test --------------------------------------------------------------------------------


@pytest.mark.timeout(400)
def test_four_workers_share_2000_contacts_and_take_over_a_killed_workers_contact(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    started = time.monotonic()
    timings: dict[str, float] = {}
    with scene(
        sandbox_factory, tmp_path, backend="postgres", semantics="replace", contacts=CONTACTS
    ) as built:
        timings["seed and first sync --all"] = time.monotonic() - started
        originals = {c: platform_document(c) for c in built.linked}
        edits = make_edits(built)
        assert len(edits.platform) >= 300 and len(edits.crm) >= 300
        built.sandbox.hooks.clear_requests()
        built.sandbox.hooks.set_latency(LATENCY)
        log = RequestLog()
        with (
            team_of_workers(built, log) as team,
            database_on(built.database_url) as database,
            RevertWatch(built, edits) as watch,
        ):
            daemons_started = time.monotonic()
            for worker in team:
                worker.start()
            for worker in team:
                wait_for(worker.healthy, f"worker {worker.index} answers /healthz", timeout=60)
            timings["daemons up"] = time.monotonic() - daemons_started
            kill = kill_the_victim(team, log, database)
            timings["the kill after"] = kill.at - daemons_started
            unfinished = converge_and_stop(built, edits, team, database)
            timings["daemons ran"] = time.monotonic() - daemons_started
        checked = time.monotonic()
        findings = check_everything(built, edits, originals, team, log.entries(), kill, watch)
        if unfinished is not None:
            findings.insert(0, unfinished)
        timings["checks"] = time.monotonic() - checked
    timings["total"] = time.monotonic() - started
    print("\nrunning time: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    assert not findings, "\n\n".join(findings)


class Findings(list[str]):
    """What went wrong, all of it: one run of this test takes minutes, so every check
    runs and the test fails once, at the end, with the whole list."""

    def expect(self, ok: bool, what: str, details: Callable[[], object] = lambda: "") -> None:
        if not ok:
            shown = str(details())
            self.append(what + (f"\n    {shown[:3000]}" if shown else ""))


def synced_events(worker: Worker) -> list[dict[str, Any]]:
    return [e for e in worker.events() if e.get("event") == "work.contact_synced"]


def logged_at(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(event["timestamp"]))


def check_everything(
    built: Scene,
    edits: Edits,
    originals: dict[int, dict[str, Any]],
    team: list[Worker],
    sent: list[Sent],
    kill: Kill,
    watch: RevertWatch,
) -> Findings:
    found = Findings()
    victim = team[VICTIM]
    survivors = [w for w in team if w.index != VICTIM]
    origin = min(e.received for e in sent)
    platform_edits, crm_edits, both = set(edits.platform), set(edits.crm), set(edits.both)
    with (built.workdir / "requests.jsonl").open("w") as dump:  # for a post-mortem
        for entry in sent:
            dump.write(json.dumps({**asdict(entry), "received": entry.received - origin}) + "\n")
    per_worker = Counter(e.worker for e in sent if e.method == "PUT")
    workers_of: dict[int, set[int]] = {}
    for entry in sent:
        if entry.contact_id is not None:
            workers_of.setdefault(entry.contact_id, set()).add(entry.worker)
    workers_per_contact = Counter(len(workers) for workers in workers_of.values())
    print(
        f"\nPUTs per worker: {dict(sorted(per_worker.items()))}; contacts by how many workers "
        f"sent requests for them: {dict(sorted(workers_per_contact.items()))}"
    )
    syncs = Counter((e.get("outcome"), e.get("reason")) for w in team for e in synced_events(w))
    print(f"contact syncs (outcome, reason): {dict(syncs.most_common())}")

    # The stops: the victim died of its SIGKILL; the others exited 0 within 30 s.
    assert victim.exit_code == -signal.SIGKILL
    stops = {w.index: (w.exit_code, w.stop_seconds) for w in survivors}
    found.expect(
        all(code == 0 and took is not None and took < STOP_LIMIT for code, took in stops.values()),
        "a SIGTERMed worker did not exit 0 within 30 s (worker: (exit code, seconds))",
        lambda: stops,
    )

    # The proxies saw every request the sandbox answered, and nothing else.
    requests = built.sandbox.hooks.requests()
    found.expect(
        Counter((e.method, e.path) for e in sent) == Counter((r.method, r.path) for r in requests),
        "the proxies' requests differ from the sandbox's",
    )

    # Every platform edit written by exactly one PUT, and no PUT to any other contact.
    puts = puts_by_contact(built.sandbox)
    stray = sorted(set(puts) - platform_edits)
    found.expect(not stray, "PUTs to contacts the platform did not change", lambda: stray)
    never = sorted(platform_edits - set(puts))
    found.expect(not never, "platform edits never PUT", lambda: never)
    twice = {c: [r.status for r in rs] for c, rs in puts.items() if len(rs) != 1}
    found.expect(not twice, "contacts PUT more than once (contact: statuses)", lambda: twice)
    statuses = Counter(r.status for rs in puts.values() for r in rs)
    found.expect(set(statuses) == {200}, "PUTs not answered 200", lambda: statuses)
    # Each PUT carries the platform's field, and CRM+'s own change as CRM+ has it.
    bodies = {}
    for contact_id, sent_puts in puts.items():
        name = crm_edited_name(contact_id) if contact_id in both else original_name(contact_id)
        for put in sent_puts:
            got = (put.body.get("description"), put.body.get("name"))
            if got != (edited_description(contact_id), name):
                bodies[contact_id] = got
    found.expect(not bodies, "PUT bodies (description, name) not as expected", lambda: bodies)

    # CRM+ holds the changes of both sides, and nothing else moved.
    crm = crm_contacts(built.sandbox)
    wrong: dict[int, Any] = {}
    for contact_id in built.linked:
        contact = crm[contact_id]
        described = edited_description(contact_id) if contact_id in platform_edits else None
        named = (
            crm_edited_name(contact_id) if contact_id in crm_edits else original_name(contact_id)
        )
        (person,) = contact["contactIndividuals"]
        emails = [m["value"] for m in person["contactMethods"]]
        expected = (described, named, [f"donor{contact_id}@example.org"])
        if (contact.get("description"), contact.get("name"), emails) != expected:
            wrong[contact_id] = (contact.get("description"), contact.get("name"), emails)
    found.expect(
        not wrong, "CRM+ contacts not as expected (description, name, emails)", lambda: wrong
    )

    # The platform holds the changes of both sides; the other documents are as they were.
    wrong = {}
    for contact_id in built.linked:
        expected_document = dict(originals[contact_id])
        if contact_id in platform_edits:
            expected_document["description"] = edited_description(contact_id)
        if contact_id in crm_edits:
            expected_document["name"] = crm_edited_name(contact_id)
        document = read_document(built, contact_id)
        if document != expected_document:
            wrong[contact_id] = document
    found.expect(not wrong, "platform documents not as expected at the end", lambda: wrong)
    # ... and at every moment in between: the platform's own edit never left its document.
    found.expect(watch.passes > 10, f"the platform was watched only {watch.passes} times")
    reverted = {
        c: (when.isoformat(timespec="milliseconds"), seen)
        for c, (when, seen) in sorted(watch.reverted.items())
    }
    found.expect(
        not reverted,
        f"platform edits reverted on the platform while the workers ran ({len(reverted)} "
        "contacts; contact: (first seen, description seen))",
        lambda: reverted,
    )

    # The database: every write journaled once and ok, nothing pending, the queue empty,
    # no claim held; the only row left is the dead worker's own "worker:" one (expired).
    with database_on(built.database_url) as database:
        unresolved = database.unresolved()
        found.expect(not unresolved, "journal entries left pending", lambda: unresolved)
        depth, failing = database.depth(), database.failing()
        found.expect((depth, failing) == (0, []), f"queue left: {depth} items", lambda: failing)
        valid = database.valid_claims()
        found.expect(not valid, "claims still held after the stops", lambda: valid)
    journal = Counter(
        (r[0], r[1]) for r in query(built.database_url, "SELECT method, outcome FROM journal")
    )
    found.expect(
        journal == Counter({("PUT", "ok"): len(platform_edits)}),
        "journal rows (method, outcome) not one ok PUT per platform edit",
        lambda: journal,
    )
    left = query(built.database_url, "SELECT subject, owner FROM claims")
    found.expect(
        left in ([], [(f"worker:{kill.owner}", kill.owner)]),
        "claims rows left other than the dead worker's own",
        lambda: left,
    )

    # No contact worked by two workers at once.
    clashes = overlapping_work(sent, origin)
    found.expect(not clashes, "contacts worked by two workers at once", lambda: clashes[:30])

    # The workers' logs: each platform edit reported pushed once (the victim's last one
    # excepted: it died before it could say so), nothing pushed that had no platform edit.
    pushed = Counter(
        e["contact_id"]
        for w in team
        for e in synced_events(w)
        if e.get("outcome") in ("pushed", "synced")
    )
    expected_pushed = Counter(platform_edits - {kill.contact_id})
    found.expect(
        pushed == expected_pushed,
        "contacts reported pushed not once each (contact: times, where it differs)",
        lambda: {
            c: pushed[c]
            for c in set(pushed) | set(expected_pushed)
            if pushed[c] != expected_pushed[c]
        },
    )

    # The victim did part of the work, and nothing after its death.
    victims = [e for e in sent if e.worker == VICTIM]
    found.expect(
        sum(1 for e in victims if e.method == "PUT") >= KILL_AFTER_VICTIM_PUTS
        and all(e.received < kill.at for e in victims),
        "the victim's requests: too few PUTs, or some after its death",
    )
    victim_synced = synced_events(victim)
    found.expect(
        any(e.get("outcome") in ("pushed", "synced") for e in victim_synced)
        and all(logged_at(e) < kill.wall for e in victim_synced),
        "the victim's log shows no contact pushed before its death",
    )
    # At its death it held the contact of its PUT in flight, the intent journaled pending.
    held = {c.subject for c in kill.claims}
    found.expect(f"contact:{kill.contact_id}" in held, "the victim's claims", lambda: held)
    mine = [e.method for e in kill.pending if e.contact_id == kill.contact_id]
    found.expect(mine == ["PUT"], "the victim's open intent", lambda: kill.pending)
    # That PUT reached CRM+ (the contact's only one); once the claim expired another
    # worker read the contact, settled the intent and wrote nothing more.
    later = [e for e in sent if e.contact_id == kill.contact_id and e.received > kill.at]
    found.expect(
        bool(later)
        and {e.method for e in later} == {"GET"}
        and min(e.received for e in later) - kill.at > CLAIM_TTL / 2,
        f"contact {kill.contact_id} after the kill: taken over with GETs only, after the ttl",
        lambda: [e.describe(origin) for e in later],
    )
    settled = [
        e
        for w in survivors
        for e in w.events()
        if e.get("event") == "recovery"
        and f"/api/Contact/{kill.contact_id}:" in str(e.get("action", ""))
    ]
    found.expect(bool(settled), "no survivor logged the settling of the victim's intent")
    taken_over = [
        e
        for w in survivors
        for e in synced_events(w)
        if e["contact_id"] == kill.contact_id and logged_at(e) > kill.wall
    ]
    found.expect(bool(taken_over), f"no survivor logged contact {kill.contact_id} synced")
    for subject in held:  # any other contact it held (none, while it works one at a time)
        if subject.startswith("contact:"):
            contact_id = int(subject.split(":", 1)[1])
            found.expect(
                any(e.contact_id == contact_id and e.received > kill.at for e in sent),
                f"contact {contact_id}, the victim's at its death, never taken over",
            )

    # Every survivor worked after the kill; no worker logged trouble.
    idle = [
        w.index
        for w in survivors
        if not any(e.worker == w.index and e.received > kill.at for e in sent)
    ]
    found.expect(not idle, "survivors that did nothing after the kill", lambda: idle)
    trouble = [
        f"worker {w.index}: {json.dumps(e)}"
        for w in team
        for e in w.events()
        if e.get("event") in TROUBLE
    ]
    found.expect(
        not trouble,
        f"trouble in the logs ({len(trouble)} lines)",
        lambda: "\n    ".join(trouble[:20]),
    )
    return found
