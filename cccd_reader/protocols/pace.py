"""PACE (ICAO 9303-11 §4.4, BSI TR-03110-2 §3.2): terminal side, chip side and the pure steps.

Mappings: Generic (ECDH and DH), Integrated (ECDH and DH) and Chip Authentication Mapping (ECDH), over
every standardized domain parameter set (IDs 0-2 MODP, 8-18 NIST / brainpool curves) and every cipher
(3DES, AES-128/192/256). Passwords: CAN and MRZ (PIN / PUK are refused).

Layout:

* pure steps (:func:`decrypt_nonce`, :func:`im_pseudo_random`, :func:`session_keys`,
  :func:`authentication_token`, :func:`cam_decrypt`, ...), each pinned in the tests to ICAO 9303-11
  Appendices G, H, I and the BSI worked example;
* :func:`perform_pace`, the terminal: MSE:Set AT then four chained GENERAL AUTHENTICATE commands;
* :class:`PACEChip`, a chip with no I/O for the emulator, answering the same commands.

Randomness (so recorded sessions replay byte for byte): the terminal draws, in order, the mapping private
key (GM, CAM) or the Integrated Mapping nonce ``t`` (``random_bytes(len)``, ``len`` = the cipher's key
length: 16 for 3DES/AES-128, 24 for AES-192, 32 for AES-256), then its ephemeral private key. Private keys
use :func:`~cccd_reader.transport.base.random_int_below` over the group order (n for curves, q for DH, p-1
when q is unknown). The chip draws the nonce ``s`` (16 bytes for 3DES/AES-128, 32 for AES-192/256, the
length the Integrated Mapping's pseudo-random function takes), then its mapping key, then its ephemeral
key.

The Integrated Mapping pseudo-random function and point encoding are written out by hand here and in
:mod:`cccd_reader.crypto.ec`: no maintained Python library offers them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from cccd_reader.asn1.oids import ID_PACE_ECDH_GM, PACE_ALGORITHMS, PACEAlgorithm, encode_oid_value
from cccd_reader.crypto import dh as _dh
from cccd_reader.crypto import ec as _ec
from cccd_reader.crypto import primitives as P
from cccd_reader.crypto.kdf import ENC, MAC, PACE, kdf
from cccd_reader.crypto.sm import SMSession
from cccd_reader.errors import (
    AccessDenied,
    AuthenticationError,
    InputError,
    ParseError,
    PasswordTypeNotSupported,
    UnsupportedProtocol,
)
from cccd_reader.iso7816.apdu import CommandAPDU, ResponseAPDU
from cccd_reader.iso7816.tlv import TLV, decode, decode_one, encode_tlv
from cccd_reader.keys import CANKey, MRZKey
from cccd_reader.lds.security_infos import PACEInfo, SecurityInfos, parse_card_access
from cccd_reader.transport.base import RandomBytes, Transport, default_random_bytes, random_int_below

# --- the known CCCD profiles ------------------------------------------------------------------------

CCCD_PACE_PROFILES: tuple[PACEInfo, ...] = (
    PACEInfo(ID_PACE_ECDH_GM + ".2", 2, 13),  # PACE-ECDH-GM-AES-CBC-CMAC-128, brainpoolP256r1
    PACEInfo(ID_PACE_ECDH_GM + ".2", 2, 12),  # the same on NIST P-256 (a demo constant in reader code)
)
"""What to try, in order, when EF.CardAccess cannot be read (the CCCD refuses SELECT MF, and some apps
could only hard-code the file). Real cards use ID 13 (cccd-card-facts §8); the P-256 "CCCD" EF.CardAccess
found in reader code is a demo constant, not a card dump, tried second because it costs one attempt."""

PASSWORD_MRZ = 0x01
PASSWORD_CAN = 0x02
PASSWORD_PIN = 0x03
PASSWORD_PUK = 0x04

# --- symmetric pieces (9303-11 §9.7, §4.4.3.3.2) -----------------------------------------------------

KEY_LENGTH = {"3DES": 16, "AES-128": 16, "AES-192": 24, "AES-256": 32}

_C0_128 = bytes.fromhex("a668892a7c41e3ca739f40b057d85904")
_C1_128 = bytes.fromhex("a4e136ac725f738b01c1f60217c188ad")
_C0_256 = bytes.fromhex("d463d65234124ef7897054986dca0a174e28df758cbaa03f240616414d5a1676")
_C1_256 = bytes.fromhex("54bd7255f0aaf831bec3423fcf39d69b6cbf066677d0faae5aadd99df8e53517")


def nonce_length(cipher: str) -> int:
    """Length of the chip nonce s: 128 bits for 3DES / AES-128, 256 bits for AES-192 / AES-256."""
    return 16 if cipher in ("3DES", "AES-128") else 32


def _encrypt(cipher: str, key: bytes, data: bytes, iv: bytes | None = None) -> bytes:
    if cipher == "3DES":
        return P.des3_cbc_encrypt(key, data, iv if iv is not None else bytes(8))
    return P.aes_cbc_encrypt(key, iv if iv is not None else bytes(16), data)


def _decrypt(cipher: str, key: bytes, data: bytes, iv: bytes | None = None) -> bytes:
    if cipher == "3DES":
        return P.des3_cbc_decrypt(key, data, iv if iv is not None else bytes(8))
    return P.aes_cbc_decrypt(key, iv if iv is not None else bytes(16), data)


def password_key(password: bytes, cipher: str) -> bytes:
    """K_pi = KDF(π, 3): the key that encrypts the chip's nonce."""
    return kdf(password, PACE, cipher)


