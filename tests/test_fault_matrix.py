"""The verdict under faults: one fault anywhere never changes it, two never make a wrong read "genuine".

Full reads of the in-process virtual chip for an extended-length card (``an``) and a short-read card
(``mai``), with faults injected by the fault transport at APDU indexes (see tests/faultmatrix.py for the
fault kinds and how outcomes are compared with the clean read's verified record).
"""

from __future__ import annotations

import faultmatrix as fm
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SAMPLES = ("an", "mai")  # extended-length reads / short reads
TWO_FAULT_PAIRS = 40  # per sample, seeded


@pytest.fixture(scope="module")
def cleans() -> dict[str, fm.Clean]:
    return {name: fm.clean_read(name) for name in SAMPLES}


class _Single:
    """The single-fault matrix of each card, run (in worker processes) the first time it is asked for."""

    def __init__(self, cleans: dict[str, fm.Clean]) -> None:
        self.cleans = cleans
        self.done: dict[str, dict[str, list[fm.Outcome]]] = {}

    def __getitem__(self, name: str) -> dict[str, list[fm.Outcome]]:
        if name not in self.done:
            self.done[name] = fm.single_fault_matrix(self.cleans[name])
        return self.done[name]


@pytest.fixture(scope="module")
def single(cleans) -> _Single:
    return _Single(cleans)


def test_the_cards_cover_both_read_strategies(cleans):
    longest = {name: max(len(r) for _, r in clean.exchanges) for name, clean in cleans.items()}
    assert longest["an"] > 300  # extended-length answers
    assert longest["mai"] <= 256 + 2 + 32  # short answers (a short Le, with secure-messaging overhead)
    assert cleans["mai"].apdus > 2 * cleans["an"].apdus


@pytest.mark.parametrize("kind", fm.KINDS)
@pytest.mark.parametrize("sample", SAMPLES)
def test_single_fault_at_every_apdu_gives_the_clean_record(single, sample, kind):
    outcomes = single[sample][kind]
    counts = fm.tally(outcomes)
    bad = [f"@{o.faults[0].index}: {o.outcome} {o.detail}" for o in outcomes if o.outcome != "identical"]
    # the fault really fired at every index (a matrix of no-ops would pass vacuously)
    assert all(o.fired and o.fired[0][0] == o.faults[0].index for o in outcomes)
    summary = f"{sample} {kind}: {counts['identical']}/{len(outcomes)} identical to the clean read"
    assert counts["identical"] == len(outcomes), summary + "; " + "; ".join(bad)


def test_two_faults_never_give_genuine_with_other_data(cleans):
    counts = {}
    for name, clean in cleans.items():
        pairs = fm.two_fault_sample(clean, TWO_FAULT_PAIRS, seed="two-faults-v1")
        outcomes = fm.run_many(clean, pairs)
        counts[name] = fm.tally(outcomes)
        wrong = [f"{o.faults}: {o.outcome} {o.detail}" for o in outcomes
                 if o.outcome in ("genuine-different", "contradictory")]
        assert not wrong, f"{name}: {wrong}"
        # an error or a verdict other than genuine is allowed; the read must never crash
        assert sum(counts[name].values()) == TWO_FAULT_PAIRS
    # most pairs are still recovered from (the bounds allow several recoveries per read)
    total = sum(c["identical"] for c in counts.values())
    assert total >= TWO_FAULT_PAIRS, f"two-fault outcomes: {counts}"


@st.composite
def fault_scripts(draw: st.DrawFn) -> list[fm.Fault]:
    """Up to six faults, often bunched together (so that one step keeps failing and the bounds are
    reached), at any index of the read including the extra APDUs of recoveries."""
    base = draw(st.integers(min_value=0, max_value=40))
    offsets = draw(st.lists(st.integers(min_value=0, max_value=6), max_size=6))
    return [fm.Fault(draw(st.sampled_from(fm.KINDS)), base + k) for k in offsets]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=fault_scripts())
def test_genuine_and_verdict_always_agree(cleans, script):
    outcome = fm.run_faulted(cleans["an"], script)
    assert outcome.outcome != "contradictory", outcome.detail
    if outcome.verdict == "genuine":
        assert outcome.outcome == "identical", outcome.detail
