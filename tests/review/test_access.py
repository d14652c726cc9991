"""Who may use the review page and what protects it, over real loopback HTTP against the
real engine (sandbox, database): exposure, login, sessions, CSRF, headers, secrets."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace

import httpx
import pytest

from syncengine.bootstrap import App, open_app
from syncengine.cli.review_commands import review_services
from syncengine.domain.ports import ConflictStatus
from syncengine.errors import ConfigError
from syncengine.review.access import SECURITY_HEADERS, hash_password, password_matches
from syncengine.review.app import build_review_app
from syncengine.review.services import ReviewOptions
from syncengine.sandbox import SandboxServer
from syncengine.store import SqlConflictStore, SqlWorkQueue, make_engine
from syncengine.web import WebServer
from tests.engine.platforms import FilesDriver
from tests.engine.synced import CONTACT
from tests.fixtures.sandbox import SANDBOX_TOKEN
from tests.review.scenario import OTHER, conflicted, platform_files

__all__ = ["conflicted", "platform_files"]  # fixtures used by the tests below

PASSWORD = "correct horse battery staple"
USERS = {"ann": hash_password(PASSWORD)}


@dataclass
class Clock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Served:
    url: str
    clock: Clock


def serve(app: App, **options: object) -> Iterator[Served]:
    clock = Clock()
    settings = ReviewOptions(host="127.0.0.1", clock=clock, **options)  # type: ignore[arg-type]
    web = build_review_app(review_services(app), settings)
    with WebServer(web, "127.0.0.1", 0) as server:
        yield Served(server.base_url, clock)


@pytest.fixture
def open_page(conflicted: App) -> Iterator[Served]:
    yield from serve(conflicted)


@pytest.fixture
def guarded_page(conflicted: App) -> Iterator[Served]:
    yield from serve(conflicted, users=USERS, session_minutes=30)


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, "every page with a form carries the CSRF token"
    return found.group(1)


def first_open(app: App) -> int:
    conflict = app.conflicts.list(status=ConflictStatus.OPEN, contact_id=CONTACT)[0]
    assert conflict.id is not None
    return conflict.id


# -- exposure ----------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.5", "::", "review.example.org"])
def test_the_page_refuses_a_non_loopback_address_without_users(conflicted: App, host: str) -> None:
    with pytest.raises(ConfigError, match="not a loopback address"):
        build_review_app(review_services(conflicted), ReviewOptions(host=host))
    # With users it serves there, behind a login.
    build_review_app(review_services(conflicted), ReviewOptions(host=host, users=USERS))


def test_the_command_refuses_a_non_loopback_address_without_users(tmp_path: object) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "syncengine", "review", "--listen", "0.0.0.0:0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "CRMPLUS_API_TOKEN": "x" * 20},
        cwd=str(tmp_path),
    )
    assert done.returncode == 2, done.stderr
    assert "not a loopback address" in done.stderr


# -- CSRF ----------------------------------------------------------------------------------------


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    open_page: Served, conflicted: App
) -> None:
    conflict_id = first_open(conflicted)
    with httpx.Client(base_url=open_page.url) as browser:
        token = csrf_of(browser.get("/"))
        for form in (
            {"choice": "platform"},
            {"choice": "platform", "csrf_token": ""},
            {"choice": "platform", "csrf_token": token + "x"},
        ):
            refused = browser.post(f"/conflicts/{conflict_id}/resolve", data=form)
            assert refused.status_code == 403
            assert "CSRF" in refused.text
        bulk = browser.post("/bulk", data={"ids": [str(conflict_id)]})
        assert bulk.status_code == 403
    # Another browser's token is no good either: tokens belong to their session.
    with httpx.Client(base_url=open_page.url) as other:
        other.get("/")
        stolen = other.post(
            f"/conflicts/{conflict_id}/resolve", data={"choice": "crm", "csrf_token": token}
        )
        assert stolen.status_code == 403
    still = conflicted.conflicts.get(conflict_id)
    assert still is not None and still.status is ConflictStatus.OPEN


# -- login and sessions -----------------------------------------------------------------------


def test_with_users_every_page_asks_for_a_login_first(guarded_page: Served) -> None:
    with httpx.Client(base_url=guarded_page.url) as browser:
        asked = browser.get(f"/contacts/{CONTACT}")
        assert asked.status_code == 303
        assert asked.headers["location"] == f"/login?next=%2Fcontacts%2F{CONTACT}"
        assert browser.get("/healthz").status_code == 200  # for probes, nothing in it
        login = browser.get("/login")
        wrong = browser.post(
            "/login",
            data={"name": "ann", "password": "guess", "csrf_token": csrf_of(login)},
        )
        assert wrong.status_code == 401
        assert "Wrong name or password" in wrong.text
        nobody = browser.post(
            "/login",
            data={"name": "bob", "password": PASSWORD, "csrf_token": csrf_of(wrong)},
        )
        assert nobody.status_code == 401  # the same answer: names are not told apart
        right = browser.post(
            "/login",
            data={
                "name": "ann",
                "password": PASSWORD,
                "csrf_token": csrf_of(nobody),
                "next": f"/contacts/{CONTACT}",
            },
        )
        assert right.status_code == 303 and right.headers["location"] == f"/contacts/{CONTACT}"
        page = browser.get(f"/contacts/{CONTACT}")
        assert page.status_code == 200 and "Signed in as" in page.text
        out = browser.post("/logout", data={"csrf_token": csrf_of(page)})
        assert out.status_code == 303
        assert browser.get("/").status_code == 303


def test_a_decision_records_the_user_and_the_address(guarded_page: Served, conflicted: App) -> None:
    conflict_id = first_open(conflicted)
    with httpx.Client(base_url=guarded_page.url) as browser:
        login = browser.get("/login")
        browser.post(
            "/login", data={"name": "ann", "password": PASSWORD, "csrf_token": csrf_of(login)}
        )
        page = browser.get(f"/contacts/{CONTACT}")
        done = browser.post(
            f"/conflicts/{conflict_id}/resolve",
            data={"choice": "crm", "csrf_token": csrf_of(page)},
        )
        assert done.status_code == 303
    decided = conflicted.conflicts.get(conflict_id)
    assert decided is not None
    assert (decided.resolved_by, decided.resolved_from) == ("ann", "review 127.0.0.1")
    assert decided.resolution == decided.crm
    # The daemon is asked to apply it soon.
    queued = SqlWorkQueue(conflicted.database).get(CONTACT)
    assert queued is not None and queued.reason == "decision"


def test_a_session_expires_after_its_minutes(guarded_page: Served) -> None:
    with httpx.Client(base_url=guarded_page.url) as browser:
        login = browser.get("/login")
        browser.post(
            "/login", data={"name": "ann", "password": PASSWORD, "csrf_token": csrf_of(login)}
        )
        guarded_page.clock.now += 29 * 60
        assert browser.get("/").status_code == 200  # used within its minutes: still valid
        guarded_page.clock.now += 31 * 60
        assert browser.get("/").status_code == 303  # idle too long: log in again


def test_a_login_link_cannot_send_anyone_to_another_site(guarded_page: Served) -> None:
    with httpx.Client(base_url=guarded_page.url) as browser:
        for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
            login = browser.get("/login", params={"next": target})
            assert 'name="next" value="/"' in login.text
            done = browser.post(
                "/login",
                data={
                    "name": "ann",
                    "password": PASSWORD,
                    "csrf_token": csrf_of(login),
                    "next": target,
                },
            )
            assert done.headers["location"] == "/"
            browser.post("/logout", data={"csrf_token": csrf_of(browser.get("/"))})


def test_password_hashes_are_argon2id_and_verify() -> None:
    hashed = hash_password(PASSWORD)
    assert hashed.startswith("$argon2id$") and PASSWORD not in hashed
    assert password_matches({"ann": hashed}, "ann", PASSWORD)
    assert not password_matches({"ann": hashed}, "ann", PASSWORD + "!")
    assert not password_matches({"ann": "not a hash"}, "ann", PASSWORD)
    assert not password_matches({}, "ann", PASSWORD)


def test_hash_password_command_reads_stdin_and_refuses_short_passwords() -> None:
    def run(password: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "syncengine", "review", "hash-password", "--password-stdin"],
            input=password + "\n",
            capture_output=True,
            text=True,
            timeout=60,
        )

    made = run(PASSWORD)
    assert made.returncode == 0, made.stderr
    assert password_matches({"ann": made.stdout.strip()}, "ann", PASSWORD)
    short = run("hunter2")
    assert short.returncode == 2 and "too short" in short.stderr


# -- what every answer carries and never carries ------------------------------------------------


def test_every_answer_sets_the_security_headers_and_never_shows_the_token(
    open_page: Served, conflicted: App
) -> None:
    with httpx.Client(base_url=open_page.url) as browser:
        queue = browser.get("/")
        answers = [
            queue,
            browser.get(f"/contacts/{CONTACT}"),
            browser.get(f"/contacts/{OTHER}"),
            browser.get("/contacts/999999"),  # CRM+ answers 404: the page says so
            browser.get("/?age=ancient"),
            browser.get("/nowhere"),
            browser.post("/bulk", data={"ids": ["1"]}),  # no token: 403
            browser.post(
                "/conflicts/999/resolve", data={"choice": "crm", "csrf_token": csrf_of(queue)}
            ),
        ]
    for answer in answers:
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers.get(name) == value, (answer.url, name)
        assert SANDBOX_TOKEN not in answer.text
        assert "<script" not in answer.text.lower()
    assert [a.status_code for a in answers] == [200, 200, 200, 200, 400, 404, 403, 404]
    cookie = answers[0].headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_a_refused_crm_token_is_reported_without_the_token(conflicted: App) -> None:
    # The contact view reads CRM+ live: with a token CRM+ refuses, the page says so,
    # and the token reaches no page.
    bad = "wrong-token-" + "z" * 24
    with open_app(conflicted.settings, {"CRMPLUS_API_TOKEN": bad}) as refused:
        for served in serve(refused):
            page = httpx.get(f"{served.url}/contacts/{CONTACT}")
            assert page.status_code == 200
            assert "CRM+ could not be read" in page.text
            assert "Take platform" in page.text  # the rest of the page still works
            assert bad not in page.text


# -- hostile input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/contacts/99999999999999999999999", 404),
        ("/contacts/2147483648", 404),
        ("/contacts/0", 404),
        ("/?contact=99999999999999999999", 400),
        ("/?contact=-1", 400),
        ("/?page=0", 400),
        ("/?page=99999999999999999999", 400),
        ("/?sort=id;DROP%20TABLE%20conflicts", 400),
        ("/?suggests=anyone", 400),
        ("/?field=%00%27%22%3Cb%3E", 200),
        ("/?rule=%E2%80%AEevil", 200),
    ],
)
def test_hostile_addresses_get_a_clear_answer_never_a_server_error(
    open_page: Served, conflicted: App, path: str, status: int
) -> None:
    answer = httpx.get(open_page.url + path)
    assert answer.status_code == status, answer.text[:300]
    assert "<b>" not in answer.text  # the field filter's value is shown escaped
    assert len(conflicted.conflicts.list(status=ConflictStatus.OPEN)) == 4


def test_hostile_forms_change_nothing_they_should_not(open_page: Served, conflicted: App) -> None:
    conflict_id = first_open(conflicted)
    with httpx.Client(base_url=open_page.url) as browser:
        token = csrf_of(browser.get("/"))
        huge = browser.post(
            "/conflicts/99999999999999999999999/resolve",
            data={"choice": "crm", "csrf_token": token},
        )
        assert huge.status_code == 404
        odd = browser.post(
            f"/conflicts/{conflict_id}/resolve", data={"choice": "both", "csrf_token": token}
        )
        assert odd.status_code == 400 and "unknown choice" in odd.text
        deep = browser.post(
            f"/conflicts/{conflict_id}/resolve",
            data={"choice": "typed", "value": "[" * 200 + "]" * 200, "csrf_token": token},
        )
        assert deep.status_code == 400 and "nested" in deep.text
        ids = browser.post(
            "/bulk", data={"ids": ["1", "99999999999999999999999"], "csrf_token": token}
        )
        assert ids.status_code == 400
    assert len(conflicted.conflicts.list(status=ConflictStatus.OPEN)) == 4


def test_sync_now_applies_a_decision_on_both_sides_at_once(
    open_page: Served, conflicted: App, sandbox: SandboxServer, platform_files: FilesDriver
) -> None:
    conflict = next(
        c
        for c in conflicted.conflicts.list(status=ConflictStatus.OPEN, contact_id=CONTACT)
        if c.path == "website"
    )
    with httpx.Client(base_url=open_page.url) as browser:
        page = browser.get(f"/contacts/{CONTACT}")
        done = browser.post(
            f"/conflicts/{conflict.id}/resolve",
            data={"choice": "crm", "apply_now": "1", "csrf_token": csrf_of(page)},
            follow_redirects=True,
        )
    assert done.status_code == 200
    assert f"Contact {CONTACT}: " in done.text  # what the sync did, on the page
    doc = platform_files.read(CONTACT)
    assert doc is not None
    assert sandbox.hooks.raw_contact(CONTACT)["website"] == doc["website"] == conflict.crm
    applied = conflicted.conflicts.get(conflict.id or 0)
    assert applied is not None and applied.applied_at is not None


def test_a_conflict_decided_meanwhile_keeps_the_first_decision(
    open_page: Served, conflicted: App
) -> None:
    conflict_id = first_open(conflicted)
    with httpx.Client(base_url=open_page.url) as browser:
        page = browser.get(f"/contacts/{CONTACT}")  # a data manager opens the page...
        conflicted.conflicts.resolve(  # ...and a colleague decides first
            conflict_id, "theirs", resolved_by="bob", at=conflicted.clock.now()
        )
        late = browser.post(
            f"/conflicts/{conflict_id}/resolve",
            data={"choice": "platform", "csrf_token": csrf_of(page)},
        )
    assert late.status_code == 400 and "is resolved" in late.text
    kept = conflicted.conflicts.get(conflict_id)
    assert kept is not None and (kept.resolution, kept.resolved_by) == ("theirs", "bob")


def test_a_lost_database_is_a_page_saying_so_without_the_password(conflicted: App) -> None:
    gone = make_engine("postgresql+psycopg://postgres:s3cret-pass@127.0.0.1:1/gone")
    services = replace(review_services(conflicted), conflicts=SqlConflictStore(gone))
    web = build_review_app(services, ReviewOptions(host="127.0.0.1", secrets=["s3cret-pass"]))
    with WebServer(web, "127.0.0.1", 0) as server:
        answer = httpx.get(server.base_url + "/")
    gone.dispose()
    assert answer.status_code == 503
    assert "cannot connect to the database" in answer.text
    assert "s3cret-pass" not in answer.text
    assert answer.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]