def encrypt_nonce(k_pi: bytes, s: bytes, cipher: str) -> bytes:
    """z = E(K_pi, s), CBC with a zero IV (chip side, step 1)."""
    return _encrypt(cipher, k_pi, s)


def decrypt_nonce(k_pi: bytes, z: bytes, cipher: str) -> bytes:
    """s = D(K_pi, z) (terminal side, step 1)."""
    if not z or len(z) % P.block_size(cipher):
        raise ValueError("the encrypted nonce is not a whole number of cipher blocks")
    return _decrypt(cipher, k_pi, z)


def im_pseudo_random_bytes(s: bytes, t: bytes, p: int, cipher: str) -> bytes:
    """R(s, t) of the Integrated Mapping, unreduced (9303-11 §4.4.3.3.2).

    key_1 = E(t, s); for i = 1..n: x_i = E(key_i, c1), key_{i+1} = E(key_i, c0), each truncated to the key
    length; n is the smallest number with n * l >= log2(p) + 64, l the bit length of s (and of c0, c1).
    E is the PACE cipher in CBC mode with a zero IV.
    """
    l_bits = len(s) * 8
    if l_bits == 128:
        c0, c1 = _C0_128, _C1_128
    elif l_bits == 256:
        c0, c1 = _C0_256, _C1_256
    else:
        raise ValueError("the nonce s must be 128 or 256 bits")
    k_len = KEY_LENGTH[cipher]
    if len(t) != k_len:
        raise ValueError(f"the nonce t must be {k_len} bytes for {cipher}")
    key = _encrypt(cipher, t, s)[:k_len]
    out = bytearray()
    n = 0
    while n * l_bits < p.bit_length() + 64:
        nxt = _encrypt(cipher, key, c0)
        out += _encrypt(cipher, key, c1)
        key = nxt[:k_len]
        n += 1
    return bytes(out)


def im_pseudo_random(s: bytes, t: bytes, p: int, cipher: str) -> int:
    """R_p(s, t) = R(s, t) mod p."""
    return int.from_bytes(im_pseudo_random_bytes(s, t, p, cipher), "big") % p


def session_keys(shared_secret: bytes, cipher: str) -> tuple[bytes, bytes]:
    """(KSenc, KSmac) = (KDF(K, 1), KDF(K, 2))."""
    return kdf(shared_secret, ENC, cipher), kdf(shared_secret, MAC, cipher)


def public_key_data_object(oid: str, key_agreement: str, public_key: bytes) -> bytes:
    """7F49 { 06 OID, 86 point (ECDH) | 84 y (DH) }: the input of the authentication token."""
    tag = 0x86 if key_agreement == "ECDH" else 0x84
    return encode_tlv(0x7F49, encode_tlv(0x06, encode_oid_value(oid)) + encode_tlv(tag, public_key))


def mac8(cipher: str, key: bytes, data: bytes) -> bytes:
    """The 8-byte MAC of the cipher suite: AES-CMAC truncated, or the 3DES retail MAC over padded data."""
    if cipher == "3DES":
        return P.retail_mac(key, data)
    return P.aes_cmac(key, data)[:8]


def authentication_token(
    ks_mac: bytes, cipher: str, oid: str, key_agreement: str, public_key: bytes
) -> bytes:
    """T = MAC(KSmac, 7F49{OID, the *other* party's ephemeral public key})."""
    return mac8(cipher, ks_mac, public_key_data_object(oid, key_agreement, public_key))


_CAM_IV_INPUT = b"\xff" * 16


def cam_encrypt(ks_enc: bytes, ca_data: bytes) -> bytes:
    """A_IC = AES-CBC(KSenc, IV = E(KSenc, FF..FF), pad(CA_IC)) (chip side of CAM)."""
    iv = P.aes_ecb_block(ks_enc, _CAM_IV_INPUT)
    return P.aes_cbc_encrypt(ks_enc, iv, P.pad(ca_data, 16))


def cam_decrypt(ks_enc: bytes, a_ic: bytes) -> bytes:
    """CA_IC from A_IC (terminal side of CAM)."""
    iv = P.aes_ecb_block(ks_enc, _CAM_IV_INPUT)
    return P.unpad(P.aes_cbc_decrypt(ks_enc, iv, a_ic), what="PACE-CAM chip authentication data")


