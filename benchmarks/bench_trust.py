"""Benchmark passive authentication against trust stores of growing size.

Real ICAO master lists hold hundreds of CSCAs (the German list: ~500 certificates from ~100 states).
This builds N synthetic CSCAs (self-signed, P-256, one per made-up state), adds the sample PKI's CSCA and
times ``verify_passive`` of the sample card's EF.SOD and data groups against the store, and the time to
load the store once.

    python3 benchmarks/bench_trust.py [--runs 30] [--sizes 0,100,500] [--write-docs]

``--write-docs`` rewrites the trust-store section of docs/performance.md (between its markers only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402
from docsection import replace_section  # noqa: E402

from cccd_reader.emulator import load_sample  # noqa: E402
from cccd_reader.emulator.samples import sample_trust_anchor  # noqa: E402
from cccd_reader.verify.passive import PAStatus, verify_passive  # noqa: E402
from cccd_reader.verify.trust import TrustStore  # noqa: E402


def synthetic_cscas(n: int) -> list[bytes]:
    """``n`` self-signed CA certificates, DER, with distinct names and key identifiers."""
    out: list[bytes] = []
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    for i in range(n):
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([
            x509.NameAttribute(NameOID.COUNTRY_NAME, f"{chr(65 + i // 26 % 26)}{chr(65 + i % 26)}"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, f"Synthetic state {i}"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"CSCA synthetic {i}"),
        ])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(i + 1)
            .not_valid_before(now)
            .not_valid_after(now + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        out.append(cert.public_bytes(serialization.Encoding.DER))
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--sizes", default="0,100,500")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    card = load_sample("an")
    sod = card.files.file("EF.SOD")
    assert sod is not None
    dgs = {}
    for ef in card.files.app:
        if ef.name.startswith("DG"):
            dgs[int(ef.name[2:])] = ef.data
    extra = synthetic_cscas(max(sizes))
    anchor = sample_trust_anchor()
    rows = []
    base = None
    for n in sizes:
        t0 = time.perf_counter()
        store = TrustStore.from_paths(anchor)
        store.extend(extra[:n])
        load_ms = (time.perf_counter() - t0) * 1000
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            result = verify_passive(sod.data, dgs, trust=store)
            times.append(time.perf_counter() - t0)
        if result.status is not PAStatus.PASSED:
            print(f"unexpected verdict with {n} extra CSCAs: {result.status}", file=sys.stderr)
            return 1
        ms = statistics.median(times) * 1000
        base = ms if base is None else base
        rows.append(f"| {len(store)} | {ms:.2f} | {ms / base:.2f}x | {load_ms:.0f} |")
    machine = (f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}, "
               f"{time.strftime('%Y-%m-%d')}")
    text = "\n".join([
        f"Sample `an`'s EF.SOD and data groups, median of {args.runs} runs per row, {machine}.",
        "",
        "| CSCAs in the store | passive authentication ms | vs. one CSCA | store load ms |",
        "|---|---|---|---|",
        *rows,
    ])
    print(text)
    if args.write_docs:
        replace_section(ROOT / "docs" / "performance.md", "bench_trust results", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
