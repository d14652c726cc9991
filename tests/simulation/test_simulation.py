"""The whole engine under simulation (docs/testing.md, "Whole-engine simulation").

CI plays a bounded number of seeds on SQLite and PostgreSQL, checks that a seed replays
to the same trace, sweeps a crash over every call of a run, lets Hypothesis search (and
shrink) step sequences, and proves that the invariant checks can fail. The soak runs
the same simulation over 10,000 seeds: ``python -m tests.simulation --seeds 10000``.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from tests.fixtures.db import postgres_schema_url
from tests.simulation.model import InvariantViolation
from tests.simulation.script import (
    CREATES,
    FIELDS,
    SKEWS,
    Script,
    Step,
    draw,
    draw_step,
    shrink,
)
from tests.simulation.sides import field_value, set_field
from tests.simulation.soak import fresh_database, play
from tests.simulation.world import REFERENCE_SOURCE, Tripwire, World, run, wired_app

SQLITE_SEEDS = range(0, 48)
POSTGRES_SEEDS = range(1000, 1006)


@pytest.mark.parametrize("seed", SQLITE_SEEDS)
def test_a_seeded_run_keeps_every_invariant(seed: int) -> None:
    play(draw(seed))


@pytest.mark.postgres
@pytest.mark.parametrize("seed", POSTGRES_SEEDS)
def test_a_seeded_run_keeps_every_invariant_on_postgres(seed: int, tmp_path: Path) -> None:
    with postgres_schema_url() as url:
        run(draw(seed), url, tmp_path)


@pytest.mark.parametrize("seed", [3, 11, 29])
def test_the_same_seed_gives_the_same_trace(seed: int, tmp_path: Path) -> None:
    traces = []
    for attempt in ("first", "second"):
        folder = tmp_path / attempt
        folder.mkdir()
        traces.append(run(draw(seed), fresh_database(folder), folder)[0])
    assert traces[0] == traces[1]
    assert len(traces[0]) == len(draw(seed).steps) + 1


# -- crash equivalence ----------------------------------------------------------------------

# Changes on both sides (different fields, so no policy decides anything), a new record
# on each side, a push, then one `sync --all`, the run the crash hits.
CRASH_SCRIPT = (
    Step("platform_edit", {"slot": 0, "field": "description", "value": "portal text"}),
    Step("platform_edit", {"slot": 1, "field": "firstName", "value": "Ada"}),
    Step("crm_edit", {"slot": 0, "field": "website", "value": "https://crm.example.org"}),
    Step("crm_edit", {"slot": 2, "field": "informalName", "value": "crm name"}),
    Step("platform_create", {"key": "k1", "value": "made on the portal"}),
    Step("crm_create", {"key": "k2", "value": "made in CRM+"}),
    Step("push", {"slot": 2, "field": "description", "value": "pushed"}),
)


def crash_run(
    semantics: str,
    platform: str,
    crash: tuple[int, str] | None,
    folder: Path,
    *,
    concurrency: int = 1,
) -> tuple[str, int]:
    """The end state's digest after the crash script, and how many crashes happened."""
    steps = (*CRASH_SCRIPT, Step("sync_all", crash=crash))
    script = Script(0, semantics, platform, 0.0, steps, concurrency)
    folder.mkdir()
    with World(script, fresh_database(folder), folder) as world:
        world.play()
        return world.trace[-1], world.figures.crashes


def calls_of_the_run(semantics: str, platform: str, folder: Path) -> int:
    """How many port calls the crash script's run makes (one at a time)."""
    steps = (*CRASH_SCRIPT, Step("sync_all"))
    folder.mkdir()
    with World(Script(0, semantics, platform, 0.0, steps), fresh_database(folder), folder) as world:
        for step in CRASH_SCRIPT:
            world.step(step)
        tripwire = Tripwire()
        wired_app(world.app, tripwire).runner().run_all(force=True)
        return tripwire.calls


# One run per call of the swept run: minutes on a busy machine, not a hang.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize(
    ("semantics", "platform", "stride"), [("replace", "files", 1), ("patch", "sql", 3)]
)
def test_a_crash_at_any_call_of_a_run_ends_as_the_uninterrupted_run(
    semantics: str, platform: str, stride: int, when: str, tmp_path: Path
) -> None:
    """Every call the run makes through a port (CRM+, journal, mirror, conflicts,
    platform), crashed before it or after it (its effect done, its answer lost): a
    restart and two quiet rounds end where the uninterrupted run ends."""
    expected, _ = crash_run(semantics, platform, None, tmp_path / "plain")
    calls = calls_of_the_run(semantics, platform, tmp_path / "count")
    assert calls > 40, "the run under test makes its reads and writes through the ports"
    for at in range(1, calls + 1, stride):
        folder = tmp_path / f"{at}"
        end, crashed = crash_run(semantics, platform, (at, when), folder)
        assert crashed == 1, f"the crash at call {at} ({when}) did not happen"
        assert end == expected, f"a crash {when} call {at} of {calls} changed the end state"
        shutil.rmtree(folder)


@pytest.mark.timeout(600)
def test_a_crash_while_contacts_run_at_once_ends_as_the_uninterrupted_run(tmp_path: Path) -> None:
    """Four contacts at a time: which call the crash hits is the threads' race; wherever
    it lands, the end state is the same."""
    expected, _ = crash_run("replace", "files", None, tmp_path / "plain", concurrency=4)
    calls = calls_of_the_run("replace", "files", tmp_path / "count")
    for at in range(1, calls + 1, 5):
        folder = tmp_path / f"{at}"
        end, _ = crash_run("replace", "files", (at, "after"), folder, concurrency=4)
        assert end == expected, f"a crash after call {at} changed the end state"
        shutil.rmtree(folder)


