"""The built-in sample cards: synthetic people, their QR codes and the test PKI that signs their chips.

The sample personas live in ``samples/cards/<name>/`` in the repository (persona file, portrait, QR
payload text and QR image) and are shipped inside the package under ``cccd_reader/data/`` so that
``cccd-read demo`` works from an installed wheel. ``python3 -m cccd_reader.emulator.samples sync``
refreshes the shipped copy (and the QR files) from the repository; a test checks they agree.

Every person here is invented; every key is a published test key (see samples/pki/README.md).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

from cccd_reader.errors import InputError

from .card import VirtualCard
from .faults import Fault
from .persona import Persona, build_card, load_persona

# the sample PKI and the portraits live in their own modules (personalisation uses them without importing
# the sample cards); their names stay importable from here
from .portraits import draw_portrait
from .sample_pki import (
    _PKI_FILES,
    PACKAGE_DATA,
    REPO_SAMPLES,
    SIGNER_CERT,
    SIGNER_KEY,
    SIGNERS,
    TRUST_ANCHOR,
    TRUST_ANCHORS,
    TRUST_FOLDER,
    sample_signer,
    sample_trust_anchor,
)

DEFAULT_SAMPLE = "an"
_CARD_FILES = ("persona.json", "portrait.jpg", "portrait.jp2", "qr.txt")


def _cards_dir() -> Path:
    """The shipped sample cards (package data), else the repository's."""
    shipped = PACKAGE_DATA / "cards"
    if shipped.is_dir():
        return shipped
    return REPO_SAMPLES / "cards"


def sample_names() -> list[str]:
    """Labels of the built-in sample cards (``an`` is the demo's default)."""
    base = _cards_dir()
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir() if (p / "persona.json").is_file())


def sample_persona(name: str = DEFAULT_SAMPLE) -> Persona:
    folder = _cards_dir() / name
    if not (folder / "persona.json").is_file():
        known = ", ".join(sample_names()) or "none installed"
        raise InputError(f"no sample card named {name!r} (known: {known})")
    return load_persona(folder)


def load_sample(name: str = DEFAULT_SAMPLE, *, faults: tuple[Fault, ...] = (), **kwargs: Any) -> VirtualCard:
    """A fresh virtual chip personalised for the built-in sample person ``name``."""
    return build_card(sample_persona(name), faults=faults, **kwargs)


sample_card = load_sample


def sample_qr_payload(name: str = DEFAULT_SAMPLE) -> str:
    """The text of the sample card's QR code (what a scanner returns)."""
    return sample_persona(name).qr_payload()


def render_qr_png(payload: str, path: Path, *, scale: int = 4) -> None:
    """Render a QR payload the way the card prints it (byte mode, UTF-8, error correction M)."""
    import segno

    segno.make(payload, error="m", micro=False, encoding="utf-8").save(str(path), scale=scale, border=4)


# --- keeping the repository and the shipped copy in step ---------------------------------------------------


def write_card_files(folder: Path) -> None:
    """Write ``qr.txt`` and ``qr.png`` of the persona in ``folder`` from its persona file."""
    persona = load_persona(folder)
    payload = persona.qr_payload()
    (folder / "qr.txt").write_text(payload + "\n", encoding="utf-8")
    render_qr_png(payload, folder / "qr.png")


