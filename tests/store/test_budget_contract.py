"""The request budget's shared token bucket, for every implementation, between threads
and between real processes on one database."""

import multiprocessing
import time
from pathlib import Path

import pytest

from syncengine.domain.ports import BudgetLedger
from syncengine.store import SqlBudgetLedger, make_engine
from tests.fixtures.db import backend_params, fresh_database_url, migrated_engine
from tests.store.conftest import Backend

T0 = 1_700_000_000.0


def granted(ledger: BudgetLedger, times: int, *, now: float, rate: float, capacity: float) -> int:
    return sum(ledger.take(now=now, rate=rate, capacity=capacity) == 0.0 for _ in range(times))


def test_a_full_bucket_grants_a_burst_then_says_how_long_to_wait(backend: Backend) -> None:
    ledger = backend.ledger()
    assert granted(ledger, 12, now=T0, rate=0.5, capacity=10) == 10
    assert ledger.take(now=T0, rate=0.5, capacity=10) == pytest.approx(2.0)  # 1 token at 0.5/s


def test_tokens_come_back_at_the_rate_up_to_the_capacity(backend: Backend) -> None:
    ledger = backend.ledger()
    granted(ledger, 10, now=T0, rate=1.0, capacity=10)
    assert granted(ledger, 5, now=T0 + 3, rate=1.0, capacity=10) == 3
    assert granted(ledger, 20, now=T0 + 1000, rate=1.0, capacity=10) == 10


def test_a_clock_read_before_another_take_does_not_refill_twice(backend: Backend) -> None:
    # Process A reads its clock (T0+5), process B takes at T0+10 first, then A's take
    # arrives with the older time: the seconds T0+5..T0+10 must not come back again.
    ledger = backend.ledger()
    granted(ledger, 10, now=T0, rate=1.0, capacity=10)
    assert granted(ledger, 5, now=T0 + 10, rate=1.0, capacity=10) == 5
    assert granted(ledger, 1, now=T0 + 5, rate=1.0, capacity=10) == 1
    assert granted(ledger, 10, now=T0 + 10, rate=1.0, capacity=10) == 4


def test_crm_plus_count_caps_the_bucket(backend: Backend) -> None:
    ledger = backend.ledger()
    ledger.take(now=T0, rate=1.0, capacity=100)
    ledger.correct(now=T0, available=2)  # CRM+: 2 requests left above the reserve
    assert granted(ledger, 5, now=T0, rate=1.0, capacity=100) == 2


def test_buckets_are_per_organisation(backend: Backend) -> None:
    assert granted(backend.ledger("north"), 3, now=T0, rate=1.0, capacity=3) == 3
    assert granted(backend.ledger("south"), 3, now=T0, rate=1.0, capacity=3) == 3


def _spend(
    url: str,
    seconds: float,
    ready: "multiprocessing.synchronize.Barrier",
    out: "multiprocessing.Queue[tuple[int, float, float]]",
) -> None:
    engine = make_engine(url)
    try:
        ledger, count = SqlBudgetLedger(engine), 0
        ready.wait(timeout=60)  # all of them spend at once, however slowly each started
        first = time.time()
        until = first + seconds
        while time.time() < until:
            if ledger.take(now=time.time(), rate=5.0, capacity=5) == 0.0:
                count += 1
            else:
                time.sleep(0.01)
        out.put((count, first, time.time()))
    finally:
        engine.dispose()


@pytest.mark.parametrize("backend_name", backend_params())
def test_processes_on_one_database_share_one_budget_not_one_each(
    backend_name: str, tmp_path: Path
) -> None:
    processes, seconds = 4, 3.0
    context = multiprocessing.get_context("spawn")
    with fresh_database_url(backend_name, tmp_path) as url, migrated_engine(url):
        results: multiprocessing.Queue[tuple[int, float, float]] = context.Queue()
        ready = context.Barrier(processes)
        workers = [
            context.Process(target=_spend, args=(url, seconds, ready, results))
            for _ in range(processes)
        ]
        for worker in workers:
            worker.start()
        spent = [results.get(timeout=90) for _ in workers]
        for worker in workers:
            worker.join(timeout=30)
    total = sum(count for count, _, _ in spent)
    # The span measured, not assumed: a loaded machine stretches it, and the bound with it.
    elapsed = max(end for _, _, end in spent) - min(first for _, first, _ in spent)
    # One bucket: its capacity plus what came back while they ran, whatever the number of
    # processes (four separate buckets would have granted about four times as much).
    assert total <= 5 + 5.0 * elapsed + 1
    assert total >= 5 + 5.0 * seconds * 0.5, "and the budget was actually spent"
