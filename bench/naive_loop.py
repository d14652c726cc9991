"""The naive loop of the published integration pattern, the baseline of every push benchmark.

For every platform contact, one after the other: GET /api/Contact/{id}, write the
platform's values over what came back, PUT the whole record. Two requests per contact
whether anything changed or not, no local state, no merge, no verification: what the
engine is measured against (issue 9, section 3).

    from naive_loop import naive_loop
    result = naive_loop(sandbox.base_url, token, platform_records)
    result.requests, result.seconds, result.cpu_seconds

Run alone, it times the loop over N contacts of a fresh sandbox (see `scenario.py`):

    python bench/naive_loop.py --contacts 200
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from scenario import build_scenario

from syncengine.domain.fieldtypes import coerce_record
from syncengine.domain.merge import merge3


@dataclass(frozen=True)
class NaiveResult:
    contacts: int
    requests: int
    seconds: float  # wall clock
    cpu_seconds: float  # this process's CPU (the sandbox's is not counted if it runs apart)

    @property
    def cpu_ms_per_contact(self) -> float:
        return 1000 * self.cpu_seconds / max(self.contacts, 1)

    @property
    def contacts_per_second(self) -> float:
        return self.contacts / self.seconds if self.seconds else 0.0


def apply_platform_values(crm: Any, platform: Any) -> Any:
    """``crm`` with ``platform``'s values written over it: objects key by key, arrays of
    objects item by item by ``id`` (an item without a match is appended), anything else
    replaced. The least a naive integration must do not to wipe what it does not hold."""
    if isinstance(crm, Mapping) and isinstance(platform, Mapping):
        merged = dict(crm)
        for key, value in platform.items():
            merged[key] = apply_platform_values(crm[key], value) if key in crm else value
        return merged
    if isinstance(crm, list) and isinstance(platform, list) and _has_ids(crm, platform):
        by_id = {item["id"]: item for item in platform if "id" in item}
        merged_items = [
            apply_platform_values(item, by_id[item["id"]]) if item.get("id") in by_id else item
            for item in crm
        ]
        known = {item.get("id") for item in crm}
        return merged_items + [item for item in platform if item.get("id") not in known]
    return platform


def _has_ids(*arrays: list[Any]) -> bool:
    return all(isinstance(item, Mapping) for array in arrays for item in array)


def naive_loop(base_url: str, token: str, records: Iterable[Mapping[str, Any]]) -> NaiveResult:
    """GET, overlay, full PUT of each record's contact (``record["id"]``), sequentially."""
    return _get_then_put(base_url, token, records, apply_platform_values)


def safe_update_floor(
    base_url: str, token: str, records: Iterable[Mapping[str, Any]]
) -> NaiveResult:
    """The least a safe update of each record costs, with nothing recorded: GET, the
    engine's three-way merge (the record just read as the base: CRM+ did not change it),
    the merged record coerced to wire types and PUT whole. No mirror, journal, claim or
    sync state, no check of the answer: what the engine does beyond this is what makes
    it safe across runs, crashes and other processes (``push_cpu.py`` prints the three
    side by side)."""

    def merged(crm: Any, record: Mapping[str, Any]) -> Any:
        return coerce_record("Contact", merge3(crm, dict(record), crm).merged)

    return _get_then_put(base_url, token, records, merged)


def _get_then_put(
    base_url: str,
    token: str,
    records: Iterable[Mapping[str, Any]],
    body: Callable[[Any, Mapping[str, Any]], Any],
) -> NaiveResult:
    """For each record, sequentially: GET its contact, PUT ``body(what came, record)``."""
    contacts = requests = 0
    wall, cpu = time.perf_counter(), time.process_time()
    with httpx.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60
    ) as client:
        for record in records:
            path = f"/api/Contact/{record['id']}"
            current = client.get(path)
            current.raise_for_status()
            client.put(path, json=body(current.json(), record)).raise_for_status()
            contacts += 1
            requests += 2
    return NaiveResult(
        contacts=contacts,
        requests=requests,
        seconds=time.perf_counter() - wall,
        cpu_seconds=time.process_time() - cpu,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=200)
    args = parser.parse_args()
    with build_scenario(args.contacts) as scenario:
        scenario.change_on_platform(scenario.ids)
        result = naive_loop(
            scenario.sandbox.base_url, scenario.sandbox.token, scenario.platform_records()
        )
        logged = len(scenario.sandbox.requests())
    print(
        f"naive loop: {result.contacts} contacts, {result.requests} requests "
        f"({logged} logged by the sandbox), {result.seconds:.2f} s, "
        f"{result.contacts_per_second:.0f} contacts/s, "
        f"{result.cpu_ms_per_contact:.2f} ms CPU per contact"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
