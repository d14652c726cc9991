"""``syncengine daemon``: the jobs on their schedules, a worker on the queue, the web server.

One process, one organisation (its ``App``), three kinds of thread:

- the scheduler's: the push job every ``daemon.push_interval`` seconds, the pull job
  every ``daemon.pull_interval``, the reconcile job on ``daemon.reconcile_cron``. Each
  run takes the job's claim (``job:<name>``): with several daemon processes on one
  database, one of them runs a given job at a time, and a killed one's turn passes on;
- the worker's: it drains the work queue, contact by contact under their claims (several
  processes share the queue); it wakes when a job or a webhook queued something;
- the web server's: webhooks, ``/enqueue``, ``/healthz``, ``/metrics``.

Every run is recorded (``job_runs``), logged with its job and run id, and counted in the
metrics; a run that fails is logged and recorded and the next one happens as scheduled.
What no run can survive (a refused token, a lost database) stops the daemon with exit
code 1 and the reason. When the request budget runs low (``daemon.low_budget`` requests
left this hour, as CRM+ reports them), the pull and reconcile jobs wait for the reset
and the worker takes pushes and webhook work only. When the budget is spent (nothing may
be sent before a reset beyond ``crm.rate_limit.max_wait``), nothing is fatal: the worker
puts the contact back due at the reset (not a failed attempt) and rests until then; a
job's tick ends ``deferred``.

SIGTERM/SIGINT (``stop``): no new run starts, the contact in flight is finished, the
claims are given back, exit 0. A restart resumes from the queue, the journal (crash
recovery) and the cursors: nothing lost, nothing written twice.
"""

from __future__ import annotations

import ipaddress
import secrets
import threading
from collections.abc import Callable
from typing import Any, Protocol

import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from syncengine.bootstrap import App, DaemonParts
from syncengine.domain.ports import ConflictStatus, JobRun, Priority
from syncengine.engine.budget import DEFERRED
from syncengine.engine.run_all import RUN_STOPPING_ERRORS
from syncengine.errors import ConfigError, CrmBudgetExhausted, SyncEngineError
from syncengine.metrics import CONTACT_OUTCOMES, Metrics
from syncengine.scheduler import Scheduler
from syncengine.web import HealthReport, WebServer, build_app

log = structlog.get_logger(__name__)

# How long the worker sleeps when the queue holds nothing due (a webhook wakes it).
IDLE_WAIT = 1.0
# The longest the daemon waits for its threads at a stop; the unit file allows 30 s.
STOP_TIMEOUT = 25.0


class Job(Protocol):
    name: str

    def run(self, should_stop: Callable[[], bool]) -> dict[str, int]: ...


def check_listen(host: str, secret: str | None) -> None:
    """Unsigned webhooks are only acceptable where nobody else can send them."""
    if secret is not None:
        return
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ConfigError(
            "daemon.listen",
            f"{host!r} is not a loopback address, and SYNCENGINE_WEBHOOK_SECRET is not set: "
            "anyone who can reach the port could queue syncs. Set the secret (and the same "
            "one in CRM+'s webhook settings), or listen on 127.0.0.1",
        )


