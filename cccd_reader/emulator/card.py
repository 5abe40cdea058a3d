"""The virtual CCCD chip: an ISO 7816-4 command dispatcher over the emulator's file system.

It answers like the Vietnamese card (cccd-card-facts §3): the eMRTD application A0000002471001,
EF.CardAccess readable by SFI or by FID 011C from the MF level without SELECT MF (which answers 6D00,
as the real card does), every application file behind BAC or PACE and secure messaging, DG3 behind
Extended Access Control (6982). Secure messaging is checked strictly: a wrong MAC is answered 6988 and
the session keys are forgotten, as a real chip does, so the reader's recovery logic is exercised.

All of the chip's randomness (BAC RND.ICC and K.ICC, PACE nonce and ephemeral keys) comes from one
injectable ``random_bytes``; seeded, a session is the same on every run and recorded traces replay.

The cryptographic protocols are not re-implemented here: the chip side of each (``BACChip``,
``PACEChip``, ``ChipAuthChip``, ``ActiveAuthChip``, ``SMSession``) lives next to the terminal side in
``cccd_reader.protocols`` and ``cccd_reader.crypto``, and this module only routes commands to them.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, cast

from cccd_reader.errors import CardRemovedError, CCCDError
from cccd_reader.iso7816.apdu import CommandAPDU, ResponseAPDU
from cccd_reader.iso7816.tlv import encode_length, encode_tlv
from cccd_reader.transport.base import CardTransport, RandomBytes

from .faults import INS_READ_BINARY, INS_READ_BINARY_ODD, Fault, FaultInjector, corrupt_response_mac
from .filesystem import FID_MF, Access, ElementaryFile, FileSystem

log = logging.getLogger(__name__)

# status words
SW_OK = 0x9000
SW_EOF_WARNING = 0x6282
SW_AUTH_FAILED = 0x6300
SW_WRONG_LENGTH = 0x6700
SW_SM_MISSING = 0x6987
SW_SM_WRONG = 0x6988
SW_SECURITY = 0x6982
SW_CONDITIONS = 0x6985
SW_NO_CURRENT_EF = 0x6986
SW_WRONG_DATA = 0x6A80
SW_FUNC_NOT_SUPPORTED = 0x6A81
SW_NOT_FOUND = 0x6A82
SW_WRONG_P1P2 = 0x6A86
SW_REF_NOT_FOUND = 0x6A88
SW_WRONG_OFFSET = 0x6B00
SW_INS_NOT_SUPPORTED = 0x6D00
SW_CLA_NOT_SUPPORTED = 0x6E00
SW_UNKNOWN = 0x6F00

_REMOVED = "the card is not in the field (link dropped): reconnect and authenticate again"
_DROPPED = "the card left the field (injected link drop): reconnect and authenticate again"

INS_SELECT = 0xA4
INS_GET_CHALLENGE = 0x84
INS_EXTERNAL_AUTH = 0x82
INS_INTERNAL_AUTH = 0x88
INS_MSE = 0x22
INS_GENERAL_AUTH = 0x86


class SecureSession(Protocol):
    """The chip side of a secure-messaging session (``cccd_reader.crypto.sm.SMSession``)."""

    def unprotect_command(self, raw: bytes) -> CommandAPDU: ...

    def protect_response(self, data: bytes, sw: int, *, odd_ins: bool = False) -> bytes: ...


class Responder(Protocol):
    """One access-control or authentication protocol, chip side, as the card's dispatcher sees it.

    ``handle`` answers one command (data, SW) or returns ``None`` when the command is not this
    protocol's. ``session()`` returns the secure-messaging session the protocol established, once, after
    the command that completed it; the card switches to it after protecting that command's response
    with the old session, if any (Chip Authentication restarts SM under new keys).
    """

    def handle(self, cmd: CommandAPDU, *, secure: bool) -> tuple[bytes, int] | None: ...

    def session(self) -> SecureSession | None: ...

    def reset(self) -> None: ...


class ChipSide(Protocol):
    """The shape of the chip-side protocol objects in ``cccd_reader.protocols`` (``BACChip`` and kin)."""

    def handles(self, cmd: CommandAPDU) -> bool: ...

    def respond(self, cmd: CommandAPDU) -> ResponseAPDU: ...


class ProtocolResponder:
    """Adapts a chip-side protocol object to the card's :class:`Responder` interface.

    ``factory`` builds a fresh protocol object: the card calls it again on every power cycle and when a
    session is dropped, so no half-finished handshake survives a reset. ``secure`` restricts the
    protocol to commands received under secure messaging (Chip and Active Authentication) or outside it
    (``False``: BAC and PACE run in the clear); ``None`` accepts both.
    """

    def __init__(self, kind: str, factory: Callable[[], ChipSide], *, secure: bool | None = None,
                 session_attr: str = "session") -> None:
        self.kind = kind
        self._factory = factory
        self._secure = secure
        self._session_attr = session_attr
        self.chip: ChipSide = factory()
        self._handed: object | None = None

    def handle(self, cmd: CommandAPDU, *, secure: bool) -> tuple[bytes, int] | None:
        if not self.chip.handles(cmd):
            return None
        if self._secure is not None and secure != self._secure:
            return self._wrong_channel(secure)
        resp = self.chip.respond(cmd)
        return resp.data, resp.sw

    @staticmethod
    def _wrong_channel(secure: bool) -> tuple[bytes, int]:
        # Chip/Active Authentication outside a session: security status not satisfied (6982);
        # BAC or PACE sent under secure messaging: conditions of use not satisfied (6985)
        return b"", (SW_CONDITIONS if secure else SW_SECURITY)

    def session(self) -> SecureSession | None:
        current = getattr(self.chip, self._session_attr, None)
        if current is None or current is self._handed:
            return None
        self._handed = current
        return cast(SecureSession, current)

    def reset(self) -> None:
        self.chip = self._factory()
        self._handed = None

    def __repr__(self) -> str:
        return f"ProtocolResponder({self.kind!r})"


class StepChip(Protocol):
    """Chip-side protocol objects driven by MSE + GENERAL AUTHENTICATE (``PACEChip`` and kin)."""

    def process(self, cmd: CommandAPDU) -> ResponseAPDU: ...


class SteppedProtocolResponder(ProtocolResponder):
    """A protocol opened by MSE:Set AT (``mse`` = P1 P2, e.g. C1 A4 for PACE, 41 A4 for Chip
    Authentication) and continued by GENERAL AUTHENTICATE, plus any ``other_ins`` it owns outright.

    GENERAL AUTHENTICATE (86) is shared by PACE and Chip Authentication, so it goes to the protocol whose
    MSE:Set AT the chip accepted last; a failed step or a finished run releases it.
    """

    def __init__(self, kind: str, factory: Callable[[], StepChip], *, mse: tuple[int, ...],
                 other_ins: tuple[int, ...] = (), secure: bool | None = None,
                 session_attr: str = "session") -> None:
        self._mse = mse
        self._other = other_ins
        self._active = False
        super().__init__(kind, cast(Callable[[], ChipSide], factory), secure=secure,
                         session_attr=session_attr)

    def _claims(self, cmd: CommandAPDU) -> bool:
        if cmd.ins == INS_MSE and (cmd.p1, cmd.p2) in self._mse_pairs():
            return True
        return (cmd.ins == INS_GENERAL_AUTH and self._active) or cmd.ins in self._other

    def _mse_pairs(self) -> list[tuple[int, int]]:
        return [(self._mse[i], self._mse[i + 1]) for i in range(0, len(self._mse) - 1, 2)]

    def handle(self, cmd: CommandAPDU, *, secure: bool) -> tuple[bytes, int] | None:
        if not self._claims(cmd):
            return None
        if self._secure is not None and secure != self._secure:
            return self._wrong_channel(secure)
        chip = cast(StepChip, self.chip)
        resp = chip.process(cmd)
        if cmd.ins == INS_MSE:
            self._active = resp.sw == SW_OK
        elif cmd.ins == INS_GENERAL_AUTH and (resp.sw != SW_OK or not cmd.cla & 0x10):
            self._active = False  # a failed step, or the last (unchained) one, ends the protocol run
        return resp.data, resp.sw

    def reset(self) -> None:
        super().reset()
        self._active = False

    def release(self) -> None:
        """Another protocol's MSE:Set AT was accepted: GENERAL AUTHENTICATE is no longer ours."""
        self._active = False


