"""Hostile or mistaken input, as a table: what is typed or set, the exit code, the words
the user gets, and proof that nothing changed on either side (no request reached CRM+,
the platform folder and the database untouched). Real commands, the sandbox over
loopback, a files platform.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from syncengine.cli.main import cli
from syncengine.sandbox import SandboxServer
from tests.fixtures.sandbox import SANDBOX_TOKEN

CONTACT = 4821
RANGE = "1<=x<=2147483647"  # click's words for the contact id range

# Short timeouts and no retries: should a case reach for the network after all, it
# fails fast instead of hanging on an unroutable address.
CONFIG = """\
local:
  adapter: files
  path: {platform}
crm:
  timeouts: {{connect: 0.5, read: 2}}
  retry: {{max_attempts: 1}}
"""


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    message: tuple[str, ...]  # each must be in stderr
    env: dict[str, str] = field(default_factory=dict)
    config: str = ""  # appended to the config file
    hidden: tuple[str, ...] = ()  # never in the output (secrets)
    exit_code: int = 2


CASES = [
    # -- contact and conflict ids: usage errors, exit 2, nothing sent (item 7) -----------
    Case("sync-negative", ("sync", "--contact", "-5"), ("--contact", RANGE)),
    Case("sync-zero", ("sync", "--contact", "0"), ("--contact", RANGE)),
    Case("sync-huge", ("sync", "--contact", "99999999999999999999"), (RANGE,)),
    Case("sync-int32-overflow", ("sync", "--contact", "2147483648"), (RANGE,)),
    Case("push-negative", ("push", "--contact", "-1", "--set", "name=x"), (RANGE,)),
    Case("archive-zero", ("archive", "--contact", "0"), (RANGE,)),
    Case("unarchive-huge", ("unarchive", "--contact", "99999999999999999999"), (RANGE,)),
    Case("conflicts-list-zero", ("conflicts", "list", "--contact", "0"), (RANGE,)),
    Case("journal-negative", ("journal", "--contact", "-7"), (RANGE,)),
    Case("conflicts-show-zero", ("conflicts", "show", "0"), ("1<=x",)),
    Case("conflicts-resolve-zero", ("conflicts", "resolve", "0", "--take", "crm"), ("1<=x",)),
    # -- the token in clear: plain http off loopback (item 5) -------------------------------
    Case(
        "http-base-url-from-env",
        ("sync", "--contact", str(CONTACT)),
        ("crm.base_url", "CRMPLUS_BASE_URL", "https://"),
        env={"CRMPLUS_BASE_URL": "http://192.0.2.2:18811"},
    ),
    Case(
        "http-base-url-from-file",
        ("push", "--contact", str(CONTACT), "--set", "name=x"),
        ("crm.base_url", "https://"),
        env={"CRMPLUS_BASE_URL": ""},
        config="  base_url: http://192.0.2.2:18811\n",
    ),
    # -- secrets that cannot be sent (item 10) ------------------------------------------------
    Case(
        "blank-token",
        ("sync", "--contact", str(CONTACT)),
        ("CRMPLUS_API_TOKEN", "blank"),
        env={"CRMPLUS_API_TOKEN": "  \n"},
    ),
    Case(
        "token-with-a-header-injection",
        ("push", "--contact", str(CONTACT), "--set", "name=x"),
        ("CRMPLUS_API_TOKEN",),
        env={"CRMPLUS_API_TOKEN": f"{SANDBOX_TOKEN}\r\nX-Injected: yes"},
        hidden=("X-Injected", SANDBOX_TOKEN),
    ),
    Case(
        "non-ascii-token",
        ("sync", "--contact", str(CONTACT)),
        ("CRMPLUS_API_TOKEN",),
        env={"CRMPLUS_API_TOKEN": "sändbox-tökén"},
        hidden=("sändbox-tökén",),
    ),
    Case(
        "blank-password",
        ("sync", "--contact", str(CONTACT)),
        ("CRMPLUS_PASSWORD",),
        env={"CRMPLUS_USERNAME": "sync@example.org", "CRMPLUS_PASSWORD": "\r\n"},
        config="  auth: {mode: password}\n",
    ),
    # -- the database URL (item 10) ---------------------------------------------------------
    Case(
        "unsupported-database-from-env",
        ("sync", "--contact", str(CONTACT)),
        ("database.url", "SYNCENGINE_DATABASE_URL", "notadb"),
        env={"SYNCENGINE_DATABASE_URL": "notadb://foo"},
    ),
    Case(
        "unsupported-database-from-file",
        ("journal",),
        ("database.url", "notadb"),
        env={"SYNCENGINE_DATABASE_URL": ""},
        config="database:\n  url: notadb://foo\n",
    ),
    Case(
        "unparseable-database-url-with-a-password",
        ("push", "--contact", str(CONTACT), "--set", "name=x"),
        ("database.url",),
        env={"SYNCENGINE_DATABASE_URL": "postgresql://sync:hunter2-secret@127.0.0.1:port/x"},
        hidden=("hunter2-secret",),
    ),
]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "platform").mkdir()
    return tmp_path


def invoke(workdir: Path, sandbox: SandboxServer, case: Case) -> Result:
    config = CONFIG.format(platform=workdir / "platform")
    # The case's lines go under the section they name (crm: unless they open their own).
    extra = case.config
    if extra and not extra.startswith("database:"):
        config = config.replace("crm:\n", "crm:\n" + extra)
    else:
        config += extra
    (workdir / "config.yaml").write_text(config)
    env = {
        "CRMPLUS_BASE_URL": sandbox.base_url,
        "CRMPLUS_API_TOKEN": SANDBOX_TOKEN,
        "SYNCENGINE_DATABASE_URL": f"sqlite:///{workdir}/mirror.db",
        "SYNCENGINE_CONFIG": str(workdir / "config.yaml"),
        **case.env,
    }
    return CliRunner().invoke(cli, list(case.args), env=env, catch_exceptions=False)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_refused_with_words_that_say_why_and_nothing_changes(
    workdir: Path, sandbox_replace: SandboxServer, case: Case
) -> None:
    crm_before = json.dumps(sandbox_replace.hooks.raw_state(), sort_keys=True)
    platform_before = sorted(p.name for p in (workdir / "platform").iterdir())

    result = invoke(workdir, sandbox_replace, case)

    assert result.exit_code == case.exit_code, result.output
    for words in case.message:
        assert words in result.stderr, result.stderr
    for secret in case.hidden:
        assert secret not in result.output
    assert "Traceback" not in result.output
    # Nothing changed on either side, and nothing was even asked of CRM+.
    assert sandbox_replace.hooks.requests() == []
    assert json.dumps(sandbox_replace.hooks.raw_state(), sort_keys=True) == crm_before
    assert sorted(p.name for p in (workdir / "platform").iterdir()) == platform_before
    assert not (workdir / "mirror.db").exists()


def test_a_pasted_token_with_a_trailing_newline_still_works(
    workdir: Path, sandbox_replace: SandboxServer
) -> None:
    case = Case(
        "token-with-newline",
        ("sync", "--contact", str(CONTACT)),
        (),
        env={"CRMPLUS_API_TOKEN": f"{SANDBOX_TOKEN}\n"},
        exit_code=0,
    )
    result = invoke(workdir, sandbox_replace, case)
    assert result.exit_code == 0, result.output
    assert (workdir / "platform" / f"{CONTACT}.json").exists()


def test_a_platform_file_named_beyond_crms_id_range_is_reported_and_the_run_goes_on(
    workdir: Path, sandbox_replace: SandboxServer
) -> None:
    first = Case("first", ("sync", "--contact", str(CONTACT)), (), exit_code=0)
    assert invoke(workdir, sandbox_replace, first).exit_code == 0
    linked = workdir / "platform" / f"{CONTACT}.json"
    linked.write_text(json.dumps({**json.loads(linked.read_text()), "description": "portal"}))
    huge = workdir / "platform" / "99999999999999999999.json"
    huge.write_text('{"name": "Nobody"}')

    case = Case("sync-all", ("sync", "--all", "--force", "--json"), (), exit_code=1)
    result = invoke(workdir, sandbox_replace, case)

    assert result.exit_code == 1, result.output  # one record failed...
    contacts = json.loads(result.stdout)["contacts"]
    (failed,) = [c for c in contacts if c["outcome"] == "failed"]
    assert "99999999999999999999.json" in failed["key"]
    assert "1 to 2147483647" in failed["error"]
    # ...the others were synced all the same, and the bad file was left as it was.
    assert sandbox_replace.hooks.raw_contact(CONTACT)["description"] == "portal"
    assert huge.read_text() == '{"name": "Nobody"}'