# --- groups: one interface over curves and MODP groups -----------------------------------------------


class Group(Protocol):
    """What a PACE mapping needs from a domain (elements are points or ints)."""

    kind: str
    name: str
    parameter_id: int | None
    prime: int
    order_bound: int

    def encode(self, element: Any) -> bytes: ...
    def decode(self, data: bytes) -> Any: ...
    def public_key(self, private: int, generator: Any) -> Any: ...
    def shared_secret(self, private: int, peer: Any) -> bytes: ...
    def mapping_shared(self, private: int, peer: Any) -> Any: ...
    def generic_map(self, s: int, shared: Any) -> Any: ...
    def integrated_map(self, rp: int) -> Any: ...
    @property
    def generator(self) -> Any: ...


class ECGroup:
    kind = "ECDH"

    def __init__(self, domain: _ec.ECDomain) -> None:
        self.domain = domain
        self.name = domain.name
        self.parameter_id = domain.parameter_id
        self.prime = domain.p
        self.order_bound = domain.n

    @property
    def generator(self) -> _ec.Point:
        return self.domain.generator

    def encode(self, element: _ec.Point) -> bytes:
        return self.domain.encode_point(element)

    def decode(self, data: bytes) -> _ec.Point:
        return self.domain.decode_point(data)

    def public_key(self, private: int, generator: _ec.Point) -> _ec.Point:
        return self.domain.public_key(private, generator)

    def shared_secret(self, private: int, peer: _ec.Point) -> bytes:
        return self.domain.shared_secret(private, peer)

    def mapping_shared(self, private: int, peer: _ec.Point) -> _ec.Point:
        return self.domain.shared_point(private, peer)

    def generic_map(self, s: int, shared: _ec.Point) -> _ec.Point:
        return self.domain.validate(self.domain.generic_map(s, shared))

    def integrated_map(self, rp: int) -> _ec.Point:
        return self.domain.integrated_map(rp)


class DHGroup:
    kind = "DH"

    def __init__(self, domain: _dh.DHDomain) -> None:
        self.domain = domain
        self.name = domain.name
        self.parameter_id = domain.parameter_id
        self.prime = domain.p
        self.order_bound = domain.private_bound

    @property
    def generator(self) -> int:
        return self.domain.g

    def encode(self, element: int) -> bytes:
        return self.domain.encode(element)

    def decode(self, data: bytes) -> int:
        return self.domain.decode(data)

    def public_key(self, private: int, generator: int) -> int:
        return self.domain.public_key(private, generator)

    def shared_secret(self, private: int, peer: int) -> bytes:
        return self.domain.shared_secret(private, peer)

    def mapping_shared(self, private: int, peer: int) -> int:
        return self.domain.shared_value(private, peer)

    def generic_map(self, s: int, shared: int) -> int:
        return self.domain.generic_map(s, shared)

    def integrated_map(self, rp: int) -> int:
        return self.domain.integrated_map(rp)


def group_for(parameter_id: int) -> Group:
    """The group of a standardized domain parameter ID (0-2, 8-18)."""
    if parameter_id in _ec.STANDARD_EC_DOMAINS:
        return ECGroup(_ec.STANDARD_EC_DOMAINS[parameter_id])
    if parameter_id in _dh.STANDARD_DH_DOMAINS:
        return DHGroup(_dh.STANDARD_DH_DOMAINS[parameter_id])
    raise UnsupportedProtocol(f"PACE: domain parameter ID {parameter_id} is not a standardized set "
                              "(0-2, 8-18)")


def _resolve_group(alg: PACEAlgorithm, parameter_id: int | None, infos: SecurityInfos | None) -> Group:
    group: Group | None = None
    if parameter_id is not None and parameter_id < 32:
        group = group_for(parameter_id)
    elif infos is not None:  # proprietary / explicit parameters from a PACEDomainParameterInfo
        for dpi in infos.pace_domain_parameter_infos:
            same_family = alg.oid.startswith(dpi.protocol + ".")
            if same_family and (dpi.parameter_id == parameter_id or parameter_id is None):
                alg_id = dpi.domain_parameter
                if alg_id.ec_domain is not None:
                    group = ECGroup(alg_id.ec_domain)
                elif alg_id.dh_domain is not None:
                    group = DHGroup(alg_id.dh_domain)
                if group is not None:
                    break
    if group is None:
        raise UnsupportedProtocol("PACE: the chip's PACEInfo names no domain parameters this library knows "
                                  "(pass parameter_id)")
    if group.kind != alg.key_agreement:
        raise UnsupportedProtocol(f"PACE: {alg.name} cannot run on {group.name}")
    if alg.mapping == "IM" and isinstance(group, ECGroup) and group.prime % 4 != 3:
        raise UnsupportedProtocol(f"PACE-IM: the point encoding is not defined on {group.name} "
                                  "(p != 3 mod 4)")
    return group


