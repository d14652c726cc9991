"""Diff and three-way merge of one changed contact, against a plain DeepDiff of the pair.

Two contacts: the typical one (tests/data/contact.json, a real-shaped GET) and a large
one built from it (8 people with 6 contact methods each, 12 custom fields, 10 tags and
reference entries). For each, a merge base, a CRM+ version with one field edited (and
its stamp moved, as a write does) and a platform version with another field edited.
Timed, each many times in turn (median and p99, in ms):
- `diff(base, platform)`: what the platform changed;
- `merge3(base, platform, crm)`: the decision for every field;
- `DeepDiff(base, platform, ignore_order=True)`: the general-purpose baseline.
Issue 9's target: at most 1 ms median for the diff and the merge.

    python bench/diff_merge.py
    python bench/diff_merge.py --profile large      # cProfile of the large one's merge
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import json
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from deepdiff import DeepDiff

from syncengine.domain.diff import diff
from syncengine.domain.merge import merge3

CONTACT = Path(__file__).resolve().parent.parent / "tests" / "data" / "contact.json"
Record = dict[str, Any]


def typical() -> Record:
    record: Record = json.loads(CONTACT.read_text(encoding="utf-8"))
    return record


def large() -> Record:
    """The typical contact grown to a big household: many people, methods, fields."""
    record = typical()
    person = record["contactIndividuals"][0]
    people = []
    for n in range(8):
        someone = copy.deepcopy(person)
        someone["id"] = person["id"] * 100 + n
        someone["firstName"] = f"Person{n}"
        someone["isPrimary"] = n == 0
        method = person["contactMethods"][0]
        someone["contactMethods"] = [
            {
                **copy.deepcopy(method),
                "id": someone["id"] * 100 + m,
                "type": ("Home Email", "Work Email", "Mobile Phone", "Home Phone")[m % 4],
                "value": f"person{n}.{m}@example.org" if m % 4 < 2 else f"555-01{n}{m}",
                "isPrimary": m == 0,
            }
            for m in range(6)
        ]
        people.append(someone)
    record["contactIndividuals"] = people
    record["customFields"] = [
        {"name": f"Field {n}", "value": f"value {n}", "displayName": f"Field {n}"}
        for n in range(12)
    ]
    record["tags"] = [f"Tag {n}" for n in range(10)]
    record["contactReferences"] = [{"source": f"system{n}", "id": str(n)} for n in range(4)]
    return record


def versions(record: Record) -> tuple[Record, Record, Record]:
    """Base, platform (a person's last name edited) and CRM+ (the description edited)."""
    base = record
    platform = copy.deepcopy(base)
    platform["contactIndividuals"][-1]["lastName"] = "Edited-on-the-platform"
    crm = copy.deepcopy(base)
    crm["description"] = "Edited in CRM+"
    crm["modifiedDateTimeUtc"] = "2030-01-01T00:00:00.1234567"
    return base, platform, crm


def timings(call: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median and p99 of ``repeat`` calls, in milliseconds."""
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        samples.append(1000 * (time.perf_counter() - start))
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(0.99 * len(samples)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=500)
    parser.add_argument("--profile", choices=("typical", "large"))
    args = parser.parse_args()
    contacts = {"typical": typical(), "large": large()}
    if args.profile:
        base, platform, crm = versions(contacts[args.profile])
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(args.repeat):
            diff(base, platform)
            merge3(base, platform, crm)
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(25)
        return 0
    print(
        "| contact | leaves | diff median / p99 (ms) | merge3 median / p99 (ms) "
        "| DeepDiff(ignore_order) median / p99 (ms) | DeepDiff / (diff + merge) |"
    )
    print("|---|---|---|---|---|---|")
    for name, record in contacts.items():
        base, platform, crm = versions(record)
        assert [c.path for c in diff(base, platform)], "the platform edit must show"
        assert merge3(base, platform, crm).to_crm, "the merge must push the platform edit"
        ours = timings(lambda b=base, p=platform: diff(b, p), args.repeat)
        merged = timings(lambda b=base, p=platform, c=crm: merge3(b, p, c), args.repeat)
        plain = timings(lambda b=base, p=platform: DeepDiff(b, p, ignore_order=True), args.repeat)
        print(
            f"| {name} | {_leaves(record)} | {ours[0]:.2f} / {ours[1]:.2f} "
            f"| {merged[0]:.2f} / {merged[1]:.2f} | {plain[0]:.2f} / {plain[1]:.2f} "
            f"| {plain[0] / (ours[0] + merged[0]):.1f} |"
        )
    return 0


def _leaves(value: Any) -> int:
    if isinstance(value, dict):
        return sum(_leaves(v) for v in value.values())
    if isinstance(value, list):
        return sum(_leaves(v) for v in value)
    return 1


if __name__ == "__main__":
    sys.exit(main())
