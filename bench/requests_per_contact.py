"""Requests a `sync --all` spends, by kind, against the naive loop's two per contact.

N contacts (10,000 by default) in a sandbox and a `files` platform folder, linked by a
first `sync --all` (not counted). Then 1 % of them edited on the platform -- spread over
every write route: a contact field, the primary address, a person's own field, a
contact method, a high-stakes field -- and 0.5 % edited in CRM+ (through the UI hook,
which the request log does not count), and one `sync --all`. The sandbox's request log
is counted by kind. The naive loop (GET and full PUT of every platform contact) would
spend 2 per contact.

Issue 9's targets: 2 requests per pushed contact on every route (3 with a high-stakes
follow-up GET), 0 per unchanged contact, 1 per 1,000 contacts refreshed (the bulk
query's pages).

    python bench/requests_per_contact.py                  # 10,000 contacts
    python bench/requests_per_contact.py --contacts 2000
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from itertools import cycle
from typing import Any

from scenario import EDITS, build_scenario

from syncengine.bootstrap import open_app
from syncengine.logging_setup import configure_logging

# A request's kind: its method and its path with the ids taken out.
_ID = re.compile(r"/\d+")


def kind_of(entry: dict[str, Any]) -> str:
    return f"{entry['method']} {_ID.sub('/{id}', entry['path'])}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--platform-share", type=float, default=0.01)
    parser.add_argument("--crm-share", type=float, default=0.005)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    with (
        build_scenario(args.contacts, postgres=args.postgres) as scenario,
        open_app(scenario.settings, scenario.secrets) as app,
    ):
        first = app.runner().run_all(force=True)
        assert not first.failed, first.to_json()
        on_platform = scenario.ids[: round(args.contacts * args.platform_share)]
        # CRM-side edits on other contacts: each is pulled (a platform write), never pushed.
        in_crm = scenario.ids[::-1][: round(args.contacts * args.crm_share)]
        edits = dict(zip(on_platform, cycle(EDITS), strict=False))
        for contact_id, edit in edits.items():
            scenario.change_on_platform([contact_id], edit=edit)
        for contact_id in in_crm:
            scenario.sandbox.ui_edit(contact_id, {"informalName": f"Edited in CRM+ {contact_id}"})
        scenario.sandbox.clear_requests()
        run = app.runner().run_all()
        assert not run.failed, run.to_json()
        log = scenario.sandbox.requests()
    summary = run.to_json()["summary"]
    kinds = Counter(kind_of(entry) for entry in log)
    per_route = Counter(edits.values())
    print(
        f"{args.contacts:,} contacts, {len(on_platform)} edited on the platform "
        f"({', '.join(f'{n} {edit}' for edit, n in per_route.items())}), "
        f"{len(in_crm)} in CRM+; pushed {summary['pushed']}, pulled {summary['pulled']}, "
        f"unchanged {summary['unchanged']}\n"
    )
    print("| request | count |")
    print("|---|---|")
    for kind, count in sorted(kinds.items()):
        print(f"| `{kind}` | {count} |")
    naive = 2 * args.contacts
    print(f"| **engine, all** | **{len(log)}** |")
    print(f"| naive loop (GET + PUT per contact) | {naive:,} |")
    print(f"\nengine / naive: {len(log) / naive:.4f} ({naive / max(len(log), 1):.0f}x fewer)")
    high_stakes = sum(1 for edit in edits.values() if edit == "high-stakes")
    writes = sum(count for kind, count in kinds.items() if kind.startswith("PUT"))
    reads = kinds.get("GET /api/Contact/{id}", 0)
    pages = kinds.get("POST /api/Contact/Query/FullContact", 0)
    print(
        f"per pushed contact: {(writes + reads) / max(len(edits), 1):.2f} "
        f"({writes} PUTs, {reads} contact GETs of which {high_stakes} high-stakes follow-ups); "
        f"bulk query pages: {pages} for {args.contacts:,} contacts "
        f"({1000 * pages / args.contacts:.2f} per 1,000)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