@dataclass(frozen=True)
class CardProfile:
    """How a particular card model behaves on the wire (separate from whose data it carries).

    ``max_response`` is the most response data the chip sends in one APDU, secure-messaging overhead
    included: a short APDU can carry at most 256 bytes anyway, which is why readers ask for 223 (AES) or
    231 (3DES) bytes of plain data at a time. ``select_mf_sw`` is the answer to SELECT MF (6D00 on the
    CCCD; ``None``: the MF is selectable). ``eof_warning``: reading past the end returns the bytes left
    with 6282 (else 9000). ``mf_files_in_app``: EF.CardAccess stays readable by SFI/FID after the
    application is selected. ``protect_errors``: error status words under SM carry DO'99'/DO'8E'.
    ``access_control``: ``False`` makes an unprotected chip (files readable without BAC/PACE), useful to
    test file reading alone. ``exact_le``: a short READ BINARY asking for more than the file holds is
    answered 6Cxx (xx = the bytes left) instead of the bytes and 6282, as some chips do.
    """

    name: str = "cccd"
    extended_length: bool = True
    max_response: int = 1024
    select_mf_sw: int | None = 0x6D00
    eof_warning: bool = True
    mf_files_in_app: bool = True
    protect_errors: bool = True
    access_control: bool = True
    exact_le: bool = False
    atr: bytes | None = None

    def __post_init__(self) -> None:
        if not 16 <= self.max_response <= 65536:
            raise ValueError("max_response must be 16 to 65536 bytes")

    def with_(self, **changes: Any) -> CardProfile:
        return replace(self, **changes)


