"""The one place where errors become words for people and exit codes.

Exceptions carry data (see ``syncengine.errors``); only this module phrases them.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from syncengine import errors as e
from syncengine.config import ENV_PASSWORD, ENV_USERNAME
from syncengine.engine.budget import resets_at
from syncengine.store import ConflictStateError, MissingEntryError


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # the change (or some contact) failed
    USAGE = 2  # bad arguments or configuration: nothing was sent
    CONFLICTS = 3  # done, but conflicts are open for review
    DEFERRED = 4  # the request budget is spent: what is left waits for its reset


def exit_code_for(exc: BaseException) -> ExitCode:
    # Deciding a conflict that is not open is a usage error: nothing was changed.
    if isinstance(exc, e.UsageError | ConflictStateError | MissingEntryError):
        return ExitCode.USAGE
    if isinstance(exc, e.CrmBudgetExhausted):
        return ExitCode.DEFERRED
    return ExitCode.FAILED


def describe(exc: BaseException) -> str:
    """A message a data manager can act on."""
    return "\n".join(describe_lines(exc))


def describe_lines(exc: BaseException) -> list[str]:
    """``describe`` as its lines: the text printer escapes each line on its own, so a
    newline inside a value is shown as ``\\n`` and cannot fake a line of its own."""
    match exc:
        case e.CrmValidationError():
            return [
                f"{_where(exc)}refused (HTTP {exc.status}): {exc.message}",
                *(field_problem_line(p.field, p.message) for p in exc.problems),
            ]
        case e.VerificationError():
            return [
                f"contact {exc.contact_id}: the {exc.stage} does not show the change:",
                *(
                    f"  - {m.path}: meant {m.intended!r}, CRM+ has {m.found!r}"
                    for m in exc.mismatches
                ),
            ]
    return [_one_line(exc)]


def field_problem_line(field: str, message: str) -> str:
    """One field CRM+ complained about (400 modelState / 422 details), as push shows it."""
    return f"  - {field}: {message}"


def _one_line(exc: BaseException) -> str:
    match exc:
        case e.CrmTokenError():
            return _token_problem(exc)
        case e.CrmAuthError():
            return (
                "CRM+ refused the API token (HTTP 401). Check CRMPLUS_API_TOKEN: it may be "
                "wrong, revoked or expired."
            )
        case e.CrmTlsError(verification=True):
            return (
                f"TLS certificate verification failed for {exc.host} ({exc.message}). Nothing "
                "was sent. Check crm.base_url: the certificate must be valid for that host "
                "(verification cannot be turned off)."
            )
        case e.CrmTlsError():
            return (
                f"TLS handshake with {exc.host} failed ({exc.message}). Nothing was sent. "
                "Check crm.base_url (does that port speak https?)."
            )
        case e.CrmNotFound(merged_into=int() as survivor):
            return (
                f"{_where(exc)}not found (HTTP 404): the contact was merged into contact "
                f"{survivor}. Use that id."
            )
        case e.CrmNotFound():
            return (
                f"{_where(exc)}not found (HTTP 404): the record may have been merged into "
                "another contact or deleted in CRM+."
            )
        case e.CrmDuplicateValue():
            value = f" {exc.value!r}" if exc.value else ""
            return (
                f"{_where(exc)}refused (HTTP 409): the value{value} already belongs to another "
                f"contact. {exc.message}"
            )
        case e.CrmBudgetExhausted():
            return (
                f"CRM+ request budget spent ({exc.message}): it resets at "
                f"{resets_at(exc).isoformat()} (in {exc.retry_after or 0:.0f} s). Nothing more "
                "was sent to CRM+; run again after that."
            )
        case e.CrmRateLimited():
            wait = f" retry in {exc.retry_after:.0f} s" if exc.retry_after is not None else ""
            return f"CRM+ rate limit reached ({exc.message});{wait}. Nothing was changed."
        case e.CrmUnreachable(maybe_applied=True):
            return (
                f"CRM+ did not answer {_endpoint(exc)}({exc.message}) after retries. The write "
                "may or may not have been applied: it is journaled as 'unknown' and checked "
                "on the next run."
            )
        case e.CrmUnreachable():
            # A read (GET, Find, Query), or a write that never left: nothing can have changed.
            return (
                f"CRM+ did not answer {_endpoint(exc)}({exc.message}) after retries. Nothing was "
                "written."
            )
        case e.CrmServerError():
            return f"CRM+ server error after retries: {exc}"
        case e.SyncEngineError():
            return str(exc)
    return f"unexpected error: {type(exc).__name__}: {exc}"


def _token_problem(exc: e.CrmTokenError) -> str:
    answered = f"POST {exc.url_path or '/Token'} answered HTTP {exc.status}"
    status = exc.status or 0
    if status in (400, 401):
        return (
            f"CRM+ refused the user name or password ({answered}: {exc.message}). Check "
            f"{ENV_USERNAME} and {ENV_PASSWORD}."
        )
    if status == 202:
        return f"CRM+ asks for two-step verification ({answered}): {exc.message}."
    if 200 <= status <= 299:
        return f"{answered} but gave no token: {exc.message}."
    return (
        f"{answered}: check crm.base_url and crm.auth.mode (this organisation may not use "
        "password login)."
    )


def error_json(exc: BaseException) -> dict[str, Any]:
    """The machine-readable form of an error for ``--json`` output."""
    out: dict[str, Any] = {
        "error": type(exc).__name__,
        "message": describe(exc),
        "exit_code": int(exit_code_for(exc)),
    }
    if isinstance(exc, e.CrmError):
        out["status"] = exc.status
        out["endpoint"] = f"{exc.method} {exc.url_path}" if exc.method else None
    if isinstance(exc, e.CrmValidationError):
        out["problems"] = [
            {"field": p.field, "message": p.message, "code": p.code} for p in exc.problems
        ]
    if isinstance(exc, e.CrmNotFound):
        out["merged_into"] = exc.merged_into
    if isinstance(exc, e.CrmBudgetExhausted):
        out["resets_at"] = resets_at(exc).isoformat()
    if isinstance(exc, e.CrmTlsError):
        out["host"] = exc.host
    if isinstance(exc, e.VerificationError):
        out["mismatches"] = [
            {"path": m.path, "intended": m.intended, "found": m.found} for m in exc.mismatches
        ]
    return out


def _where(exc: e.CrmError) -> str:
    return f"{exc.method} {exc.url_path}: " if exc.method and exc.url_path else ""


def _endpoint(exc: e.CrmError) -> str:
    return f"{exc.method} {exc.url_path} " if exc.method and exc.url_path else ""