class OrganizationDaemon:
    """One organisation's part of a daemon: its jobs, its worker, its web routes. Each
    organisation has its own worker thread and budget, so none starves another."""

    def __init__(
        self,
        app: App,
        *,
        secret: str | None,
        metrics: Metrics,
        stop: threading.Event,
    ) -> None:
        settings = app.settings.daemon
        check_listen(settings.host, secret)
        self._app = app
        self._organization = app.settings.organization
        self._settings = settings
        self._secret = secret
        self._metrics = metrics
        self._stop = stop
        self._wake = threading.Event()
        self.fatal: SyncEngineError | None = None
        self._parts: DaemonParts = app.daemon_parts()
        self._scheduler: Scheduler | None = None
        self._worker = threading.Thread(
            target=self._work, name=f"syncengine-worker-{self._organization}", daemon=True
        )

    @property
    def organization(self) -> str:
        return self._organization

    def web_app(self) -> Starlette:
        """This organisation's routes: its webhook, /enqueue, /healthz, /metrics."""
        return build_app(
            webhook_path=self._settings.webhook_path,
            signature_header=self._settings.webhook_signature_header,
            secret=self._secret,
            enqueue=self.enqueue,
            health=self.health,
            metrics=self.render_metrics,
            on_delivery=self._metrics.webhook_observer(self._organization),
        )

    # -- running ---------------------------------------------------------------------------

    def start(self, scheduler: Scheduler) -> None:
        """Claim "this worker is alive" (for status), put the jobs on ``scheduler``, start
        the worker."""
        self._app.claims.take(f"worker:{self._app.claims.owner}")
        jobs: dict[str, Job] = {job.name: job for job in self._parts.jobs}
        settings = self._settings
        prefix = f"{self._organization}:"
        scheduler.every(prefix + "push", settings.push_interval, self._tick(jobs["push"]))
        scheduler.every(prefix + "pull", settings.pull_interval, self._tick(jobs["pull"]))
        reconcile = self._tick(jobs["reconcile"])
        scheduler.cron(prefix + "reconcile", settings.reconcile_cron, reconcile)
        self._scheduler = scheduler
        self._worker.start()
        log.info(
            "daemon.organization_started",
            organization=self._organization,
            worker=self._app.claims.owner,
        )

    def join(self) -> None:
        """Once the scheduler stopped: let the worker finish the contact in flight."""
        self._wake.set()
        self._worker.join(timeout=STOP_TIMEOUT)

    def _fail(self, exc: SyncEngineError) -> None:
        """A failure no run can survive: stop the daemon, and say why."""
        if self.fatal is None:
            self.fatal = exc
        log.error("daemon.fatal", organization=self._organization, error=str(exc))
        self._stop.set()

    # -- the jobs --------------------------------------------------------------------------

    def _tick(self, job: Job) -> Callable[[], None]:
        def tick() -> None:
            if self._stop.is_set():
                return
            if job.name != "push" and self._budget_low():
                log.info("daemon.job_deferred", job=job.name, reason="request budget low")
                self._metrics.count_run(self._organization, job.name, "deferred")
                return
            try:
                with self._app.claims.holding_if_free(f"job:{job.name}") as blocker:
                    if blocker is not None:
                        return  # another worker runs this job now
                    self._run(job)
            except SyncEngineError as exc:  # the claim itself (database trouble)
                log.error("daemon.job_failed", job=job.name, error=str(exc))
            self._refresh_gauges()
            self._wake.set()

        return tick

    def _run(self, job: Job) -> None:
        run_id = secrets.token_hex(8)
        runs = self._parts.runs
        now = self._app.clock.now()
        runs.start(JobRun(job.name, run_id, now, worker=self._app.claims.owner))
        outcome, counts, error = "ok", dict[str, int](), None
        with structlog.contextvars.bound_contextvars(
            organization=self._organization, job=job.name, run_id=run_id
        ):
            try:
                counts = dict(job.run(self._stop.is_set))
                remaining = self._app.crm.budget.remaining
                if remaining is not None:
                    counts["budget_remaining"] = remaining  # for status
                outcome = "stopped" if self._stop.is_set() else "ok"
                if outcome == "ok" and counts.get(DEFERRED):
                    outcome = DEFERRED  # some of its work waits for the budget's reset
                log.info("daemon.job_done", **counts)
            except CrmBudgetExhausted as exc:
                # Not a failure: the job's work (its cursor unmoved) waits for the reset,
                # and the next tick after it does it.
                outcome, error = DEFERRED, str(exc)
                log.info("daemon.job_deferred", reason="request budget spent", error=error)
            except RUN_STOPPING_ERRORS as exc:
                outcome, error = "failed", str(exc)
                self._fail(exc)
            except SyncEngineError as exc:
                outcome, error = "failed", str(exc)
                log.error("daemon.job_failed", error=error)
            except Exception as exc:  # a bug in one run must not end the daemon
                outcome, error = "failed", f"{type(exc).__name__}: {exc}"
                # No traceback: the console renderer would print its frames' locals,
                # after the secret scrubber has run.
                log.error("daemon.job_crashed", error=error)
            runs.finish(
                run_id, outcome=outcome, at=self._app.clock.now(), counts=counts, error=error
            )
        self._metrics.count_run(self._organization, job.name, outcome)

    # -- the worker ------------------------------------------------------------------------

    def _work(self) -> None:
        structlog.contextvars.bind_contextvars(organization=self._organization, job="work")
        while not self._stop.is_set():
            try:
                reports = self._parts.worker.work(
                    should_stop=self._stop.is_set,
                    max_priority=Priority.PUSH if self._budget_low() else None,
                )
            except RUN_STOPPING_ERRORS as exc:
                self._fail(exc)
                return
            except SyncEngineError as exc:
                log.error("daemon.worker_failed", error=str(exc))
                reports = []
            except Exception as exc:  # a bug must not end the worker for good
                log.error("daemon.worker_crashed", error=f"{type(exc).__name__}: {exc}")
                reports = []
            for report in reports:
                outcome = report.outcome if report.outcome in CONTACT_OUTCOMES else "unchanged"
                self._metrics.count_contacts(self._organization, outcome)
            if reports:
                self._refresh_gauges()
            self._wake.wait(self._idle_wait())
            self._wake.clear()

    def _idle_wait(self) -> float:
        """How long the worker sleeps (a webhook or a stop wakes it sooner): until the
        request budget's reset when it is spent, else ``IDLE_WAIT``."""
        resting_until = self._parts.worker.resting_until
        if resting_until is None:
            return IDLE_WAIT
        return max(IDLE_WAIT, (resting_until - self._app.clock.now()).total_seconds())

    # -- what the web server calls ---------------------------------------------------------

    def enqueue(self, contact_ids: list[int], reason: str) -> None:
        """Webhooks and ``/enqueue``: stored in the queue (durably) before the answer."""
        now = self._app.clock.now()
        for contact_id in contact_ids:
            self._parts.queue.add(contact_id, reason=reason, priority=Priority.PUSH, now=now)
        self._wake.set()

    def health(self) -> HealthReport:
        details: dict[str, Any] = {
            "organization": self._organization,
            "scheduler": self._scheduler is not None and self._scheduler.running,
            "worker": self._worker.is_alive(),
        }
        try:
            details["queue"] = self._parts.queue.depth()
            database = True
        except SyncEngineError as exc:
            # /healthz needs no signature: say that the database fails, not how.
            log.warning("daemon.health_database", error=str(exc))
            details["database"] = "unavailable"
            database = False
        scheduling = self._scheduler is not None and self._scheduler.running
        ok = database and scheduling and self._worker.is_alive() and not self.fatal
        return HealthReport(ok=ok, details=details)

    def render_metrics(self) -> tuple[bytes, str]:
        self._refresh_gauges()
        return self._metrics.render()

    # -- bookkeeping -----------------------------------------------------------------------

    def _budget_low(self) -> bool:
        remaining = self._app.crm.budget.remaining
        return remaining is not None and remaining < self._settings.low_budget

    def _refresh_gauges(self) -> None:
        try:
            self._metrics.set_queue_depth(self._organization, self._parts.queue.depth())
            open_conflicts = self._app.conflicts.list(status=ConflictStatus.OPEN)
            self._metrics.set_conflicts_open(self._organization, len(open_conflicts))
        except SyncEngineError as exc:
            log.warning("daemon.gauges_failed", error=str(exc))
        self._metrics.set_budget_remaining(self._organization, self._app.crm.budget.remaining)


