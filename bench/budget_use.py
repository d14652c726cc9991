"""Budget use: how much of the hourly request budget `sync --all` turns into updates, and
whether it honours every 429.

CRM+ allows about 5,000 requests an hour per organisation; the engine leaves
`crm.rate_limit.reserve` to the organisation's other integrations, and a pushed contact
costs 2 requests (its GET and its PUT). The most updates an hour can hold is therefore
(limit - reserve) / 2: the bound. Issue 9's target: at least 90 % of it, with every 429
honoured (no request sent inside a Retry-After).

Time is compressed: the sandbox's rate-limit window is `--window` seconds instead of an
hour (`SandboxSettings.window_seconds`), with `--limit` requests in each. Nothing else
is scaled: the engine reads the window's end from `X-RateLimit-Reset` as it would from
CRM+, waits for it (`crm.rate_limit.max_wait` is set just above one window, as an hour's
`max_wait` would be for a daemon that waits through resets) and goes on. The compressed
rate (limit / window) is higher than the real one (5,000 / 3,600 s = 1.4 requests/s):
the engine must spend each window's budget in a fraction of it, then wait, which is what
it does in an hour too. What compression cannot show: anything that takes longer than a
window in real time (none of a contact's work does).

    python bench/budget_use.py                       # 300 a 30 s window, reserve 30
    python bench/budget_use.py --window 60 --windows 6

Two phases, on one sandbox (a child process), a `files` platform and SQLite:

1. **share**: enough contacts changed on the platform to keep the engine busy for
   `--windows` whole windows and more; another integration (this process, its own
   client) spends the reserve in each window, evenly. The engine's successful PUTs in
   each whole window (not the first or the last, which are partial) over the bound.
2. **429s**: another integration that, at a random moment early in each window, spends
   whatever is left, 8 requests at a time, until CRM+ answers 429, while the engine,
   with a reserve of 0 here (`--greedy-reserve`), spends to the hard limit too: the
   engine's requests in flight meet real 429s. (With a reserve, the engine stops short
   of the limit and meets a 429 only if the other integration drains the reserve in the
   instant its last contacts are in flight.) Every request the engine sent is checked
   against every 429 it received before: none was sent before that 429's Retry-After
   ended. The engine's requests are seen from its own side (a recording transport
   around its HTTP connection): sent when the transport is called, refused when the
   429 comes back.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from scenario import FIRST_ID, Scenario, build_scenario

from syncengine.bootstrap import open_app
from syncengine.config import RateLimitSettings, SyncSettings
from syncengine.engine.run_all import RunSummary
from syncengine.logging_setup import configure_logging


@dataclass(frozen=True)
class Sent:
    method: str
    path: str
    sent_at: float  # Unix seconds: the transport was called
    answered_at: float  # the answer's headers were in
    status: int | None
    retry_after: float | None


@dataclass
class Recorder(httpx.BaseTransport):
    """The engine's HTTP connection, recording each request as the engine sent it."""

    inner: httpx.HTTPTransport = field(default_factory=httpx.HTTPTransport)
    sent: list[Sent] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        started = time.time()
        try:
            response = self.inner.handle_request(request)
        except httpx.HTTPError:
            self._add(Sent(request.method, request.url.path, started, time.time(), None, None))
            raise
        retry = response.headers.get("Retry-After")
        self._add(
            Sent(
                request.method,
                request.url.path,
                started,
                time.time(),
                response.status_code,
                float(retry) if retry is not None else None,
            )
        )
        return response

    def _add(self, sent: Sent) -> None:
        with self.lock:
            self.sent.append(sent)

    def take(self) -> list[Sent]:
        with self.lock:
            taken, self.sent = self.sent, []
        return taken

    def close(self) -> None:
        self.inner.close()


