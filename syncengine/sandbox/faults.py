"""Injected faults: the failures a client must survive, made to happen on purpose."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Fault:
    """For the next ``count`` requests whose method and path match: misbehave.

    ``path`` is a regular expression searched in the URL path (``r"^/api/Contact/4821$"``);
    ``method`` is an HTTP method or ``"*"``. What happens, in this order:
    wait ``delay`` seconds (a client with a shorter timeout sees a timeout); then
    - ``drop``: the request IS processed (a write is applied) but the response is cut
      off after its headers, so the client sees a transport error, not an answer;
    - ``status``: answer that status instead (``body`` as JSON, ``retry_after`` as the
      ``Retry-After`` header, e.g. for 429/503);
    - neither: process the request normally (only the delay was wanted).
    """

    method: str
    path: str
    count: int = 1
    status: int | None = None
    retry_after: int | None = None
    delay: float = 0.0
    drop: bool = False
    body: Any = None
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        self._pattern = re.compile(self.path)
        if self.count < 1:
            raise ValueError("a fault needs a count of at least 1")
        for name in ("status", "retry_after"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"a fault's {name} must be an integer, not {value!r}")
        if self.drop and self.status is not None:
            raise ValueError("a fault either drops the response or answers a status, not both")
        if not (self.drop or self.status is not None or self.delay > 0):
            raise ValueError("a fault needs a status, drop=True or a delay")

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method.upper()) and self._pattern.search(path) is not None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_pattern", None)
        data["retryAfter"] = data.pop("retry_after")
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        return cls(
            method=str(data.get("method", "*")),
            path=str(data["path"]),
            count=int(data.get("count", 1)),
            status=data.get("status"),
            retry_after=data.get("retryAfter"),
            delay=float(data.get("delay", 0.0)),
            drop=bool(data.get("drop", False)),
            body=data.get("body"),
        )


class FaultBook:
    """The pending faults, first match wins. Not locked itself: used under the state's lock."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self._faults.append(fault)

    def clear(self) -> None:
        self._faults.clear()

    def pending(self) -> list[Fault]:
        return list(self._faults)

    def take(self, method: str, path: str) -> Fault | None:
        """The first matching fault, used up by one: it is gone after ``count`` requests."""
        for fault in self._faults:
            if fault.matches(method, path):
                fault.count -= 1
                if fault.count == 0:
                    self._faults.remove(fault)
                return fault
        return None
