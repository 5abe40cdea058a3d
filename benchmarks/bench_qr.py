"""Benchmark: QR decoding of degraded card photos, per backend and for the cascade.

    python3 benchmarks/bench_qr.py [--per-category 12] [--seed 2024] [--repeat 3] [--write-docs]

The images come from benchmarks/qr_dataset.py (made once into a cache folder). Each image is loaded to
greyscale first (loading is not timed: it is the same for every backend). Rows:

* ``zxing``, ``zbar``, ``opencv``: one pass of that backend on the image as given (``preprocess=False``);
* ``cascade``: what ``read_qr_image`` does (``backend="auto"``, ``preprocess=True``, default timeout):
  zxing-cpp first, then the preprocessing variants, until a CCCD payload is found.

A second table times the cascade on photos of the same scenes with no QR code at all
(``qr_dataset.generate_no_qr``): an answer of "nothing here" should cost at most 150 ms (median).

"Decoded" means the exact payload was among the texts; "wrong" counts texts that are neither the payload
nor the scene's decoy QR (it must stay 0). Time per image is the median of ``--repeat`` runs; the table
gives the median and 95th percentile over images. ``--write-docs`` puts the tables into docs/qr-images.md.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import qr_dataset  # noqa: E402

from cccd_reader.qr import image as qrimage  # noqa: E402
from cccd_reader.qr.backends import get_backend  # noqa: E402

DOCS = ROOT / "docs" / "qr-images.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def run(per_category: int, seed: int, repeat: int) -> tuple[str, bool]:
    folder, cases = qr_dataset.cached_dataset(seed=seed, per_category=per_category)
    images = [qrimage.load_image(folder / case.file) for case in cases]

    def single(name: str) -> Callable[[object], list[str]]:
        backend = get_backend(name)
        return lambda img: backend.decode(img)  # type: ignore[arg-type]

    def cascade(img: object) -> list[str]:
        texts, _step = qrimage.run_cascade(img, backend="auto", preprocess=True,  # type: ignore[arg-type]
                                           accept=qrimage._is_card)
        return texts

    methods: dict[str, Callable[[object], list[str]]] = {
        "zxing": single("zxing"), "zbar": single("zbar"), "opencv": single("opencv"), "cascade": cascade,
    }
    ok: dict[str, dict[str, int]] = {m: {} for m in methods}
    wrong: dict[str, int] = dict.fromkeys(methods, 0)
    times: dict[str, list[float]] = {m: [] for m in methods}
    for method, fn in methods.items():
        for case, img in zip(cases, images, strict=True):
            runs = []
            texts: list[str] = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                texts = fn(img)
                runs.append(time.perf_counter() - t0)
            times[method].append(statistics.median(runs))
            hit = case.payload in texts
            ok[method][case.category] = ok[method].get(case.category, 0) + int(hit)
            wrong[method] += sum(1 for t in texts if t not in (case.payload, case.decoy))

    counts = {c: sum(1 for case in cases if case.category == c) for c in qr_dataset.CATEGORIES}
    names = list(methods)
    lines = [
        f"Set: {len(cases)} images, {per_category} per category, seed {seed} (generator v"
        f"{qr_dataset.GENERATOR_VERSION}); {repeat} run(s) per image; Python {platform.python_version()}, "
        f"{platform.machine()}.",
        "",
        "| category | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    all_good = True
    for category in qr_dataset.CATEGORIES:
        n = counts[category]
        if not n:
            continue
        cells = []
        best_single = max(ok[m].get(category, 0) for m in names if m != "cascade")
        for m in names:
            cells.append(f"{ok[m].get(category, 0)}/{n}")
        if ok["cascade"].get(category, 0) < best_single:
            all_good = False
        lines.append(f"| {category} | " + " | ".join(cells) + " |")
    total = len(cases)
    lines.append("| **all** | " + " | ".join(f"**{sum(ok[m].values())}/{total}**" for m in names) + " |")
    lines.append("| wrong text | " + " | ".join(str(wrong[m]) for m in names) + " |")
    lines.append("| median ms / image | " + " | ".join(f"{1000 * statistics.median(times[m]):.1f}"
                                                        for m in names) + " |")
    lines.append("| p95 ms / image | " + " | ".join(f"{1000 * _percentile(times[m], 0.95):.1f}"
                                                     for m in names) + " |")
    lines.append("| max ms / image | " + " | ".join(f"{1000 * max(times[m]):.1f}" for m in names) + " |")
    no_qr_lines, no_qr_ok = _no_qr(seed, repeat)
    lines += ["", *no_qr_lines]
    fastest = min(statistics.median(times[m]) for m in names if m != "cascade")
    cascade_median = statistics.median(times["cascade"])
    time_ok = cascade_median <= 2 * fastest
    lines += [
        "",
        f"- cascade decode rate >= best single backend in every category: {'yes' if all_good else 'NO'}",
        f"- cascade median time {1000 * cascade_median:.1f} ms vs fastest backend's median "
        f"{1000 * fastest:.1f} ms: {'within' if time_ok else 'NOT within'} 2x",
        f"- wrong texts returned: {sum(wrong.values())}",
    ]
    return "\n".join(lines), all_good and time_ok and not sum(wrong.values()) and no_qr_ok


NO_QR_TARGET_MS = 150.0  # what an image with nothing to find may cost at the default settings (median)


def _no_qr(seed: int, repeat: int) -> tuple[list[str], bool]:
    """The cascade (default settings) on photos with no QR code: what answering "none" costs."""
    folder, cases = qr_dataset.cached_no_qr_set(seed=seed)
    wall: list[float] = []
    cpu: list[float] = []
    found = 0
    for case in cases:
        img = qrimage.load_image(folder / case.file)
        runs, cpus = [], []
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            texts, _step = qrimage.run_cascade(img, accept=qrimage._is_card)
            runs.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        found += len(texts)
        wall.append(statistics.median(runs))
        cpu.append(statistics.median(cpus))
    median = 1000 * statistics.median(wall)
    lines = [
        f"Photos with no QR code ({len(cases)}: the same scenes and degradations, "
        f"{len(cases) // len(qr_dataset.CATEGORIES)} per category), cascade at default settings:",
        "",
        "| | median | p95 | max |",
        "|---|---|---|---|",
        f"| wall ms / image | {median:.1f} | {1000 * _percentile(wall, 0.95):.1f} | {1000 * max(wall):.1f} |",
        f"| CPU ms / image (all threads) | {1000 * statistics.median(cpu):.1f} | "
        f"{1000 * _percentile(cpu, 0.95):.1f} | {1000 * max(cpu):.1f} |",
        "",
        f"- no-QR median {median:.1f} ms: {'within' if median <= NO_QR_TARGET_MS else 'NOT within'} "
        f"{NO_QR_TARGET_MS:.0f} ms; texts found in them: {found}",
    ]
    return lines, median <= NO_QR_TARGET_MS and found == 0


def write_docs(table: str) -> None:
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else f"{START}\n{END}\n"
    if START not in text or END not in text:
        text += f"\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    _old, tail = rest.split(END, 1)
    DOCS.write_text(f"{head}{START}\n{table}\n{END}{tail}", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description="QR decoding benchmark on degraded card photos")
    parser.add_argument("--per-category", type=int, default=12)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write-docs", action="store_true", help=f"write the table into {DOCS.name}")
    args = parser.parse_args()
    table, good = run(args.per_category, args.seed, args.repeat)
    print(table)
    if args.write_docs:
        write_docs(table)
        print(f"\nwritten to {DOCS.relative_to(ROOT)}")
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
