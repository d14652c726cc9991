"""A real ``syncengine daemon`` process against the sandbox over loopback: edits on both
sides converge, webhooks (signed, unsigned), SIGTERM and restart, a 429 storm, and the
numbers in /metrics and ``status --json``. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from syncengine.sandbox import SandboxServer
from syncengine.sandbox.faults import Fault
from syncengine.web import sign_base64
from tests.fixtures.db import backend_params, fresh_database_url
from tests.fixtures.sandbox import SANDBOX_TOKEN

CONTACT = 4821
SECRET = "webhook-test-secret-0123456789"
PATH = "/webhooks/crmplus"
HEADER = "X-Virtuous-Signature"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class DaemonHarness:
    """A workdir (config, platform folder), the environment, and the daemon process."""

    def __init__(self, workdir: Path, sandbox: SandboxServer, database_url: str) -> None:
        self.workdir = workdir
        self.sandbox = sandbox
        self.platform = workdir / "platform"
        self.platform.mkdir(exist_ok=True)
        self.port = free_port()
        self.env = {
            **os.environ,
            "CRMPLUS_BASE_URL": sandbox.base_url,
            "CRMPLUS_API_TOKEN": SANDBOX_TOKEN,
            "SYNCENGINE_DATABASE_URL": database_url,
            "SYNCENGINE_CONFIG": str(workdir / "config.yaml"),
            "SYNCENGINE_WEBHOOK_SECRET": SECRET,
        }
        self.configure()
        self.process: subprocess.Popen[bytes] | None = None

    def configure(self, **daemon: Any) -> None:
        settings = {
            "push_interval": 1,
            "pull_interval": 2,
            "listen": f"127.0.0.1:{self.port}",
            "reports": str(self.workdir / "reports"),
            **daemon,
        }
        (self.workdir / "config.yaml").write_text(
            "local:\n"
            "  adapter: files\n"
            f"  path: {self.platform}\n"
            "  reference_source: portal\n"
            "crm:\n"
            "  retry: {max_attempts: 3, backoff_initial: 0.05, backoff_max: 0.2}\n"
            "  rate_limit: {reserve: 0, max_wait: 2}\n"
            "sync:\n"
            "  guard: {min_contacts: 1000}\n"
            "  claims: {ttl: 10, wait: 5}\n"
            f"daemon: {json.dumps(settings)}\n"
        )

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "syncengine", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

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
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=(self.workdir / "daemon.log").open("ab"),
        )
        wait_for(self.healthy, "the daemon answers /healthz", timeout=30)

    def healthy(self) -> bool:
        try:
            return httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, float]:
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(sig)
        code = self.process.wait(timeout=40)
        self.process = None
        return code, time.monotonic() - started

    def stops_cleanly(self) -> None:
        """SIGTERM, then exit 0 within the wait; else the daemon's log says why."""
        code, _ = self.stop()
        assert code == 0, f"the daemon exited {code}; its log ends:\n{self.log()[-4000:]}"

    def log(self) -> str:
        path = self.workdir / "daemon.log"
        return path.read_text() if path.exists() else ""

    def document(self, contact_id: int) -> dict[str, Any] | None:
        path = self.platform / f"{contact_id}.json"
        return json.loads(path.read_text()) if path.exists() else None

    def edit(self, contact_id: int, **fields: Any) -> None:
        path = self.platform / f"{contact_id}.json"
        document = json.loads(path.read_text())
        document.update(fields)
        time.sleep(0.02)
        path.write_text(json.dumps(document))

    def deliver(self, contact_id: int, *, signed: bool = True) -> httpx.Response:
        body = json.dumps({"event": "ContactUpdate", "contact": {"id": contact_id}}).encode()
        headers = {"Content-Type": "application/json"}
        if signed:
            headers[HEADER] = sign_base64(SECRET, body)
        return httpx.post(f"{self.base_url}{PATH}", content=body, headers=headers, timeout=5)

    def status(self) -> dict[str, Any]:
        result = self.cli("status", "--json")
        assert result.returncode in (0, 1), result.stderr
        payload: dict[str, Any] = json.loads(result.stdout)
        return payload