def make_atr(*, extended_length: bool) -> bytes:
    """An ATR like a PC/SC contactless reader builds from an ISO 14443-4 card's ATS.

    ``3B 8n 80 01`` + historical bytes + TCK. The historical bytes hold a compact-TLV "card
    capabilities" object (ISO 7816-4 §8.1.1.2.7) whose third byte announces command chaining and,
    when supported, extended Lc/Le: the first thing a reader can check before trying long reads.
    """
    caps3 = 0x80 | (0x40 if extended_length else 0x00)
    historical = bytes([0x80, 0x73, 0x00, 0x00, caps3])
    body = bytes([0x3B, 0x80 | len(historical), 0x80, 0x01]) + historical
    tck = 0
    for b in body[1:]:
        tck ^= b
    return body + bytes([tck])


class SeededRandom:
    """A deterministic ``random_bytes`` for the chip: SHA-256 in counter mode over a seed.

    Not for real keys; it exists so that a session with the virtual chip is the same on every run.
    """

    def __init__(self, seed: bytes | str | int) -> None:
        if isinstance(seed, int):
            seed = seed.to_bytes(16, "big", signed=False)
        elif isinstance(seed, str):
            seed = seed.encode("utf-8")
        self._seed = hashlib.sha256(b"cccd-reader emulator seed" + seed).digest()
        self._counter = 0
        self._buffer = b""

    def __call__(self, n: int) -> bytes:
        while len(self._buffer) < n:
            self._buffer += hashlib.sha256(self._seed + self._counter.to_bytes(8, "big")).digest()
            self._counter += 1
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    def __repr__(self) -> str:
        return "SeededRandom(...)"


