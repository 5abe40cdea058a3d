"""The identity assembled from DG1, DG2 and DG13, and step ``qr_check`` (the printed QR against it)."""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any

from cccd_reader.errors import CCCDError, ParseError
from cccd_reader.read.compare import NOT_ON_CHIP, compare_qr_with_chip
from cccd_reader.read.recovery import Recovery
from cccd_reader.read.state import PipelineState


def finish_identity(st: PipelineState) -> None:
    """Decode DG1/DG2/DG13 (what was read) and merge them into ``record.identity``; also runs for a
    partial record, so a failed read still hands out who the card belongs to."""
    from cccd_reader.lds import decode_file
    from cccd_reader.model import merge_identity

    rec = st.record
    for name in ("DG1", "DG2", "DG13"):
        raw = rec.files.get(name)
        if raw is None or name in rec.decoded:
            continue
        try:
            rec.decoded[name] = decode_file(name, raw)
        except ParseError as exc:
            rec.warnings.append(f"{name} is malformed: {getattr(exc, 'reason', exc)}")
    dg1 = rec.decoded.get("DG1")
    dg13 = rec.decoded.get("DG13")
    dg2 = rec.decoded.get("DG2")
    if dg1 is not None:
        rec.mrz = getattr(dg1, "mrz", dg1)
    if dg2 is not None:
        rec.portrait = first_portrait(dg2)
    if dg1 is not None or dg13 is not None:
        try:
            rec.identity = merge_identity(dg13, dg1)
        except CCCDError as exc:
            rec.warnings.append(f"identity could not be assembled: {exc}")
        else:
            # DG1/DG13 disagreements and chip text holding control or bidi characters are the record's
            # warnings too (this runs again for the final record: each warning is listed once)
            rec.warnings.extend(w for w in rec.identity.warnings if w not in rec.warnings)
    has_slot = getattr(rec.identity, "portrait", 1) is None
    if rec.identity is not None and rec.portrait is not None and has_slot:
        with contextlib.suppress(TypeError, ValueError):
            rec.identity = dataclasses.replace(rec.identity, portrait=rec.portrait)


def first_portrait(dg2: Any) -> Any:
    """The first face image of a decoded DG2 (a :class:`~cccd_reader.model.Portrait`), or ``None``.

    A DG2 without any image (no biometric template) has no portrait: never the DG2 itself or one of its
    methods."""
    from cccd_reader.model import Portrait

    if isinstance(dg2, Portrait):
        return dg2
    for attr in ("portrait", "portraits", "images", "faces"):
        value = getattr(dg2, attr, None)
        if callable(value):
            value = value()
        if isinstance(value, list | tuple):
            value = value[0] if value else None
        if isinstance(value, Portrait):
            return value
    return None


def qr_check(st: PipelineState, recovery: Recovery) -> None:
    qr = st.options.qr
    if qr is None:
        return
    sec = st.record.security
    sec.qr_checked = True
    sec.qr_notes = []
    found = compare_qr_with_chip(qr, st.record.identity, st.record.mrz, notes=sec.qr_notes)
    sec.qr_mismatches = [m for m in found if m.detail != NOT_ON_CHIP]
    sec.qr_not_compared = [m.field for m in found if m.detail == NOT_ON_CHIP]
