"""Access keys for the chip, and the rules that derive them from what is printed on the card.

* :class:`CANKey`: PACE with the Card Access Number. On the CCCD the CAN is the last 6 digits of the
  12-digit personal ID (cccd-card-facts §3.2).
* :class:`MRZKey`: BAC, or PACE with the MRZ password, from document number, date of birth and date of
  expiry. On the CCCD the document number is ``id_number[3:12]`` and "no expiry" is ``991231``.

Keys never show their secret parts in ``repr``/``str``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
from dataclasses import dataclass, field

from cccd_reader.crypto.kdf import ENC, MAC, PACE, kdf
from cccd_reader.errors import KeyInputError
from cccd_reader.mrz import check_digit

NO_EXPIRY = "991231"


@dataclass(frozen=True)
class CANKey:
    """PACE Card Access Number (6 digits)."""

    can: str = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.can, str) or len(self.can) != 6 or not self.can.isascii() or not self.can.isdigit():
            raise KeyInputError("a CAN is 6 digits (on the CCCD: the last 6 digits of the 12-digit ID number)")

    kind = "CAN"
    pace_password_ref = 0x02

    @property
    def password(self) -> bytes:
        """The PACE password π: the CAN's ASCII digits (9303-11 §9.7.3)."""
        return self.can.encode("ascii")

    def k_pi(self, cipher: str) -> bytes:
        return kdf(self.password, PACE, cipher)

    def __repr__(self) -> str:
        return "CANKey(can=***)"

    def describe(self) -> str:
        return "the CAN (last 6 digits of the ID number)"


@dataclass(frozen=True)
class MRZKey:
    """BAC / PACE-MRZ key from document number, date of birth and date of expiry (``None`` = no expiry)."""

    document_number: str = field(repr=False)
    date_of_birth: _dt.date = field(repr=False)
    date_of_expiry: _dt.date | None = field(repr=False)

    kind = "MRZ"
    pace_password_ref = 0x01

    def __post_init__(self) -> None:
        doc = self.document_number
        if not isinstance(doc, str) or not doc or len(doc) > 22 or not all(c.isascii() and (c.isalnum() or c == "<") for c in doc):
            raise KeyInputError("the document number must be 1-22 characters of A-Z, 0-9 (on the CCCD: ID digits 4-12)")
        if doc.upper() != doc:
            object.__setattr__(self, "document_number", doc.upper())
        if not isinstance(self.date_of_birth, _dt.date):
            raise KeyInputError("date_of_birth must be a datetime.date")
        if self.date_of_expiry is not None and not isinstance(self.date_of_expiry, _dt.date):
            raise KeyInputError("date_of_expiry must be a datetime.date or None (no expiry)")

    @property
    def mrz_information(self) -> str:
        """Document number (padded to 9 with '<') + check, DOB YYMMDD + check, DOE YYMMDD + check."""
        doc = self.document_number.ljust(9, "<")
        dob = self.date_of_birth.strftime("%y%m%d")
        doe = NO_EXPIRY if self.date_of_expiry is None else self.date_of_expiry.strftime("%y%m%d")
        return doc + check_digit(doc) + dob + check_digit(dob) + doe + check_digit(doe)

    @property
    def password(self) -> bytes:
        """The PACE password π = SHA-1(MRZ information) (9303-11 §9.7.3)."""
        return hashlib.sha1(self.mrz_information.encode("ascii")).digest()

    @property
    def k_seed(self) -> bytes:
        """BAC K_seed = the first 16 bytes of SHA-1(MRZ information) (9303-11 §9.7.2)."""
        return self.password[:16]

    def bac_keys(self) -> tuple[bytes, bytes]:
        """(K_enc, K_mac) for BAC: 3DES keys derived from K_seed."""
        return kdf(self.k_seed, ENC, "3DES"), kdf(self.k_seed, MAC, "3DES")

    def k_pi(self, cipher: str) -> bytes:
        return kdf(self.password, PACE, cipher)

    def __repr__(self) -> str:
        return f"MRZKey(document_number=***, date_of_birth=***, date_of_expiry={'***' if self.date_of_expiry else 'None'})"

    def describe(self) -> str:
        return "the MRZ data (document number = ID digits 4-12, date of birth, date of expiry)"


AccessKey = CANKey | MRZKey