def sync(repo_samples: Path = REPO_SAMPLES, package_data: Path = PACKAGE_DATA) -> list[str]:
    """Regenerate the QR files in samples/cards and copy cards and PKI into the package data."""
    copied: list[str] = []
    cards = repo_samples / "cards"
    for folder in sorted(p for p in cards.iterdir() if (p / "persona.json").is_file()):
        write_card_files(folder)
        target = package_data / "cards" / folder.name
        target.mkdir(parents=True, exist_ok=True)
        for name in _CARD_FILES:
            src = folder / name
            if src.is_file():
                shutil.copyfile(src, target / name)
                copied.append(f"cards/{folder.name}/{name}")
    for rel in _PKI_FILES:
        (package_data / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(repo_samples / rel, package_data / rel)
        copied.append(rel)
    return copied


# --- recorded traces of the sample cards ------------------------------------------------------------------

SAMPLE_TRACES: dict[str, dict[str, Any]] = {
    # trace file stem -> how it is recorded (sample card, access mode, injected chip faults)
    **{f"sample-{name}": {"card": name} for name in ("an", "binh", "hung", "mai", "thao", "tho")},
    "sample-an-bac": {"card": "an", "access": "bac"},
    "sample-mai-droplink": {"card": "mai", "faults": ("droplink",)},
}


def _trace_faults(names: tuple[str, ...]) -> tuple[Fault, ...]:
    from .faults import DropLink

    out: list[Fault] = []
    for name in names:
        if name == "droplink":
            out.append(DropLink(after=20))  # in the middle of DG2
        else:
            raise InputError(f"unknown trace fault {name!r}")
    return tuple(out)


def record_sample_trace(stem: str, path: Path) -> Any:
    """Record the read of a sample card (as ``cccd-read read --emulator NAME --trace`` does) to ``path``.

    The terminal's randomness is seeded from the trace name and the chip's from the persona, so a
    re-recording sends and receives exactly the same APDUs; only the timestamps differ.
    """
    from cccd_reader.keys import keys_from_qr
    from cccd_reader.qr.payload import parse_qr_payload
    from cccd_reader.read import read_card
    from cccd_reader.transport.trace import RecordingTransport
    from cccd_reader.verify import TrustStore

    from .card import SeededRandom

    spec = SAMPLE_TRACES[stem]
    name = spec["card"]
    access = spec.get("access", "auto")
    card = load_sample(name, faults=_trace_faults(tuple(spec.get("faults", ()))))
    qr = parse_qr_payload(card.persona.qr_payload())
    header = {
        "read": {"files": None, "access": access, "keys": [k.kind for k in keys_from_qr(qr)]},
        "atr": card.atr.hex().upper(),
        "sample": name,
        "created_by": "python3 -m cccd_reader.emulator.samples traces",
        "person": f"synthetic sample card '{name}' (samples/cards/{name})",
    }
    if spec.get("faults"):
        header["chip_faults"] = list(spec["faults"])
    recorder = RecordingTransport(card, str(path), header=header)
    try:
        random_bytes = recorder.random_source(SeededRandom(f"trace/{stem}"))
        return read_card(recorder, qr, random_bytes=random_bytes, access=access,
                         trust=TrustStore.from_paths(sample_trust_anchor()))
    finally:
        recorder.close()


def record_sample_traces(folder: Path = REPO_SAMPLES / "traces") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for stem in SAMPLE_TRACES:
        path = folder / f"{stem}.jsonl"
        record_sample_trace(stem, path)
        written.append(path)
    return written


def _main(argv: list[str]) -> int:
    if argv[:1] == ["sync"]:
        for rel in sync():
            print(rel)
        return 0
    if argv[:1] == ["traces"]:
        for path in record_sample_traces():
            print(path)
        return 0
    print("usage: python3 -m cccd_reader.emulator.samples sync|traces", file=sys.stderr)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main(sys.argv[1:]))


__all__ = [
    "DEFAULT_SAMPLE",
    "PACKAGE_DATA",
    "REPO_SAMPLES",
    "SIGNERS",
    "SIGNER_CERT",
    "SIGNER_KEY",
    "TRUST_ANCHOR",
    "TRUST_ANCHORS",
    "TRUST_FOLDER",
    "draw_portrait",
    "load_sample",
    "record_sample_trace",
    "record_sample_traces",
    "render_qr_png",
    "sample_card",
    "sample_names",
    "sample_persona",
    "sample_qr_payload",
    "sample_signer",
    "sample_trust_anchor",
    "sync",
    "write_card_files",
]
