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
and the worker takes pushes and webhook work only.

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

from syncengine.bootstrap import App, DaemonParts
from syncengine.domain.ports import ConflictStatus, JobRun, Priority
from syncengine.engine.claims import ClaimHeld
from syncengine.engine.run_all import RUN_STOPPING_ERRORS
from syncengine.errors import ConfigError, SyncEngineError
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


class Daemon:
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
        self._metrics = metrics
        self._stop = stop
        self._wake = threading.Event()
        self._fatal: SyncEngineError | None = None
        self._parts: DaemonParts = app.daemon_parts()
        self._scheduler = Scheduler()
        self._worker = threading.Thread(target=self._work, name="syncengine-worker", daemon=True)
        self._server = WebServer(
            build_app(
                webhook_path=settings.webhook_path,
                signature_header=settings.webhook_signature_header,
                secret=secret,
                enqueue=self.enqueue,
                health=self.health,
                metrics=self._render_metrics,
                on_delivery=metrics.webhook_observer(self._organization),
            ),
            settings.host,
            settings.port,
        )
        self._worker_subject = f"worker:{app.claims.owner}"

    # -- running ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._server.base_url

    def run(self) -> SyncEngineError | None:
        """Run until ``stop`` is set (a signal) or a failure stops everything; returns that
        failure, or None for a clean stop."""
        claims = self._app.claims
        claims.take(self._worker_subject)  # "this worker is alive", for status
        jobs: dict[str, Job] = {job.name: job for job in self._parts.jobs}
        self._scheduler.every("push", self._settings.push_interval, self._tick(jobs["push"]))
        self._scheduler.every("pull", self._settings.pull_interval, self._tick(jobs["pull"]))
        self._scheduler.cron(
            "reconcile", self._settings.reconcile_cron, self._tick(jobs["reconcile"])
        )
        self._server.start()
        self._worker.start()
        self._scheduler.start()
        log.info(
            "daemon.started",
            organization=self._organization,
            listen=self._server.base_url,
            worker=claims.owner,
        )
        try:
            self._stop.wait()
        finally:
            self._shutdown()
        return self._fatal

    def _shutdown(self) -> None:
        log.info("daemon.stopping", organization=self._organization)
        self._wake.set()
        self._scheduler.shutdown(wait=True)  # the runs in progress stop between contacts
        self._worker.join(timeout=STOP_TIMEOUT)
        self._server.stop()
        log.info("daemon.stopped", organization=self._organization)

    def _fail(self, exc: SyncEngineError) -> None:
        """A failure no run can survive: stop, and say why."""
        if self._fatal is None:
            self._fatal = exc
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
        with structlog.contextvars.bound_contextvars(job=job.name, run_id=run_id):
            try:
                counts = dict(job.run(self._stop.is_set))
                remaining = self._app.crm.budget.remaining
                if remaining is not None:
                    counts["budget_remaining"] = remaining  # for status
                outcome = "stopped" if self._stop.is_set() else "ok"
                log.info("daemon.job_done", **counts)
            except RUN_STOPPING_ERRORS as exc:
                outcome, error = "failed", str(exc)
                self._fail(exc)
            except SyncEngineError as exc:
                outcome, error = "failed", str(exc)
                log.error("daemon.job_failed", error=error)
            except Exception as exc:
                outcome, error = "failed", f"{type(exc).__name__}: {exc}"
                log.exception("daemon.job_crashed")
            runs.finish(
                run_id, outcome=outcome, at=self._app.clock.now(), counts=counts, error=error
            )
        self._metrics.count_run(self._organization, job.name, outcome)

    # -- the worker ------------------------------------------------------------------------

    def _work(self) -> None:
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
            except Exception:
                log.exception("daemon.worker_crashed")
                reports = []
            for report in reports:
                outcome = report.outcome if report.outcome in CONTACT_OUTCOMES else "unchanged"
                self._metrics.count_contacts(self._organization, outcome)
            if reports:
                self._refresh_gauges()
            self._wake.wait(IDLE_WAIT)
            self._wake.clear()

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
            "scheduler": self._scheduler.running,
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
        ok = database and self._scheduler.running and self._worker.is_alive() and not self._fatal
        return HealthReport(ok=ok, details=details)

    def _render_metrics(self) -> tuple[bytes, str]:
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


__all__ = ["ClaimHeld", "Daemon", "check_listen"]
