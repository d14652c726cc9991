"""A data manager on the review page, in headless Chromium, against the real engine: the
sandbox over loopback HTTP, a real database (SQLite and PostgreSQL), both PUT semantics,
a files platform. They open the queue, filter it, open a contact, take the platform's
value for one conflict and the suggestion for two more in bulk; the next sync applies
all three on both sides. A hostile value shows as text."""

from __future__ import annotations

from playwright.sync_api import Dialog, Page, expect

from syncengine.bootstrap import App
from syncengine.domain.ports import ConflictStatus
from syncengine.sandbox import SandboxServer
from tests.browser.shots import Screenshot
from tests.engine.platforms import FilesDriver
from tests.engine.synced import CONTACT
from tests.review.scenario import HOSTILE, OTHER, conflicted, platform_files, review_url

__all__ = ["conflicted", "platform_files", "review_url"]  # fixtures used by the tests below


def test_a_data_manager_decides_three_conflicts_and_the_next_sync_applies_them(
    page: Page,
    review_url: str,
    conflicted: App,
    sandbox: SandboxServer,
    platform_files: FilesDriver,
    screenshot: Screenshot,
) -> None:
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    page.goto(review_url + "/")
    expect(page.get_by_text("4 open conflicts match")).to_be_visible()
    # The script from CRM+ is shown as text, and nothing ran.
    expect(page.get_by_text(HOSTILE).first).to_be_visible()
    screenshot(page, "review-queue")

    # Filter to one field: the two informalName conflicts.
    page.get_by_label("Field", exact=True).select_option("informalName")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("2 open conflicts match")).to_be_visible()

    # Open the contact, take the platform's value for its informalName.
    page.get_by_role("link", name=str(CONTACT)).first.click()
    expect(page.get_by_role("heading", name=f"Contact {CONTACT}")).to_be_visible()
    screenshot(page, "review-contact")
    card = page.locator("section.conflict", has_text="informalName")
    card.get_by_role("button", name="Take platform").click()
    expect(page.get_by_role("status")).to_contain_text("Decided")

    # Back to the queue: select the other two of this contact, take the suggestion.
    page.goto(review_url + f"/?contact={CONTACT}")
    expect(page.get_by_text("2 open conflicts match")).to_be_visible()
    for box in page.get_by_role("checkbox", name="select conflict").all():
        box.check()
    page.get_by_role("button", name="Take the suggestion for the selected").click()
    expect(page.get_by_role("status")).to_contain_text("took the suggestion for 2 conflict(s)")

    decided = conflicted.conflicts.list(status=ConflictStatus.RESOLVED, contact_id=CONTACT)
    assert sorted(c.path for c in decided) == ["description", "informalName", "website"]
    assert all(c.resolved_by == "anonymous" for c in decided)
    assert all(c.resolved_from == "review 127.0.0.1" for c in decided)

    # The next sync applies the three decisions on both sides.
    conflicted.runner().run_one(CONTACT)
    raw = sandbox.hooks.raw_contact(CONTACT)
    doc = platform_files.read(CONTACT)
    assert doc is not None
    for field, value in {
        "informalName": "Portal nick",
        "description": "Portal notes",
        "website": "https://portal.example",
    }.items():
        assert raw[field] == value, field
        assert doc[field] == value, field
    assert conflicted.conflicts.list(status=ConflictStatus.OPEN, contact_id=CONTACT) == []
    assert dialogs == []


def test_a_typed_value_is_checked_and_the_error_shown_on_the_page(
    no_js_page: Page, review_url: str, conflicted: App
) -> None:
    page = no_js_page  # forms work without JavaScript
    page.goto(review_url + f"/contacts/{OTHER}")
    expect(page.get_by_text(HOSTILE).first).to_be_visible()
    card = page.locator("section.conflict").first
    card.get_by_label("or type a value").fill("Mar\u00eda")
    card.get_by_role("button", name="Use this value").click()
    expect(page.get_by_role("status")).to_contain_text("Decided")
    (row,) = conflicted.conflicts.list(status=ConflictStatus.RESOLVED, contact_id=OTHER)
    assert row.resolution == "Mar\u00eda"
