"""Scale: four daemon processes on one PostgreSQL database serving ten organisations, each
kept busier than its request budget allows. Is each organisation's throughput held at its
budget, and is none starved?

    python bench/scale.py                                  # 10 x 10,000 contacts, 4 workers
    python bench/scale.py --contacts-per-org 1000 --windows 4 --plot docs/images/scale.png

Set-up (not the measurement):

- ``--orgs`` simulated CRM+ organisations, each a sandbox in a child process of its own
  (bench/scenario.py) with its own token, ``--contacts-per-org`` contacts, an hourly
  limit of ``--limit`` requests and time compressed: the limit counts in windows of
  ``--window`` seconds instead of an hour (``SandboxSettings.window_seconds``, as
  bench/budget_use.py does), so a run of a few minutes spans several budget windows;
- a `files` platform folder per organisation holding the same contacts;
- ONE configuration as docs/daemon.md, "Several organisations in one daemon", describes it
  (``organizations:``, each with its ``token_env``, ``crm.base_url`` and
  ``local.path``), on one scratch PostgreSQL database;
- each organisation linked by a first ``sync --all`` (in-process, in child processes two
  at a time: timed and reported, not the subject).

The measurement: ``--workers`` real ``syncengine daemon`` processes on that configuration
(docs/daemon.md, "Several processes": they share the queue under claims and each
organisation's request budget through the database), for ``--windows`` whole budget
windows. Meanwhile this process keeps every organisation busier than its budget allows:
platform edits at ``--overload`` times the bound (written to the folder, one write route
each: a contact field, the primary address, a person, a contact method; 2 requests each),
and CRM+ UI edits (the sandbox's ui-edit hook) of other contacts at ``--ui-share`` of it.

Daemon settings are the defaults scaled to the compressed hour where it matters: the
reserve is ``--reserve`` of ``--limit`` (250 of 5,000 by default in production: 5 %; 10 %
here), ``crm.rate_limit.max_wait`` and ``daemon.low_budget`` the defaults' share of an
hour (300 s of 3,600; 500 of 5,000), the push job every 30 s (the default: each look
scans the whole folder), the pull job every 20 s (three a window at the same moments of
each, as the default's twelve an hour are; each costs a bulk page or more, a share of
the compressed budget the real one's twelve are not), no reconciliation.

Measured per organisation and per whole window, from inside each sandbox's process (its
rate limiter and request log are watched there and handed back at the end: the log's
HTTP hook keeps no times): requests spent (counted against the window, as CRM+ counts
them), 429s, requests that arrived inside an earlier 429's Retry-After, updates pushed
(PUTs answered 200); from the daemons' JSON logs, contacts pulled (a platform write, no
request) and contacts synced with nothing to do (a GET spent for nothing). Throughput
is each organisation's updates per window as a share of its bound, (limit - reserve) / 2
requests per update, as bench/budget_use.py defines it. The workers' CPU (user +
system) and peak resident memory come from /proc.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import yaml
from child_measure import in_child
from scenario import (
    EDITS,
    FIRST_ID,
    RemoteSandbox,
    platform_document,
    process_cpu_seconds,
    sandbox_process,
    write_document,
)
from scratch_databases import scratch_database
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from syncengine.sandbox import SandboxServer, SandboxSettings
from syncengine.sandbox.ratelimit import HOUR, RateLimiter, RateStatus
from syncengine.sandbox.requestlog import LoggedRequest, RequestLog

# The platform edits made during the run: the four routes a push takes with 2 requests
# (GET, PUT). The high-stakes edit's follow-up GET would make it 3 and blur the bound.
ROUTES = tuple(edit for edit in EDITS if edit != "high-stakes")
# A request that reached the sandbox this soon after a 429 was answered was on its way
# before the refusal could be read (loopback, a loaded machine): not counted as ignoring it.
IN_FLIGHT_SLACK = 0.05


# -- the sandbox, watched from inside its process --------------------------------------------


@dataclass
class Timeline:
    """What one sandbox saw, with times (Unix seconds): each request as its rate limiter
    counted it (arrival, allowed, Retry-After), and as its request log recorded it
    (answered, method, path, status)."""

    counted: list[tuple[float, bool, int]] = field(default_factory=list)
    logged: list[tuple[float, str, str, int | None]] = field(default_factory=list)


class _CountingLimiter(RateLimiter):
    def __init__(self, timeline: Timeline) -> None:
        super().__init__()
        self._timeline = timeline

    def consume(self, limit: int, now: float, window: float = HOUR) -> RateStatus:
        status = super().consume(limit, now, window)
        self._timeline.counted.append((now, status.allowed, status.retry_after))
        return status


class _TimedLog(RequestLog):
    def __init__(self, timeline: Timeline) -> None:
        super().__init__()
        self._timeline = timeline

    def append(self, entry: LoggedRequest) -> None:
        # The log is written when the answer's last byte is about to leave: its time is
        # the answer's. The entries themselves are not kept (their bodies add up).
        self._timeline.logged.append((time.time(), entry.method, entry.path, entry.status))


def _serve_watched(
    settings: SandboxSettings, seed: Any, pipe: Connection, timeline_file: str
) -> None:
    """``scenario._serve``, with the limiter and the log watched; the timeline is written
    to ``timeline_file`` when the parent stops the sandbox."""
    timeline = Timeline()
    server = SandboxServer(settings, seed=seed)
    # Both are used under the state's lock only, as the originals are.
    server.state.limiter = _CountingLimiter(timeline)
    server.state.requests = _TimedLog(timeline)
    with server:
        pipe.send(server.base_url)
        with suppress(EOFError):  # the parent's end closed: stop all the same
            pipe.recv()
        with server.state.lock:
            data = {"counted": timeline.counted, "logged": timeline.logged}
    Path(timeline_file).write_text(json.dumps(data), encoding="utf-8")


# -- set-up --------------------------------------------------------------------------------


@dataclass
class Org:
    name: str
    token_env: str
    token: str
    folder: Path
    timeline_file: Path
    sandbox: RemoteSandbox | None = None


def org_names(count: int) -> list[str]:
    return [f"org{n:02d}" for n in range(1, count + 1)]


def write_config(path: Path, orgs: list[Org], url: str, args: argparse.Namespace) -> None:
    """One configuration for every organisation, as docs/daemon.md shows it: shared
    defaults at the top, each organisation's token variable, CRM+ and folder below."""
    config: dict[str, Any] = {
        "database": {"url": url},
        "crm": {
            "rate_limit": {
                "reserve": args.reserve,
                "hourly_limit": args.limit,
                # The default 300 s of an hour, in the compressed hour: a worker that
                # would wait longer for the budget defers the contact to the reset.
                "max_wait": round(300 / HOUR * args.window, 3),
            }
        },
        "local": {"adapter": "files"},
        # The guard is for `sync --all`; the benchmark changes more than it allows on purpose.
        "sync": {"guard": {"min_contacts": 10**9}},
        "daemon": {
            "listen": "127.0.0.1:0",  # a free port each: four processes on one machine
            "push_interval": args.push_interval,
            "pull_interval": args.pull_interval,
            "low_budget": math.ceil(500 / 5000 * args.limit),
            "reconcile_cron": "0 3 1 1 *",  # not during the run: it is not the subject
            "reports": str(path.parent / "reports"),
        },
        "logging": {"level": "INFO", "format": "json"},
        "organizations": [
            {
                "name": org.name,
                "token_env": org.token_env,
                "crm": {"base_url": org.sandbox.base_url if org.sandbox else ""},
                "local": {"path": str(org.folder)},
            }
            for org in orgs
        ],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def _link(config: str, name: str, environ: dict[str, str]) -> dict[str, int]:
    """A first `sync --all` of one organisation, as `syncengine sync --all` would run it
    with that organisation's settings (in a child process: see ``in_child``)."""
    from syncengine.bootstrap import open_app
    from syncengine.config import load_settings, organization_environ
    from syncengine.logging_setup import configure_logging

    configure_logging("ERROR", "console")
    settings = load_settings(config, environ)
    (org,) = [o for o in settings.organizations if o.name == name]
    with open_app(
        settings.for_organization(org), organization_environ(environ, org), purpose="sync"
    ) as app:
        summary = app.runner().run_all(force=True)
    counts: dict[str, int] = dict(summary.counts())
    counts["failed"] = summary.failed
    return counts


# -- the load: edits on both sides ---------------------------------------------------------


class Editor(threading.Thread):
    """Keeps every organisation busier than its budget: platform edits at ``rate`` a
    second (one write route each, in turn), CRM+ UI edits of other contacts at
    ``ui_rate`` a second, each organisation's spread evenly over the run."""

    def __init__(self, orgs: list[Org], ids: range, *, rate: float, ui_rate: float) -> None:
        super().__init__(name="editor", daemon=True)
        self._orgs = orgs
        self._ids = ids
        self._rate = rate
        self._ui_rate = ui_rate
        self._halt = threading.Event()
        self.platform_edits: Counter[str] = Counter()
        self.ui_edits: Counter[str] = Counter()
        self.errors: list[str] = []
        self._backlog = 0

    def backlog(self, count: int) -> None:
        """``count`` platform edits in each organisation at once: busy from the start."""
        self._backlog += count
        for org in self._orgs:
            for _ in range(count):
                self._platform_edit(org)

    def stop(self) -> None:
        self._halt.set()
        self.join(30)

    def run(self) -> None:
        started = time.monotonic()
        while not self._halt.wait(1.0):
            elapsed = time.monotonic() - started
            for org in self._orgs:
                while self.platform_edits[org.name] < self._backlog + elapsed * self._rate:
                    self._platform_edit(org)
                while self.ui_edits[org.name] < elapsed * self._ui_rate:
                    self._ui_edit(org)

    def _platform_edit(self, org: Org) -> None:
        n = self.platform_edits[org.name]
        # Platform edits walk up from the first contact, UI edits down from the last: no
        # contact is edited on both sides (no conflict to decide: not the subject).
        contact_id = self._ids[n % len(self._ids)]
        edition = n // len(self._ids) + 2  # edition 1 is the linked state
        document = platform_document(contact_id, edit=ROUTES[n % len(ROUTES)], edition=edition)
        write_document(org.folder, document)
        self.platform_edits[org.name] += 1

    def _ui_edit(self, org: Org) -> None:
        n = self.ui_edits[org.name]
        contact_id = self._ids[-1 - n % len(self._ids)]
        assert org.sandbox is not None
        try:
            org.sandbox.ui_edit(contact_id, {"informalName": f"Edited in CRM+ {n}"})
        except Exception as exc:  # counted and reported: a failing hook is no reason to stop
            self.errors.append(f"{org.name}: {type(exc).__name__}: {exc}")
        self.ui_edits[org.name] += 1


# -- the workers ---------------------------------------------------------------------------


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path
    cpu: float = 0.0
    peak_mb: float = 0.0


def _peak_mb(pid: int) -> float:
    """The process's peak resident memory (VmHWM of Linux's /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


@contextmanager
def workers(
    count: int, config: Path, environ: dict[str, str], logs: Path
) -> Iterator[list[Worker]]:
    """``count`` `syncengine daemon` processes; stopped with SIGTERM (as systemd does) at
    the block's end, their CPU and peak memory read just before."""
    started: list[Worker] = []
    command = [sys.executable, "-m", "syncengine", "--config", str(config), "daemon"]
    try:
        for n in range(count):
            log = logs / f"worker{n + 1}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(command, env=environ, stderr=out, stdout=out)
            started.append(Worker(process, log))
        yield started
    finally:
        for worker in started:
            if worker.process.poll() is None:
                worker.cpu = process_cpu_seconds(worker.process.pid)
                worker.peak_mb = _peak_mb(worker.process.pid)
                worker.process.terminate()
        for worker in started:
            try:
                worker.process.wait(40)
            except subprocess.TimeoutExpired:
                worker.process.kill()


# -- the figures ---------------------------------------------------------------------------


@dataclass
class WindowFigures:
    spent: int = 0  # requests counted against the window
    refused: int = 0  # 429s
    inside_retry_after: int = 0
    puts: int = 0  # updates pushed (PUTs answered 200)
    gets: int = 0
    bulk: int = 0  # Query/FullContact pages
    pulled: int = 0  # from the daemons' logs
    unchanged: int = 0  # synced with nothing to do either way: a GET for nothing


def window_figures(
    timeline: dict[str, Any], events: list[dict[str, Any]], window: float
) -> dict[int, WindowFigures]:
    """One organisation's figures in each window (by the window's number, Unix time //
    window)."""
    figures: dict[int, WindowFigures] = defaultdict(WindowFigures)
    refusals: list[tuple[float, int]] = []
    for at, allowed, retry_after in timeline["counted"]:
        held = any(t + IN_FLIGHT_SLACK < at < t + r for t, r in refusals)
        this = figures[int(at // window)]
        this.inside_retry_after += held
        if allowed:
            this.spent += 1
        else:
            this.refused += 1
            refusals.append((at, retry_after))
    for at, method, path, status in timeline["logged"]:
        this = figures[int(at // window)]
        if status != 200:
            continue
        if method == "PUT":
            this.puts += 1
        elif method == "GET":
            this.gets += 1
        elif path.endswith("/Query/FullContact"):
            this.bulk += 1
    for event in events:
        at = datetime.fromisoformat(event["timestamp"]).timestamp()
        if event.get("outcome") == "pulled":
            figures[int(at // window)].pulled += 1
        elif event.get("outcome") == "unchanged":
            figures[int(at // window)].unchanged += 1
    return figures


def read_logs(logs: list[Path]) -> tuple[dict[str, list[dict[str, Any]]], Counter[str]]:
    """The contacts synced by each organisation (``work.contact_synced``), and how many
    times each warning or error event was logged (by organisation and event)."""
    synced: dict[str, list[dict[str, Any]]] = defaultdict(list)
    trouble: Counter[str] = Counter()
    for path in logs:
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                trouble[f"(not JSON) {line[:80]}"] += 1
                continue
            if event.get("event") == "work.contact_synced":
                synced[event.get("organization", "?")].append(event)
            if event.get("level") in ("warning", "error", "critical"):
                trouble[f"{event.get('organization', '-')} {event.get('event')}"] += 1
    return synced, trouble


def database_state(url: str) -> tuple[dict[str, Counter[str]], dict[str, Counter[str]]]:
    """What is left in each organisation's queue (by reason) and how its job runs ended."""
    engine = create_engine(url)
    queued: dict[str, Counter[str]] = defaultdict(Counter)
    runs: dict[str, Counter[str]] = defaultdict(Counter)
    try:
        with engine.connect() as connection:
            for org, reason, count in connection.execute(
                text("SELECT organization, reason, count(*) FROM work_queue GROUP BY 1, 2")
            ):
                queued[org][reason] = count
            for org, job, outcome, count in connection.execute(
                text("SELECT organization, job, outcome, count(*) FROM job_runs GROUP BY 1, 2, 3")
            ):
                runs[org][f"{job} {outcome}"] = count
    finally:
        engine.dispose()
    return queued, runs


class ConnectionWatch(threading.Thread):
    """The connections open to the scratch database (``pg_stat_activity``), every few
    seconds: four processes serving ten organisations each must stay well inside
    PostgreSQL's ``max_connections`` (100 by default), beside everything else on it."""

    def __init__(self, url: str) -> None:
        super().__init__(name="connections", daemon=True)
        self._engine = create_engine(url, poolclass=NullPool)
        self._name = url.rsplit("/", 1)[1]
        self._halt = threading.Event()
        self.peak = 0
        self.peak_all = 0  # every database of the server, other users' too
        self.limit = 0

    def run(self) -> None:
        query = text(
            "SELECT count(*) FILTER (WHERE datname = :name), count(*), "
            "current_setting('max_connections')::int FROM pg_stat_activity"
        )
        while not self._halt.wait(2.0):
            try:
                with self._engine.connect() as connection:
                    mine, every, limit = connection.execute(query, {"name": self._name}).one()
            except Exception:  # the server full: the workers' logs say so
                continue
            self.peak, self.peak_all = max(self.peak, mine), max(self.peak_all, every)
            self.limit = limit

    def stop(self) -> None:
        self._halt.set()
        self.join(10)
        self._engine.dispose()


def plot(
    per_org: dict[str, dict[int, WindowFigures]],
    measured: list[int],
    bound: float,
    window: float,
    path: Path,
    title: str,
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (updates, shares) = plt.subplots(1, 2, figsize=(12, 4.5))
    first = measured[0]
    minutes = [(n - first) * window / 60 for n in measured]
    for name, figures in sorted(per_org.items()):
        updates.plot(minutes, [figures[n].puts for n in measured], ".-", label=name, alpha=0.8)
    updates.axhline(bound, color="k", linestyle="--", label=f"bound {bound:g}")
    updates.set_xlabel(f"run time (min); one point per budget window ({window:g} s = 1 h)")
    updates.set_ylabel("updates pushed in the window")
    updates.set_ylim(0, bound * 1.15)
    updates.legend(fontsize=7, ncol=2, loc="lower right")
    names = sorted(per_org)
    mean_share = [
        statistics.mean(per_org[name][n].puts / bound for n in measured) for name in names
    ]
    shares.bar(names, [100 * s for s in mean_share])
    shares.axhline(100, color="k", linestyle="--")
    shares.set_ylabel("mean share of the bound (%)")
    shares.set_ylim(0, 110)
    shares.tick_params(axis="x", rotation=45)
    figure.suptitle(textwrap.fill(title, 150), fontsize=8)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)


# -- the run -------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=10)
    parser.add_argument("--contacts-per-org", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4, help="syncengine daemon processes")
    parser.add_argument("--limit", type=int, default=150, help="requests per window")
    parser.add_argument("--reserve", type=int, default=15)
    parser.add_argument("--window", type=float, default=60.0, help="seconds (an hour: 3600)")
    parser.add_argument("--windows", type=int, default=8, help="whole windows measured")
    parser.add_argument(
        "--overload", type=float, default=1.5, help="platform edits, times the bound"
    )
    parser.add_argument(
        "--ui-share", type=float, default=0.25, help="CRM+ UI edits, times the bound"
    )
    parser.add_argument("--push-interval", type=float, default=30.0, help="the default")
    parser.add_argument(
        "--pull-interval", type=float, default=20.0, help="three a window, as 300 s in an hour"
    )
    parser.add_argument("--link-parallel", type=int, default=2, help="first syncs at once")
    parser.add_argument("--plot", type=Path, help="a PNG of each organisation's throughput")
    parser.add_argument(
        "--keep-logs", type=Path, help="copy the workers' logs and the sandboxes' timelines here"
    )
    args = parser.parse_args()

    bound = (args.limit - args.reserve) / 2
    ids = range(FIRST_ID, FIRST_ID + args.contacts_per_org)
    load = os.getloadavg()
    header = (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} cores "
        f"(load {load[0]:.1f} at the start); {args.orgs} organisations x "
        f"{args.contacts_per_org:,} contacts, {args.workers} worker processes, PostgreSQL; "
        f"limit {args.limit} per {args.window:g} s window (an hour compressed "
        f"{HOUR / args.window:g}x), reserve {args.reserve}: bound {bound:g} updates a window"
    )
    print(header, flush=True)

    # The folders, configuration, logs and timelines outlive the sandboxes and the
    # database (the sandboxes write their timelines as they stop).
    with tempfile.TemporaryDirectory(prefix="scale-") as kept, ExitStack() as stack:
        scratch = Path(kept)
        url = stack.enter_context(scratch_database(True))
        orgs: list[Org] = []
        started = time.perf_counter()
        for name in org_names(args.orgs):
            folder = scratch / name
            folder.mkdir()
            org = Org(
                name,
                f"SCALE_{name.upper()}_TOKEN",
                f"scale-{name}-token-0123456789",
                folder,
                scratch / f"{name}.timeline.json",
            )
            org.sandbox = stack.enter_context(
                sandbox_process(
                    ids,
                    token=org.token,
                    serve=_serve_watched,
                    serve_args=(str(org.timeline_file),),
                    hourly_limit=args.limit,
                    window_seconds=args.window,
                )
            )
            for contact_id in ids:
                write_document(folder, platform_document(contact_id))
            orgs.append(org)
        print(f"set-up: {len(orgs)} sandboxes and folders in {time.perf_counter() - started:.0f} s")
        config = scratch / "config.yaml"
        write_config(config, orgs, url, args)
        environ = {**os.environ, **{org.token_env: org.token for org in orgs}}

        started = time.perf_counter()
        # Each first sync in a child process of its own (measured there), as many at once
        # as the machine has cores for: linking is set-up, not the subject.
        with ThreadPoolExecutor(args.link_parallel) as pool:
            linked = list(pool.map(lambda o: in_child(_link, str(config), o.name, environ), orgs))
        link_wall = time.perf_counter() - started
        print(
            f"linked: {args.orgs} first syncs, {args.link_parallel} at a time, in "
            f"{link_wall:.0f} s (each {min(m.wall for m in linked):.0f}-"
            f"{max(m.wall for m in linked):.0f} s, CPU {sum(m.cpu for m in linked):.0f} s "
            f"in all); {linked[0].result}",
            flush=True,
        )

        rate = bound * args.overload / args.window
        editor = Editor(orgs, ids, rate=rate, ui_rate=bound * args.ui_share / args.window)
        editor.backlog(int(bound))  # a window's worth waiting at the start
        logs = scratch / "logs"
        logs.mkdir()
        sandbox_cpu = {org.name: org.sandbox.cpu_seconds() for org in orgs if org.sandbox}
        connections = ConnectionWatch(url)
        connections.start()
        with workers(args.workers, config, environ, logs) as running:
            begun = time.time()
            editor.start()
            first = math.ceil(begun / args.window)  # the first whole window
            end = (first + args.windows) * args.window
            print(
                f"run: {args.workers} workers from {datetime.fromtimestamp(begun, UTC):%H:%M:%S};"
                f" whole windows {args.windows} from "
                f"{datetime.fromtimestamp(first * args.window, UTC):%H:%M:%S} to "
                f"{datetime.fromtimestamp(end, UTC):%H:%M:%S}",
                flush=True,
            )
            while time.time() < end + 1:
                time.sleep(min(5.0, max(end + 1 - time.time(), 0.1)))
                dead = [w for w in running if w.process.poll() is not None]
                if dead:
                    print(f"! {len(dead)} worker(s) exited: {[w.log for w in dead]}")
                    break
            editor.stop()
        connections.stop()
        for org in orgs:
            if org.sandbox:
                sandbox_cpu[org.name] = org.sandbox.cpu_seconds() - sandbox_cpu[org.name]
        queued, runs = database_state(url)
        synced, trouble = read_logs([w.log for w in running])
        if args.keep_logs is not None:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            for worker in running:
                (args.keep_logs / worker.log.name).write_bytes(worker.log.read_bytes())
        stack.close()  # stops the sandboxes: each writes its timeline
        per_org: dict[str, dict[int, WindowFigures]] = {}
        for org in orgs:
            if args.keep_logs is not None:
                (args.keep_logs / org.timeline_file.name).write_bytes(
                    org.timeline_file.read_bytes()
                )
            timeline = json.loads(org.timeline_file.read_text(encoding="utf-8"))
            per_org[org.name] = window_figures(timeline, synced.get(org.name, []), args.window)

    measured = list(range(first, first + args.windows))
    report(args, orgs, per_org, measured, bound, running, sandbox_cpu, editor)
    print(
        f"connections to PostgreSQL: peak {connections.peak} from the workers' database, "
        f"{connections.peak_all} to the server in all (max_connections {connections.limit})"
    )
    print("\nleft in the queues at the end:")
    for org in orgs:
        print(f"  {org.name}: {dict(queued.get(org.name, {}))}; runs {dict(runs[org.name])}")
    if trouble:
        print("\nwarnings and errors in the workers' logs:")
        for what, count in trouble.most_common(20):
            print(f"  {count:>6}  {what}")
    if args.plot is not None:
        plot(per_org, measured, bound, args.window, args.plot, header)
        print(f"\nplot: {args.plot}")
    return 0


def report(
    args: argparse.Namespace,
    orgs: list[Org],
    per_org: dict[str, dict[int, WindowFigures]],
    measured: list[int],
    bound: float,
    running: list[Worker],
    sandbox_cpu: dict[str, float],
    editor: Editor,
) -> None:
    spendable = args.limit - args.reserve
    print(
        f"\nper organisation, over {len(measured)} whole windows (per window: min-max; "
        f"spendable {spendable} = limit - reserve):\n"
    )
    print(
        "| organisation | updates pushed a window | share of the bound (mean) | lowest window "
        "| requests a window | over limit - reserve | bulk pages | synced unchanged | pulled "
        "| 429s "
        "| inside a Retry-After | platform edits made | UI edits made |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    means = {}
    for org in orgs:
        figures = [per_org[org.name][n] for n in measured]
        puts = [f.puts for f in figures]
        spent = [f.spent for f in figures]
        share = statistics.mean(puts) / bound
        means[org.name] = share
        print(
            f"| {org.name} | {min(puts)}-{max(puts)} | {share:.1%} | {min(puts) / bound:.1%} "
            f"| {min(spent)}-{max(spent)} | {sum(s > spendable for s in spent)} windows "
            f"| {sum(f.bulk for f in figures)} | {sum(f.unchanged for f in figures)} "
            f"| {sum(f.pulled for f in figures)} "
            f"| {sum(f.refused for f in figures)} | {sum(f.inside_retry_after for f in figures)} "
            f"| {editor.platform_edits[org.name]:,} | {editor.ui_edits[org.name]:,} |"
        )
    print("\nupdates pushed / requests spent, each window:\n")
    columns = " | ".join(f"window {n - measured[0] + 1}" for n in measured)
    print(f"| organisation | {columns} |")
    print("|---|" + "---|" * len(measured))
    for org in orgs:
        cells = [f"{per_org[org.name][n].puts} / {per_org[org.name][n].spent}" for n in measured]
        print(f"| {org.name} | " + " | ".join(cells) + " |")
    low, high = min(means.values()), max(means.values())
    # Starved: far below the best served organisation (all share one machine and database).
    starved = [name for name, share in means.items() if share < 0.8 * high]
    print(
        f"\nthroughput as a share of the bound: mean {statistics.mean(means.values()):.1%}, "
        f"lowest organisation {low:.1%}, highest {high:.1%} "
        f"(min/max {low / high if high else 0:.2f}); "
        f"starved (below 80 % of the highest): {', '.join(starved) or 'none'}"
    )
    if len(measured) > 1:
        # The first whole window is a warm-up under compressed time: until a process has
        # seen two resets it paces for an hour, and defers what would wait longer.
        later = {
            name: statistics.mean(per_org[name][n].puts for n in measured[1:]) / bound
            for name in means
        }
        print(
            f"from the second window on: mean {statistics.mean(later.values()):.1%}, lowest "
            f"organisation {min(later.values()):.1%}, highest {max(later.values()):.1%}"
        )
    total_puts = sum(per_org[o.name][n].puts for o in orgs for n in measured)
    # The workers' CPU covers the whole run, partial windows too: over every update.
    all_puts = sum(f.puts for o in orgs for f in per_org[o.name].values())
    hours = len(measured)
    print(
        f"all organisations: {total_puts:,} updates in {hours} compressed hours "
        f"({total_puts / (hours * args.window):.1f} a second); at 5,000 requests an hour and "
        f"a reserve of 250 each would be {statistics.mean(means.values()) * 2375:,.0f} "
        "updates an hour"
    )
    cpu = sum(w.cpu for w in running)
    print(
        f"workers: CPU {cpu:.0f} s in all ({', '.join(f'{w.cpu:.0f}' for w in running)}), "
        f"peak memory {', '.join(f'{w.peak_mb:.0f}' for w in running)} MB; sandboxes' CPU "
        f"during the run {sum(sandbox_cpu.values()):.0f} s; CPU per update pushed "
        f"(workers) {cpu / max(all_puts, 1) * 1000:.0f} ms ({all_puts:,} pushed in the whole run)"
    )
    if editor.errors:
        print(f"UI edit failures: {len(editor.errors)}; first: {editor.errors[0]}")


if __name__ == "__main__":
    sys.exit(main())