def wait_for(condition: Callable[[], bool], what: str, *, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting until {what}")


@pytest.fixture(params=backend_params())
def harness(
    request: pytest.FixtureRequest, tmp_path: Path, sandbox_factory: Any
) -> Iterator[DaemonHarness]:
    sandbox = sandbox_factory()
    with fresh_database_url(request.param, tmp_path) as url:
        made = DaemonHarness(tmp_path, sandbox, url)
        for contact_id in (CONTACT, 4820):
            result = made.cli("sync", "--contact", str(contact_id))
            assert result.returncode == 0, result.stderr
        try:
            yield made
        finally:
            if made.process is not None:
                made.process.kill()
                made.process.wait()


def crm(harness: DaemonHarness, contact_id: int = CONTACT) -> dict[str, Any]:
    return harness.sandbox.hooks.raw_contact(contact_id)


def writes(harness: DaemonHarness) -> list[str]:
    return [
        f"{r.method} {r.path}"
        for r in harness.sandbox.hooks.requests()
        if r.method in ("PUT", "POST") and "Query" not in r.path
    ]


@pytest.mark.timeout(120)
def test_a_platform_edit_and_a_crm_edit_both_converge_within_a_few_intervals(
    harness: DaemonHarness,
) -> None:
    harness.start()
    harness.edit(CONTACT, description="edited on the portal")
    harness.sandbox.hooks.ui_edit(4820, {"informalName": "edited in CRM+"})

    wait_for(lambda: crm(harness)["description"] == "edited on the portal", "pushed")
    wait_for(
        lambda: (harness.document(4820) or {}).get("informalName") == "edited in CRM+", "pulled"
    )
    code, took = harness.stop()
    assert code == 0 and took < 30
    doc = harness.document(CONTACT)
    assert doc is not None and doc["description"] == "edited on the portal"


@pytest.mark.timeout(120)
def test_a_signed_webhook_syncs_its_contact_before_the_pull_comes_round(
    harness: DaemonHarness,
) -> None:
    harness.configure(pull_interval=3600)
    harness.start()
    time.sleep(1.5)  # the first pull has run; the next one is an hour away
    harness.sandbox.hooks.ui_edit(CONTACT, {"informalName": "told by a webhook"})

    answer = harness.deliver(CONTACT)

    assert answer.status_code == 202 and answer.json() == {"queued": [CONTACT]}
    wait_for(
        lambda: (harness.document(CONTACT) or {}).get("informalName") == "told by a webhook",
        "the webhook's contact reached the platform",
        timeout=10,
    )
    harness.stops_cleanly()


@pytest.mark.timeout(120)
def test_an_unsigned_or_badly_signed_webhook_gets_401_and_causes_no_request(
    harness: DaemonHarness,
) -> None:
    harness.configure(pull_interval=3600, push_interval=3600)
    harness.start()
    time.sleep(1.5)
    harness.sandbox.hooks.clear_requests()

    unsigned = harness.deliver(CONTACT, signed=False)
    body = json.dumps({"event": "ContactUpdate", "contact": {"id": CONTACT}}).encode()
    forged = httpx.post(
        f"{harness.base_url}{PATH}",
        content=body,
        headers={HEADER: sign_base64("not the secret", body)},
        timeout=5,
    )

    assert unsigned.status_code == forged.status_code == 401
    time.sleep(2)
    assert harness.sandbox.hooks.requests() == []
    assert harness.status()["queue"]["depth"] == 0
    assert SECRET not in harness.log() and SECRET not in unsigned.text + forged.text
    harness.stops_cleanly()


@pytest.mark.timeout(180)
def test_sigterm_mid_run_exits_0_and_a_restart_loses_and_duplicates_nothing(
    harness: DaemonHarness,
) -> None:
    for contact_id in (4817, 4818, 4819):  # more contacts: a run that takes a while
        assert harness.cli("sync", "--contact", str(contact_id)).returncode == 0
    edited = [4817, 4818, 4819, 4820, CONTACT]
    harness.sandbox.hooks.set_latency(0.3)
    harness.start()
    for contact_id in edited:
        harness.edit(contact_id, description=f"portal note {contact_id}")
    wait_for(lambda: bool(writes(harness)), "the first push is under way", timeout=20)

    code, took = harness.stop()

    assert code == 0 and took < 30, (code, took, harness.log()[-2000:])
    harness.sandbox.hooks.set_latency(0)
    harness.start()
    wait_for(
        lambda: all(crm(harness, c)["description"] == f"portal note {c}" for c in edited),
        "every edit pushed after the restart",
        timeout=30,
    )
    wait_for(lambda: harness.status()["queue"]["depth"] == 0, "the queue drained")
    harness.stop()
    puts = [w for w in writes(harness) if w.startswith("PUT")]
    assert sorted(puts) == sorted(f"PUT /api/Contact/{c}" for c in edited), "each exactly once"
    assert harness.status()["queue"]["failing"] == []


@pytest.mark.timeout(180)
def test_a_429_storm_slows_the_daemon_down_and_no_errors_pile_up(
    harness: DaemonHarness,
) -> None:
    harness.sandbox.hooks.add_fault(Fault("*", r"^/api/", status=429, retry_after=1, count=12))
    harness.start()
    harness.edit(CONTACT, description="through the storm")

    wait_for(
        lambda: crm(harness)["description"] == "through the storm",
        "pushed after the storm",
        timeout=60,
    )
    # Empty once the pushed document's time has settled and its one more look is done
    # (docs/local-adapters.md); nothing failing meanwhile.
    wait_for(lambda: harness.status()["queue"] == {"depth": 0, "failing": []}, "drained")
    code, _ = harness.stop()
    assert code == 0, harness.log()[-4000:]
    assert harness.sandbox.hooks.pending_faults() == []


@pytest.mark.timeout(120)
def test_metrics_and_status_show_the_numbers(harness: DaemonHarness) -> None:
    harness.start()
    harness.edit(CONTACT, description="counted")
    wait_for(lambda: crm(harness)["description"] == "counted", "pushed")
    wait_for(lambda: harness.status()["jobs"]["pull"]["last_run"] is not None, "a pull ran")

    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}

    def value(name: str, **labels: str) -> float:
        key = (name, tuple(sorted({"organization": "default", **labels}.items())))
        return samples.get(key, 0.0)

    def scraped_with_an_empty_queue() -> bool:
        text = httpx.get(f"{harness.base_url}/metrics", timeout=5).text
        samples.clear()
        samples.update(
            ((s.name, tuple(sorted(s.labels.items()))), s.value)
            for family in text_string_to_metric_families(text)
            for s in family.samples
        )
        return value("syncengine_queue_depth") == 0

    # The pushed document's time is not settled for two seconds: until then each push
    # tick queues it for one more look (no request), so the queue is empty only once
    # that look has recorded its time (docs/local-adapters.md).
    wait_for(scraped_with_an_empty_queue, "the queue drained")
    assert value("syncengine_contacts_total", outcome="pushed") >= 1
    assert value("syncengine_runs_total", job="push", outcome="ok") >= 1
    assert value("syncengine_budget_remaining") > 0
    assert any(name == "syncengine_crm_request_seconds_count" for name, _ in samples)

    # The push job runs every few seconds: its latest run may be the one in progress.
    wait_for(
        lambda: harness.status()["jobs"]["push"]["last_run"]["outcome"] == "ok",
        "a push run seen finished",
    )
    status = harness.status()
    assert status["workers"]
    assert status["jobs"]["reconcile"]["next_run"] is not None
    assert status["budget"]["remaining"] is not None
    harness.stops_cleanly()
    assert harness.status()["workers"] == [], "the stopped daemon gave its claims back"


