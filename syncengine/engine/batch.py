"""Many contacts' syncs in one run: in turn, or several at once on a bounded pool.

- Each contact is synced wholly on one thread, so one contact's requests keep their
  order and never two go at once; several contacts overlap (``sync.concurrency``) to hide
  the round trips' latency.
- Each is let in by the request budget first (``CrmPort.admit``): the run stops between
  contacts, not inside one. Once the budget is spent until a reset beyond the max wait
  (``CrmBudgetExhausted``), no contact starts any more; the one that met it and every
  one left are reported *deferred*; the ones in flight on other threads finish.
- What no contact can survive (``RUN_STOPPING_ERRORS``: a refused token, a lost database)
  stops the run the same way; the contacts left are *not reached*.
- A failure of one contact is its own report (the caller's ``guarded``); a bug (any other
  exception) stops starting contacts too and is raised once the others in flight are done.

Reports come back in the order of the jobs, whatever order the threads finished in.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

import structlog

from syncengine.domain.ports import CrmPort
from syncengine.engine.budget import deferred_report
from syncengine.engine.sync import ContactReport
from syncengine.errors import (
    CrmAuthError,
    CrmBudgetExhausted,
    DatabaseUnavailable,
    LocalPlatformError,
    SchemaOutdated,
    SyncEngineError,
)

log = structlog.get_logger(__name__)

# Errors after which no other contact can succeed either: the run stops, and still
# reports what it did. Every other error concerns one contact: it is reported, and the
# run goes on with the others. (Running out of the request budget is not one of them:
# it defers what is left, for the next run or the daemon; see ``engine.budget``.)
RUN_STOPPING_ERRORS = (CrmAuthError, DatabaseUnavailable, SchemaOutdated, LocalPlatformError)

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class ContactJob:
    contact_id: int | None  # None: a new platform record, known by its key
    key: str | None
    work: Callable[[], ContactReport]
    label: str  # for the progress bar
    requests: int  # what the budget lets it in for


@dataclass
class BatchResult:
    reports: list[ContactReport] = field(default_factory=list)  # done or deferred, in order
    aborted: SyncEngineError | None = None
    budget_stop: CrmBudgetExhausted | None = None
    not_reached: list[ContactJob] = field(default_factory=list)


class _Halt:
    """Why no further contact may start, set once by whichever thread meets it first."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.budget: CrmBudgetExhausted | None = None
        self.aborted: SyncEngineError | None = None
        self.crashed = False

    def budget_spent(self, exc: CrmBudgetExhausted) -> None:
        with self._lock:
            if self.budget is None:
                self.budget = exc
                log.warning("sync.budget_spent", resets_at=exc.resets_at, error=str(exc))

    def abort(self, exc: SyncEngineError, job: ContactJob) -> None:
        with self._lock:
            if self.aborted is None:
                self.aborted = exc
                log.error(
                    "sync.run_stopped", contact_id=job.contact_id, key=job.key, error=str(exc)
                )


def run_batch(
    jobs: Sequence[ContactJob],
    *,
    crm: CrmPort,
    guarded: Callable[[ContactJob], ContactReport],
    observe: Callable[[ContactReport, ContactJob], None],
    concurrency: int = 1,
    progress: Progress | None = None,
) -> BatchResult:
    """Run ``jobs``; ``guarded(job)`` turns a contact's own failure into its report and
    lets the run-stopping ones through; ``observe`` sees each report as it is made (the
    problems log), from the thread that made it."""
    halt = _Halt()
    done: list[ContactReport | None] = [None] * len(jobs)

    def one(index: int) -> None:
        job = jobs[index]
        if halt.aborted is not None or halt.crashed:
            return  # not reached
        if halt.budget is not None:
            done[index] = deferred_report(job.contact_id, job.key, halt.budget)
            return
        try:
            with crm.admit(job.requests):
                report = guarded(job)
        except CrmBudgetExhausted as exc:
            # Let in, it met a spent budget all the same (another integration spent it,
            # or CRM+ said 429 for long): the contact stopped at a safe point (a write
            # refused before it was sent is journaled failed), and is deferred with the rest.
            halt.budget_spent(exc)
            report = deferred_report(job.contact_id, job.key, exc)
        except RUN_STOPPING_ERRORS as exc:
            halt.abort(exc, job)
            return
        except BaseException:
            halt.crashed = True
            raise
        done[index] = report
        observe(report, job)

    if concurrency <= 1 or len(jobs) <= 1:
        for index, job in enumerate(jobs):
            one(index)
            if progress:
                progress(index + 1, len(jobs), job.label)
    else:
        _on_pool(one, jobs, concurrency, progress)
    result = BatchResult(aborted=halt.aborted, budget_stop=halt.budget)
    for job, report in zip(jobs, done, strict=True):
        if report is None:
            result.not_reached.append(job)
        else:
            result.reports.append(report)
    return result


def _on_pool(
    one: Callable[[int], None],
    jobs: Sequence[ContactJob],
    concurrency: int,
    progress: Progress | None,
) -> None:
    """``one(i)`` for every job on ``concurrency`` threads; progress from this thread. Each
    job runs in a copy of this thread's context (its log bindings), and sets its own
    context variables (the budget's admitted unit) in that copy only."""
    with ThreadPoolExecutor(concurrency, thread_name_prefix="syncengine-contact") as pool:
        futures = {
            pool.submit(contextvars.copy_context().run, one, index): job
            for index, job in enumerate(jobs)
        }
        for finished, future in enumerate(as_completed(futures), start=1):
            if future.exception() is not None:
                # A bug: the jobs not started yet return at once (``halt.crashed``), those
                # in flight finish (leaving the pool waits for them), then it is raised.
                break
            if progress:
                progress(finished, len(jobs), futures[future].label)
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error