class Neighbour(threading.Thread):
    """Another integration of the organisation, with its own client and its own habits:
    ``polite`` spends ``reserve`` requests a window, evenly; ``greedy`` waits for a
    random moment early in each window and spends until CRM+ says 429, then waits for
    the next window."""

    def __init__(self, scenario: Scenario, window: float, *, reserve: int, greedy: bool) -> None:
        super().__init__(name="neighbour", daemon=True)
        self._client = httpx.Client(
            base_url=scenario.sandbox.base_url,
            headers={"Authorization": f"Bearer {scenario.sandbox.token}"},
            timeout=30,
        )
        self._window = window
        self._reserve = reserve
        self._greedy = greedy
        self._halt = threading.Event()
        self._random = random.Random(9)
        self._count = threading.Lock()
        self.requests = 0
        self.refused = 0

    def stop(self) -> None:
        self._halt.set()
        self.join(30)
        self._client.close()

    def run(self) -> None:
        while not self._halt.is_set():
            start = time.time() // self._window * self._window
            if self._greedy:
                self._greedy_window(start)
            else:
                self._polite_window(start)
            self._halt.wait(max(start + self._window - time.time(), 0) + 0.01)

    def _polite_window(self, start: float) -> None:
        gap = self._window / (self._reserve + 1)
        for n in range(1, self._reserve + 1):
            if self._halt.wait(max(start + n * gap - time.time(), 0)) or not self._one():
                return

    def _greedy_window(self, start: float) -> None:
        """Early in the window, while the engine spends too, 8 requests at a time until
        CRM+ refuses one: the engine's view of what is left is then stale."""
        # Within the first 8 % of the window: the engine, let in again at the reset, is
        # spending then (it spends a window's budget in a fraction of it).
        at = start + self._window * self._random.uniform(0.0, 0.08)
        if self._halt.wait(max(at - time.time(), 0)):
            return
        refused = threading.Event()

        def spend() -> None:
            while not self._halt.is_set() and not refused.is_set():
                if not self._one():
                    refused.set()

        spenders = [threading.Thread(target=spend, daemon=True) for _ in range(8)]
        for spender in spenders:
            spender.start()
        for spender in spenders:
            spender.join()

    def _one(self) -> bool:
        """One request; False once refused (the rest of the window is CRM+'s)."""
        answer = self._client.get(f"/api/Contact/{FIRST_ID}")
        with self._count:
            self.requests += 1
            self.refused += answer.status_code == 429
        return answer.status_code != 429


@dataclass
class Phase:
    summary: RunSummary
    sent: list[Sent]
    neighbour_requests: int
    neighbour_refused: int


def run_phase(
    scenario: Scenario,
    args: argparse.Namespace,
    ids: list[int],
    edition: int,
    *,
    greedy: bool,
    reserve: int,
) -> Phase:
    scenario.change_on_platform(ids, edition=edition)
    crm = scenario.settings.crm.model_copy(
        update={"rate_limit": RateLimitSettings(reserve=reserve, max_wait=args.window + 5)}
    )
    sync = scenario.settings.sync
    if args.concurrency is not None:
        sync = sync.model_copy(update={"concurrency": args.concurrency})
    settings = scenario.settings.model_copy(update={"crm": crm, "sync": sync})
    recorder = Recorder()
    neighbour = Neighbour(scenario, args.window, reserve=args.reserve, greedy=greedy)
    scenario.sandbox.set_latency(args.latency)
    neighbour.start()
    try:
        with open_app(settings, scenario.secrets, transport=recorder) as app:
            summary = app.runner().run_all(force=True)
    finally:
        neighbour.stop()
        scenario.sandbox.set_latency(0.0)
    return Phase(summary, recorder.take(), neighbour.requests, neighbour.refused)