@pytest.mark.timeout(120)
def test_a_refused_token_stops_the_daemon_with_exit_1_and_a_clear_message(
    harness: DaemonHarness,
) -> None:
    harness.env["CRMPLUS_API_TOKEN"] = "not-the-sandbox-token"
    process = subprocess.Popen(
        [sys.executable, "-m", "syncengine", "daemon"],
        env=harness.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1
    assert b"CRM+ refused the API token" in stderr
    assert b"not-the-sandbox-token" not in stderr


@pytest.mark.timeout(120)
def test_a_push_beside_a_running_daemon_is_carried_to_the_platform_never_reverted(
    harness: DaemonHarness,
) -> None:
    harness.start()
    harness.edit(CONTACT, informalName="the portal's, older")  # an unsynced platform edit
    pushed = harness.cli("push", "--contact", str(CONTACT), "--set", "informalName=pushed")
    assert pushed.returncode == 0, pushed.stderr
    wait_for(
        lambda: (harness.document(CONTACT) or {}).get("informalName") == "pushed",
        "the push reached the platform",
    )
    time.sleep(3)  # a few more push and pull rounds
    assert crm(harness)["informalName"] == "pushed"
    assert (harness.document(CONTACT) or {}).get("informalName") == "pushed"
    harness.stops_cleanly()


@pytest.mark.timeout(120)
def test_enqueue_from_the_command_line_and_over_http_syncs_before_the_pull(
    harness: DaemonHarness,
) -> None:
    harness.configure(pull_interval=3600)
    harness.start()
    time.sleep(1.5)  # the first pull has run; the next one is an hour away
    harness.sandbox.hooks.ui_edit(CONTACT, {"informalName": "asked by the command line"})
    harness.sandbox.hooks.ui_edit(4820, {"informalName": "asked over HTTP"})

    queued = harness.cli("enqueue", "--contact", str(CONTACT), "--json")
    body = json.dumps({"contacts": [4820]}).encode()
    over_http = httpx.post(
        f"{harness.base_url}/enqueue",
        content=body,
        headers={HEADER: sign_base64(SECRET, body), "Content-Type": "application/json"},
        timeout=5,
    )

    assert queued.returncode == 0 and json.loads(queued.stdout)["queued"] == [CONTACT]
    assert over_http.status_code == 202
    wait_for(
        lambda: (
            (harness.document(CONTACT) or {}).get("informalName") == "asked by the command line"
        ),
        "the enqueued contact was synced",
        timeout=10,
    )
    wait_for(
        lambda: (harness.document(4820) or {}).get("informalName") == "asked over HTTP",
        "the contact enqueued over HTTP was synced",
        timeout=10,
    )
    harness.stops_cleanly()
