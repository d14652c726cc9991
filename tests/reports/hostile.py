"""One report full of hostile values, shared by the golden and the property tests.

Every value a CRM+ user or a platform file could hold that might break a report: markup
(``<script>``, an ``<img onerror>``), spreadsheet formulas, right-to-left text and a
right-to-left override, zero-width characters, emoji with ZWJ sequences, NUL and other
controls, a lone surrogate (a file name that was not UTF-8), and JSON values that are
not strings. The 100 kB value is not here: see ``with_long_value``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from syncengine.domain.ports import (
    ConflictRecord,
    ConflictStatus,
    JobRun,
    Problem,
    ProblemKind,
)
from syncengine.reports.model import Report, ReportFilters

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
HYPERLINK = '=HYPERLINK("http://evil","x")'
ARABIC = "مرحبا بالعالم"
HEBREW = "שלום עולם"
RLO = "invoice\u202egnp.exe"
FAMILY = "👩\u200d👩\u200d👧 family 🎉"
NUL = "a\x00b"
ESCAPE = "\x1b[31mred\x1b[0m"
SURROGATE = "report\udcff.pdf"
OBJECT: dict[str, Any] = {"a": 1, "nested": [1, 2.5, True, None], "text": SCRIPT}
LIST: list[Any] = [1, "two", False]
EMAIL_DETAIL = {
    "field": "contactIndividuals[0].contactMethods[0].value",
    "message": "Invalid email",
}


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def _conflict(
    number: int,
    contact_id: int,
    path: str,
    *,
    base: Any,
    platform: Any,
    crm: Any,
    suggestion: Any,
    rule: str,
    created: datetime | None,
    status: ConflictStatus = ConflictStatus.OPEN,
    platform_author: str | None = "platform-sync",
    crm_author: str | None = "jane@example.org",
    platform_modified: datetime | None = None,
    crm_modified: datetime | None = None,
    **resolved: Any,
) -> ConflictRecord:
    return ConflictRecord(
        id=number,
        contact_id=contact_id,
        path=path,
        base=base,
        platform=platform,
        crm=crm,
        suggestion=suggestion,
        rule=rule,
        status=status,
        platform_author=platform_author,
        crm_author=crm_author,
        platform_modified=platform_modified or (created or NOW) - timedelta(hours=1),
        crm_modified=crm_modified or (created or NOW) - timedelta(minutes=30),
        created_at=created,
        updated_at=created,
        **resolved,
    )


def conflicts() -> list[ConflictRecord]:
    auto, resolved = ConflictStatus.AUTO, ConflictStatus.RESOLVED
    return [
        _conflict(
            1,
            4821,
            "contactIndividuals[id=2].firstName",
            base="Ann",
            platform=SCRIPT,
            crm=IMG,
            suggestion=IMG,
            rule="manual",
            platform_author=SCRIPT,
            crm_author=IMG,
            created=ago(hours=2),
        ),
        _conflict(
            2,
            4821,
            "contactIndividuals[id=2].contactMethods[id=7].value",
            base=HYPERLINK,
            platform="+1+1",
            crm="-2",
            suggestion="-2",
            rule="newest",
            created=ago(days=3),
        ),
        _conflict(
            3,
            5000,
            "contactIndividuals[id=9].contactMethods[id=11].value",
            base="@SUM(A1)",
            platform="\tleading tab",
            crm="\rcarriage return",
            suggestion="\rcarriage return",
            rule="crm",
            created=ago(days=10),
        ),
        _conflict(
            4,
            5001,
            "name",
            base=HEBREW,
            platform=ARABIC,
            crm=RLO,
            suggestion=ARABIC,
            rule="platform",
            crm_author=f"{HEBREW} <admin>",
            created=ago(days=60),
        ),
        _conflict(
            5,
            5002,
            "nickname",
            base="zero\u200bwidth",
            platform="\ufeffbom first",
            crm=FAMILY,
            suggestion=FAMILY,
            rule="newest",
            status=auto,
            resolution=FAMILY,
            created=ago(days=1),
        ),
        _conflict(
            6,
            5003,
            "customFields[name=Notes].value",
            base=NUL,
            platform="\x07bell",
            crm=ESCAPE,
            suggestion=ESCAPE,
            rule="crm",
            status=auto,
            resolution=ESCAPE,
            platform_author="bob\x7f\x85\x9b",
            created=None,
        ),
        _conflict(
            7,
            5004,
            "files[id=1].name",
            base=SURROGATE,
            platform=OBJECT,
            crm=LIST,
            suggestion=42,
            rule="manual",
            status=resolved,
            resolution=True,
            resolved_by=SCRIPT,
            resolved_at=ago(days=39),
            applied_at=ago(days=38),
            created=ago(days=40),
        ),
        _conflict(
            8,
            5005,
            "birthDate",
            base=None,
            platform=3.14,
            crm=False,
            suggestion=None,
            rule="duplicate-value",
            crm_author=None,
            created=ago(days=5),
        ),
        _conflict(
            9,
            5006,
            "contactIndividuals[id=3].firstName",
            base="Zoë",
            platform="",
            crm="line\u2028separator\nand newline",
            suggestion="line\u2028separator\nand newline",
            rule="manual",
            created=ago(days=2),
        ),
        _conflict(
            10,
            5007,
            "lastName",
            base="Smith",
            platform="Smyth",
            crm="Smithe",
            suggestion="Smithe",
            rule="newest",
            status=auto,
            resolution="Smithe",
            platform_modified=ago(days=4),
            crm_modified=ago(days=4),
            created=ago(days=4),
        ),
    ]


def problems() -> list[Problem]:
    return [
        Problem(
            subject="contact:4821",
            kind=ProblemKind.REFUSED,
            message="CRM+ refused the write (422)",
            contact_id=4821,
            details=[
                EMAIL_DETAIL,
                {"field": "name", "message": f"{SCRIPT} is not allowed"},
                {"code": 7, "note": IMG},
            ],
            count=3,
            first_seen=ago(days=2),
            last_seen=ago(hours=1),
        ),
        Problem(
            subject="contact:5002",
            kind=ProblemKind.REFUSED,
            message=f"{HYPERLINK} is not a phone number",
            contact_id=5002,
            details=[{"field": "contactMethods[0].value", "message": "-2 is too short"}],
            first_seen=ago(hours=5),
            last_seen=ago(hours=5),
        ),
        Problem(
            subject="contact:5000",
            kind=ProblemKind.DUPLICATE,
            message=f"{ARABIC}@example.org already belongs to contact 77 (409)",
            contact_id=5000,
            count=2,
            first_seen=ago(days=8),
            last_seen=ago(days=1),
        ),
        Problem(
            subject="new:bad\udcff.json",
            kind=ProblemKind.MALFORMED,
            message="not JSON: Expecting value: line 1 column 1 (char 0) \x1b]0;pwned\x07",
            key="bad\udcff.json",
            first_seen=ago(days=3),
            last_seen=ago(days=3),
        ),
        Problem(
            subject="contact:5001",
            kind=ProblemKind.FAILED,
            message="timeout after 30 s",
            contact_id=5001,
            count=4,
            first_seen=ago(days=20),
            last_seen=ago(days=15),
            resolved_at=ago(days=14),
        ),
    ]


def runs() -> list[JobRun]:
    return [
        JobRun(
            job="push",
            run_id="run-0002",
            started_at=ago(minutes=10),
            finished_at=ago(minutes=9),
            outcome="ok",
            counts={"pushed": 3, "conflicts": 1, "failed": 2},
            worker="worker-a",
        ),
        JobRun(
            job="pull",
            run_id="run-0001",
            started_at=ago(hours=1),
            finished_at=None,
            outcome="failed",
            counts={"pulled": 0},
            error=f"CRM+ said {IMG}",
            worker=None,
        ),
    ]


def hostile_report() -> Report:
    return Report(
        organization=f"Acme & Sons {SCRIPT}",
        generated_at=NOW,
        filters=ReportFilters(status="all", since=ago(days=90)),
        conflicts=conflicts(),
        problems=problems(),
        runs=runs(),
    )


def long_value() -> str:
    """100,000 characters of markup, accents and right-to-left text, no hidden character
    (so it must appear in every format exactly as it is, only HTML-escaped)."""
    unit = '<b class="x">é & ü</b> مرحبا '
    return (unit * (100_000 // len(unit) + 1))[:100_000]


def with_long_value() -> Report:
    report = hostile_report()
    first = replace(report.conflicts[0], crm=long_value(), suggestion=long_value())
    return replace(report, conflicts=[first, *report.conflicts[1:]])
