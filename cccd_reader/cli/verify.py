"""``cccd-read verify``: re-check verification bundles (docs/bundle.md), one file or a folder of them.

``--batch DIR`` checks every ``*.json`` bundle in DIR on every core (a process pool: the checks are pure
and CPU-bound) and prints one JSON line per bundle, without personal data: the file name, the verdict
and why. Exit code 1 when any bundle is not genuine.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import click

from cccd_reader.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_VERIFICATION_FAILED, handle_errors
from cccd_reader.errors import BundleError, CCCDError


def _trust_store(paths: tuple[str, ...]) -> Any:
    """The trust store of ``paths`` (else the user's, as `read` does), loaded once per process."""
    from cccd_reader.verify.userstore import ENV_DATA_DIR

    return _load_trust(paths, os.environ.get(ENV_DATA_DIR))


@functools.lru_cache(maxsize=4)
def _load_trust(paths: tuple[str, ...], data_dir: str | None) -> Any:
    from cccd_reader.cli.read import load_trust

    return load_trust(paths)


def check_file(path: str, trust_paths: tuple[str, ...] = (), at_time: str | None = None) -> dict[str, Any]:
    """One batch line: the verdict of the bundle in ``path``, without personal data.

    The unit of work of ``--batch`` and of the Dask example in docs/bundle.md: pure, picklable, and the
    trust store is loaded once per process."""
    import datetime as _dt

    from cccd_reader.bundle.check import verify_bundle

    name = os.path.basename(path)
    try:
        data = Path(path).read_bytes()
        v = verify_bundle(data, trust=_trust_store(tuple(trust_paths)),
                          at_time=_dt.datetime.fromisoformat(at_time) if at_time else None)
    except BundleError as exc:
        return {"file": name, "verdict": "format-error", "problems": [str(exc)]}
    except (CCCDError, OSError) as exc:
        return {"file": name, "verdict": "error", "problems": [f"{type(exc).__name__}: {exc}"]}
    return {"file": name, **v.summary()}


def run_batch(folder: Path, trust: tuple[str, ...], at_time: str | None, workers: int | None) -> int:
    paths = sorted(str(p) for p in folder.glob("*.json"))
    if not paths:
        raise click.UsageError(f"no *.json bundles in {folder}")
    bad = 0
    job = functools.partial(check_file, trust_paths=tuple(trust), at_time=at_time)
    n = workers or os.cpu_count() or 1
    with ProcessPoolExecutor(max_workers=n) as pool:
        for line in pool.map(job, paths, chunksize=max(1, len(paths) // (4 * n))):
            bad += line["verdict"] != "genuine"  # JSON lines: the verdict's value
            click.echo(json.dumps(line, ensure_ascii=False))
    click.echo(f"{len(paths)} bundles, {len(paths) - bad} genuine, {bad} not", err=True)
    return EXIT_VERIFICATION_FAILED if bad else EXIT_OK


@click.command("verify")
@click.argument("bundle", required=False, type=click.Path(dir_okay=False, exists=True), metavar="[FILE]")
@click.option("--batch", type=click.Path(file_okay=False, exists=True), metavar="DIR", default=None,
              help="Check every *.json bundle in DIR, on every core; one JSON line per bundle.")
@click.option("--trust", multiple=True, metavar="PATH", help="CSCA certificates / master lists / CRLs (file "
              "or directory); repeatable. Default: your trust store (`cccd-read trust`).")
@click.option("--at", "at_time", metavar="TIME", default=None, help="Judge certificates and revocation at "
              "this ISO 8601 time when the SOD has no signing time (default: the bundle's reader time).")
@click.option("--workers", type=int, default=None, help="With --batch: worker processes (default: cores).")
@click.option("--json", "as_json", is_flag=True, help="Print the verdict as JSON (with the identity).")
@handle_errors
def command(bundle: str | None, batch: str | None, trust: tuple[str, ...], at_time: str | None,
            workers: int | None, as_json: bool) -> None:
    """Re-check a verification bundle written by `cccd-read read --bundle FILE`."""
    import datetime as _dt

    if (bundle is None) == (batch is None):
        raise click.UsageError("give a bundle FILE or --batch DIR")
    when = None
    if at_time is not None:
        try:
            when = _dt.datetime.fromisoformat(at_time)
        except ValueError:
            raise click.UsageError("--at must be an ISO 8601 time, e.g. 2026-01-31T12:00:00+00:00") from None
    if batch is not None:
        sys.exit(run_batch(Path(batch), trust, at_time, workers))
    from cccd_reader.bundle.check import verify_bundle
    from cccd_reader.cli.read import load_trust

    assert bundle is not None
    store = load_trust(trust)
    v = verify_bundle(Path(bundle).read_bytes(), trust=store, at_time=when)
    if as_json:
        click.echo(json.dumps(v.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(f"verdict: {v.verdict.value}" + (" (re-verified offline)" if v.genuine_offline else ""))
        click.echo(f"passive authentication: {v.passive_auth}")
        click.echo(f"active authentication: {v.active_auth}")
        src = {"desk": " (the desk's observation, not re-verifiable)", "bundle": " (re-verified: PACE-CAM)"}
        click.echo(f"chip authentication: {v.chip_auth}{src.get(v.chip_auth_source or '', '')}")
        if v.qr_mismatches:
            click.echo("QR differs from the chip: " + ", ".join(v.qr_mismatches))
        for p in v.problems:
            click.echo(f"problem: {p}")
    sys.exit(EXIT_OK if v.genuine else EXIT_VERIFICATION_FAILED)


__all__ = ["EXIT_BAD_INPUT", "check_file", "command", "run_batch"]
