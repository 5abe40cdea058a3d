"""The built-in sample cards: synthetic people, their QR codes and the test PKI that signs their chips.

The sample personas live in ``samples/cards/<name>/`` in the repository (persona file, portrait, QR
payload text and QR image) and are shipped inside the package under ``cccd_reader/data/`` so that
``cccd-read demo`` works from an installed wheel. ``python3 -m cccd_reader.emulator.samples sync``
refreshes the shipped copy (and the QR files) from the repository; a test checks they agree.

Every person here is invented; every key is a published test key (see samples/pki/README.md).
"""

from __future__ import annotations

import functools
import io
import random
import shutil
import sys
from pathlib import Path
from typing import Any

from cccd_reader.errors import InputError

from .card import VirtualCard
from .faults import Fault
from .persona import DocumentSigner, Persona, build_card, load_persona

PACKAGE_DATA = Path(__file__).resolve().parent.parent / "data"
REPO_SAMPLES = Path(__file__).resolve().parents[2] / "samples"

DEFAULT_SAMPLE = "an"
# The sample PKI's document signers by the name a persona's profile gives (``document_signer``):
# "vietnam-eid" is built like the real CCCD signer (brainpoolP384r1, issued by "CSCA Vietnam TEST ONLY"),
# "vn-test" is the older brainpoolP256r1 signer of the fictional "VN test" CSCA.
SIGNERS = {
    "vietnam-eid": ("pki/keys/dsc-vietnam-test.key", "pki/certs/dsc-vietnam-test.pem"),
    "vn-test": ("pki/keys/dsc-ecdsa.key", "pki/certs/dsc-ecdsa.pem"),
}
SIGNER_KEY, SIGNER_CERT = SIGNERS["vietnam-eid"]
TRUST_FOLDER = "pki/trust"
TRUST_ANCHORS = ("pki/trust/csca-vietnam-test.pem", "pki/trust/csca-vn-test.pem")
TRUST_ANCHOR = TRUST_ANCHORS[0]
_PKI_FILES = (*(f for pair in SIGNERS.values() for f in pair), *TRUST_ANCHORS)
_CARD_FILES = ("persona.json", "portrait.jpg", "portrait.jp2", "qr.txt")


def _cards_dir() -> Path:
    """The shipped sample cards (package data), else the repository's."""
    shipped = PACKAGE_DATA / "cards"
    if shipped.is_dir():
        return shipped
    return REPO_SAMPLES / "cards"


def _pki_file(rel: str) -> Path:
    for base in (PACKAGE_DATA, REPO_SAMPLES):
        candidate = base / rel
        if candidate.is_file():
            return candidate
    raise InputError(f"the sample PKI file {rel} is missing from this installation")


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


@functools.lru_cache(maxsize=4)
def sample_signer(kind: str = "vietnam-eid") -> DocumentSigner:
    """A sample PKI document signer (TEST ONLY): ``"vietnam-eid"`` (built like the real CCCD signer,
    ECDSA brainpoolP384r1) or ``"vn-test"`` (the older brainpoolP256r1 one)."""
    if kind not in SIGNERS:
        raise InputError(f"no sample document signer {kind!r} (known: {', '.join(SIGNERS)})")
    key, cert = SIGNERS[kind]
    return DocumentSigner.from_files(_pki_file(key), _pki_file(cert))


def sample_trust_anchor() -> Path:
    """The folder of the sample CSCA certificates (PEM) that the sample chips' SODs chain to (TEST ONLY).

    It holds both test CSCAs; ``TrustStore.from_paths`` and every ``trust=`` argument accept a folder.
    """
    _pki_file(TRUST_ANCHORS[0])  # InputError if this installation lacks the sample PKI
    for base in (PACKAGE_DATA, REPO_SAMPLES):
        if all((base / rel).is_file() for rel in TRUST_ANCHORS):
            return base / TRUST_FOLDER
    raise InputError("the sample PKI's CSCA certificates are missing from this installation")


def load_sample(name: str = DEFAULT_SAMPLE, *, faults: tuple[Fault, ...] = (), **kwargs: Any) -> VirtualCard:
    """A fresh virtual chip personalised for the built-in sample person ``name``."""
    return build_card(sample_persona(name), faults=faults, **kwargs)


sample_card = load_sample


def sample_qr_payload(name: str = DEFAULT_SAMPLE) -> str:
    """The text of the sample card's QR code (what a scanner returns)."""
    return sample_persona(name).qr_payload()


# --- synthetic portraits ----------------------------------------------------------------------------


