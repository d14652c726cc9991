"""The words an error is given (``cli.errors.describe``): they must send the user the right
way. The errors are real ones, raised by the CRM+ client against a fake server at the
transport level (or a real TLS server on loopback), then the same through the command
line against the sandbox."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from syncengine.cli.errors import ExitCode, describe, exit_code_for
from syncengine.cli.main import cli
from syncengine.crm import ApiKeyAuth, CrmClient, PasswordGrantAuth, RetryPolicy
from syncengine.errors import CrmError
from syncengine.sandbox import SandboxServer
from syncengine.sandbox.faults import Fault as SandboxFault
from tests.crm.fakeserver import FakeClock, FakeCrm, Fault
from tests.fixtures.sandbox import SANDBOX_TOKEN
from tests.fixtures.tls import self_signed_https_server

USER, PASSWORD = "sync@example.org", "pw-Sekr1t!"


@pytest.fixture
def server() -> FakeCrm:
    crm = FakeCrm(clock=FakeClock())
    crm.seed()
    return crm


@pytest.fixture
def make_client(server: FakeCrm) -> Iterator[Callable[..., CrmClient]]:
    made: list[CrmClient] = []

    def make(auth: httpx.Auth | None = None) -> CrmClient:
        client = CrmClient(
            "https://api.virtuoussoftware.com",
            auth or ApiKeyAuth(server.api_key),
            transport=server.transport,
            retry=RetryPolicy(max_attempts=1),
            sleep=server.clock.sleep,
            clock=server.clock.time,
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def error_of(call: Callable[[], object]) -> CrmError:
    with pytest.raises(CrmError) as caught:
        call()
    return caught.value


@pytest.mark.parametrize("status", [404, 405])
def test_a_token_endpoint_that_is_not_there_points_to_the_base_url_and_auth_mode(
    make_client: Callable[..., CrmClient], server: FakeCrm, status: int
) -> None:
    server.then("POST", "/Token", httpx.Response(status, json={"message": "No resource"}))
    client = make_client(PasswordGrantAuth(USER, PASSWORD))

    words = describe(error_of(lambda: client.get_contact(1)))

    assert f"POST /Token answered HTTP {status}" in words
    assert "crm.base_url" in words and "crm.auth.mode" in words
    assert "merged" not in words and "not found" not in words


def test_a_refused_password_grant_names_the_credentials_never_their_values(
    make_client: Callable[..., CrmClient],
) -> None:
    client = make_client(PasswordGrantAuth(USER, "wrong-password"))

    error = error_of(lambda: client.get_contact(1))
    words = describe(error)

    assert "user name or password" in words
    assert "CRMPLUS_USERNAME" in words and "CRMPLUS_PASSWORD" in words
    assert "CRMPLUS_API_TOKEN" not in words and "HTTP 401" not in words
    assert "wrong-password" not in words
    assert exit_code_for(error) is ExitCode.FAILED


READS = [
    pytest.param("GET", "/api/Contact/1", lambda c: c.get_contact(1), id="GET"),
    pytest.param(
        "GET", "/api/Contact/Find", lambda c: c.find_contact_by_email("a@b.org"), id="Find"
    ),
    pytest.param(
        "POST",
        "/api/Contact/Query/FullContact",
        lambda c: c.query_full_contacts({}),
        id="Query",
    ),
]


@pytest.mark.parametrize(("method", "path", "call"), READS)
def test_a_read_without_an_answer_says_nothing_was_written(
    make_client: Callable[..., CrmClient],
    server: FakeCrm,
    method: str,
    path: str,
    call: Callable[[CrmClient], object],
) -> None:
    server.then(method, path, Fault.TIMEOUT_AFTER_APPLY)
    client = make_client()

    words = describe(error_of(lambda: call(client)))

    assert "Nothing was written" in words
    assert "journaled" not in words and "may or may not" not in words
    assert f"{method} {path}" in words


def test_a_write_without_an_answer_still_says_it_may_have_been_applied(
    make_client: Callable[..., CrmClient], server: FakeCrm
) -> None:
    # The other half of the read/write distinction: only here is the outcome unknown.
    server.then("PUT", "/api/Contact/1", Fault.TIMEOUT_AFTER_APPLY)
    server.then("GET", "/api/Contact/2", Fault.TIMEOUT_AFTER_APPLY)
    client = make_client()

    write = describe(error_of(lambda: client.put_contact(1, {"name": "Same"})))
    read = describe(error_of(lambda: client.get_contact(2)))

    assert "may or may not have been applied" in write and "journaled as 'unknown'" in write
    assert "Nothing was written" in read


def test_a_certificate_that_does_not_verify_is_named_with_its_host() -> None:
    with self_signed_https_server() as url, CrmClient(url, ApiKeyAuth("sk-live-0123")) as client:
        error = error_of(lambda: client.get_contact(1))
    words = describe(error)

    assert "TLS certificate verification failed for 127.0.0.1" in words
    assert "Nothing was sent" in words
    assert "ConnectError" not in words and "journaled" not in words


# -- the same, through the command line -------------------------------------------------


def cli_run(tmp_path: Path, base_url: str, config: str, *args: str, **env: str) -> Result:
    (tmp_path / "platform").mkdir(exist_ok=True)
    (tmp_path / "config.yaml").write_text(
        f"local:\n  adapter: files\n  path: {tmp_path / 'platform'}\n{config}"
    )
    environ = {
        "CRMPLUS_BASE_URL": base_url,
        "CRMPLUS_API_TOKEN": SANDBOX_TOKEN,
        "SYNCENGINE_DATABASE_URL": f"sqlite:///{tmp_path}/mirror.db",
        "SYNCENGINE_CONFIG": str(tmp_path / "config.yaml"),
        **env,
    }
    return CliRunner().invoke(cli, list(args), env=environ, catch_exceptions=False)


def test_password_login_where_there_is_no_token_endpoint_is_not_called_a_missing_contact(
    tmp_path: Path, sandbox_replace: SandboxServer
) -> None:
    # The sandbox, like an organisation without password login, has no POST /Token.
    result = cli_run(
        tmp_path,
        sandbox_replace.base_url,
        "crm:\n  auth: {mode: password}\n",
        "sync",
        "--contact",
        "4821",
        CRMPLUS_USERNAME=USER,
        CRMPLUS_PASSWORD=PASSWORD,
    )

    assert result.exit_code == 1, result.output
    assert "POST /Token answered HTTP 404" in result.stderr
    assert "crm.base_url" in result.stderr and "crm.auth.mode" in result.stderr
    assert "merged" not in result.output and "not in CRM+" not in result.output
    assert PASSWORD not in result.output
    assert list((tmp_path / "platform").iterdir()) == []


def test_a_read_that_timed_out_says_nothing_was_written_and_journals_nothing(
    tmp_path: Path, sandbox_replace: SandboxServer
) -> None:
    sandbox_replace.hooks.add_fault(SandboxFault("GET", r"^/api/Contact/4821$", delay=1.5))
    config = "crm:\n  timeouts: {read: 0.3}\n  retry: {max_attempts: 1}\n"

    result = cli_run(
        tmp_path, sandbox_replace.base_url, config, "push", "--contact", "4821", "--set", "name=x"
    )

    assert result.exit_code == 1, result.output
    assert "did not answer GET /api/Contact/4821" in result.stderr
    assert "Nothing was written" in result.stderr and "journaled" not in result.stderr
    journal = cli_run(tmp_path, sandbox_replace.base_url, config, "journal", "--json")
    assert json.loads(journal.stdout) == []


def test_a_crm_whose_certificate_does_not_verify_is_refused_naming_the_host(
    tmp_path: Path,
) -> None:
    with self_signed_https_server() as url:
        result = cli_run(tmp_path, url, "", "push", "--contact", "4821", "--set", "name=x")

    assert result.exit_code == 1, result.output
    assert "error: TLS certificate verification failed for 127.0.0.1" in result.stderr
    assert "ConnectError" not in result.output