class ScriptedRandom:
    """``random_bytes`` that hands out given bytes in order (worked examples), then fails loudly."""

    def __init__(self, *chunks: bytes) -> None:
        self._data = b"".join(chunks)

    def __call__(self, n: int) -> bytes:
        if n > len(self._data):
            raise RuntimeError("the scripted random bytes are used up")
        out, self._data = self._data[:n], self._data[n:]
        return out

    @property
    def remaining(self) -> int:
        return len(self._data)


def _protected_size(n: int, block: int) -> int:
    """Length of a protected response carrying ``n`` plain bytes: DO'87' + DO'99' + DO'8E' (8-byte MAC)."""
    if n == 0:
        return 4 + 10
    value = 1 + (n // block + 1) * block
    return 1 + len(encode_length(value)) + value + 4 + 10


def _max_plain(limit: int, block: int) -> int:
    """The most plain bytes whose protected form fits ``limit`` bytes."""
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _protected_size(mid, block) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


@dataclass
class _State:
    powered: bool = True
    in_app: bool = False
    current: ElementaryFile | None = None
    sm: SecureSession | None = field(default=None, repr=False)
    sm_block: int = 16
    authenticated: bool = False
    via: str | None = None


class VirtualCard(CardTransport):
    """A software CCCD chip. ``transmit(apdu) -> response + SW``, so it is itself a :class:`CardTransport`.

    ``files`` is the chip's :class:`FileSystem` (see :mod:`cccd_reader.emulator.persona` to build one
    from a persona file). ``responders`` are the chip sides of BAC, PACE, Chip and Active
    Authentication, normally set up by :func:`cccd_reader.emulator.persona.build_card`. ``faults`` are
    armed :mod:`~cccd_reader.emulator.faults`.
    """

    def __init__(self, files: FileSystem, *, profile: CardProfile | None = None,
                 responders: Iterable[Responder] = (), random_bytes: RandomBytes | None = None,
                 faults: Iterable[Fault] = (), name: str = "virtual CCCD") -> None:
        self.files = files
        self.profile = profile or CardProfile()
        self.random_bytes: RandomBytes = random_bytes or SeededRandom(name)
        self.responders: list[Responder] = list(responders)
        self.faults = FaultInjector(faults)
        self.name = name
        self.apdu_count = 0
        self._state = _State()
        self.power_ons = 1
        self.persona: Any = None
        """The :class:`~cccd_reader.emulator.persona.Persona` the chip was personalised for, if any."""
        self.image: Any = None
        """The :class:`~cccd_reader.emulator.persona.CardImage` (encoded files and chip keys), if any."""

    # -- the physical side ----------------------------------------------------------------------------

    @property
    def atr(self) -> bytes:
        return self.profile.atr or make_atr(extended_length=self.profile.extended_length)

    @property
    def present(self) -> bool:
        """False after an injected link drop, until :meth:`reconnect` / :meth:`power_on`."""
        return self._state.powered

    @property
    def session_active(self) -> bool:
        return self._state.sm is not None

    @property
    def authenticated_via(self) -> str | None:
        """``"BAC"``, ``"PACE"`` or ``None``: how the current session was opened."""
        return self._state.via if self._state.authenticated else None

    def power_on(self) -> bytes:
        """Power up (or re-present) the card: no session, MF level. Returns the ATR."""
        if not self._state.powered:
            self.faults.on_reconnect()
        self._reset_state()
        self._state.powered = True
        self.power_ons += 1
        return self.atr

    def power_off(self) -> None:
        self._reset_state()
        self._state.powered = False

    def reset(self) -> bytes:
        """Warm reset: like a power cycle, every session is gone."""
        return self.power_on()

    @property
    def can_reconnect(self) -> bool:
        return True

    def reconnect(self, timeout: float | None = None) -> None:
        """What a reader does after a tag loss: the card is powered again and must be re-authenticated."""
        self.power_on()

    def inject(self, fault: Fault) -> None:
        self.faults.add(fault)

    def _reset_state(self) -> None:
        self._state = _State(powered=self._state.powered)
        for r in self.responders:
            r.reset()

    def _drop_session(self) -> None:
        self._state.sm = None
        self._state.authenticated = False
        self._state.via = None
        for r in self.responders:
            r.reset()

    # -- the command loop -----------------------------------------------------------------------------

    def transmit(self, apdu: bytes) -> bytes:
        """Answer one command APDU (response data + SW1 SW2). Raises CardRemovedError after a link drop."""
        if not self._state.powered:
            raise CardRemovedError(_REMOVED)
        apdu = bytes(apdu)
        self.apdu_count += 1
        ins = apdu[1] if len(apdu) > 1 else 0
        secure_cla = len(apdu) > 0 and (apdu[0] & 0x0C) == 0x0C
        self.faults.delay(ins, secure_cla)
        if self.faults.drops(ins, secure_cla):
            self.power_off()
            raise CardRemovedError(_DROPPED)
        try:
            return self._answer(apdu, ins, secure_cla)
        except CCCDError:
            raise
        except Exception:  # a bug in the emulator must look like a chip error, not crash the reader
            log.exception("virtual card: internal error")
            self._drop_session()
            return SW_UNKNOWN.to_bytes(2, "big")

    def _answer(self, apdu: bytes, ins: int, secure_cla: bool) -> bytes:
        try:
            wire = CommandAPDU.decode(apdu)
        except CCCDError:
            return _sw(SW_WRONG_LENGTH)
        if wire.cla & 0x80 or (wire.cla & 0x03):
            return _sw(SW_CLA_NOT_SUPPORTED)
        if wire.extended and not self.profile.extended_length:
            return _sw(SW_WRONG_LENGTH)
        state = self._state
        if not secure_cla:
            if state.sm is not None:
                # an unprotected command ends secure messaging (9303-11 §9.8.4); it is then handled plainly
                self._drop_session()
            data, sw = self._process(wire, secure=False, wire_ne=wire.le or 0)
            return data + sw.to_bytes(2, "big")

        session = state.sm
        if session is None:
            return _sw(SW_SM_MISSING if self.profile.access_control else SW_CLA_NOT_SUPPORTED)
        naked = self.faults.naked_error(ins, True)
        if naked is not None:
            if not naked.keep_session:
                # otherwise the command was refused before secure messaging saw it: the SSC does not move
                self._drop_session()
            return _sw(naked.sw)
        try:
            cmd = session.unprotect_command(apdu)
        except CCCDError as exc:
            # wrong MAC, missing DOs, bad padding: answer plainly and forget the keys (as a chip does)
            self._drop_session()
            why = getattr(exc, "sw", None)
            return _sw(why if why in (SW_SM_MISSING, SW_SM_WRONG) else SW_SM_WRONG)
        wire_ne = wire.le or (65536 if wire.extended else 256)
        data, sw = self._process(cmd, secure=True, wire_ne=wire_ne)
        if state.sm is None:
            # the command itself ended the session (e.g. a failed protocol step)
            return data + sw.to_bytes(2, "big")
        if sw != SW_OK and (sw >> 8) != 0x62 and not self.profile.protect_errors:
            return _sw(sw)
        protected = session.protect_response(data, sw, odd_ins=bool(ins & 1))
        if self.faults.corrupt_mac(ins, True):
            protected = corrupt_response_mac(protected)
        self._after_protocol_step(had_session=session)
        return protected

    def _after_protocol_step(self, had_session: SecureSession | None) -> None:
        """Switch to a session a protocol just established (after answering under the old one)."""
        for r in self.responders:
            new = r.session()
            if new is not None:
                self._state.sm = new
                self._state.sm_block = int(getattr(new, "block", 16) or 16)
                self._state.authenticated = True
                kind = getattr(r, "kind", None)
                if kind in ("BAC", "PACE") or had_session is None:
                    self._state.via = kind
                break

    # -- dispatch -------------------------------------------------------------------------------------

    def _process(self, cmd: CommandAPDU, *, secure: bool, wire_ne: int) -> tuple[bytes, int]:
        ins = cmd.ins
        if ins == INS_SELECT:
            return self._select(cmd, secure=secure)
        if ins in (INS_READ_BINARY, INS_READ_BINARY_ODD):
            return self._read_binary(cmd, secure=secure, wire_ne=wire_ne)
        for responder in self.responders:
            try:
                answer = responder.handle(cmd, secure=secure)
            except CCCDError:
                answer = (b"", SW_CONDITIONS)
            if answer is not None:
                if ins == INS_MSE and answer[1] == SW_OK:
                    for other in self.responders:
                        if other is not responder and isinstance(other, SteppedProtocolResponder):
                            other.release()
                if not secure:
                    self._after_protocol_step(had_session=None)
                return answer
        if ins in (INS_GET_CHALLENGE, INS_EXTERNAL_AUTH, INS_INTERNAL_AUTH, INS_MSE, INS_GENERAL_AUTH):
            return b"", SW_CONDITIONS if ins != INS_MSE else SW_REF_NOT_FOUND
        return b"", SW_INS_NOT_SUPPORTED

    def _may_read(self, ef: ElementaryFile, *, secure: bool) -> bool:
        if ef.access is Access.ALWAYS:
            return True
        if ef.access is Access.EAC:
            return False
        if not self.profile.access_control:
            return True
        return secure and self._state.authenticated

    def _lookup_fid(self, fid: int) -> ElementaryFile | None:
        st = self._state
        if st.in_app:
            ef = self.files.app.by_fid(fid)
            if ef is None and self.profile.mf_files_in_app:
                ef = self.files.mf.by_fid(fid)
            return ef
        return self.files.mf.by_fid(fid)

    def _lookup_sfi(self, sfi: int) -> ElementaryFile | None:
        st = self._state
        if st.in_app:
            ef = self.files.app.by_sfi(sfi)
            if ef is None and self.profile.mf_files_in_app:
                ef = self.files.mf.by_sfi(sfi)
            return ef
        return self.files.mf.by_sfi(sfi)

    def _select(self, cmd: CommandAPDU, *, secure: bool) -> tuple[bytes, int]:
        p1, p2 = cmd.p1, cmd.p2
        if p2 not in (0x00, 0x04, 0x0C):
            return b"", SW_WRONG_P1P2
        fci_wanted = (p2 & 0x0C) != 0x0C
        if p1 == 0x04:  # by DF name
            if cmd.data != self.files.aid:
                return b"", SW_NOT_FOUND
            self._state.in_app = True
            self._state.current = None
            if fci_wanted:
                return encode_tlv(0x6F, encode_tlv(0x84, self.files.aid)), SW_OK
            return b"", SW_OK
        if p1 == 0x00 and (not cmd.data or cmd.data == FID_MF.to_bytes(2, "big")):
            if self.profile.select_mf_sw is not None:
                return b"", self.profile.select_mf_sw
            self._state.in_app = False
            self._state.current = None
            return b"", SW_OK
        if p1 in (0x00, 0x02):  # EF by FID (P1 00: any file in the current DF; 02: EF in the current DF)
            if len(cmd.data) != 2:
                return b"", SW_WRONG_DATA if cmd.data else SW_WRONG_P1P2
            ef = self._lookup_fid(int.from_bytes(cmd.data, "big"))
            if ef is None:
                return b"", SW_NOT_FOUND
            if not self._may_read(ef, secure=secure):
                return b"", SW_SECURITY
            self._state.current = ef
            return (ef.fcp() if fci_wanted else b""), SW_OK
        return b"", SW_WRONG_P1P2

    def _response_budget(self, *, secure: bool, wire_ne: int, le: int) -> int:
        """How many plain bytes one response may carry: Le, the wire Le and the chip's buffer (with SM)."""
        limit = min(wire_ne or 256, self.profile.max_response)
        if secure:
            return min(le, _max_plain(limit, self._state.sm_block))
        return min(le, limit)

    def _read_binary(self, cmd: CommandAPDU, *, secure: bool, wire_ne: int) -> tuple[bytes, int]:
        if cmd.le is None:
            return b"", SW_WRONG_LENGTH
        odd = cmd.ins == INS_READ_BINARY_ODD
        if odd:
            ef, offset, err = self._odd_target(cmd)
        else:
            ef, offset, err = self._even_target(cmd)
        if err:
            return b"", err
        assert ef is not None
        if not self._may_read(ef, secure=secure):
            return b"", SW_SECURITY
        self._state.current = ef
        if self.faults.read_limit(cmd.ins, secure, cmd.le):
            return b"", SW_WRONG_LENGTH
        size = ef.size
        if offset > size or (offset == size and size > 0):
            return b"", SW_WRONG_OFFSET
        budget = self._response_budget(secure=secure, wire_ne=wire_ne, le=cmd.le)
        if odd:  # DO'53' wraps the data and its header counts against Le
            room = budget
            while room > 0 and room + 1 + len(encode_length(room)) > budget:
                room -= 1
        else:
            room = budget
        remaining = size - offset
        if self.profile.exact_le and 0 < remaining < room and not cmd.extended and not odd:
            return b"", 0x6C00 | (remaining & 0xFF)  # "wrong Le: ask for exactly this many"
        chunk = ef.data[offset : offset + room]
        body = encode_tlv(0x53, chunk) if odd else chunk
        # fewer bytes than asked because the file ends (not because of the buffer): 6282 (ISO 7816-4 §11.1.3)
        if remaining < room and self.profile.eof_warning:
            return body, SW_EOF_WARNING
        return body, SW_OK

    def _even_target(self, cmd: CommandAPDU) -> tuple[ElementaryFile | None, int, int]:
        if cmd.p1 & 0x80:
            if cmd.p1 & 0x60:
                return None, 0, SW_WRONG_P1P2
            sfi = cmd.p1 & 0x1F
            ef = self._lookup_sfi(sfi)
            if ef is None:
                return None, 0, SW_NOT_FOUND
            return ef, cmd.p2, 0
        if self._state.current is None:
            return None, 0, SW_NO_CURRENT_EF
        return self._state.current, ((cmd.p1 & 0x7F) << 8) | cmd.p2, 0

    def _odd_target(self, cmd: CommandAPDU) -> tuple[ElementaryFile | None, int, int]:
        data = cmd.data
        if len(data) < 3 or data[0] != 0x54 or data[1] != len(data) - 2 or data[1] > 4:
            return None, 0, SW_WRONG_DATA
        offset = int.from_bytes(data[2:], "big")
        p1p2 = (cmd.p1 << 8) | cmd.p2
        if p1p2 == 0:
            if self._state.current is None:
                return None, 0, SW_NO_CURRENT_EF
            return self._state.current, offset, 0
        by_sfi = cmd.p1 == 0 and 1 <= cmd.p2 <= 0x1E
        ef = self._lookup_sfi(cmd.p2) if by_sfi else self._lookup_fid(p1p2)
        if ef is None:
            return None, 0, SW_NOT_FOUND
        return ef, offset, 0

    def __repr__(self) -> str:
        return f"VirtualCard({self.name!r}, profile={self.profile.name!r}, files={len(self.files.app)})"


def _sw(sw: int) -> bytes:
    return sw.to_bytes(2, "big")
