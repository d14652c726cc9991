"""Find a secret anywhere a run left it: text, files, every cell of every table.

A secret is looked for as it is and in the forms it would take on the way out: the
``Authorization`` header value, base64 (standard and URL-safe, of the secret and of the
header value), URL-encoded (``%2B``, ``+`` for a space...), JSON-escaped, UTF-16 (a binary
file), and any ``FRAGMENT``-character piece of it (a truncated or wrapped copy). The
secrets the tests use are long random strings, so none of these matches by chance.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, quote_plus

from sqlalchemy import MetaData, select

from syncengine.store.database import make_engine

# A piece this long of a random secret found anywhere is a leak (the secrets are 40+
# characters: a 16-character piece is a third of one, far beyond any chance match).
FRAGMENT = 16


@dataclass(frozen=True)
class Finding:
    where: str  # a file, "table.column row N", "stdout of sync --all"...
    form: str  # which form of which secret: "raw", "base64 of Bearer <secret>"...

    def __str__(self) -> str:
        return f"{self.form} in {self.where}"


def forms(secret: str) -> dict[str, str]:
    """The text forms of ``secret`` worth looking for, by name."""
    bearer = f"Bearer {secret}"
    found: dict[str, str] = {}
    for label, value in (("secret", secret), ("Bearer <secret>", bearer)):
        raw = value.encode()
        found[f"base64 of {label}"] = base64.b64encode(raw).decode().rstrip("=")
        found[f"urlsafe base64 of {label}"] = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        found[f"url-encoded {label}"] = quote(value, safe="")
        found[f"form-encoded {label}"] = quote_plus(value)
        found[f"json-escaped {label}"] = json.dumps(value)[1:-1]
        found[f"hex of {label}"] = raw.hex()
    found["Bearer <secret>"] = bearer
    for start in range(len(secret) - FRAGMENT + 1):
        found[f"piece [{start}:{start + FRAGMENT}]"] = secret[start : start + FRAGMENT]
    return found


class Scanner:
    """Looks for every form of every secret given (named, for the messages)."""

    def __init__(self, secrets: dict[str, str]) -> None:
        if not secrets:
            raise ValueError("a scanner needs at least one secret")
        for name, secret in secrets.items():
            if len(secret) < 2 * FRAGMENT:
                raise ValueError(f"{name} is too short to be told from chance matches")
        self._text = [
            (f"{form} ({name})", value)
            for name, secret in secrets.items()
            for form, value in forms(secret).items()
        ]
        # Binary files: the text forms as UTF-8 (what SQLite and every file here uses)
        # and the secret itself as UTF-16 (SQLite's other text encoding).
        self._bytes = [(form, value.encode()) for form, value in self._text] + [
            (f"utf-16 ({name})", secret.encode(encoding))
            for name, secret in secrets.items()
            for encoding in ("utf-16-le", "utf-16-be")
        ]

    def text(self, where: str, text: str) -> list[Finding]:
        return [Finding(where, form) for form, value in self._text if value in text]

    def data(self, where: str, data: bytes) -> list[Finding]:
        return [Finding(where, form) for form, value in self._bytes if value in data]

    def files(self, root: Path, *, skip: Iterable[Path] = ()) -> tuple[list[Finding], int]:
        """Every file under ``root`` (hidden ones and SQLite's -wal/-shm included), read
        as bytes; the findings and how many files were read. ``skip``: folders of inputs
        the test wrote on purpose (a config file holding a secret, to see it refused)."""
        skipped = [folder.resolve() for folder in skip]
        findings: list[Finding] = []
        count = 0
        for path in sorted(root.rglob("*")):
            if not path.is_file() or any(path.resolve().is_relative_to(s) for s in skipped):
                continue
            count += 1
            findings += self.data(str(path.relative_to(root)), path.read_bytes())
        return findings, count

    def database(self, url: str) -> tuple[list[Finding], int]:
        """Every column of every row of every table at ``url``; the findings and how many
        cells were read. Values are read as the driver gives them and scanned as text
        (``str``) and, for bytes, as bytes."""
        engine = make_engine(url)
        findings: list[Finding] = []
        cells = 0
        try:
            metadata = MetaData()
            metadata.reflect(engine)
            with engine.connect() as connection:
                for table in metadata.sorted_tables:
                    for number, row in enumerate(connection.execute(select(table))):
                        for column, value in zip(table.columns, row, strict=True):
                            cells += 1
                            where = f"{table.name}.{column.name} row {number}"
                            findings += _scan_value(self, where, value)
        finally:
            engine.dispose()
        return findings, cells

    def exception(self, where: str, error: BaseException) -> list[Finding]:
        """An exception as anything could show it: str, repr, attributes, whole chain,
        and the traceback a crash would print."""
        import traceback

        return self.text(where, "\n".join(exception_texts(error))) + self.text(
            f"{where} (traceback)", "".join(traceback.format_exception(error))
        )


def exception_texts(error: BaseException) -> Iterator[str]:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        yield repr(current.args)
        yield repr(getattr(current, "__dict__", {}))
        current = current.__cause__ or current.__context__


def _scan_value(scanner: Scanner, where: str, value: object) -> list[Finding]:
    if value is None:
        return []
    if isinstance(value, bytes | bytearray | memoryview):
        return scanner.data(where, bytes(value))
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return scanner.text(where, text)
