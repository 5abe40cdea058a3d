"""Object identifiers of ICAO 9303-11 / BSI TR-03110 security protocols, and what each one means.

Also the small DER helpers (OID, INTEGER) that the SecurityInfos codec and the PACE tokens share.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cccd_reader.errors import ParseError

BSI_DE = "0.4.0.127.0.7"
ID_PK = BSI_DE + ".2.2.1"
ID_PK_DH = ID_PK + ".1"
ID_PK_ECDH = ID_PK + ".2"
ID_TA = BSI_DE + ".2.2.2"
ID_CA = BSI_DE + ".2.2.3"
ID_CA_DH = ID_CA + ".1"
ID_CA_ECDH = ID_CA + ".2"
ID_PACE = BSI_DE + ".2.2.4"
ID_PACE_DH_GM = ID_PACE + ".1"
ID_PACE_ECDH_GM = ID_PACE + ".2"
ID_PACE_DH_IM = ID_PACE + ".3"
ID_PACE_ECDH_IM = ID_PACE + ".4"
ID_PACE_ECDH_CAM = ID_PACE + ".6"
ID_AA = "2.23.136.1.1.5"
ID_DOCUMENT_TYPE_LIST = "2.23.136.1.1.6.2"  # ICAO 9303-12 document signer extension
ID_SECURITY_OBJECT = BSI_DE + ".3.2.1"
STANDARDIZED_DOMAIN_PARAMETERS = BSI_DE + ".1.2"

ID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
ID_PRIME_FIELD = "1.2.840.10045.1.1"
DH_PUBLIC_NUMBER = "1.2.840.10046.2.1"
DH_KEY_AGREEMENT = "1.2.840.113549.1.3.1"
RSA_ENCRYPTION = "1.2.840.113549.1.1.1"

class Cipher(enum.StrEnum):
    """The secure-messaging cipher a PACE or CA OID names (the value is the text used everywhere)."""

    TDES = "3DES"
    AES_128 = "AES-128"
    AES_192 = "AES-192"
    AES_256 = "AES-256"


class PACEMapping(enum.StrEnum):
    """PACE's nonce mapping: Generic, Integrated or Chip Authentication Mapping."""

    GM = "GM"
    IM = "IM"
    CAM = "CAM"


_CIPHER_SUFFIX = {1: Cipher.TDES, 2: Cipher.AES_128, 3: Cipher.AES_192, 4: Cipher.AES_256}


@dataclass(frozen=True)
class PACEAlgorithm:
    oid: str
    key_agreement: str  # "DH" | "ECDH"
    mapping: PACEMapping  # a StrEnum: compares equal to "GM" / "IM" / "CAM"
    cipher: Cipher  # a StrEnum: compares equal to "3DES" / "AES-128" / "AES-192" / "AES-256"

    @property
    def name(self) -> str:
        mode = "3DES-CBC-CBC" if self.cipher == "3DES" else f"AES-CBC-CMAC-{self.cipher[4:]}"
        return f"id-PACE-{self.key_agreement}-{self.mapping}-{mode}"


@dataclass(frozen=True)
class CAAlgorithm:
    oid: str
    key_agreement: str
    cipher: Cipher

    @property
    def name(self) -> str:
        mode = "3DES-CBC-CBC" if self.cipher == "3DES" else f"AES-CBC-CMAC-{self.cipher[4:]}"
        return f"id-CA-{self.key_agreement}-{mode}"


PACE_ALGORITHMS: dict[str, PACEAlgorithm] = {}
for _base, _ka, _map in ((ID_PACE_DH_GM, "DH", PACEMapping.GM), (ID_PACE_ECDH_GM, "ECDH", PACEMapping.GM),
                         (ID_PACE_DH_IM, "DH", PACEMapping.IM), (ID_PACE_ECDH_IM, "ECDH", PACEMapping.IM),
                         (ID_PACE_ECDH_CAM, "ECDH", PACEMapping.CAM)):
    for _suffix, _cipher in _CIPHER_SUFFIX.items():
        if _map is PACEMapping.CAM and _cipher is Cipher.TDES:
            continue  # 9303-11 defines CAM with AES only
        _oid = f"{_base}.{_suffix}"
        PACE_ALGORITHMS[_oid] = PACEAlgorithm(_oid, _ka, _map, _cipher)