# --- selection and policy ----------------------------------------------------------------------------

_MAPPING_RANK = {"CAM": 0, "GM": 1, "IM": 2}
_CIPHER_RANK = {"AES-256": 0, "AES-192": 1, "AES-128": 2, "3DES": 3}


def _supported(info: PACEInfo, infos: SecurityInfos | None) -> bool:
    alg = info.algorithm
    if alg is None:
        return False
    try:
        _resolve_group(alg, info.parameter_id, infos)
    except UnsupportedProtocol:
        return False
    return True


def select_pace_infos(card_access: SecurityInfos | bytes) -> list[PACEInfo]:
    """The PACEInfos this library can run, best first: CAM > GM > IM, ECDH > DH, stronger cipher first.

    CAM first because it authenticates the chip in the same run; GM before IM because every chip that
    offers IM in the field also offers GM and GM is the better-tested path.
    """
    infos = card_access if isinstance(card_access, SecurityInfos) else parse_card_access(card_access)
    usable = [i for i in infos.pace_infos if _supported(i, infos)]

    def rank(info: PACEInfo) -> tuple[int, int, int]:
        alg = info.algorithm
        assert alg is not None
        return (_MAPPING_RANK[alg.mapping], 0 if alg.key_agreement == "ECDH" else 1, _CIPHER_RANK[alg.cipher])

    return sorted(usable, key=rank)


def pace_profiles_to_try(card_access: SecurityInfos | bytes | None) -> list[PACEInfo]:
    """PACEInfos to attempt in order: from EF.CardAccess when readable, else the known CCCD profiles."""
    if card_access is not None:
        try:
            chosen = select_pace_infos(card_access)
        except ParseError:
            chosen = []
        if chosen:
            return chosen
    return list(CCCD_PACE_PROFILES)


@dataclass(frozen=True)
class PACEPolicy:
    """When the read pipeline may fall back from PACE to BAC.

    * No EF.CardAccess, or no PACE parameters this library supports, or the chip refused PACE as
      unsupported (:class:`UnsupportedProtocol`): BAC is allowed (``allow_bac``).
    * A wrong password (:class:`AccessDenied` from PACE): never, unless ``fallback_after_wrong_password``.
      BAC would fail the same way for a wrong MRZ and, for a wrong CAN, hide the real problem.
    * A transport failure (tag lost) or any other PACE failure: no; retry PACE on a fresh link instead.
      A chip that offers PACE must be read with PACE (9303-11 §4.2), and a downgrade after a
      half-finished PACE is exactly what an attacker in the field would provoke.
    """

    allow_bac: bool = True
    fallback_after_wrong_password: bool = False

    def may_fall_back_to_bac(self, *, card_access_available: bool, pace_error: BaseException | None) -> bool:
        if not self.allow_bac:
            return False
        if pace_error is None:
            return not card_access_available
        if isinstance(pace_error, AccessDenied):
            return self.fallback_after_wrong_password
        return isinstance(pace_error, UnsupportedProtocol | PasswordTypeNotSupported)


# --- results -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PACEResult:
    """What PACE established, with the evidence needed to re-check CAM offline.

    ``session`` (not shown in repr) is the secure-messaging session to read on with (SSC 0).
    """

    protocol_oid: str
    protocol_name: str
    key_agreement: str
    mapping: str
    cipher: str
    parameter_id: int | None
    domain_name: str
    password_type: str
    session: SMSession = field(repr=False, compare=False)
    terminal_ephemeral_public_key: bytes = field(repr=False)
    chip_ephemeral_public_key: bytes = field(repr=False)
    mapped_generator: bytes = field(repr=False)
    chip_mapping_public_key: bytes | None = field(default=None, repr=False)
    terminal_token: bytes = field(default=b"", repr=False)
    chip_token: bytes = field(default=b"", repr=False)
    encrypted_cam_data: bytes | None = field(default=None, repr=False)
    cam_data: bytes | None = field(default=None, repr=False)
    certification_authority_references: tuple[bytes, ...] = ()

    @property
    def performed(self) -> str:
        return "PACE"

    @property
    def passed(self) -> bool:
        return True  # a PACEResult exists only after both tokens verified


# --- terminal --------------------------------------------------------------------------------------------


class PACEStep(enum.StrEnum):
    """The exchanges of a PACE run; the value is how messages name the step. The error a refusal gives
    depends on the step (a refused token in mutual authentication means a wrong password)."""

    SET_AT = "MSE:Set AT"
    ENCRYPTED_NONCE = "step 1 (encrypted nonce)"
    MAP_NONCE = "step 2 (map nonce)"
    KEY_AGREEMENT = "step 3 (key agreement)"
    MUTUAL_AUTHENTICATION = "step 4 (mutual authentication)"


