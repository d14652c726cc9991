"""The log of API requests the sandbox received, for tests and rehearsals to inspect.

Headers are never recorded: the log must not hold the API token.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    body: Any  # parsed JSON; the raw text if it was not JSON; None if empty
    status: int | None  # None if no response was started
    dropped: bool = False  # the response was cut off by a "drop" fault

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class RequestLog:
    """Not locked itself: used under the state's lock."""

    def __init__(self) -> None:
        self._entries: list[LoggedRequest] = []

    def append(self, entry: LoggedRequest) -> None:
        self._entries.append(entry)

    def entries(self) -> list[LoggedRequest]:
        return list(self._entries)

    def clear(self) -> None:
        self._entries.clear()
