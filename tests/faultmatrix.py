"""Fault matrices over whole reads of the in-process virtual chip (support module for the tests).

One read of a sample card is run clean; then the same read (same terminal randomness, so every APDU up to
the fault is the clean read's) is run again with faults injected by
:class:`~cccd_reader.transport.faults.FaultyTransport` at chosen APDU indexes. Each faulted read ends in
one of four outcomes, compared with the clean read's *verified record* (:func:`verified_view`):

* ``identical``: the same files, identity, portrait, verdict and check results as the clean read;
* ``error``: a :class:`~cccd_reader.errors.ReadError` (the read could not complete; nothing vouched for);
* ``flagged``: the read completed with a verdict that is not ``genuine`` (the clean read's is);
* ``genuine-different``: the verdict says ``genuine`` but the record differs from the clean read: the
  outcome a service desk must never see;
* ``contradictory``: ``security.genuine`` and ``security.verdict`` disagree (two answers to one question).

The verified record leaves out what nothing on the chip vouches for: the bytes of EF.CardAccess (unsigned;
only EF.CardSecurity would sign them) and which of several correct keys opened the chip (a glitch during
PACE with the CAN looks exactly like a wrong CAN, so the read may go on with the MRZ key).

Anything else escaping the read (a non-library exception) is a bug and is raised, not counted.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import multiprocessing as mp
import os
import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from cccd_reader.emulator import load_sample
from cccd_reader.emulator.card import SeededRandom
from cccd_reader.emulator.samples import sample_qr_payload, sample_trust_anchor
from cccd_reader.errors import ReadError
from cccd_reader.model import to_jsonable
from cccd_reader.qr.payload import parse_qr_payload
from cccd_reader.read import read_card
from cccd_reader.transport.faults import FaultyTransport
from cccd_reader.verify import TrustStore

KINDS = ("command lost", "answer lost", "corrupt byte", "bare 6A82", "bare 6982", "bare 6700", "delay")
"""The single faults a contactless link shows (peer-readers §4): each is injected at one APDU index."""

OUTCOMES = ("identical", "error", "flagged", "genuine-different", "contradictory")

DELAY_SECONDS = 0.1
"""The injected delay. The in-process link has no timeout, so the delay is recorded, not slept."""


class Recorder:
    """Keeps every command and answer of a read (the clean reference)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.exchanges: list[tuple[bytes, bytes]] = []

    @property
    def atr(self) -> Any:
        return self.inner.atr

    def transmit(self, apdu: bytes) -> bytes:
        response = self.inner.transmit(apdu)
        self.exchanges.append((bytes(apdu), bytes(response)))
        return response

    def reconnect(self) -> None:
        self.inner.reconnect()


def _key(sample: str) -> Any:
    return parse_qr_payload(sample_qr_payload(sample))


@functools.lru_cache(maxsize=1)
def _trust() -> TrustStore:
    return TrustStore.from_paths([sample_trust_anchor()])


def _read(sample: str, transport: Any) -> Any:
    return read_card(transport, _key(sample), random_bytes=SeededRandom("terminal"), trust=_trust())


def verified_view(record: Any) -> dict[str, Any]:
    """What a service desk acts on: the data and every check's result (not the cost of the read)."""
    sec = record.security
    return {
        "files": {k: v for k, v in record.files.items() if k != "EF.CardAccess"},
        "identity": to_jsonable(record.identity) if record.identity is not None else None,
        "mrz": to_jsonable(record.mrz) if record.mrz is not None else None,
        "portrait": to_jsonable(record.portrait) if record.portrait is not None else None,
        "verdict": str(getattr(sec.verdict, "value", sec.verdict)),
        "genuine": sec.genuine,
        "access": sec.access_protocol,
        "checks": (sec.chip_auth, sec.active_auth, sec.passive_auth, sec.hashes_ok),
        "qr": (sec.qr_checked, [m.to_dict() for m in sec.qr_mismatches]),
    }


def differences(view: dict[str, Any], reference: dict[str, Any]) -> list[str]:
    return [k for k in reference if view.get(k) != reference[k]]


@dataclass
class Clean:
    """The clean read of one sample: its record's view and every exchange (for fault positions)."""

    sample: str
    view: dict[str, Any]
    exchanges: list[tuple[bytes, bytes]]

    @property
    def apdus(self) -> int:
        return len(self.exchanges)


def clean_read(sample: str) -> Clean:
    link = Recorder(load_sample(sample))
    record = _read(sample, link)
    view = verified_view(record)
    if view["verdict"] != "genuine":
        raise AssertionError(f"the clean read of {sample} is {view['verdict']}, not genuine")
    return Clean(sample, view, link.exchanges)


@dataclass(frozen=True)
class Fault:
    kind: str
    index: int