def _exchange(transport: Transport, cmd: CommandAPDU, step: PACEStep, key: CANKey | MRZKey) -> bytes:
    raw = transport.transmit(cmd.encode())
    try:
        resp = ResponseAPDU.decode(raw)
    except ParseError:
        raise AuthenticationError(f"PACE {step}: the chip's answer has no status word") from None
    if resp.sw == 0x9000:
        return resp.data
    sw = resp.sw
    if step is PACEStep.MUTUAL_AUTHENTICATION and (sw >> 8 == 0x63 or sw in (0x6982, 0x6985, 0x6300)):
        raise AccessDenied(f"PACE {step}: the chip rejected the authentication token (SW {sw:04X}): "
                           f"the password is wrong; check {key.describe()}")
    if sw >> 8 == 0x63:
        raise AccessDenied(f"PACE {step}: the chip refused the password (SW {sw:04X}); "
                           f"check {key.describe()}")
    if sw in (0x6A80, 0x6A86, 0x6A88, 0x6D00, 0x6E00, 0x6A81, 0x6A87) and step in (PACEStep.SET_AT,
                                                                                  PACEStep.ENCRYPTED_NONCE):
        raise UnsupportedProtocol(f"PACE {step}: the chip does not accept these parameters (SW {sw:04X})")
    raise AuthenticationError(f"PACE {step}: the chip answered SW {sw:04X}")


def _dynamic_auth(data: bytes, step: str, want: int | None) -> bytes:
    try:
        outer = decode_one(data, allow_trailing=False)
    except ParseError:
        raise AuthenticationError(f"PACE {step}: malformed dynamic authentication data") from None
    if outer.tag != 0x7C:
        raise AuthenticationError(f"PACE {step}: expected dynamic authentication data (7C)")
    if want is None:
        return b""
    found = outer.find(want)
    if found is None:
        raise AuthenticationError(f"PACE {step}: the answer lacks data object {want:02X}")
    return found.value


def _ga(data: bytes, *, last: bool) -> CommandAPDU:
    return CommandAPDU(0x00 if last else 0x10, 0x86, 0x00, 0x00, encode_tlv(0x7C, data), le=256)


