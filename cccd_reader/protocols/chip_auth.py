"""Chip Authentication v1 (ICAO 9303-11 §6.2, BSI TR-03110-1) and the PACE-CAM check.

Chip Authentication proves the chip holds the private key of the public key signed into DG14 (through
the SOD), so a copied chip without that key fails it. Version 1 proves it implicitly: both sides derive
new secure-messaging keys from a DH / ECDH agreement with the chip's static key, and only a genuine chip
can answer the next protected command. Hence:

* :func:`perform_chip_auth` returns a :class:`ChipAuthResult` with ``passed=None`` ("keys established,
  confirmation pending") and the new :class:`SMSession` (SSC 0). The caller reads on with it and records
  the outcome with :meth:`ChipAuthResult.confirmed`: a secure-messaging failure on that read is the clone
  signal.
* A chip that refuses the protocol, or answers with invalid data, raises
  :class:`~cccd_reader.errors.ChipAuthenticationError` (also a clone signal). A DG14 without a usable
  key raises :class:`~cccd_reader.errors.UnsupportedProtocol` (CA cannot be run; not a verdict).
* Chips answering a General Authenticate with a nonce and token (CA version 2 layout) are handled too:
  the token is checked and the keys are derived from K || r.

Commands: 3DES (legacy) uses MSE:Set KAT (``00 22 41 A6``, 91 = ephemeral key, 84 = key ID); AES uses
MSE:Set AT (``00 22 41 A4``, 80 = CA OID, 84 = key ID) then GENERAL AUTHENTICATE (7C{80 key}). All are
sent under the PACE/BAC session; the new keys apply from the next command.

Randomness: one draw, the ephemeral private key, by ``random_int_below`` over the group order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from cccd_reader.asn1.oids import CA_ALGORITHMS, ID_CA_DH, ID_CA_ECDH, CAAlgorithm, encode_oid_value
from cccd_reader.crypto import dh as _dh
from cccd_reader.crypto import ec as _ec
from cccd_reader.crypto import primitives as P
from cccd_reader.crypto.kdf import ENC, MAC, kdf
from cccd_reader.crypto.sm import SMSession
from cccd_reader.errors import (
    CardError,
    ChipAuthenticationError,
    InputError,
    ParseError,
    SecureMessagingError,
    TransientError,
    UnsupportedProtocol,
)
from cccd_reader.iso7816.apdu import CommandAPDU, ResponseAPDU
from cccd_reader.iso7816.tlv import decode, decode_one, encode_tlv
from cccd_reader.lds.security_infos import (
    DG14,
    CardSecurity,
    ChipAuthenticationInfo,
    ChipAuthenticationPublicKeyInfo,
    SecurityInfos,
)
from cccd_reader.protocols.pace import DHGroup, ECGroup, Group, PACEResult, mac8, public_key_data_object
from cccd_reader.transport.base import RandomBytes, Transport, default_random_bytes, random_int_below

# --- pure steps ---------------------------------------------------------------------------------------


def ca_session_keys(shared_secret: bytes, cipher: str, nonce_r: bytes | None = None) -> tuple[bytes, bytes]:
    """(KSenc, KSmac) = KDF(K [|| r], 1 / 2); r is present only in the version 2 layout."""
    seed = shared_secret + (nonce_r or b"")
    return kdf(seed, ENC, cipher), kdf(seed, MAC, cipher)


def ca_token(ks_mac: bytes, cipher: str, oid: str, key_agreement: str, terminal_public_key: bytes) -> bytes:
    """Version 2 chip token T = MAC(KSmac, 7F49{OID, terminal ephemeral key})."""
    return mac8(cipher, ks_mac, public_key_data_object(oid, key_agreement, terminal_public_key))


def _key_id_bytes(key_id: int) -> bytes:
    return key_id.to_bytes(max(1, (key_id.bit_length() + 7) // 8), "big")


def group_of(pk: ChipAuthenticationPublicKeyInfo) -> Group:
    key = pk.public_key
    if key.ec_domain is not None:
        return ECGroup(key.ec_domain)
    if key.dh_domain is not None:
        return DHGroup(key.dh_domain)
    raise UnsupportedProtocol("the Chip Authentication key is neither EC nor DH")


def chip_public_value(pk: ChipAuthenticationPublicKeyInfo) -> _ec.Point | int:
    key = pk.public_key
    try:
        if key.ec_domain is not None and key.ec_point is not None:
            return key.ec_domain.decode_point(key.ec_point)
        if key.dh_domain is not None and key.dh_public is not None:
            return key.dh_domain.validate(key.dh_public)
    except (_ec.ECError, _dh.DHError) as exc:
        raise ChipAuthenticationError(f"the Chip Authentication key in DG14 is invalid ({exc})") from None
    raise UnsupportedProtocol("the Chip Authentication key is neither EC nor DH")


def select_chip_auth(
    infos: SecurityInfos, key_id: int | None = None
) -> tuple[ChipAuthenticationPublicKeyInfo, CAAlgorithm, ChipAuthenticationInfo | None]:
    """Pair a public key with its ChipAuthenticationInfo (by keyId); without one, 3DES is the default
    (9303-11 §9.2.6: ChipAuthenticationInfo may be omitted for 3DES)."""
    keys = [k for k in infos.chip_authentication_public_keys if key_id is None or k.key_id == key_id]
    if not keys:
        raise UnsupportedProtocol("DG14 has no Chip Authentication public key"
                                  + ("" if key_id is None else f" with key ID {key_id}"))
    ca_infos = infos.chip_authentication_infos
    for pk in keys:
        for info in ca_infos:
            alg = CA_ALGORITHMS.get(info.protocol)
            if alg is None or alg.key_agreement != pk.key_agreement:
                continue
            if info.key_id is None or pk.key_id is None or info.key_id == pk.key_id:
                return pk, alg, info
    pk = keys[0]
    default = (ID_CA_ECDH if pk.key_agreement == "ECDH" else ID_CA_DH) + ".1"
    return pk, CA_ALGORITHMS[default], None


# --- results -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChipAuthResult:
    """Chip Authentication outcome. ``passed`` is None until the caller confirms the new session works."""

    protocol_oid: str
    protocol_name: str
    key_agreement: str
    cipher: str
    key_id: int | None
    session: SMSession = field(repr=False, compare=False)
    terminal_ephemeral_public_key: bytes = field(repr=False)
    chip_public_key: bytes = field(repr=False)
    version: int = 1
    passed: bool | None = None
    reason: str | None = None

    @property
    def performed(self) -> str:
        return "CA"

    def confirmed(self, ok: bool, reason: str | None = None) -> ChipAuthResult:
        """Record whether the first read under the new session succeeded (False = clone signal)."""
        return replace(self, passed=ok, reason=reason if reason else (None if ok else
                       "the chip could not use the Chip Authentication session keys: it may be a clone"))


@dataclass(frozen=True)
class CAMResult:
    """PACE-CAM verification: PK_map,IC == CA_IC * PK_IC for a key from EF.CardSecurity / DG14."""

    passed: bool
    reason: str | None = None
    key_id: int | None = None
    chip_public_key: bytes | None = field(default=None, repr=False)

    @property
    def performed(self) -> str:
        return "PACE-CAM"


# --- terminal -------------------------------------------------------------------------------------------


def _infos_from(source: DG14 | CardSecurity | SecurityInfos | bytes) -> SecurityInfos:
    if isinstance(source, SecurityInfos):
        return source
    if isinstance(source, DG14 | CardSecurity):
        return source.security_infos
    data = bytes(source)
    if data[:1] == b"\x6E":
        return DG14.decode(data).security_infos
    if data[:1] == b"\x31":
        return SecurityInfos.decode(data)
    return CardSecurity.decode(data).security_infos


def _send(transport: Transport, cmd: CommandAPDU, what: str) -> bytes:
    """One CA command. Only an answer intact under secure messaging can prove anything: an error status
    word in it is a failed CA (:class:`ChipAuthenticationError`). A damaged answer (MAC failure:
    :class:`SecureMessagingError`, raised as is), a bare status word the secure-messaging layer surfaced
    or an answer without a status word is a link glitch: :class:`TransientError`, retry."""
    try:
        resp = ResponseAPDU.decode(transport.transmit(cmd.encode()))
    except SecureMessagingError:
        raise
    except CardError as exc:  # a bare error SW surfaced by the secure-messaging layer: not protected
        raise TransientError(f"Chip Authentication {what} could not complete: the chip answered "
                             f"without secure messaging ({exc})", step="chip_auth") from exc
    except ParseError:
        raise TransientError(f"Chip Authentication {what} could not complete: the answer has no status "
                             "word", step="chip_auth") from None
    if resp.sw != 0x9000:
        raise ChipAuthenticationError(f"Chip Authentication {what}: the chip answered SW {resp.sw:04X}; "
                                      "it may be a clone, or DG14 names a key the chip does not have")
    return resp.data


def perform_chip_auth(
    sm_transport: Transport,
    dg14: DG14 | SecurityInfos | bytes,
    *,
    random_bytes: RandomBytes | None = None,
    key_id: int | None = None,
) -> ChipAuthResult:
    """Run Chip Authentication over the current secure-messaging transport; return the new session.

    The caller must switch to ``result.session`` (a new ``SecureMessagingTransport`` over the same inner
    transport) for every following command, and record the first read's outcome with ``confirmed``.
    """
    infos = _infos_from(dg14)
    pk, alg, info = select_chip_auth(infos, key_id)
    group = group_of(pk)
    chip_pub = chip_public_value(pk)
    rng = random_bytes or default_random_bytes
    sk = random_int_below(rng, group.order_bound)
    pk_pcd = group.encode(group.public_key(sk, group.generator))
    kid = pk.key_id if pk.key_id is not None else (info.key_id if info else None)
    nonce_r: bytes | None = None
    if alg.cipher == "3DES":
        body = encode_tlv(0x91, pk_pcd) + (b"" if kid is None else encode_tlv(0x84, _key_id_bytes(kid)))
        _send(sm_transport, CommandAPDU(0x00, 0x22, 0x41, 0xA6, body), "MSE:Set KAT")
        version = 1
    else:
        body = encode_tlv(0x80, encode_oid_value(alg.oid)) + (
            b"" if kid is None else encode_tlv(0x84, _key_id_bytes(kid)))
        _send(sm_transport, CommandAPDU(0x00, 0x22, 0x41, 0xA4, body), "MSE:Set AT")
        ga = CommandAPDU(0x00, 0x86, 0x00, 0x00, encode_tlv(0x7C, encode_tlv(0x80, pk_pcd)), le=256)
        resp = _send(sm_transport, ga, "GENERAL AUTHENTICATE")
        version = 1
        token = None
        if resp:
            try:
                outer = decode_one(resp)
            except ParseError:
                raise ChipAuthenticationError("Chip Authentication: malformed GENERAL AUTHENTICATE answer; "
                                              "it may be a clone") from None
            r81, t82 = outer.find(0x81), outer.find(0x82)
            if outer.tag != 0x7C:
                raise ChipAuthenticationError("Chip Authentication: GENERAL AUTHENTICATE answer is not 7C")
            if r81 is not None and t82 is not None:
                nonce_r, token, version = r81.value, t82.value, 2
    try:
        secret = group.shared_secret(sk, chip_pub)
    except (_ec.ECError, _dh.DHError) as exc:
        raise ChipAuthenticationError(f"Chip Authentication: key agreement failed ({exc})") from None
    ks_enc, ks_mac = ca_session_keys(secret, alg.cipher, nonce_r)
    if nonce_r is not None and token is not None:
        expected = ca_token(ks_mac, alg.cipher, alg.oid, alg.key_agreement, pk_pcd)
        if not P.constant_time_equal(expected, token):
            raise ChipAuthenticationError("Chip Authentication: the chip's token does not match; "
                                          "the chip may be a clone")
    return ChipAuthResult(
        protocol_oid=alg.oid, protocol_name=alg.name, key_agreement=alg.key_agreement, cipher=alg.cipher,
        key_id=kid, session=SMSession(ks_enc, ks_mac, alg.cipher, 0), terminal_ephemeral_public_key=pk_pcd,
        chip_public_key=group.encode(chip_pub), version=version,
    )


def verify_cam(pace_result: PACEResult, card_security_or_dg14: CardSecurity | DG14 | SecurityInfos | bytes
               ) -> CAMResult:
    """Check PACE-CAM's chip authentication data against the chip's static key (offline-capable).

    Passes when PK_map,IC = CA_IC * PK_IC for a ChipAuthenticationPublicKeyInfo on PACE's curve.
    EF.CardSecurity's signature must be verified separately
    (:func:`cccd_reader.verify.card_security.verify_card_security`) for the key to be trusted.
    """
    if pace_result.mapping != "CAM":
        raise InputError("verify_cam needs the result of a PACE-CAM run")
    return verify_cam_data(pace_result.cam_data, pace_result.chip_mapping_public_key, card_security_or_dg14)


def verify_cam_data(cam_data: bytes | None, chip_mapping_public_key: bytes | None,
                    card_security_or_dg14: CardSecurity | DG14 | SecurityInfos | bytes) -> CAMResult:
    """:func:`verify_cam` on recorded values: PACE-CAM's decrypted chip authentication data (CA_IC) and
    the chip's mapping public key (PK_map,IC), e.g. from a verification bundle."""
    if cam_data is None or chip_mapping_public_key is None:
        return CAMResult(False, "the PACE result carries no chip authentication data")
    try:
        infos = _infos_from(card_security_or_dg14)
    except ParseError as exc:
        return CAMResult(False, f"the chip authentication key file could not be read ({exc.reason})")
    ca_ic = int.from_bytes(cam_data, "big")
    tried = 0
    for pk in infos.chip_authentication_public_keys:
        dom = pk.public_key.ec_domain
        if dom is None or pk.public_key.ec_point is None:
            continue
        try:
            pk_ic = dom.decode_point(pk.public_key.ec_point)
            pk_map = dom.decode_point(chip_mapping_public_key)
            tried += 1
            if 0 < ca_ic < dom.n and dom.mul(ca_ic, pk_ic) == pk_map:
                return CAMResult(True, None, pk.key_id, pk.public_key.ec_point)
        except _ec.ECError:
            continue
    if not tried:
        return CAMResult(False, "no EC Chip Authentication public key on the PACE curve was found")
    return CAMResult(False, "the chip authentication data does not match the chip's static key: "
                            "the chip may be a clone")


