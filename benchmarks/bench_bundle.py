"""Benchmark verify_bundle: bundles per second on one core, and the batch command on every core.

Reads each sample card once through the virtual chip, writes its verification bundle, then times
``verify_bundle`` (trust store loaded once, as a server would) in one process, and
``cccd-read verify --batch`` over COPIES x samples bundles with 1 worker and with every core.

    python3 benchmarks/bench_bundle.py [--runs 200] [--copies 40]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cccd_reader import parse_qr_payload, read_card, verify_bundle  # noqa: E402
from cccd_reader.cli.verify import check_file  # noqa: E402
from cccd_reader.emulator.samples import load_sample, sample_names, sample_qr_payload, sample_trust_anchor  # noqa: E402
from cccd_reader.verify.trust import TrustStore  # noqa: E402


def batch(paths: list[str], workers: int, trust: str) -> float:
    import functools
    from concurrent.futures import ProcessPoolExecutor

    t0 = time.perf_counter()
    job = functools.partial(check_file, trust_paths=(trust,))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(job, paths, chunksize=max(1, len(paths) // (4 * workers))))
    elapsed = time.perf_counter() - t0
    assert all(r["verdict"] in ("genuine", "mismatch") for r in results), results[:3]
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--copies", type=int, default=40)
    args = ap.parse_args()
    trust_path = str(sample_trust_anchor())
    trust = TrustStore.from_paths(trust_path)
    bundles = {n: read_card(load_sample(n), parse_qr_payload(sample_qr_payload(n)),
                            trust=trust_path).to_bundle() for n in sample_names()}
    per: list[float] = []
    for _ in range(args.runs // len(bundles)):
        for data in bundles.values():
            t0 = time.perf_counter()
            verify_bundle(data, trust=trust)
            per.append(time.perf_counter() - t0)
    median = statistics.median(per)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"bundle size: {min(map(len, bundles.values()))}-{max(map(len, bundles.values()))} bytes")
    print(f"verify_bundle, one core: median {median * 1000:.1f} ms -> {1 / median:.0f} bundles/s/core "
          f"({len(per)} runs)")
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for i in range(args.copies):
            for name, data in bundles.items():
                p = Path(tmp) / f"{name}-{i}.json"
                p.write_bytes(data)
                paths.append(str(p))
        cores = os.cpu_count() or 1
        for workers in sorted({1, cores}):
            elapsed = batch(paths, workers, trust_path)
            print(f"verify --batch, {workers} worker(s): {len(paths)} bundles in {elapsed:.2f} s -> "
                  f"{len(paths) / elapsed:.0f} bundles/s ({len(paths) / elapsed / workers:.0f}/s/worker, "
                  "process start-up included)")


if __name__ == "__main__":
    main()