class Daemon:
    """The process: one scheduler and one web server for every organisation it serves.

    One organisation: its routes are the server's (``/webhooks/crmplus``, ``/enqueue``,
    ``/healthz``, ``/metrics``). Several: each organisation's routes under
    ``/orgs/<name>/``, with ``/healthz`` (every organisation healthy) and ``/metrics``
    (every organisation's, labelled) at the top.
    """

    def __init__(
        self,
        organizations: list[OrganizationDaemon],
        *,
        host: str,
        port: int,
        metrics: Metrics,
        stop: threading.Event,
    ) -> None:
        self._organizations = organizations
        self._metrics = metrics
        self._stop = stop
        self._scheduler = Scheduler()
        self._server = WebServer(self._web_app(), host, port)

    @property
    def base_url(self) -> str:
        return self._server.base_url

    def run(self) -> SyncEngineError | None:
        """Run until ``stop`` is set (a signal) or a failure stops everything; returns that
        failure, or None for a clean stop."""
        self._server.start()
        for organization in self._organizations:
            organization.start(self._scheduler)
        self._scheduler.start()
        log.info(
            "daemon.started",
            organizations=[o.organization for o in self._organizations],
            listen=self._server.base_url,
        )
        try:
            self._stop.wait()
        finally:
            log.info("daemon.stopping")
            self._scheduler.shutdown(wait=True)  # the runs in progress stop between contacts
            for organization in self._organizations:
                organization.join()
            self._server.stop()
            log.info("daemon.stopped")
        return next((o.fatal for o in self._organizations if o.fatal is not None), None)

    def _web_app(self) -> Starlette:
        if len(self._organizations) == 1:
            return self._organizations[0].web_app()
        routes: list[BaseRoute] = [
            Route("/healthz", self._health, methods=["GET"]),
            Route("/metrics", self._render, methods=["GET"]),
        ]
        routes += [Mount(f"/orgs/{o.organization}", app=o.web_app()) for o in self._organizations]
        return Starlette(routes=routes)

    async def _health(self, _request: Request) -> Response:
        reports = {o.organization: o.health() for o in self._organizations}
        ok = all(report.ok for report in reports.values())
        body = {"ok": ok, "organizations": {k: v.details for k, v in reports.items()}}
        return JSONResponse(body, status_code=200 if ok else 503)

    async def _render(self, _request: Request) -> Response:
        for organization in self._organizations:
            organization.render_metrics()  # refreshes its gauges first
        data, content_type = self._metrics.render()
        return Response(data, media_type=content_type)
