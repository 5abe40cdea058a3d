"""DG15 (tag 6F): the Active Authentication public key, a SubjectPublicKeyInfo (RSA or EC).

EC keys may carry explicit domain parameters; they are mapped to the named curve when they equal one
(see :class:`~cccd_reader.lds.security_infos.PublicKeyInfo`). RSA moduli are read as unsigned: some
documents encode a 1024-bit modulus without the leading zero byte DER requires.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cccd_reader.errors import ParseError
from cccd_reader.iso7816.tlv import decode_one, encode_tlv
from cccd_reader.lds.security_infos import PublicKeyInfo, decode_public_key_info, trim_padding


@dataclass(frozen=True)
class DG15:
    public_key: PublicKeyInfo
    raw: bytes | None = field(default=None, repr=False, compare=False)

    TAG = 0x6F

    @property
    def algorithm(self) -> str:
        """``"RSA"`` or ``"EC"``."""
        return self.public_key.algorithm

    @classmethod
    def decode(cls, data: bytes) -> DG15:
        data = bytes(data)
        node = decode_one(trim_padding(data, file="DG15"), file="DG15")
        if node.tag != cls.TAG:
            raise ParseError(f"expected tag 6F, found {node.tag:X}", file="DG15", offset=0)
        key = decode_public_key_info(node.value, file="DG15")
        if key.algorithm not in ("RSA", "EC"):
            raise ParseError(f"an Active Authentication key is RSA or EC, not {key.algorithm}", file="DG15")
        return cls(key, data)

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return encode_tlv(self.TAG, self.public_key.encode())

    @classmethod
    def from_public_key(cls, public_key: PublicKeyInfo) -> DG15:
        return cls(public_key)
