"""Benchmark a full chip read: APDUs, bytes and time per step, by read size and link.

Links: the in-process virtual chip (no link cost: protocol and crypto only), the same chip behind the
real PC/SC stack (pyscard -> pcscd -> vpcd -> bridge), and behind nfcpy's udp driver (ISO-DEP framing).
Read sizes: the file reader's default (largest short Le under SM, 223 with AES), smaller fixed chunks as
other readers use (160, 112, 64), and extended length.

    python3 benchmarks/bench_read.py [--runs 5] [--sample an] [--write-docs]

``--write-docs`` rewrites the results section of docs/performance.md. The PC/SC rows need pcscd with the
vpcd driver (started here when not running and we are root) and a free vpcd slot; they are skipped with a
note otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from docsection import replace_section  # noqa: E402

from cccd_reader.emulator import load_sample  # noqa: E402
from cccd_reader.emulator.card import SeededRandom  # noqa: E402
from cccd_reader.emulator.samples import sample_qr_payload  # noqa: E402
from cccd_reader.qr.payload import parse_qr_payload  # noqa: E402
from cccd_reader.read import STEPS, read_card  # noqa: E402

CONFIGS: list[tuple[str, int | None, bool | None]] = [
    ("auto (extended if the ATR says so)", None, None),
    ("short Le (223 under AES SM)", None, False),
    ("chunk 160", 160, False),
    ("chunk 112", 112, False),
    ("chunk 64", 64, False),
    ("extended length", None, True),
]


@dataclass
class Result:
    link: str
    config: str
    apdus: int = 0
    sent: int = 0
    received: int = 0
    seconds: list[float] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=dict)
    step_apdus: dict[str, int] = field(default_factory=dict)
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.seconds) if self.seconds else float("nan")


def run_config(link: str, config: str, open_transport: Callable[[], Any], key: Any, chunk: int | None,
               extended: bool | None, runs: int) -> Result:
    res = Result(link, config)
    for i in range(runs):
        with open_transport() as transport:
            t0 = time.perf_counter()
            rec = read_card(transport, key, random_bytes=SeededRandom(f"bench/{i}"), chunk_size=chunk,
                            extended_length=extended)
            elapsed = time.perf_counter() - t0
        if not rec.complete:
            res.note = f"incomplete: {rec.failed_step}"
        res.seconds.append(elapsed)
        res.apdus, res.sent, res.received = rec.stats.apdus, rec.stats.bytes_sent, rec.stats.bytes_received
        for s in rec.stats.steps:
            res.steps.setdefault(s.name, []).append(s.seconds)
            res.step_apdus[s.name] = s.apdus
    return res


# --- links ------------------------------------------------------------------------------------------


def in_process(sample: str) -> Callable[[], Any]:
    @contextlib.contextmanager
    def opener() -> Iterator[Any]:
        yield load_sample(sample)

    return opener


@contextlib.contextmanager
def pcsc_link(sample: str) -> Iterator[Callable[[], Any] | None]:
    """A vpcd slot held under the tests' lock, pcscd started if needed; yields an opener or None."""
    try:
        from smartcard.System import readers
    except ImportError:
        yield None
        return

    def virtual() -> list[str]:
        try:
            return [str(r) for r in readers() if str(r).startswith("Virtual PCD")]
        except Exception:
            return []

    proc = None
    if not virtual() and shutil.which("pcscd"):
        proc = subprocess.Popen(["pcscd", "--foreground", "--error"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        for _ in range(100):
            if virtual():
                break
            time.sleep(0.1)
    names = virtual()
    if not names:
        yield None
        return
    lock_file = None
    port, name = 0, ""
    for index, candidate in enumerate((35963, 35964)):
        path = f"/tmp/cccd-reader-vpcd-{candidate}.lock"
        try:
            f = open(path, "a")  # noqa: SIM115
        except PermissionError:
            f = open(path)  # noqa: SIM115
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            continue
        lock_file, port = f, candidate
        name = next((n for n in names if n.endswith(f" {index:02d}")), f"Virtual PCD 00 {index:02d}")
        break
    if lock_file is None:
        yield None
        return
    from cccd_reader.emulator.vpcd import VpcdBridge
    from cccd_reader.transport.pcsc import PCSCTransport

    class Holder:
        card: Any = None

        @property
        def atr(self) -> bytes:
            return bytes(self.card.atr)

        def transmit(self, apdu: bytes) -> bytes:
            return bytes(self.card.transmit(apdu))

    holder = Holder()
    holder.card = load_sample(sample)
    bridge = VpcdBridge(holder, port=port).start()
    try:
        bridge.wait_connected(10)
        PCSCTransport(name, timeout=10).close()

        @contextlib.contextmanager
        def opener() -> Iterator[Any]:
            holder.card = load_sample(sample)
            with PCSCTransport(name, timeout=10) as t:
                yield t

        yield opener
    finally:
        bridge.stop()
        fcntl.flock(lock_file, fcntl.LOCK_UN)
        lock_file.close()
        if proc is not None:
            proc.terminate()
            proc.wait(5)


@contextlib.contextmanager
def nfc_link(sample: str) -> Iterator[Callable[[], Any] | None]:
    try:
        import nfc  # noqa: F401
    except ImportError:
        yield None
        return
    from cccd_reader.emulator.nfc_udp import NfcUdpCard
    from cccd_reader.transport.nfc import NFCTransport

    class Holder:
        card: Any = None

        def transmit(self, apdu: bytes) -> bytes:
            return bytes(self.card.transmit(apdu))

    holder = Holder()
    holder.card = load_sample(sample)
    responder = NfcUdpCard(holder, fwi=12).start()
    try:
        @contextlib.contextmanager
        def opener() -> Iterator[Any]:
            holder.card = load_sample(sample)
            with NFCTransport(responder.path, timeout=5) as t:
                yield t

        yield opener
    finally:
        responder.stop()


def round_trip_ms(open_transport: Callable[[], Any], n: int = 300) -> float:
    """Median time of one plain SELECT (no secure messaging) over the link, in ms."""
    select = bytes.fromhex("00A4040C07A0000002471001")
    times = []
    with open_transport() as transport:
        for _ in range(n):
            t0 = time.perf_counter()
            transport.transmit(select)
            times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


# --- report -----------------------------------------------------------------------------------------


def table(results: list[Result]) -> str:
    lines = ["| link | read size | APDUs | bytes sent | bytes received | median total ms | files step ms | "
             "access step ms |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        files = statistics.median(r.steps.get("files", [float("nan")])) * 1000
        access = statistics.median(r.steps.get("access", [float("nan")])) * 1000
        total = r.median * 1000
        lines.append(f"| {r.link} | {r.config} | {r.apdus} | {r.sent} | {r.received} | {total:.1f} | "
                     f"{files:.1f} | {access:.1f} |" + (f" {r.note}" if r.note else ""))
    return "\n".join(lines)


def steps_table(r: Result) -> str:
    lines = ["| step | APDUs | median ms |", "|---|---|---|"]
    for name in STEPS:
        if name in r.steps:
            ms = statistics.median(r.steps[name]) * 1000
            lines.append(f"| {name} | {r.step_apdus.get(name, 0)} | {ms:.2f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sample", default="an")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    key = parse_qr_payload(sample_qr_payload(args.sample))
    results: list[Result] = []
    notes: list[str] = []
    trips: dict[str, float] = {}
    for config, chunk, ext in CONFIGS:
        results.append(run_config("in-process", config, in_process(args.sample), key, chunk, ext, args.runs))
    trips["in-process"] = round_trip_ms(in_process(args.sample))
    with pcsc_link(args.sample) as opener:
        if opener is None:
            notes.append("PC/SC rows skipped: no pcscd with vpcd, or no free vpcd slot")
        else:
            for config, chunk, ext in CONFIGS:
                results.append(run_config("pcscd + vpcd", config, opener, key, chunk, ext, args.runs))
            trips["pcscd + vpcd"] = round_trip_ms(opener)
    with nfc_link(args.sample) as opener:
        if opener is None:
            notes.append("nfcpy rows skipped: nfcpy is not installed")
        else:
            for config, chunk, ext in CONFIGS:
                results.append(run_config("nfcpy udp", config, opener, key, chunk, ext, args.runs))
            trips["nfcpy udp"] = round_trip_ms(opener)
    by_link = {r.link: r for r in results if r.config.startswith("auto")}
    body = [table(results), "", "Median round trip of one plain SELECT (300 exchanges):", "",
            "| link | ms per APDU |", "|---|---|"]
    body += [f"| {link} | {ms:.3f} |" for link, ms in trips.items()]
    body += [""]
    for link, r in by_link.items():
        body += [f"Per step, {link}, automatic read size:", "", steps_table(r), ""]
    body += [f"- {n}" for n in notes]
    machine = f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}, " \
              f"{len(__import__('os').sched_getaffinity(0))} cores"
    text = "\n".join(body)
    print(text)
    if args.write_docs:
        stamp = f"Sample `{args.sample}`, {args.runs} runs per row, {machine}, {time.strftime('%Y-%m-%d')}."
        replace_section(ROOT / "docs" / "performance.md", "bench_read results", stamp + "\n\n" + text,
                        legacy_open_marker=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
