"""One daemon process serving two CRM+ organisations, each against its own sandbox with
its own token, platform folder, budget and rows in one database: both converge, neither
sees the other's data, neither's budget is exceeded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from syncengine.bootstrap import open_app
from syncengine.config import load_settings, organization_environ
from syncengine.sandbox import SandboxServer
from syncengine.web import sign_base64
from tests.daemon.test_daemon_process import free_port, wait_for
from tests.fixtures.db import backend_params, fresh_database_url

CONTACT = 4821
SECRETS = {"north": "north-webhook-secret-000", "south": "south-webhook-secret-000"}


def write_config(workdir: Path, sandboxes: dict[str, SandboxServer], port: int) -> Path:
    organizations = [
        {
            "name": name,
            "token_env": f"{name.upper()}_CRM_TOKEN",
            "webhook_secret_env": f"{name.upper()}_WEBHOOK_SECRET",
            "crm": {"base_url": sandbox.base_url},
            "local": {"path": str(workdir / name)},
        }
        for name, sandbox in sandboxes.items()
    ]
    config = {
        "local": {"adapter": "files", "reference_source": "portal"},
        "crm": {
            "retry": {"max_attempts": 3, "backoff_initial": 0.05, "backoff_max": 0.2},
            "rate_limit": {"reserve": 20, "max_wait": 5},
        },
        "sync": {"claims": {"ttl": 10, "wait": 5}},
        "daemon": {
            "push_interval": 1,
            "pull_interval": 2,
            "listen": f"127.0.0.1:{port}",
            "low_budget": 50,  # these organisations have 400 requests an hour
        },
        "organizations": organizations,
    }
    path = workdir / "config.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    return path


@pytest.mark.timeout(180)
@pytest.mark.parametrize("backend", backend_params())
def test_two_organisations_in_one_daemon_both_converge_within_their_own_budgets(
    backend: str, tmp_path: Path, sandbox_factory: Any
) -> None:
    sandboxes = {
        "north": sandbox_factory(token="north-token-1234", hourly_limit=400),
        "south": sandbox_factory(token="south-token-5678", hourly_limit=400),
    }
    for name in sandboxes:
        (tmp_path / name).mkdir()
    port = free_port()
    config = write_config(tmp_path, sandboxes, port)
    with fresh_database_url(backend, tmp_path) as url:
        env = {
            **os.environ,
            "SYNCENGINE_CONFIG": str(config),
            "SYNCENGINE_DATABASE_URL": url,
            "NORTH_CRM_TOKEN": "north-token-1234",
            "SOUTH_CRM_TOKEN": "south-token-5678",
            "NORTH_WEBHOOK_SECRET": SECRETS["north"],
            "SOUTH_WEBHOOK_SECRET": SECRETS["south"],
        }
        settings = load_settings(config, env)
        for org in settings.organizations:  # each platform starts with 4821 and 4820
            with open_app(settings.for_organization(org), organization_environ(env, org)) as app:
                for contact_id in (CONTACT, 4820):
                    assert app.runner().run_one(contact_id).reports[0].outcome == "pulled"
        for sandbox in sandboxes.values():
            sandbox.hooks.clear_requests()

        process = subprocess.Popen(
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
            env=env,
            stdout=subprocess.PIPE,
            stderr=(tmp_path / "daemon.log").open("ab"),
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(lambda: _answers(f"{base}/healthz"), "the daemon answers /healthz", timeout=30)
            for name, sandbox in sandboxes.items():
                _edit(tmp_path / name / f"{CONTACT}.json", description=f"{name} portal")
                sandbox.hooks.ui_edit(4820, {"informalName": f"{name} CRM"})

            for name, sandbox in sandboxes.items():
                wait_for(
                    lambda s=sandbox, n=name: (
                        s.hooks.raw_contact(CONTACT)["description"] == f"{n} portal"
                    ),
                    f"{name}'s platform edit reached {name}'s CRM+",
                )
                wait_for(
                    lambda n=name: _read(tmp_path / n / "4820.json")["informalName"] == f"{n} CRM",
                    f"{name}'s CRM edit reached {name}'s platform",
                )

            # Each organisation's webhook, with its own secret, under its own path.
            body = json.dumps({"event": "ContactUpdate", "contact": {"id": CONTACT}}).encode()
            for name in sandboxes:
                other = "south" if name == "north" else "north"
                url = f"{base}/orgs/{name}/webhooks/crmplus"
                good = httpx.post(
                    url,
                    content=body,
                    headers={"X-Virtuous-Signature": sign_base64(SECRETS[name], body)},
                )
                wrong = httpx.post(
                    url,
                    content=body,
                    headers={"X-Virtuous-Signature": sign_base64(SECRETS[other], body)},
                )
                assert (good.status_code, wrong.status_code) == (202, 401)

            statuses = json.loads(
                subprocess.run(
                    [sys.executable, "-m", "syncengine", "status", "--json"],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=False,
                ).stdout
            )
            assert sorted(s["organization"] for s in statuses) == ["north", "south"]
            assert all(s["workers"] for s in statuses)
        finally:
            process.terminate()
            assert process.wait(timeout=40) == 0

    for name, sandbox in sandboxes.items():
        other = "south" if name == "north" else "north"
        # Neither organisation saw the other's data...
        assert f"{other} portal" not in json.dumps(sandbox.hooks.raw_state())
        assert f"{other} CRM" not in (tmp_path / name / "4820.json").read_text()
        # ...nor went over its budget: never a 429, and within the hourly limit.
        answered = sandbox.hooks.requests()
        assert all(r.status != 429 for r in answered), name
        assert len(answered) < 400 - 20, name


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _read(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def _edit(path: Path, **fields: Any) -> None:
    document = _read(path)
    document.update(fields)
    time.sleep(0.02)
    path.write_text(json.dumps(document))
