"""A virtual CCCD chip: personalised from a persona file, answering APDUs like the Vietnamese card.

``VirtualCard`` is itself a :class:`~cccd_reader.transport.base.CardTransport`, so the whole reader runs
against it in-process; the vpcd bridge and the nfcpy udp responder put the same object behind PC/SC and
nfcpy. ``load_sample("<name>")`` gives a ready card from the built-in synthetic people, and
``build_card(persona)`` personalises one from a persona file (schema in docs/emulator.md).
"""

from __future__ import annotations

from cccd_reader._lazy import lazy_exports

from .card import CardProfile, ScriptedRandom, SeededRandom, VirtualCard, make_atr
from .faults import CorruptMAC, Delay, DropLink, Fault, NakedError, ReadLimit, When
from .filesystem import EMRTD_AID, Access, ElementaryFile, FileSystem

# names defined in modules that pull in the LDS encoders and crypto: imported on first use
_LAZY: dict[str, str] = {
    "Persona": "cccd_reader.emulator.persona",
    "CardKeys": "cccd_reader.emulator.persona",
    "CardImage": "cccd_reader.emulator.persona",
    "ChipProfile": "cccd_reader.emulator.persona",
    "DocumentSigner": "cccd_reader.emulator.signer",
    "persona_from_dict": "cccd_reader.emulator.persona",
    "load_persona": "cccd_reader.emulator.persona",
    "build_card": "cccd_reader.emulator.persona",
    "load_sample": "cccd_reader.emulator.samples",
    "sample_names": "cccd_reader.emulator.samples",
    "sample_card": "cccd_reader.emulator.samples",
    "sample_trust_anchor": "cccd_reader.emulator.sample_pki",
    "sample_persona": "cccd_reader.emulator.samples",
    "draw_portrait": "cccd_reader.emulator.portraits",
}

__all__ = [
    "EMRTD_AID",
    "Access",
    "CardProfile",
    "CorruptMAC",
    "Delay",
    "DropLink",
    "ElementaryFile",
    "Fault",
    "FileSystem",
    "NakedError",
    "ReadLimit",
    "ScriptedRandom",
    "SeededRandom",
    "VirtualCard",
    "When",
    "make_atr",
    *_LAZY,
]

__getattr__ = lazy_exports(__name__, _LAZY)[0]