CA_ALGORITHMS: dict[str, CAAlgorithm] = {}
for _base, _ka in ((ID_CA_DH, "DH"), (ID_CA_ECDH, "ECDH")):
    for _suffix, _cipher in _CIPHER_SUFFIX.items():
        _oid = f"{_base}.{_suffix}"
        CA_ALGORITHMS[_oid] = CAAlgorithm(_oid, _ka, _cipher)

PACE_DOMAIN_PARAMETER_OIDS = frozenset({ID_PACE_DH_GM, ID_PACE_ECDH_GM, ID_PACE_DH_IM, ID_PACE_ECDH_IM,
                                        ID_PACE_ECDH_CAM})

# Signature algorithms an ActiveAuthenticationInfo may name (BSI TR-03111 plain ECDSA and X9.62).
ECDSA_HASHES: dict[str, str] = {
    BSI_DE + ".1.1.4.1.1": "SHA-1", BSI_DE + ".1.1.4.1.2": "SHA-224", BSI_DE + ".1.1.4.1.3": "SHA-256",
    BSI_DE + ".1.1.4.1.4": "SHA-384", BSI_DE + ".1.1.4.1.5": "SHA-512",
    "1.2.840.10045.4.1": "SHA-1", "1.2.840.10045.4.3.1": "SHA-224", "1.2.840.10045.4.3.2": "SHA-256",
    "1.2.840.10045.4.3.3": "SHA-384", "1.2.840.10045.4.3.4": "SHA-512",
}


# --- DER helpers ----------------------------------------------------------------------------------


def encode_oid_value(oid: str) -> bytes:
    """The content octets of an OBJECT IDENTIFIER (no tag/length)."""
    try:
        arcs = [int(x) for x in oid.split(".")]
    except ValueError:
        raise ValueError(f"not a dotted OID: {oid!r}") from None
    if len(arcs) < 2 or arcs[0] > 2 or (arcs[0] < 2 and arcs[1] >= 40) or any(a < 0 for a in arcs):
        raise ValueError(f"not a valid OID: {oid!r}")
    out = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return bytes(out)


def decode_oid_value(data: bytes, *, file: str | None = None, offset: int | None = None,
                     lenient: bool = False) -> str:
    """The dotted form of an OBJECT IDENTIFIER's content octets (the one OID decoder of the library).

    DER encodes each arc in the fewest base-128 digits, so a leading ``80`` byte is an error; ``lenient``
    accepts it (the arc's value is unchanged) for files read from cards in the field, where a parser that
    refuses a whole data group over it helps nobody. Other malformations raise ParseError either way.
    """
    if not data or data[-1] & 0x80 or len(data) > 64:
        raise ParseError("malformed OBJECT IDENTIFIER", file=file, offset=offset)
    arcs: list[int] = []
    value = 0
    started = False  # inside an arc (a leading 80 byte is only non-minimal at an arc's start)
    for b in data:
        if not started and b == 0x80 and not lenient:
            raise ParseError("OBJECT IDENTIFIER with a non-minimal arc", file=file, offset=offset)
        started = bool(b & 0x80)
        value = (value << 7) | (b & 0x7F)
        if not b & 0x80:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(str(a) for a in head + arcs[1:])


def encode_uint_value(value: int) -> bytes:
    """Content octets of a DER INTEGER for a non-negative value."""
    if value < 0:
        raise ValueError("negative")
    return value.to_bytes(value.bit_length() // 8 + 1, "big")


def decode_int_value(data: bytes, *, file: str | None = None, signed: bool = True) -> int:
    if not data:
        raise ParseError("empty INTEGER", file=file)
    if len(data) > 1024:
        raise ParseError("INTEGER too long", file=file)
    return int.from_bytes(data, "big", signed=signed)
