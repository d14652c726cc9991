"""The CRM+ token (and every other secret) is nowhere a run leaves anything.

The real command line, in its own processes, over the sandbox on loopback, on SQLite and
on PostgreSQL: the everyday commands, then the failure paths (a refused or expired token,
5xx answers, a dropped response, an unreachable CRM+, a lost database, bad configuration
of several kinds), logging at DEBUG as JSON lines into files. Then EVERYTHING is scanned
for the secrets in every form (``tests.security.scan``): stdout, the log files, every
cell of every table, the reports, the platform folder, every other file in the work
folder (the SQLite file's raw bytes included), and the exceptions the same failures
raise in-process. ``test_the_scanner_finds_planted_secrets`` shows the scan can fail.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from syncengine.bootstrap import open_app
from syncengine.cli.main import cli
from syncengine.config import load_settings
from syncengine.errors import ConfigError, SyncEngineError
from syncengine.sandbox import SandboxServer
from syncengine.sandbox.faults import Fault
from syncengine.store.database import make_engine
from syncengine.store.migrate import upgrade
from tests.fixtures.sandbox import SandboxFactory
from tests.security.scan import Finding, Scanner

CONTACT = 4821


def distinctive(prefix: str) -> str:
    """A secret no file, seed or log could hold by chance, with the characters that
    encodings change (``+``, ``/``, ``=``), as real keys have."""
    body = base64.b64encode(secrets.token_bytes(33)).decode()
    return f"{prefix}+{body}/{secrets.token_hex(6)}="


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    exception: BaseException | None  # one that escaped the command (none should)


class Run:
    """A work folder, the environment of its commands, and everything they printed."""

    def __init__(self, root: Path, sandbox: SandboxServer, database_url: str) -> None:
        self.root = root
        self.sandbox = sandbox
        self.platform = root / "platform"
        self.platform.mkdir()
        self.logs = root / "logs"
        self.logs.mkdir()
        self.reports = root / "reports"
        self.reports.mkdir()
        # Inputs holding a secret on purpose (to see it refused): not scanned.
        self.inputs = root / "inputs"
        self.inputs.mkdir()
        self.config = root / "config.yaml"
        self.config.write_text(
            "local:\n"
            "  adapter: files\n"
            f"  path: {self.platform}\n"
            "  reference_source: portal\n"
            "crm:\n"
            "  retry: {max_attempts: 2, backoff_initial: 0.01, backoff_max: 0.05}\n"
            "  timeouts: {connect: 2, read: 5, write: 5, pool: 2}\n"
            "sync:\n"
            "  policies:\n"
            "    - {path: informalName, policy: manual}\n"
            "  guard: {min_contacts: 1000}\n"
            "  claims: {wait: 2}\n"
        )
        self.env = {
            **os.environ,
            "CRMPLUS_BASE_URL": sandbox.base_url,
            "CRMPLUS_API_TOKEN": sandbox.token,
            "SYNCENGINE_DATABASE_URL": database_url,
            "SYNCENGINE_CONFIG": str(self.config),
            "SYNCENGINE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "SYNCENGINE_REVIEW_SECRET": REVIEW_SECRET,
        }
        self.outputs: list[tuple[str, Ran]] = []  # (what ran, what it gave)
        self.count = 0

    def cli(self, *args: str, env: dict[str, str] | None = None, process: bool = False) -> Ran:
        """``syncengine --log-level DEBUG --log-format json ARGS``; its stderr (the logs,
        the error messages) goes to a file in logs/, its stdout is kept for the scan.

        In this process through click's runner (an interpreter start per command would
        make this test minutes long), with any exception that escaped kept for the scan;
        ``process``: in a process of its own, as a user or cron runs it."""
        self.count += 1
        name = "-".join(args)[:40].replace("/", "_")
        log_file = self.logs / f"{self.count:02d}-{name}.log"
        argv = ["--log-level", "DEBUG", "--log-format", "json", *args]
        environ = {**self.env, **(env or {})}
        if process:
            with log_file.open("w") as stderr:
                done = subprocess.run(
                    [sys.executable, "-m", "syncengine", *argv],
                    env=environ,
                    cwd=self.root,
                    stdout=subprocess.PIPE,
                    stderr=stderr,
                    text=True,
                    timeout=120,
                    check=False,
                )
            ran = Ran(done.returncode, done.stdout, None)
        else:
            result = CliRunner().invoke(cli, argv, env=environ)
            log_file.write_text(result.stderr)
            escaped = None if isinstance(result.exception, SystemExit) else result.exception
            ran = Ran(result.exit_code, result.stdout, escaped)
        self.outputs.append((" ".join(args), ran))
        return ran

    def log(self, number: int) -> str:
        (found,) = self.logs.glob(f"{number:02d}-*.log")
        return found.read_text()

    def edit_platform(self, contact_id: int, **fields: Any) -> None:
        path = self.platform / f"{contact_id}.json"
        document = json.loads(path.read_text())
        document.update(fields)
        time.sleep(0.02)  # a later modification time than the synced one
        path.write_text(json.dumps(document))


TOKEN = distinctive("sk_live_TOKEN")
WRONG_TOKEN = distinctive("sk_live_WRONG")
WEBHOOK_SECRET = distinctive("whsec_HOOK")
REVIEW_SECRET = distinctive("review_SESSION")
DATABASE_PASSWORD = distinctive("pgpass_DB").replace("/", "_").replace("+", "-")
SECRETS = {
    "the CRM+ token": TOKEN,
    "a refused token": WRONG_TOKEN,
    "the webhook secret": WEBHOOK_SECRET,
    "the review secret": REVIEW_SECRET,
    "a database password": DATABASE_PASSWORD,
}


@pytest.fixture
def leak_sandbox(sandbox_factory: SandboxFactory) -> SandboxServer:
    return sandbox_factory(token=TOKEN)


@pytest.fixture
def run(tmp_path: Path, leak_sandbox: SandboxServer, database_url: str) -> Run:
    # The whole test folder: the SQLite database (database_url) lies in it too.
    return Run(tmp_path, leak_sandbox, database_url)


def everyday_commands(run: Run) -> None:
    """What a data manager runs in a week, each step checked to have done its work (a
    command that failed early would prove nothing about what it would have leaked)."""
    assert run.cli("sync", "--contact", str(CONTACT), process=True).returncode == 0
    assert (run.platform / f"{CONTACT}.json").exists()
    assert run.cli("sync", "--all", "--json").returncode == 0
    # A conflict: both sides change a manual field.
    run.edit_platform(CONTACT, informalName="Portal Name")
    run.sandbox.hooks.ui_edit(CONTACT, {"informalName": "CRM Name"})
    assert run.cli("sync", "--contact", str(CONTACT)).returncode == 3
    pushed = run.cli("push", "--contact", str(CONTACT), "--set", "address.city=Denver", "--json")
    assert pushed.returncode == 0, pushed.stdout
    assert run.cli("push", "--contact", str(CONTACT), "--set", "address.state=ny").returncode == 0
    listed = run.cli("conflicts", "list", "--json")
    (conflict,) = json.loads(listed.stdout)
    assert run.cli("conflicts", "list").returncode == 0
    assert run.cli("conflicts", "show", str(conflict["id"])).returncode == 0
    assert run.cli("journal").returncode == 0
    assert json.loads(run.cli("journal", "--json").stdout)
    assert run.cli("status").returncode in (0, 1)
    assert run.cli("status", "--json").returncode in (0, 1)
    for fmt in ("html", "csv", "json"):
        target = run.reports / f"report.{fmt}"
        assert run.cli("report", "--format", fmt, "--output", str(target)).returncode == 0
        assert "Portal Name" in target.read_text()
    assert run.cli("report", "--format", "json", "--status", "all").returncode == 0


def failure_paths(run: Run) -> None:
    """Each way a command fails, in the words and logs a user would see."""
    hooks = run.sandbox.hooks
    # The token expired (CRM+ answers 401 to the right token).
    hooks.add_fault(Fault("*", r"^/api/", status=401, count=50))
    assert run.cli("sync", "--contact", str(CONTACT)).returncode == 1
    assert (
        run.cli(
            "push", "--contact", str(CONTACT), "--set", "name=X", "--json", process=True
        ).returncode
        == 1
    )
    assert run.cli("sync", "--all").returncode != 0
    hooks.clear_faults()
    # A wrong token: the sandbox itself refuses it.
    wrong = {"CRMPLUS_API_TOKEN": WRONG_TOKEN}
    assert run.cli("sync", "--contact", str(CONTACT), env=wrong).returncode == 1
    refused = run.cli("push", "--contact", str(CONTACT), "--set", "name=X", env=wrong, process=True)
    assert refused.returncode == 1 and "refused the API token" in run.log(run.count)
    # A token pasted with a line break and a tab: refused before anything is sent.
    pasted = {"CRMPLUS_API_TOKEN": f"{TOKEN}\t{WRONG_TOKEN}\n"}
    assert run.cli("sync", "--contact", str(CONTACT), env=pasted).returncode == 2
    # CRM+ failing: 5xx on every attempt, then a write whose answer is lost.
    hooks.add_fault(Fault("*", r"^/api/", status=503, retry_after=0, count=50))
    assert run.cli("sync", "--contact", str(CONTACT)).returncode == 1
    hooks.clear_faults()
    hooks.add_fault(Fault("PUT", r"^/api/", drop=True, count=2))  # every attempt
    # Recovered by a read-back (exit 0): the journal holds the unknown outcome's story.
    run.cli("push", "--contact", str(CONTACT), "--set", "address.city=Boulder")
    assert "no response to the PUT" in run.outputs[-1][1].stdout
    hooks.clear_faults()
    assert run.cli("journal", "--unresolved").returncode == 0
    # CRM+ unreachable (nothing listens there).
    gone = {"CRMPLUS_BASE_URL": f"http://127.0.0.1:{free_port()}"}
    assert run.cli("sync", "--contact", str(CONTACT), env=gone, process=True).returncode == 1
    assert run.cli("sync", "--all", env=gone).returncode != 0
    # The database lost (a PostgreSQL that does not answer, with a password in its URL).
    lost = {"SYNCENGINE_DATABASE_URL": f"postgresql://sync:{DATABASE_PASSWORD}@127.0.0.1:1/x"}
    assert run.cli("sync", "--contact", str(CONTACT), env=lost, process=True).returncode != 0
    assert run.cli("status", env=lost).returncode != 0
    # Bad configuration: a secret in the file, a token in the URL, a broken file.
    with_token = run.inputs / "token-in-file.yaml"
    with_token.write_text(f"crm:\n  token: {json.dumps(TOKEN)}\n")
    in_url = run.inputs / "token-in-url.yaml"
    in_url.write_text(f"crm:\n  base_url: http://sync:{TOKEN.replace('/', '_')}@example.org\n")
    broken = run.inputs / "broken.yaml"
    broken.write_text(f"crm: [{json.dumps(TOKEN)}\n")
    for config in (with_token, in_url, broken):
        # No CRMPLUS_BASE_URL: the file's own base_url is the one read.
        env = {"SYNCENGINE_CONFIG": str(config), "CRMPLUS_BASE_URL": ""}
        assert run.cli("sync", "--all", env=env, process=True).returncode == 2
    token_url = {"CRMPLUS_BASE_URL": f"http://{TOKEN.replace('/', '_')}@crm.example.org"}
    assert run.cli("sync", "--all", env=token_url).returncode == 2


def in_process_failures(run: Run, scanner: Scanner) -> list[Finding]:
    """The same failures raised in this process: every exception as anything could show
    it (str, repr, attributes, its whole chain, its traceback)."""
    hooks = run.sandbox.hooks
    settings = load_settings(run.config, run.env)
    findings: list[Finding] = []
    cases: list[tuple[str, Fault | None, dict[str, str]]] = [
        ("401", Fault("*", r"^/api/", status=401, count=50), {}),
        ("503", Fault("*", r"^/api/", status=503, retry_after=0, count=50), {}),
        ("wrong token", None, {"CRMPLUS_API_TOKEN": WRONG_TOKEN}),
    ]
    raised = 0
    for name, fault, env in cases:
        hooks.clear_faults()
        if fault is not None:
            hooks.add_fault(fault)
        try:
            with open_app(settings, {**run.env, **env}) as app:
                findings += scanner.text(f"repr of the app's parts ({name})", repr(vars(app)))
                app.manual.push(CONTACT, [_change("address.city", f"City {name}")])
        except SyncEngineError as error:
            raised += 1
            findings += scanner.exception(f"exception ({name})", error)
    hooks.clear_faults()
    assert raised == len(cases), "every failure must have raised"
    unreachable = load_settings(
        run.config, {**run.env, "CRMPLUS_BASE_URL": f"http://127.0.0.1:{free_port()}"}
    )
    with pytest.raises(SyncEngineError) as caught, open_app(unreachable, run.env) as app:
        app.crm.get_contact(CONTACT)
    return findings + scanner.exception("exception (unreachable)", caught.value)


def _change(path: str, value: object) -> Any:
    from syncengine.domain.plan import Change

    return Change(path, value)


def test_no_secret_appears_in_anything_a_run_leaves(run: Run, database_url: str) -> None:
    scanner = Scanner(SECRETS)
    everyday_commands(run)
    failure_paths(run)
    findings = in_process_failures(run, scanner)

    for what, ran in run.outputs:
        findings += scanner.text(f"stdout of `{what}`", ran.stdout)
        if ran.exception is not None:
            findings += scanner.exception(f"exception escaping `{what}`", ran.exception)
    files, file_count = scanner.files(run.root, skip=[run.inputs])
    cells_found, cell_count = scanner.database(database_url)
    findings += files + cells_found

    assert not findings, "secrets leaked:\n" + "\n".join(sorted({str(f) for f in findings}))
    # What was scanned is what a run leaves: logs at DEBUG, rows, reports, documents.
    logged = "".join(path.read_text() for path in run.logs.iterdir())
    assert '"event": "crm.request"' in logged and "refused the API token" in logged
    assert cell_count > 100 and file_count >= run.count + 4
    assert {p.name for p in run.reports.iterdir()} >= {"report.html", "report.csv", "report.json"}
    assert run.count >= 30  # the command list above was not cut short
    assert not [what for what, ran in run.outputs if ran.exception is not None]


@pytest.fixture
def planted(tmp_path: Path, database_url: str) -> Iterator[tuple[Path, str]]:
    """A database and a folder with secrets planted in them, in disguise."""
    folder = tmp_path / "planted"
    (folder / "deep" / ".hidden").mkdir(parents=True)
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE planted_notes (id INTEGER, note TEXT)"))
            connection.execute(
                text("INSERT INTO planted_notes VALUES (1, :note)"),
                {"note": f"header was Bearer {TOKEN}"},
            )
    finally:
        engine.dispose()
    (folder / "deep" / ".hidden" / "request.log").write_text(
        "Authorization: " + base64.b64encode(f"Bearer {TOKEN}".encode()).decode()
    )
    (folder / "deep" / "url.txt").write_text(f"?key={quote(WEBHOOK_SECRET, safe='')}")
    (folder / "truncated.txt").write_text(f"token starts {REVIEW_SECRET[:20]}...")
    (folder / "wide.bin").write_bytes(DATABASE_PASSWORD.encode("utf-16-le"))
    yield folder, database_url


def test_the_scanner_finds_planted_secrets(planted: tuple[Path, str]) -> None:
    folder, database_url = planted
    scanner = Scanner(SECRETS)
    files, count = scanner.files(folder)
    assert count == 4
    where = {finding.where for finding in files}
    assert where == {
        "deep/.hidden/request.log",
        "deep/url.txt",
        "truncated.txt",
        "wide.bin",
    }
    assert any(f.form.startswith("base64 of Bearer <secret>") for f in files)
    assert any(f.form.startswith("url-encoded secret") for f in files)
    cells, _ = scanner.database(database_url)
    assert {finding.where for finding in cells} == {"planted_notes.note row 0"}
    # Skipping a folder skips it, and an exception holding a secret in its chain is found.
    assert scanner.files(folder, skip=[folder / "deep"])[0] != files
    try:
        try:
            raise ValueError(f"upstream said {TOKEN}")
        except ValueError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert scanner.exception("chain", outer)


def test_a_config_file_that_does_not_parse_is_refused_without_quoting_it(tmp_path: Path) -> None:
    """Found by the scan above: YAML's own message quoted the broken line, so a token
    pasted into a file with a typo reached the terminal (a file that does not parse is
    never checked for secret keys). The message names the line and column instead."""
    broken = tmp_path / "config.yaml"
    broken.write_text(f"crm:\n  base_url: https://crm.example.org\n  token: [{TOKEN}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(broken, {})
    assert not Scanner(SECRETS).exception("ConfigError", caught.value)
    assert caught.value.key == "line 4" and "line 4, column 1" in caught.value.problem