# -- the checks can fail ---------------------------------------------------------------------


def _world(folder: Path, *steps: Step) -> World:
    return World(Script(0, "replace", "files", 0.0, steps), fresh_database(folder), folder)


def test_the_checks_catch_a_platform_edit_the_engine_lost(tmp_path: Path) -> None:
    with _world(tmp_path) as world:
        world.step(Step("platform_edit", {"slot": 0, "field": "description", "value": "mine"}))
        world.check("after the edit")
        # What a broken engine would do: write CRM+'s (unchanged) value over the edit.
        doc = world.platform_doc(world.live_ids()[0])
        record = copy.deepcopy(doc.doc)
        set_field(record, "description", None)
        world.storage.write(doc.key, record)
        with pytest.raises(InvariantViolation, match="lost update"):
            world.check("after the loss")


def test_the_checks_catch_a_field_nobody_cleared(tmp_path: Path) -> None:
    with _world(tmp_path) as world:
        contact_id = world.live_ids()[0]
        world.sandbox.hooks.ui_edit(contact_id, {"name": "renamed behind the model's back"})
        with pytest.raises(InvariantViolation, match="outside the simulated fields"):
            world.check("after the stray write")


def test_the_checks_catch_a_duplicate_create(tmp_path: Path) -> None:
    with _world(tmp_path) as world:
        world.step(Step("platform_create", {"key": "k1", "value": None}))
        world.step(Step("sync_all"))
        world.check("after the create")
        assert world.model.creates["k1"] is not None
        # What a broken engine would do after a lost answer: create the record again.
        again = {
            "contactType": "Household",
            "name": "Portal k1",
            "contactReferences": [{"source": REFERENCE_SOURCE, "id": "k1"}],
        }
        from tests.fixtures.sandbox import client_for

        with client_for(world.sandbox) as client:
            client.post("/api/Contact", json=again).raise_for_status()
        with pytest.raises(InvariantViolation, match="created 2 times"):
            world.check("after a second create")


def test_the_checks_catch_a_round_that_does_not_converge(tmp_path: Path) -> None:
    with _world(tmp_path) as world:
        contact_id = world.live_ids()[0]
        world.step(Step("crm_edit", {"slot": 0, "field": "website", "value": "https://x.org"}))
        world.app.runner().run_all(force=True)
        # The platform loses the pulled value and its mtime goes back: no run sees it.
        doc = world.platform_doc(contact_id)
        path = world.workdir / "platform" / f"{doc.key}.json"
        stat = path.stat()
        record = copy.deepcopy(doc.doc)
        set_field(record, "website", None)
        path.write_text(__import__("json").dumps(record))
        __import__("os").utime(path, (stat.st_atime, stat.st_mtime))
        assert field_value(world.platform_doc(contact_id).doc, "website") is None
        with pytest.raises(InvariantViolation):
            world.quiesce("after the platform lost a value")


def test_shrinking_keeps_only_the_steps_a_failure_needs() -> None:
    script = draw(5)
    needed = script.steps[1]
    small = shrink(script, lambda s: needed in s.steps)
    assert small.steps == (needed,)


# -- Hypothesis: search and shrink step sequences ---------------------------------------------


class HypothesisChooser:
    """``script.Chooser`` over Hypothesis's ``data`` draws (which it can shrink)."""

    def __init__(self, data: st.DataObject) -> None:
        self._data = data

    def pick(self, options):  # type: ignore[no-untyped-def]
        return self._data.draw(st.sampled_from(list(options)))

    def weighted(self, weights: dict[str, int]) -> str:
        return self._data.draw(st.sampled_from([k for k, n in weights.items() for _ in range(n)]))

    def number(self, low: int, high: int) -> int:
        return self._data.draw(st.integers(low, high))

    def chance(self, p: float) -> bool:
        return self._data.draw(st.integers(0, 99)) < p * 100


class EngineMachine(RuleBasedStateMachine):
    """The simulation's steps as rules; the invariants after each; quiescence last."""

    world: World | None = None

    @initialize(
        semantics=st.sampled_from(["replace", "patch"]),
        platform=st.sampled_from(["files", "sql"]),
        skew=st.sampled_from(SKEWS),
    )
    def start(self, semantics: str, platform: str, skew: float) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="syncengine-machine-"))
        script = Script(-1, semantics, platform, skew, ())
        self.world = World(script, fresh_database(self.folder), self.folder).__enter__()
        self.creates = 0

    @precondition(lambda self: self.world is not None)
    @rule(data=st.data())
    def act(self, data: st.DataObject) -> None:
        assert self.world is not None
        step = draw_step(HypothesisChooser(data), self.creates)
        self.creates += step.kind in CREATES
        data.draw(st.just(step.describe()), label="step")
        self.world.step(step)

    @precondition(lambda self: self.world is not None)
    @invariant()
    def holds(self) -> None:
        assert self.world is not None
        self.world.check("after a step")

    def teardown(self) -> None:
        if self.world is None:
            return
        try:
            self.world.quiesce("at the end")
        finally:
            self.world.__exit__(None, None, None)
            shutil.rmtree(self.folder, ignore_errors=True)


TestEngineMachine = EngineMachine.TestCase
TestEngineMachine.settings = settings(max_examples=12, stateful_step_count=8, deadline=None)


def test_every_simulated_field_is_checked() -> None:
    assert set(FIELDS) == {"informalName", "description", "website", "firstName"}
