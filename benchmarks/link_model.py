"""A model of the time a full read takes on a real contactless link, for every read strategy and bit rate.

None of the links the other benchmarks use has radio time, so this turns a read's exchanges (the bytes
of every command and response APDU, on the wire, secure messaging included) into the time a real
ISO/IEC 14443 Type A link and a USB reader would take, and compares it with the floor: the files' own
bytes at the bit rate, with nothing else.

    python3 benchmarks/link_model.py [--sample an] [--write-docs]

Our rows come from a real read of the sample card by ``read_card`` on the virtual chip, its exchanges
recorded on the wire (so they follow the pipeline as it is). The other readers' rows replay the same
protocol exchanges (EF.CardAccess aside, PACE, SELECT of the application, Chip and Active
Authentication) and read the same files with their strategy (docs/reference: peer readers' read sizes):
SELECT of each file by identifier, a header read, then fixed chunks; gmrtd steps its first secure
read down 256 -> 192 -> 128 and keeps what worked.

``--write-docs`` rewrites only the link-model section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from docsection import replace_section  # noqa: E402

# --- constants (one place, each with where it comes from) ------------------------------------------

BIT_RATES = (106_000, 212_000, 424_000, 848_000)
"""ISO/IEC 14443-2: fc/128, fc/64, fc/32, fc/16 with fc = 13.56 MHz (the rates a PCD and PICC negotiate
with PPS, ISO/IEC 14443-4 §5.3)."""

BITS_PER_BYTE = 9
"""ISO/IEC 14443-3 §6.2.3.1 (Type A frames): every byte is 8 data bits and an odd parity bit (start and
end of frame bits are ignored here: 2 bits a frame)."""

I_BLOCK_OVERHEAD = 3
"""ISO/IEC 14443-4 §7.1: an I-block is PCB (1 byte) + information field + CRC_A (2 bytes); no CID, no NAD."""

FRAME_PAYLOAD = 253
"""Information field of one I-block with FSC = FSD = 256 bytes (FSCI = 8, ISO/IEC 14443-4 §5.2.3, the size
eMRTD chips and PC/SC readers commonly announce): 256 - 3. Longer APDUs are chained (§7.5.2)."""

R_ACK_BYTES = 3
"""ISO/IEC 14443-4 §7.1: an R(ACK) block acknowledging a chained I-block is PCB + CRC_A."""

TURNAROUND_S = 0.3e-3
"""Per frame: the frame delay time between one side's last bit and the other side's first (ISO/IEC
14443-3 §6.2.1.1 sets the PICC's minimum at 1172/fc = 86 us; readers add their own, ~0.3 ms observed)."""

USB_LATENCY_S = 2e-3
"""Per APDU: the USB CCID round trip of a reader (PC_to_RDR_XfrBlock out, RDR_to_PC_DataBlock in; USB
full-speed bulk transfers are scheduled in 1 ms frames, USB 2.0 §5.8), plus the reader firmware."""

SM_CHIP_S = 6e-3
SM_CHIP_PER_BYTE_S = 5e-6
"""Per secure-messaging APDU, on the chip: check the command MAC, decrypt, read the EEPROM/flash, encrypt
and MAC the answer: ~6 ms fixed + 5 us a byte (estimates for current eMRTD secure elements, not measured
here)."""

PACE_S = 0.200
CA_S = 0.080
AA_S = 0.100
"""The chip's public-key work for PACE (two EC scalar multiplications and a mapping), Chip Authentication
(one ECDH) and Active Authentication (one signature): estimates, as above."""

SW_BYTES = 2
AES_BLOCK = 16


# --- exchanges ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    """One APDU on the wire: command bytes, response bytes (data + SW1 SW2), secure messaging or not."""

    command: int
    response: int
    secure: bool
    kind: str = "other"  # "file" (SELECT EF / READ BINARY) or "other" (protocols, application select)


def frame_time(n: int, rate: int) -> float:
    """Seconds to carry an ``n``-byte APDU one way: chained I-blocks, an R(ACK) after each but the last."""
    blocks = max(1, math.ceil(n / FRAME_PAYLOAD))
    air_bytes = n + blocks * I_BLOCK_OVERHEAD + (blocks - 1) * R_ACK_BYTES
    frames = blocks + (blocks - 1)
    return air_bytes * BITS_PER_BYTE / rate + frames * TURNAROUND_S


@dataclass
class Breakdown:
    air: float = 0.0  # bits on the air
    turnaround: float = 0.0
    usb: float = 0.0
    chip: float = 0.0  # secure messaging on the chip
    protocols: float = 0.0  # PACE, CA, AA on the chip

    @property
    def total(self) -> float:
        return self.air + self.turnaround + self.usb + self.chip + self.protocols


def model(exchanges: Sequence[Exchange], rate: int, *,
          protocols_s: float = PACE_S + CA_S + AA_S) -> Breakdown:
    out = Breakdown(protocols=protocols_s)
    for ex in exchanges:
        for n in (ex.command, ex.response):
            t = frame_time(n, rate)
            blocks = max(1, math.ceil(n / FRAME_PAYLOAD))
            turn = (2 * blocks - 1) * TURNAROUND_S
            out.air += t - turn
            out.turnaround += turn
        out.usb += USB_LATENCY_S
        if ex.secure:
            out.chip += SM_CHIP_S + SM_CHIP_PER_BYTE_S * (ex.command + ex.response)
    return out


def floor_time(file_bytes: int, rate: int) -> float:
    """The files' bytes alone at the bit rate: no framing, no turnaround, no chip, no reader."""
    return file_bytes * BITS_PER_BYTE / rate


# --- secure-messaging sizes (ICAO 9303-11 §9.8, AES) --------------------------------------------------


def _do_len(n: int) -> int:
    return 1 if n < 0x80 else 2 if n < 0x100 else 3


def sm_response(plain: int) -> int:
    """Bytes of a secure-messaging response carrying ``plain`` bytes of data: DO87 + DO99 + DO8E + SW."""
    size = 4 + 10 + SW_BYTES  # DO99 (99 02 SW1 SW2), DO8E (8E 08 MAC)
    if plain:
        body = 1 + AES_BLOCK * (plain // AES_BLOCK + 1)  # padding indicator + padded ciphertext
        size += 1 + _do_len(body) + body
    return size


def sm_command(data: int, le: int | None) -> int:
    """Bytes of a short secure-messaging command: header, Lc, DO87 (data), DO97 (Le), DO8E, Le."""
    body = 0
    if data:
        enc = 1 + AES_BLOCK * (data // AES_BLOCK + 1)
        body += 1 + _do_len(enc) + enc
    if le is not None:
        body += 3  # 97 01 Le
    body += 10
    return 4 + 1 + body + 1


@dataclass(frozen=True)
class Strategy:
    """How another reader reads a file: SELECT by FID, a header read, then fixed chunks."""

    name: str
    chunk: int
    header: int
    ladder: tuple[int, ...] = ()  # smaller chunks tried on the first refused secure read, kept after


MAX_SHORT_SM_PLAIN = 223  # the most plaintext a short AES secure-messaging response carries (9303-11)

PEERS = (
    Strategy("JMRTD 223", 223, 8),
    Strategy("gmrtd 256 (192/128 fallback)", 256, 4, (192, 128)),
    Strategy("NFCPassportReader 160", 160, 4),
    Strategy("dmrtd 112", 112, 8),
)


def peer_reads(strategy: Strategy, files: Sequence[tuple[int, bool]]) -> list[Exchange]:
    """The SELECT and READ BINARY exchanges of ``strategy`` for ``files`` ((size, secure), in read order)."""
    out: list[Exchange] = []
    chunk = strategy.chunk
    learned = False
    for size, secure in files:
        if secure:
            out.append(Exchange(sm_command(2, None), sm_response(0), True, "file"))
        else:
            out.append(Exchange(7, SW_BYTES, False, "file"))
        offset = 0
        first = True
        while offset < size:
            want = min(strategy.header if first else chunk, size - offset)
            if secure and not learned and not first and strategy.ladder:
                # the first full-size secure read: a Le a short response cannot carry is refused
                # (an unprotected 6700), then the next size down is tried and kept for the session
                for smaller in (chunk, *strategy.ladder):
                    if min(smaller, size - offset) <= MAX_SHORT_SM_PLAIN or smaller == strategy.ladder[-1]:
                        chunk = smaller
                        break
                    out.append(Exchange(sm_command(0, smaller), SW_BYTES, True, "file"))
                learned = True
                want = min(chunk, size - offset)
            if secure:
                out.append(Exchange(sm_command(0, want), sm_response(want), True, "file"))
            else:
                out.append(Exchange(5, want + SW_BYTES, False, "file"))
            offset += want
            first = False
    return out


# --- our reads, recorded --------------------------------------------------------------------------


def _is_file_apdu(apdu: bytes) -> bool:
    ins, p1 = apdu[1], apdu[2]
    return ins in (0xB0, 0xB1) or (ins == 0xA4 and p1 == 0x02)


def record_ours(sample: str, extended: bool | None) -> tuple[list[Exchange], dict[str, int]]:
    """Exchanges of a real read of ``sample`` on the virtual chip, and the sizes of the files it read."""
    from cccd_reader.emulator import load_sample
    from cccd_reader.emulator.card import SeededRandom
    from cccd_reader.emulator.samples import sample_qr_payload
    from cccd_reader.qr.payload import parse_qr_payload
    from cccd_reader.read import read_card

    card = load_sample(sample)
    log: list[tuple[bytes, bytes]] = []

    class Wire:
        @property
        def atr(self) -> bytes:
            return bytes(card.atr)

        def transmit(self, apdu: bytes) -> bytes:
            response = bytes(card.transmit(apdu))
            log.append((bytes(apdu), response))
            return response

    key = parse_qr_payload(sample_qr_payload(sample))
    record = read_card(Wire(), key, random_bytes=SeededRandom("model"), extended_length=extended)
    if not record.complete:
        raise SystemExit(f"the read of {sample} did not complete: {record.failed_step}")
    exchanges = [
        Exchange(len(a), len(r), bool(a[0] & 0x0C), "file" if _is_file_apdu(a) else "other") for a, r in log
    ]
    sizes = {name: len(data) for name, data in record.files.items()}
    return exchanges, sizes


# --- report -----------------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    exchanges: list[Exchange]

    def at(self, rate: int) -> Breakdown:
        return model(self.exchanges, rate)


def build_rows(sample: str) -> tuple[list[Row], int]:
    auto, sizes = record_ours(sample, None)
    short, _ = record_ours(sample, False)
    # the files in the order our read takes them; EF.CardAccess is read before PACE, without SM
    files = [(size, name != "EF.CardAccess") for name, size in sizes.items()]
    protocol = [ex for ex in short if ex.kind == "other"]
    rows = [Row("ours, automatic (extended length when the ATR announces it)", auto),
            Row("ours, short reads only", short)]
    for peer in PEERS:
        rows.append(Row(peer.name, protocol + peer_reads(peer, files)))
    return rows, sum(sizes.values())


def render(sample: str) -> str:
    rows, file_bytes = build_rows(sample)
    rates = BIT_RATES
    jmrtd = next(r for r in rows if r.name.startswith("JMRTD"))
    head = "| strategy | APDUs | bytes on the wire | " + " | ".join(f"{r // 1000} kbit/s" for r in rates)
    head += " | vs. JMRTD at 106 |"
    lines = [head, "|---|---|---|" + "---|" * len(rates) + "---|"]
    for row in rows:
        wire = sum(ex.command + ex.response for ex in row.exchanges)
        cells = []
        for rate in rates:
            t = row.at(rate).total
            cells.append(f"{t:.2f} s ({t / floor_time(file_bytes, rate):.2f}x)")
        versus = row.at(rates[0]).total / jmrtd.at(rates[0]).total
        lines.append(f"| {row.name} | {len(row.exchanges)} | {wire} | " + " | ".join(cells)
                     + f" | {versus:.2f}x |")
    floor_cells = " | ".join(f"{floor_time(file_bytes, r):.2f} s (1.00x)" for r in rates)
    lines.append(f"| floor: the files' {file_bytes} bytes alone | | | {floor_cells} | |")
    ours = rows[0]
    parts = ["", f"Where the time goes, {ours.name}:", "",
             "| bit rate | air | frame turnaround | USB | secure messaging on the chip | PACE + CA + AA "
             "| total |",
             "|---|---|---|---|---|---|---|"]
    for rate in rates:
        b = ours.at(rate)
        parts.append(f"| {rate // 1000} kbit/s | {b.air:.3f} s | {b.turnaround:.3f} s | {b.usb:.3f} s | "
                     f"{b.chip:.3f} s | {b.protocols:.3f} s | {b.total:.3f} s |")
    intro = (f"Sample `{sample}`; each cell is the modelled read time and, in brackets, its ratio to the "
             "floor at that bit rate.")
    return "\n".join([intro, "", *lines, *parts])


def main(argv: Sequence[str] | None = None, *, out: Callable[[str], Any] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample", default="an")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    text = render(args.sample)
    out(text)
    if args.write_docs:
        replace_section(ROOT / "docs" / "performance.md", "link model", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
