"""Secure messaging (ICAO 9303-11 §9.8): the session state (the transport that uses it is
:class:`cccd_reader.transport.secure.SecureMessagingTransport`).

One :class:`SMSession` holds the session keys, the cipher and the send sequence counter (SSC). The same
object protects commands and unprotects responses on the terminal side, and unprotects commands and
protects responses on the chip side, so the emulator needs no second implementation. Because the two
sides share this code, every step is pinned in the tests to the ICAO 9303-11 Appendix D and BSI worked
examples rather than only to a round trip.

Wire format (both ciphers)::

    command   CLA|0C INS P1 P2  Lc  [DO87 = 87 L 01 E(pad(data)) | DO85 = 85 L E(pad(data)) for odd INS]
                                    [DO97 = 97 L Le]  DO8E = 8E 08 MAC   Le=00 (0000 when extended)
    response  [DO87 | DO85]  DO99 = 99 02 SW  DO8E = 8E 08 MAC  SW

    MAC input = pad(SSC || pad(masked header) || DOs)   (the response has no header)
    3DES:  E = 3DES-CBC, IV = 0;              MAC = ISO 9797-1 alg. 3 (retail MAC), SSC 8 bytes
    AES:   E = AES-CBC,  IV = AES(KSenc, SSC); MAC = AES-CMAC truncated to 8 bytes, SSC 16 bytes

The SSC is incremented before each command is protected and again before each response is checked.

Strictness and the "naked" status word
---------------------------------------
Readers in the field fail in two opposite ways: they skip the response MAC check, or their counter
drifts after the chip answers a protected command with an unprotected status word (a "naked" SW: just
SW1 SW2, no DO99/DO8E). Here:

* every response MAC is verified with a constant-time compare; a response without DO8E is rejected;
  DO99 must be present and equal to the outer status word (``strict=False`` tolerates a missing DO99
  and takes DO99 over the outer SW when they differ, but never skips the MAC);
* a naked *error* SW raises the SW's typed error (``WrongLength`` for 6700, ``WrongLength`` with
  ``correct_le`` for 6Cxx, ``FileNotFoundOnCard`` for 6A82, ...). A chip answers bare when it rejected
  the command before its secure-messaging layer saw it (an extended APDU it cannot take, a length it
  refuses: the field report gmrtd #457), so it did not count the command: our counter is rolled back by
  one and the next command lines up with the chip. (Counting it anyway is the desynchronisation bug that
  report describes.) A chip that did count would answer the next command with 6988; the read pipeline
  then re-authenticates and resumes, so either behaviour ends in a correct read. For 6987/6988 the chip
  has dropped its session keys, so the session is marked unusable: re-authenticate. For other naked SWs
  the session stays usable. ``strict=False`` returns the naked SW as a plain response instead of raising;
* a naked 9000 (or any success SW without a MAC) is never accepted: it could be forged by anyone in
  the field, so the session is marked unusable and :class:`SecureMessagingError` is raised;
* any MAC, DO99, padding or layout failure marks the session unusable (the chip will have aborted too).
"""

from __future__ import annotations

from cccd_reader._lazy import moved_names
from cccd_reader.crypto import primitives as P
from cccd_reader.errors import ParseError, SecureMessagingError
from cccd_reader.iso7816.apdu import CommandAPDU, status_error
from cccd_reader.iso7816.tlv import TLV, decode, encode_tlv

CIPHERS = ("3DES", "AES-128", "AES-192", "AES-256")
_KEY_LENGTHS = {"3DES": (16, 24), "AES-128": (16,), "AES-192": (24,), "AES-256": (32,)}

DO_CRYPTOGRAM_ODD = 0x85
DO_CRYPTOGRAM = 0x87
DO_LE = 0x97
DO_STATUS = 0x99
DO_MAC = 0x8E

SW_SM_MISSING = 0x6987
SW_SM_INCORRECT = 0x6988
_SESSION_FATAL = (SW_SM_MISSING, SW_SM_INCORRECT)

# Overhead of a protected response around the ciphertext: DO87 tag, length (81 xx / 82 xx xx),
# padding-indicator byte; DO99 (4); DO8E (10).
_RESPONSE_TRAILER = 4 + 10