def mse_set_at_pace(oid: str, password_ref: int, parameter_id: int | None) -> CommandAPDU:
    """MSE:Set AT for PACE: 80 OID, 83 password reference, 84 parameter ID; no Le (some chips reject one)."""
    body = encode_tlv(0x80, encode_oid_value(oid)) + encode_tlv(0x83, bytes([password_ref]))
    if parameter_id is not None:
        body += encode_tlv(0x84, parameter_id.to_bytes(max(1, (parameter_id.bit_length() + 7) // 8), "big"))
    return CommandAPDU(0x00, 0x22, 0xC1, 0xA4, body)


def perform_pace(
    transport: Transport,
    key: CANKey | MRZKey,
    *,
    pace_info: PACEInfo | None = None,
    card_access: SecurityInfos | bytes | None = None,
    random_bytes: RandomBytes | None = None,
    parameter_id: int | None = None,
    send_parameter_id: bool = True,
) -> PACEResult:
    """Run PACE with a CAN or MRZ key and return the established session.

    The parameters come from ``pace_info`` or, when only ``card_access`` is given, from the best
    supported PACEInfo in it (:func:`select_pace_infos`). ``parameter_id`` overrides the PACEInfo's. With
    ``send_parameter_id`` (default) MSE:Set AT carries DO84 with the parameter ID (older chips answer
    6A87 without it); pass False to send the command exactly as ICAO's examples print it.

    Raises :class:`AccessDenied` for a wrong password (at mutual authentication, naming the inputs to
    check), :class:`UnsupportedProtocol` for parameters this library or the chip does not support,
    :class:`PasswordTypeNotSupported` for anything but a CAN or MRZ key, and
    :class:`AuthenticationError` (naming the step) for any other failure, including invalid keys from
    a hostile chip.
    """
    if not isinstance(key, CANKey | MRZKey):
        raise PasswordTypeNotSupported("PACE is run with a CAN or the MRZ; PIN and PUK are not supported")
    infos: SecurityInfos | None = None
    if card_access is not None:
        infos = card_access if isinstance(card_access, SecurityInfos) else parse_card_access(card_access)
    if pace_info is None:
        if infos is None:
            raise InputError("perform_pace needs pace_info or card_access (see pace_profiles_to_try)")
        candidates = select_pace_infos(infos)
        if not candidates:
            raise UnsupportedProtocol("EF.CardAccess lists no PACE parameters this library supports")
        pace_info = candidates[0]
    alg = pace_info.algorithm
    if alg is None:
        raise UnsupportedProtocol(f"PACE protocol {pace_info.protocol} is not supported")
    pid = parameter_id if parameter_id is not None else pace_info.parameter_id
    group = _resolve_group(alg, pid, infos)
    rng = random_bytes or default_random_bytes
    cipher = alg.cipher
    oid = alg.oid

    # MSE:Set AT
    _exchange(transport, mse_set_at_pace(oid, key.pace_password_ref, pid if send_parameter_id else None),
              PACEStep.SET_AT, key)

    # step 1: encrypted nonce
    z = _dynamic_auth(_exchange(transport, _ga(b"", last=False), PACEStep.ENCRYPTED_NONCE, key),
                      "step 1 (encrypted nonce)", 0x80)
    k_pi = key.k_pi(cipher)
    try:
        s = decrypt_nonce(k_pi, z, cipher)
    except ValueError:
        raise AuthenticationError("PACE step 1 (encrypted nonce): the nonce has a wrong length") from None

    # step 2: map the nonce
    step = PACEStep.MAP_NONCE
    chip_mapping_pk: bytes | None = None
    try:
        if alg.mapping in ("GM", "CAM"):
            sk_map = random_int_below(rng, group.order_bound)
            pk_map = group.encode(group.public_key(sk_map, group.generator))
            resp = _exchange(transport, _ga(encode_tlv(0x81, pk_map), last=False), step, key)
            chip_mapping_pk = _dynamic_auth(resp, step, 0x82)
            peer = group.decode(chip_mapping_pk)
            if group.encode(peer) == pk_map:
                raise AuthenticationError(f"PACE {step}: the chip echoed the terminal's mapping key")
            generator = group.generic_map(int.from_bytes(s, "big"), group.mapping_shared(sk_map, peer))
        else:
            t = rng(KEY_LENGTH[cipher])
            resp = _exchange(transport, _ga(encode_tlv(0x81, t), last=False), step, key)
            _dynamic_auth(resp, step, None)
            generator = group.integrated_map(im_pseudo_random(s, t, group.prime, cipher))
    except (_ec.ECError, _dh.DHError) as exc:
        raise AuthenticationError(f"PACE {step}: invalid mapping data from the chip ({exc})") from None

    # step 3: key agreement
    step = PACEStep.KEY_AGREEMENT
    sk = random_int_below(rng, group.order_bound)
    try:
        pk_pcd = group.encode(group.public_key(sk, generator))
    except (_ec.ECError, _dh.DHError) as exc:
        raise AuthenticationError(f"PACE {step}: {exc}") from None
    resp = _exchange(transport, _ga(encode_tlv(0x83, pk_pcd), last=False), step, key)
    pk_ic = _dynamic_auth(resp, step, 0x84)
    try:
        peer_eph = group.decode(pk_ic)
        if group.encode(peer_eph) == pk_pcd:
            raise AuthenticationError(f"PACE {step}: the chip's ephemeral key equals the terminal's")
        secret = group.shared_secret(sk, peer_eph)
    except (_ec.ECError, _dh.DHError) as exc:
        raise AuthenticationError(f"PACE {step}: invalid ephemeral key from the chip ({exc})") from None
    ks_enc, ks_mac = session_keys(secret, cipher)

    # step 4: mutual authentication
    step = PACEStep.MUTUAL_AUTHENTICATION
    t_pcd = authentication_token(ks_mac, cipher, oid, alg.key_agreement, group.encode(peer_eph))
    resp = _exchange(transport, _ga(encode_tlv(0x85, t_pcd), last=True), step, key)
    try:
        outer = decode_one(resp)
    except ParseError:
        raise AuthenticationError(f"PACE {step}: malformed answer") from None
    t86 = outer.find(0x86) if outer.tag == 0x7C else None
    if t86 is None:
        raise AuthenticationError(f"PACE {step}: the answer lacks the chip's token (86)")
    expected = authentication_token(ks_mac, cipher, oid, alg.key_agreement, pk_pcd)
    if not P.constant_time_equal(t86.value, expected):
        raise AccessDenied(f"PACE {step}: the chip's authentication token does not match; the password "
                           f"is wrong or the chip is not genuine; check {key.describe()}")
    cars = tuple(c.value for c in (outer.children or ()) if c.tag in (0x87, 0x88))
    encrypted_cam = cam_data = None
    if alg.mapping == "CAM":
        do8a = outer.find(0x8A)
        if do8a is None:
            raise AuthenticationError(f"PACE {step}: PACE-CAM answer lacks the chip authentication data (8A)")
        encrypted_cam = do8a.value
        try:
            cam_data = cam_decrypt(ks_enc, encrypted_cam)
        except (ParseError, ValueError):
            raise AuthenticationError(f"PACE {step}: the chip authentication data does not decrypt") from None

    return PACEResult(
        protocol_oid=oid, protocol_name=alg.name, key_agreement=alg.key_agreement, mapping=alg.mapping,
        cipher=cipher, parameter_id=pid, domain_name=group.name, password_type=key.kind,
        session=SMSession(ks_enc, ks_mac, cipher, 0),
        terminal_ephemeral_public_key=pk_pcd, chip_ephemeral_public_key=pk_ic,
        mapped_generator=group.encode(generator), chip_mapping_public_key=chip_mapping_pk,
        terminal_token=t_pcd, chip_token=t86.value, encrypted_cam_data=encrypted_cam, cam_data=cam_data,
        certification_authority_references=cars,
    )


# --- chip ------------------------------------------------------------------------------------------------


SW_OK = 0x9000
SW_AUTH_FAILED = 0x6300
SW_WRONG_DATA = 0x6A80
SW_REF_NOT_FOUND = 0x6A88
SW_CONDITIONS = 0x6985
SW_CHAINING = 0x6883


class PACEChip:
    """A PACE chip with no I/O: feed it MSE:Set AT and GENERAL AUTHENTICATE, it answers.

    ``passwords`` maps password references (1 MRZ, 2 CAN; 3/4 for conformance examples with a PIN) to
    the password π; ``keys`` fills it from :class:`CANKey` / :class:`MRZKey`. ``chip_static_private_key``
    is the Chip Authentication key the CAM step proves possession of. After a successful run
    :attr:`session` holds the new secure-messaging session (SSC 0) and :attr:`established` is True.
    A wrong terminal token answers 6300 and resets the protocol (a new MSE:Set AT is needed).
    """

    def __init__(
        self,
        pace_infos: Iterable[PACEInfo] | SecurityInfos,
        keys: Iterable[CANKey | MRZKey] = (),
        *,
        passwords: Mapping[int, bytes] | None = None,
        random_bytes: RandomBytes | None = None,
        chip_static_private_key: int | None = None,
    ) -> None:
        infos = pace_infos.pace_infos if isinstance(pace_infos, SecurityInfos) else tuple(pace_infos)
        self.pace_infos: tuple[PACEInfo, ...] = tuple(infos)
        self._passwords: dict[int, bytes] = {k.pace_password_ref: k.password for k in keys}
        self._passwords.update(passwords or {})
        self._rng = random_bytes or default_random_bytes
        self._static_sk = chip_static_private_key
        self.session: SMSession | None = None
        self.established = False
        self.last_error: str | None = None
        self._reset()

    def __repr__(self) -> str:
        return f"PACEChip(protocols={[i.protocol for i in self.pace_infos]}, established={self.established})"

    def _reset(self) -> None:
        self._state = "idle"
        self._alg: PACEAlgorithm | None = None
        self._group: Group | None = None
        self._password: bytes | None = None
        self._s = b""
        self._sk_map = 0
        self._generator: Any = None
        self._sk = 0
        self._pk_ic = b""
        self._pk_pcd = b""
        self._ks: tuple[bytes, bytes] | None = None

    def _fail(self, sw: int, why: str) -> ResponseAPDU:
        self.last_error = why
        self._reset()
        return ResponseAPDU(b"", sw)

    def process(self, cmd: CommandAPDU) -> ResponseAPDU:
        """Answer MSE:Set AT (00 22 C1 A4) or GENERAL AUTHENTICATE (x0 86 00 00); anything else 6D00."""
        if cmd.ins == 0x22 and cmd.p1 == 0xC1 and cmd.p2 == 0xA4:
            return self.mse_set_at(cmd)
        if cmd.ins == 0x86:
            return self.general_authenticate(cmd)
        return ResponseAPDU(b"", 0x6D00)

    def mse_set_at(self, cmd: CommandAPDU) -> ResponseAPDU:
        self._reset()
        self.established = False
        try:
            dos = {t.tag: t.value for t in decode(cmd.data)}
        except ParseError:
            return self._fail(SW_WRONG_DATA, "MSE:Set AT data is not TLV")
        if 0x80 not in dos or 0x83 not in dos or len(dos[0x83]) != 1:
            return self._fail(SW_WRONG_DATA, "MSE:Set AT lacks 80 or 83")
        try:
            oid = _oid_from_value(dos[0x80])
        except ParseError:
            return self._fail(SW_WRONG_DATA, "bad OID")
        pid = dos[0x84][0] if 0x84 in dos and len(dos[0x84]) == 1 else None
        matches = [i for i in self.pace_infos
                   if i.protocol == oid and (pid is None or i.parameter_id in (pid, None))]
        if not matches or matches[0].algorithm is None:
            return self._fail(SW_WRONG_DATA, "protocol or parameters not offered")
        ref = dos[0x83][0]
        if ref not in self._passwords:
            return self._fail(SW_REF_NOT_FOUND, "password reference unknown")
        info = matches[0]
        alg = info.algorithm
        assert alg is not None
        try:
            group = _resolve_group(alg, info.parameter_id if pid is None else pid, None)
        except UnsupportedProtocol:
            return self._fail(SW_WRONG_DATA, "domain parameters unsupported")
        if alg.mapping == "CAM" and self._static_sk is None:
            return self._fail(SW_WRONG_DATA, "CAM needs a chip authentication key")
        self._alg, self._group, self._password = alg, group, self._passwords[ref]
        self._state = "ready"
        return ResponseAPDU(b"", SW_OK)

    def general_authenticate(self, cmd: CommandAPDU) -> ResponseAPDU:
        alg, group = self._alg, self._group
        if alg is None or group is None or self._password is None:
            return self._fail(SW_CONDITIONS, "GENERAL AUTHENTICATE without MSE:Set AT")
        chained = bool(cmd.cla & 0x10)
        try:
            outer = decode_one(cmd.data)
        except ParseError:
            return self._fail(SW_WRONG_DATA, "data is not TLV")
        if outer.tag != 0x7C:
            return self._fail(SW_WRONG_DATA, "expected 7C")
        state = self._state
        if (state == "agreed") == chained:
            return self._fail(SW_CHAINING, "command chaining: CLA 10 for steps 1-3, 00 for step 4")
        cipher = alg.cipher
        try:
            if state == "ready":
                if outer.children:
                    return self._fail(SW_WRONG_DATA, "step 1 carries no data")
                self._s = self._rng(nonce_length(cipher))
                z = encrypt_nonce(password_key(self._password, cipher), self._s, cipher)
                self._state = "nonce"
                return _ok(encode_tlv(0x80, z))
            if state == "nonce":
                d81 = _child(outer, 0x81)
                if alg.mapping in ("GM", "CAM"):
                    peer = group.decode(d81)
                    self._sk_map = random_int_below(self._rng, group.order_bound)
                    pk_map = group.encode(group.public_key(self._sk_map, group.generator))
                    shared = group.mapping_shared(self._sk_map, peer)
                    self._generator = group.generic_map(int.from_bytes(self._s, "big"), shared)
                    self._state = "mapped"
                    return _ok(encode_tlv(0x82, pk_map))
                rp = im_pseudo_random(self._s, d81, group.prime, cipher)
                self._generator = group.integrated_map(rp)
                self._state = "mapped"
                return _ok(b"")
            if state == "mapped":
                self._pk_pcd = _child(outer, 0x83)
                peer = group.decode(self._pk_pcd)
                self._sk = random_int_below(self._rng, group.order_bound)
                self._pk_ic = group.encode(group.public_key(self._sk, self._generator))
                if self._pk_ic == self._pk_pcd:
                    return self._fail(SW_WRONG_DATA, "equal ephemeral keys")
                self._ks = session_keys(group.shared_secret(self._sk, peer), cipher)
                self._state = "agreed"
                return _ok(encode_tlv(0x84, self._pk_ic))
            if state == "agreed":
                assert self._ks is not None
                ks_enc, ks_mac = self._ks
                t_pcd = _child(outer, 0x85)
                expected = authentication_token(ks_mac, cipher, alg.oid, alg.key_agreement, self._pk_ic)
                if not P.constant_time_equal(t_pcd, expected):
                    return self._fail(SW_AUTH_FAILED, "terminal token mismatch (wrong password)")
                body = encode_tlv(0x86, authentication_token(ks_mac, cipher, alg.oid, alg.key_agreement,
                                                             self._pk_pcd))
                if alg.mapping == "CAM":
                    assert isinstance(group, ECGroup) and self._static_sk is not None
                    n = group.domain.n
                    ca_ic = (pow(self._static_sk, -1, n) * self._sk_map) % n
                    ca_bytes = ca_ic.to_bytes(group.domain.order_size, "big")
                    body += encode_tlv(0x8A, cam_encrypt(ks_enc, ca_bytes))
                self.session = SMSession(ks_enc, ks_mac, cipher, 0)
                self.established = True
                self._state = "done"
                return _ok(body)
        except (_ec.ECError, _dh.DHError, ValueError, ParseError) as exc:
            return self._fail(SW_WRONG_DATA, f"invalid data: {exc}")
        return self._fail(SW_CONDITIONS, "protocol already finished")


def _ok(body: bytes) -> ResponseAPDU:
    return ResponseAPDU(encode_tlv(0x7C, body), SW_OK)


def _child(outer: TLV, tag: int) -> bytes:
    found = outer.find(tag)
    if found is None:
        raise ValueError(f"missing data object {tag:02X}")
    return found.value


def _oid_from_value(value: bytes) -> str:
    from cccd_reader.asn1.oids import decode_oid_value

    return decode_oid_value(value)


def chip_pace_infos_for(
    mappings: Sequence[str], parameter_ids: Sequence[int], ciphers: Sequence[str]
) -> list[PACEInfo]:
    """PACEInfos for every supported combination (a helper for the emulator and tests)."""
    out = []
    for oid, alg in PACE_ALGORITHMS.items():
        if alg.mapping in mappings and alg.cipher in ciphers:
            for pid in parameter_ids:
                kind = "ECDH" if pid in _ec.STANDARD_EC_DOMAINS else "DH"
                if kind == alg.key_agreement:
                    out.append(PACEInfo(oid, 2, pid))
    return out