# --- chip ------------------------------------------------------------------------------------------------


class ChipAuthChip:
    """Chip side of Chip Authentication v1 for the emulator (no I/O).

    ``process`` answers MSE:Set KAT, MSE:Set AT (00 22 41 A4) and GENERAL AUTHENTICATE (00 86). After a
    successful key agreement :attr:`new_session` holds the new session: the emulator must protect the
    answer to that command with the *old* session, then switch.
    """

    def __init__(self, public_key: ChipAuthenticationPublicKeyInfo, private_key: int,
                 info: ChipAuthenticationInfo | None = None) -> None:
        self.public_key = public_key
        self._sk = private_key
        self.group = group_of(public_key)
        if info is not None:
            alg = CA_ALGORITHMS.get(info.protocol)
            if alg is None:
                raise UnsupportedProtocol(f"unknown Chip Authentication protocol {info.protocol}")
        else:
            alg = CA_ALGORITHMS[(ID_CA_ECDH if public_key.key_agreement == "ECDH" else ID_CA_DH) + ".1"]
        self.algorithm = alg
        self.new_session: SMSession | None = None
        self._armed = False

    def __repr__(self) -> str:
        return f"ChipAuthChip({self.algorithm.name})"

    def _agree(self, pk_pcd: bytes) -> bool:
        try:
            peer = self.group.decode(pk_pcd)
            secret = self.group.shared_secret(self._sk, peer)
        except (_ec.ECError, _dh.DHError, ValueError):
            return False
        ks_enc, ks_mac = ca_session_keys(secret, self.algorithm.cipher)
        self.new_session = SMSession(ks_enc, ks_mac, self.algorithm.cipher, 0)
        return True

    def process(self, cmd: CommandAPDU) -> ResponseAPDU:
        self.new_session = None
        try:
            if cmd.ins == 0x22 and cmd.p1 == 0x41 and cmd.p2 == 0xA6:
                dos = {t.tag: t.value for t in decode(cmd.data)}
                if 0x91 not in dos or self.algorithm.cipher != "3DES":
                    return ResponseAPDU(b"", 0x6A80)
                return ResponseAPDU(b"", 0x9000 if self._agree(dos[0x91]) else 0x6A80)
            if cmd.ins == 0x22 and cmd.p1 == 0x41 and cmd.p2 == 0xA4:
                dos = {t.tag: t.value for t in decode(cmd.data)}
                if dos.get(0x80) != encode_oid_value(self.algorithm.oid):
                    return ResponseAPDU(b"", 0x6A80)
                self._armed = True
                return ResponseAPDU(b"", 0x9000)
            if cmd.ins == 0x86 and self._armed:
                self._armed = False
                outer = decode_one(cmd.data)
                pk = outer.find(0x80) if outer.tag == 0x7C else None
                if pk is None or not self._agree(pk.value):
                    return ResponseAPDU(b"", 0x6A80)
                return ResponseAPDU(encode_tlv(0x7C, b""), 0x9000)
        except ParseError:
            return ResponseAPDU(b"", 0x6A80)
        return ResponseAPDU(b"", 0x6985 if cmd.ins == 0x86 else 0x6D00)