def _configure(faults: Iterable[Fault], clean: Clean, slept: list[float]) -> dict[str, Any]:
    kw: dict[str, Any] = {"naked_sw": {}, "corrupt_byte_at": {}, "lose_answer_at": set(), "delay_at": {}}
    for f in faults:
        if f.kind == "command lost":
            kw["drop_after"] = f.index
        elif f.kind == "answer lost":
            kw["lose_answer_at"].add(f.index)
        elif f.kind == "corrupt byte":
            # the middle byte of the clean answer at that index (SW2 of a status-only answer)
            size = len(clean.exchanges[f.index][1]) if f.index < clean.apdus else 2
            kw["corrupt_byte_at"][f.index] = size // 2
        elif f.kind.startswith("bare "):
            kw["naked_sw"][f.index] = int(f.kind[5:], 16)
        elif f.kind == "delay":
            kw["delay_at"][f.index] = DELAY_SECONDS
        else:
            raise ValueError(f"unknown fault kind {f.kind!r}")
    kw["sleep"] = slept.append
    return kw


@dataclass
class Outcome:
    faults: tuple[Fault, ...]
    outcome: str
    detail: str = ""
    fired: list[tuple[int, str]] = field(default_factory=list)
    verdict: str | None = None


def run_faulted(clean: Clean, faults: Sequence[Fault]) -> Outcome:
    """One read of the sample with ``faults`` injected; classified against the clean read."""
    slept: list[float] = []
    link = FaultyTransport(load_sample(clean.sample), **_configure(faults, clean, slept))
    try:
        record = _read(clean.sample, link)
    except ReadError as exc:
        return Outcome(tuple(faults), "error", f"{exc.step}: {exc}", list(link.injected))
    view = verified_view(record)
    diff = differences(view, clean.view)
    if (view["verdict"] == "genuine") != view["genuine"]:
        return Outcome(tuple(faults), "contradictory", f"{view['verdict']} but genuine={view['genuine']}",
                       list(link.injected), view["verdict"])
    if not diff:
        return Outcome(tuple(faults), "identical", "", list(link.injected), view["verdict"])
    if view["verdict"] == "genuine":
        return Outcome(tuple(faults), "genuine-different", f"differs in {diff}", list(link.injected),
                       view["verdict"])
    return Outcome(tuple(faults), "flagged", f"{view['verdict']}; differs in {diff}", list(link.injected),
                   view["verdict"])


def _run_one(args: tuple[Clean, tuple[Fault, ...]]) -> Outcome:
    clean, faults = args
    return run_faulted(clean, faults)


def run_many(clean: Clean, scripts: Sequence[Sequence[Fault]], workers: int | None = None) -> list[Outcome]:
    """Run many faulted reads, in worker processes when there are several cores (each read is
    independent: its own virtual chip, its own seeded randomness), in order."""
    jobs = [(clean, tuple(script)) for script in scripts]
    workers = workers if workers is not None else min(os.cpu_count() or 1, 4)
    if workers <= 1 or len(jobs) < 8 or "fork" not in mp.get_all_start_methods():
        return [_run_one(job) for job in jobs]
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork")) as pool:
        return list(pool.map(_run_one, jobs, chunksize=8))


def single_fault_matrix(clean: Clean, kinds: Sequence[str] = KINDS,
                        workers: int | None = None) -> dict[str, list[Outcome]]:
    """One fault of each kind at every APDU index of the clean read."""
    scripts = [[Fault(kind, i)] for kind in kinds for i in range(clean.apdus)]
    outcomes = run_many(clean, scripts, workers)
    return {kind: outcomes[k * clean.apdus:(k + 1) * clean.apdus] for k, kind in enumerate(kinds)}


def two_fault_sample(clean: Clean, count: int, seed: str) -> list[tuple[Fault, Fault]]:
    """``count`` pairs of faults at independent indices (any kinds), drawn reproducibly from ``seed``."""
    rnd = random.Random(f"{seed}/{clean.sample}")
    out = []
    for _ in range(count):
        i, j = rnd.randrange(clean.apdus), rnd.randrange(clean.apdus + 8)
        out.append((Fault(rnd.choice(KINDS), i), Fault(rnd.choice(KINDS), j)))
    return out


def tally(outcomes: Iterable[Outcome]) -> Counter[str]:
    counts: Counter[str] = Counter({o: 0 for o in OUTCOMES})
    counts.update(o.outcome for o in outcomes)
    return counts


def summary(sample: str, matrix: dict[str, list[Outcome]]) -> str:
    lines = []
    for kind, outcomes in matrix.items():
        c = tally(outcomes)
        counts = ", ".join(f"{o} {c[o]}" for o in OUTCOMES)
        lines.append(f"{sample} {kind}: {counts} / {len(outcomes)}")
    return "\n".join(lines)


if __name__ == "__main__":  # python3 tests/faultmatrix.py an mai: print today's counts
    import sys
    import time

    for name in sys.argv[1:] or ["an", "mai"]:
        t0 = time.perf_counter()
        ref = clean_read(name)
        result = single_fault_matrix(ref)
        print(f"{name}: {ref.apdus} APDUs, {time.perf_counter() - t0:.1f} s")
        print(summary(name, result))
        for kind, outcomes in result.items():
            for o in outcomes:
                if o.outcome != "identical":
                    print(f"   {kind} @{o.faults[0].index}: {o.outcome} {o.detail} {o.fired}")