def max_plain_response(cipher: str | None, *, extended: bool) -> int:
    """Largest plaintext a single response can carry: 256 / 65536 plain, 223 (AES) / 231 (3DES) under SM.

    A short response carries at most 256 data bytes. Under SM that is DO87 (``87 81 LL 01`` + ciphertext)
    + DO99 + DO8E, leaving 238 bytes of ciphertext, and with mandatory padding that is 14 AES blocks - 1
    = 223 or 29 DES blocks - 1 = 231 plaintext bytes. The extended case is the same sum over 65536.
    """
    budget = 65536 if extended else 256
    if cipher is None:
        return budget
    block = P.block_size(cipher)
    header = 1 + (3 if extended else 2) + 1  # tag, length field, padding indicator
    ciphertext = budget - header - _RESPONSE_TRAILER
    return (ciphertext // block) * block - 1


class SMSession:
    """Secure-messaging state: session keys, cipher and send sequence counter (SSC).

    ``usable`` turns False after anything that makes the chip drop its keys (a MAC, DO99 or layout
    failure, a naked 6987/6988, a lost link); every later protect/unprotect then raises
    :class:`SecureMessagingError` until the caller re-authenticates and builds a new session.
    """

    def __init__(self, ks_enc: bytes, ks_mac: bytes, cipher: str, ssc: int = 0) -> None:
        if cipher not in CIPHERS:
            raise ValueError(f"cipher must be one of {', '.join(CIPHERS)}")
        if len(ks_enc) not in _KEY_LENGTHS[cipher] or len(ks_mac) not in _KEY_LENGTHS[cipher]:
            raise ValueError(f"wrong session key length for {cipher}")
        self._ks_enc = bytes(ks_enc)
        self._ks_mac = bytes(ks_mac)
        self.cipher = cipher
        self.block = P.block_size(cipher)
        self.ssc_length = 8 if cipher == "3DES" else 16
        if not 0 <= ssc < 1 << (8 * self.ssc_length):
            raise ValueError("SSC out of range for the cipher")
        self.ssc = ssc
        self.usable = True
        self.unusable_reason: str | None = None
        self.last_naked_sw: int | None = None

    def __repr__(self) -> str:
        return f"SMSession(cipher={self.cipher!r}, ssc={self.ssc:#x}, usable={self.usable})"

    # --- small pieces -------------------------------------------------------------------------------

    @property
    def ssc_bytes(self) -> bytes:
        return self.ssc.to_bytes(self.ssc_length, "big")

    def increment(self) -> None:
        """Advance the SSC by one (wrapping, as a fixed-width counter)."""
        self.ssc = (self.ssc + 1) % (1 << (8 * self.ssc_length))

    def invalidate(self, reason: str) -> None:
        """Mark the session unusable (the chip has dropped, or will drop, its session keys)."""
        self.usable = False
        self.unusable_reason = reason

    def _fail(self, message: str, sw: int | None = None) -> SecureMessagingError:
        self.invalidate(message)
        return SecureMessagingError(f"secure messaging: {message}; re-authenticate", sw=sw)

    def _check_usable(self) -> None:
        if not self.usable:
            raise SecureMessagingError(
                f"secure messaging session is no longer usable ({self.unusable_reason}); re-authenticate"
            )

    def mac(self, data: bytes) -> bytes:
        """8-byte MAC over ``SSC || data`` (padding added here)."""
        msg = P.pad(self.ssc_bytes + data, self.block)
        if self.cipher == "3DES":
            return P.retail_mac(self._ks_mac, msg, padded=True)
        return P.aes_cmac(self._ks_mac, msg)[:8]

    def _iv(self) -> bytes:
        if self.cipher == "3DES":
            return P.ZERO_IV_DES
        return P.aes_ecb_block(self._ks_enc, self.ssc_bytes)

    def encrypt(self, data: bytes) -> bytes:
        """Pad and encrypt ``data`` with the IV for the current SSC."""
        padded = P.pad(data, self.block)
        if self.cipher == "3DES":
            return P.des3_cbc_encrypt(self._ks_enc, padded)
        return P.aes_cbc_encrypt(self._ks_enc, self._iv(), padded)

    def decrypt(self, data: bytes) -> bytes:
        """Decrypt and unpad ``data`` with the IV for the current SSC."""
        if not data or len(data) % self.block:
            raise ParseError("cryptogram is not a whole number of cipher blocks", file="SM")
        if self.cipher == "3DES":
            plain = P.des3_cbc_decrypt(self._ks_enc, data)
        else:
            plain = P.aes_cbc_decrypt(self._ks_enc, self._iv(), data)
        return P.unpad(plain, what="SM")

    def _cryptogram_do(self, data: bytes, odd_ins: bool) -> bytes:
        ct = self.encrypt(data)
        return encode_tlv(DO_CRYPTOGRAM_ODD, ct) if odd_ins else encode_tlv(DO_CRYPTOGRAM, b"\x01" + ct)

    def _open_cryptogram(self, do: TLV) -> bytes:
        if do.tag == DO_CRYPTOGRAM:
            if not do.value or do.value[0] != 0x01:
                raise ParseError("DO87 does not start with the padding indicator 01", file="SM")
            return self.decrypt(do.value[1:])
        return self.decrypt(do.value)

    @staticmethod
    def _split(body: bytes, allowed: tuple[int, ...]) -> tuple[dict[int, TLV], int]:
        """Decode the DOs of a protected APDU; return them by tag and the offset where DO8E starts."""
        dos: dict[int, TLV] = {}
        mac_at = -1
        for do in decode(body, file="SM"):
            if do.tag not in allowed:
                raise ParseError(f"unexpected data object {do.tag:02X}", file="SM", offset=do.offset)
            if do.tag in dos:
                raise ParseError(f"data object {do.tag:02X} appears twice", file="SM", offset=do.offset)
            if mac_at >= 0:
                raise ParseError("data after the MAC object DO8E", file="SM", offset=do.offset)
            if do.tag == DO_MAC:
                mac_at = do.offset
            dos[do.tag] = do
        if DO_CRYPTOGRAM in dos and DO_CRYPTOGRAM_ODD in dos:
            raise ParseError("both DO85 and DO87 present", file="SM")
        return dos, mac_at

    # --- terminal side --------------------------------------------------------------------------------

    def protect_command(self, cmd: CommandAPDU) -> bytes:
        """Wrap a plain command (increments the SSC). Data goes in DO87 (DO85 for odd INS), Le in DO97."""
        self._check_usable()
        if cmd.cla & 0x0C:
            raise SecureMessagingError("command already has secure-messaging bits set in CLA")
        self.increment()
        cla = cmd.cla | 0x0C
        header = bytes([cla, cmd.ins, cmd.p1, cmd.p2])
        dos = b""
        if cmd.data:
            dos += self._cryptogram_do(cmd.data, bool(cmd.ins & 1))
        if cmd.le is not None:
            le = (cmd.le & 0xFFFF).to_bytes(2, "big") if cmd.extended else bytes([cmd.le & 0xFF])
            dos += encode_tlv(DO_LE, le)
        dos += encode_tlv(DO_MAC, self.mac(P.pad(header, self.block) + dos))
        extended = cmd.extended or len(dos) > 255
        return CommandAPDU(cla, cmd.ins, cmd.p1, cmd.p2, dos, le=65536 if extended else 256,
                           force_extended=extended).encode()

    def unprotect_response(self, raw: bytes, *, strict: bool = True) -> bytes:
        """Verify and decrypt a protected response; return plain data + SW (see the module notes)."""
        self._check_usable()
        raw = bytes(raw)
        if len(raw) < 2:
            raise self._fail(f"response of {len(raw)} bytes has no status word")
        sw = int.from_bytes(raw[-2:], "big")
        body = raw[:-2]
        if not body:
            return self._naked(sw, strict)
        self.increment()
        try:
            dos, mac_at = self._split(body, (DO_CRYPTOGRAM, DO_CRYPTOGRAM_ODD, DO_STATUS, DO_MAC))
        except ParseError as exc:
            raise self._fail(f"malformed protected response ({exc.reason})") from None
        mac_do = dos.get(DO_MAC)
        if mac_do is None:
            raise self._fail("response carries no MAC (DO8E)")
        if not P.constant_time_equal(mac_do.value, self.mac(body[:mac_at])):
            raise self._fail("response MAC does not verify")
        status_do = dos.get(DO_STATUS)
        inner_sw = sw
        if status_do is None:
            if strict:
                raise self._fail("response carries no status object (DO99)")
        elif len(status_do.value) != 2:
            raise self._fail("DO99 is not two bytes")
        else:
            inner_sw = int.from_bytes(status_do.value, "big")
            if inner_sw != sw and strict:
                raise self._fail(f"DO99 ({inner_sw:04X}) disagrees with the outer status word ({sw:04X})")
        data = b""
        crypt = dos.get(DO_CRYPTOGRAM) or dos.get(DO_CRYPTOGRAM_ODD)
        if crypt is not None:
            try:
                data = self._open_cryptogram(crypt)
            except ParseError as exc:
                raise self._fail(f"response cryptogram is malformed ({exc.reason})") from None
        return data + inner_sw.to_bytes(2, "big")

    def _naked(self, sw: int, strict: bool) -> bytes:
        """A bare SW answered to a protected command: the chip did not count it, so neither do we."""
        self.last_naked_sw = sw
        self.ssc = (self.ssc - 1) % (1 << (8 * self.ssc_length))
        if not 0x64 <= sw >> 8 <= 0x6F:
            # Success and warnings (9000, 61xx, 62xx, 63xx) must be authenticated; only an error may
            # legitimately come bare, and anything that is not a status word at all is garbage.
            raise self._fail(f"status {sw:04X} arrived without secure messaging", sw=sw)
        if sw in _SESSION_FATAL:
            self.invalidate(f"the chip answered {sw:04X} without secure messaging")
            raise status_error(sw, "protected command (the chip dropped its session keys; re-authenticate)")
        if not strict:
            return sw.to_bytes(2, "big")
        raise status_error(sw, "protected command (unprotected answer)")

    # --- chip side ------------------------------------------------------------------------------------

    def unprotect_command(self, raw: bytes) -> CommandAPDU:
        """Chip side: verify and decrypt a protected command (increments the SSC).

        Raises :class:`SecureMessagingError` with ``sw`` 6987 (objects missing) or 6988 (objects
        incorrect); the caller answers that SW *unprotected*, and the session is then unusable.
        """
        if not self.usable:
            raise SecureMessagingError("secure messaging session was aborted", sw=SW_SM_MISSING)
        self.increment()
        try:
            cmd = CommandAPDU.decode(raw)
        except ParseError:
            raise self._fail("malformed command APDU", sw=SW_SM_INCORRECT) from None
        if cmd.cla & 0x0C != 0x0C:
            raise self._fail("plain command received during a secure-messaging session", sw=SW_SM_MISSING)
        try:
            dos, mac_at = self._split(cmd.data, (DO_CRYPTOGRAM, DO_CRYPTOGRAM_ODD, DO_LE, DO_MAC))
        except ParseError as exc:
            raise self._fail(f"malformed protected command ({exc.reason})", sw=SW_SM_INCORRECT) from None
        mac_do = dos.get(DO_MAC)
        if mac_do is None:
            raise self._fail("command carries no MAC (DO8E)", sw=SW_SM_MISSING)
        header = bytes([cmd.cla, cmd.ins, cmd.p1, cmd.p2])
        if not P.constant_time_equal(mac_do.value, self.mac(P.pad(header, self.block) + cmd.data[:mac_at])):
            raise self._fail("command MAC does not verify", sw=SW_SM_INCORRECT)
        data = b""
        crypt = dos.get(DO_CRYPTOGRAM) or dos.get(DO_CRYPTOGRAM_ODD)
        if crypt is not None:
            try:
                data = self._open_cryptogram(crypt)
            except ParseError as exc:
                raise self._fail(f"command cryptogram is malformed ({exc.reason})",
                                 sw=SW_SM_INCORRECT) from None
        le: int | None = None
        le_do = dos.get(DO_LE)
        extended = len(data) > 255
        if le_do is not None:
            if len(le_do.value) == 1:
                le = le_do.value[0] or 256
            elif len(le_do.value) == 2:
                le = int.from_bytes(le_do.value, "big") or 65536
                extended = True
            else:
                raise self._fail("DO97 is not one or two bytes", sw=SW_SM_INCORRECT)
        return CommandAPDU(cmd.cla & 0xF3, cmd.ins, cmd.p1, cmd.p2, data, le=le, force_extended=extended)

    def protect_response(self, data: bytes, sw: int, *, odd_ins: bool = False) -> bytes:
        """Chip side: wrap response data and SW (increments the SSC)."""
        self._check_usable()
        self.increment()
        dos = self._cryptogram_do(data, odd_ins) if data else b""
        dos += encode_tlv(DO_STATUS, sw.to_bytes(2, "big"))
        dos += encode_tlv(DO_MAC, self.mac(dos))
        return dos + sw.to_bytes(2, "big")


# the transport moved to cccd_reader.transport.secure (crypto does not depend on transports)
__getattr__ = moved_names(__name__, {"SecureMessagingTransport": "cccd_reader.transport.secure"})