def whole_windows(sent: list[Sent], window: float) -> dict[int, int]:
    """The engine's successful PUTs in each window it spanned from start to end, but the
    first and the last (partial)."""
    if not sent:
        return {}
    first = int(min(s.sent_at for s in sent) // window)
    last = int(max(s.answered_at for s in sent) // window)
    puts = Counter(
        int(s.answered_at // window) for s in sent if s.method == "PUT" and s.status == 200
    )
    return {n: puts.get(n, 0) for n in range(first + 1, last)}


def violations(sent: list[Sent]) -> list[tuple[Sent, Sent]]:
    """(429, request) pairs: a request sent after a 429 came back and before its
    Retry-After ended."""
    refusals = [s for s in sent if s.status == 429 and s.retry_after is not None]
    found = []
    for refusal in refusals:
        held_until = refusal.answered_at + (refusal.retry_after or 0)
        found += [
            (refusal, s) for s in sent if refusal.answered_at < s.sent_at < held_until - 0.001
        ]
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=300, help="requests per window")
    parser.add_argument("--reserve", type=int, default=30)
    parser.add_argument("--window", type=float, default=30.0, help="seconds (an hour: 3600)")
    parser.add_argument("--windows", type=int, default=4, help="whole windows measured")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per request")
    parser.add_argument(
        "--concurrency", type=int, default=None, help="sync.concurrency (default: the default)"
    )
    parser.add_argument("--greedy-contacts", type=int, default=200)
    parser.add_argument("--only-429s", action="store_true", help="phase 2 alone")
    parser.add_argument(
        "--greedy-reserve",
        type=int,
        default=0,
        help="the engine's reserve in phase 2: 0, so that it too spends to the hard limit",
    )
    args = parser.parse_args()
    configure_logging("ERROR", "console")

    bound = (args.limit - args.reserve) / 2
    contacts = int(bound * (args.windows + 2))
    concurrency = args.concurrency or SyncSettings().concurrency
    print(
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}, {os.cpu_count()} cores; "
        f"limit {args.limit} per {args.window:g} s window (an hour compressed "
        f"{3600 / args.window:g}x), reserve {args.reserve}, latency "
        f"{args.latency * 1000:.0f} ms, concurrency {concurrency}; bound "
        f"{bound:g} updates a window"
    )
    sandbox = {"hourly_limit": args.limit, "window_seconds": args.window}
    with build_scenario(contacts, sandbox_options=sandbox) as scenario:
        with open_app(scenario.settings, scenario.secrets) as app:
            app.runner().run_all(force=True)  # the first sync links them: not measured
        ids = list(scenario.ids)
        if not args.only_429s:
            report_share(scenario, args, ids, bound)
        report_429s(scenario, args, ids)
    return 0


def report_share(
    scenario: Scenario, args: argparse.Namespace, ids: list[int], bound: float
) -> None:
    share = run_phase(scenario, args, ids, edition=2, greedy=False, reserve=args.reserve)
    counts = share.summary.counts()
    windows = whole_windows(share.sent, args.window)
    shares = [n / bound for n in windows.values()]
    print(
        f"\n1. share: {len(ids)} contacts; pushed {counts.get('pushed', 0)}, "
        f"failed {share.summary.failed}, deferred {share.summary.deferred}; the other "
        f"integration sent {share.neighbour_requests} ({share.neighbour_refused} refused)"
    )
    print("   window | engine updates | share of the bound")
    for n, puts in windows.items():
        print(f"   {n:>6} | {puts:>14} | {puts / bound:>6.1%}")
    if shares:
        print(
            f"   mean {sum(shares) / len(shares):.1%}, lowest {min(shares):.1%} over "
            f"{len(shares)} whole windows; at 5,000 an hour and a reserve of 100 that is "
            f"{sum(shares) / len(shares) * (5000 - 100) / 2:,.0f} updates an hour"
        )
    refused = [s for s in share.sent if s.status == 429]
    print(
        f"   engine 429s: {len(refused)}, sent inside a Retry-After: {len(violations(share.sent))}"
    )


def report_429s(scenario: Scenario, args: argparse.Namespace, ids: list[int]) -> None:
    greedy_ids = ids[: args.greedy_contacts]
    greedy = run_phase(
        scenario, args, greedy_ids, edition=3, greedy=True, reserve=args.greedy_reserve
    )
    counts = greedy.summary.counts()
    refused = [s for s in greedy.sent if s.status == 429]
    broken = violations(greedy.sent)
    print(
        f"\n2. 429s: {len(greedy_ids)} contacts beside a greedy integration "
        f"({greedy.neighbour_requests} requests, {greedy.neighbour_refused} refused); "
        f"pushed {counts.get('pushed', 0)}, failed {greedy.summary.failed}, "
        f"deferred {greedy.summary.deferred}"
    )
    print(
        f"   engine requests {len(greedy.sent)}, 429s {len(refused)}, "
        f"sent inside a Retry-After: {len(broken)}"
    )
    for refusal, request in broken[:10]:
        print(
            f"   ! {request.method} {request.path} sent "
            f"{request.sent_at - refusal.answered_at:.3f}s after a 429 asking for "
            f"{refusal.retry_after:g}s"
        )


if __name__ == "__main__":
    sys.exit(main())