def draw_portrait(seed: str, *, female: bool = False, grey: bool = False, size: tuple[int, int] = (240, 320),
                  fmt: str = "JPEG", quality: int = 85) -> bytes:
    """A simple face-like drawing (no real person), deterministic for a seed, as JPEG or JPEG 2000.

    Light background, head, hair, eyes, nose, mouth and shoulders, softened and with faint sensor
    noise so that the JPEG has the size of a chip portrait (~10-15 KB at 240x320).
    """
    from PIL import Image, ImageChops, ImageDraw, ImageFilter

    rnd = random.Random(seed)
    w, h = size
    img = Image.new("RGB", size, (255, 255, 255))
    d = ImageDraw.Draw(img)
    top = (rnd.randint(225, 245), rnd.randint(235, 250), 255)
    bottom = (rnd.randint(200, 225), rnd.randint(215, 235), rnd.randint(240, 255))
    for y in range(h):
        t = y / (h - 1)
        d.line([(0, y), (w, y)], fill=tuple(int(top[i] * (1 - t) + bottom[i] * t) for i in range(3)))
    skin = rnd.choice([(241, 194, 155), (224, 172, 130), (198, 145, 105), (232, 185, 140)])
    hair = (150, 150, 150) if grey else rnd.choice([(25, 20, 18), (40, 30, 25), (60, 45, 35)])
    shirt = rnd.choice([(245, 245, 245), (40, 60, 110), (30, 30, 35), (120, 30, 40)])
    shade = tuple(max(0, c - 15) for c in skin)
    cx = w // 2 + rnd.randint(-6, 6)
    sx, sy = w / 240, h / 320
    d.ellipse([cx - 115 * sx, h * 0.78, cx + 115 * sx, h * 1.25], fill=shirt)
    d.rectangle([cx - 24 * sx, h * 0.58, cx + 24 * sx, h * 0.82], fill=shade)
    hw, hh = rnd.randint(74, 84) * sx, rnd.randint(92, 100) * sy
    cy = h * 0.40
    if female:
        d.rounded_rectangle([cx - hw - 6 * sx, cy - hh + 4 * sy, cx + hw + 6 * sx, cy + hh + 40 * sy],
                            radius=int(60 * sx), fill=hair)
    d.ellipse([cx - hw, cy - hh - 6 * sy, cx + hw, cy + hh - 30 * sy], fill=hair)
    fw, fh = hw - 12 * sx, hh - 8 * sy
    d.ellipse([cx - fw, cy - fh + 14 * sy, cx + fw, cy + fh], fill=skin)
    d.ellipse([cx - fw - 10 * sx, cy - 8 * sy, cx - fw + 8 * sx, cy + 26 * sy], fill=skin)
    d.ellipse([cx + fw - 8 * sx, cy - 8 * sy, cx + fw + 10 * sx, cy + 26 * sy], fill=skin)
    d.chord([cx - fw - 2 * sx, cy - fh - 10 * sy, cx + fw + 2 * sx, cy - fh + 70 * sy], 180, 360, fill=hair)
    ey = cy + rnd.randint(-4, 4) * sy
    for side in (-1, 1):
        ex = cx + side * 30 * sx
        d.ellipse([ex - 13 * sx, ey - 6 * sy, ex + 13 * sx, ey + 6 * sy], fill=(250, 250, 250))
        d.ellipse([ex - 6 * sx, ey - 6 * sy, ex + 6 * sx, ey + 6 * sy], fill=(45, 30, 25))
        d.line([ex - 15 * sx, ey - 16 * sy, ex + 15 * sx, ey - (18 - rnd.randint(0, 3)) * sy],
               fill=hair if not grey else (110, 110, 110), width=max(1, int(4 * sx)))
    nose = tuple(max(0, c - 45) for c in skin)
    d.line([cx, ey + 8 * sy, cx - 5 * sx, ey + 34 * sy, cx + 4 * sx, ey + 36 * sy], fill=nose,
           width=max(1, int(3 * sx)))
    my = ey + 58 * sy
    d.arc([cx - 22 * sx, my - 10 * sy, cx + 22 * sx, my + 8 * sy], 20, 160, fill=(150, 70, 70),
          width=max(1, int(4 * sx)))
    img = img.filter(ImageFilter.GaussianBlur(1.1))
    grain = Image.frombytes("L", size, bytes(128 + rnd.randint(-5, 5) for _ in range(w * h)))
    img = ImageChops.add(img, Image.merge("RGB", (grain, grain, grain)), offset=-128)
    out = io.BytesIO()
    if fmt.upper() in ("JP2", "JPEG2000"):
        img.save(out, "JPEG2000", quality_mode="rates", quality_layers=[40], irreversible=True)
    else:
        img.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


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
