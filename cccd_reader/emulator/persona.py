"""Personas: a synthetic person described in a JSON file, turned into a personalised virtual chip.

A persona file (schema in docs/emulator.md) holds the DG13 fields numbered as on the card
(cccd-card-facts §4.2), the portrait, the card generation and the card profile. Everything else is
derived from them the way the issuer derives it, so one file cannot contradict itself by accident:

* the MRZ (DG1): document number = ID digits 4-12, the full ID in the optional data, the expiry
  ``991231`` when DG13 field 12 says the card does not expire;
* the QR payload: 7 fields (CCCD 2021) or 11 (Căn cước 2024), the old ID field empty when DG13 has no
  field 15; ``qr_overrides`` makes a deliberately inconsistent card;
* the CAN: the last 6 digits of the ID unless the persona says otherwise;
* the chip's Chip and Active Authentication keys: from the persona's seed (deterministic) or from PEM
  files in the persona folder.

:func:`build_card` encodes every file with the library's own LDS encoders, hashes them into an EF.SOD
signed by a document signer (the sample PKI's by default) and returns a :class:`VirtualCard`.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec as cec
from cryptography.hazmat.primitives.asymmetric import rsa

from cccd_reader.asn1 import oids
from cccd_reader.crypto import ec as _ec
from cccd_reader.errors import InputError
from cccd_reader.folding import ascii_fold
from cccd_reader.keys import NO_EXPIRY, CANKey, MRZKey
from cccd_reader.mrz import check_digit
from cccd_reader.transport.base import RandomBytes, random_int_below

from .card import (
    CardProfile,
    ProtocolResponder,
    Responder,
    SeededRandom,
    SteppedProtocolResponder,
    VirtualCard,
)
from .faults import Fault
from .filesystem import FileSystem
from .portraits import draw_portrait
from .sample_pki import sample_signer
from .signer import DocumentSigner as DocumentSigner
from .signer import load_pem_key

SCHEMA = 1
GENERATIONS = ("cccd-2021", "can-cuoc-2024")
AA_KEY_TYPES = ("RSA-1024", "RSA-2048", "RSA-3072", "EC-P256", "EC-brainpoolP256r1", "EC-brainpoolP384r1")
PACE_MAPPINGS = ("GM", "IM", "CAM")
PACE_PASSWORDS = ("CAN", "MRZ")
_SELECT_MF = {"6D00": 0x6D00, "6A82": 0x6A82, "6A86": 0x6A86, "9000": None}
_AA_CURVES = {"EC-P256": "secp256r1", "EC-brainpoolP256r1": "brainpoolP256r1",
              "EC-brainpoolP384r1": "brainpoolP384r1"}
_PROFILE_KEYS = frozenset({"name", "pace", "bac", "chip_authentication", "active_authentication",
                           "extended_length", "max_response", "select_mf", "eac_data_groups", "sod",
                           "eof_warning", "protect_errors", "exact_le", "atr", "dg2_encoding",
                           "dg13_parents", "ef_com", "dg14", "dg2_declared_size", "dg2_header_version",
                           "document_signer"})
# The layout real CCCD chips use (cccd-card-facts §8), which is the default; the other values keep the
# shapes the first sample chips had, so both stay tested.
EF_COM_ORDERS = ("real", "ascending")  # real: DG15 listed before DG14
DG14_LAYOUTS = ("real", "legacy")  # real: TA, CA, PACE infos, then the CA key with explicit parameters
DOCUMENT_SIGNERS = ("vietnam-eid", "vn-test")  # the sample PKI's two test issuers (samples/pki/README.md)
REAL_DG2_DECLARED_SIZE = (480, 400)  # what real CCCD DG2 records declare, whatever the image's size
_TOP_KEYS = frozenset({"schema", "label", "description", "generation", "dg13", "mrz_name", "can",
                       "portrait", "qr_overrides", "profile", "keys"})


def _err(message: str, field_name: str) -> InputError:
    return InputError(f"persona: {message} ({field_name})")


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _dmy(text: str, field_name: str) -> _dt.date:
    """A DG13 date ``dd/MM/yyyy``."""
    try:
        return _dt.datetime.strptime(text, "%d/%m/%Y").date()
    except (TypeError, ValueError):
        raise _err("a date is written dd/MM/yyyy", field_name) from None


# --- the card profile in a persona file --------------------------------------------------------------


@dataclass(frozen=True)
class PACEOffer:
    """What PACE the chip offers: standardized domain parameter IDs × mappings, and the passwords."""

    parameter_ids: tuple[int, ...] = (13,)
    mappings: tuple[str, ...] = ("GM",)
    passwords: tuple[str, ...] = ("CAN", "MRZ")
    cipher: str = "AES-128"

    def protocol_oid(self, mapping: str) -> str:
        base = {"GM": oids.ID_PACE_ECDH_GM, "IM": oids.ID_PACE_ECDH_IM, "CAM": oids.ID_PACE_ECDH_CAM}[mapping]
        return f"{base}.{_CIPHER_SUFFIX[self.cipher]}"


_CIPHER_SUFFIX = {"3DES": 1, "AES-128": 2, "AES-192": 3, "AES-256": 4}


@dataclass(frozen=True)
class ChipProfile:
    """The persona's card model: PACE offer, BAC, CA/AA keys, read limits, quirks."""

    name: str = "cccd"
    pace: PACEOffer | None = field(default_factory=PACEOffer)
    bac: bool = True
    ca_parameter_id: int | None = 13
    ca_cipher: str = "AES-128"
    aa_key: str | None = "RSA-2048"
    extended_length: bool = True
    max_response: int = 1024
    select_mf_sw: int | None = 0x6D00
    eac_data_groups: tuple[int, ...] = (3,)
    sod_hash: str = "sha256"
    eof_warning: bool = True
    protect_errors: bool = True
    exact_le: bool = False
    atr: bytes | None = None
    dg2_encoding: str = "19794"
    dg13_parents: str = "two"
    ef_com: str = "real"
    dg14: str = "real"
    dg2_declared_size: tuple[int, int] | None = REAL_DG2_DECLARED_SIZE  # None: the image's own size
    dg2_header_version: bool = False  # real records have no ICAO header version (tag 80)
    document_signer: str = "vietnam-eid"

    def card_profile(self) -> CardProfile:
        return CardProfile(
            name=self.name,
            extended_length=self.extended_length,
            max_response=self.max_response,
            select_mf_sw=self.select_mf_sw,
            eof_warning=self.eof_warning,
            protect_errors=self.protect_errors,
            exact_le=self.exact_le,
            atr=self.atr,
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ChipProfile:
        if not isinstance(data, Mapping):
            raise _err("the profile is an object", "profile")
        unknown = set(data) - _PROFILE_KEYS
        if unknown:
            raise _err(f"unknown profile keys {sorted(unknown)}", "profile")
        kw: dict[str, Any] = {}
        if "name" in data:
            kw["name"] = str(data["name"])
        if "pace" in data:
            kw["pace"] = None if data["pace"] is None else _pace_offer(data["pace"])
        for key in ("bac", "extended_length", "eof_warning", "protect_errors", "exact_le"):
            if key in data:
                if not isinstance(data[key], bool):
                    raise _err("must be true or false", f"profile.{key}")
                kw[key] = data[key]
        if "chip_authentication" in data:
            ca = data["chip_authentication"]
            if ca is None:
                kw["ca_parameter_id"] = None
            elif isinstance(ca, Mapping):
                pid = ca.get("parameter_id", 13)
                if pid not in _ec.STANDARD_EC_DOMAINS:
                    raise _err("an EC standardized domain parameter ID (8-18)", "profile.chip_authentication")
                kw["ca_parameter_id"] = pid
                kw["ca_cipher"] = str(ca.get("cipher", "AES-128"))
                if kw["ca_cipher"] not in _CIPHER_SUFFIX:
                    raise _err("cipher is 3DES or AES-128/192/256", "profile.chip_authentication")
            else:
                raise _err("an object or null", "profile.chip_authentication")
        if "active_authentication" in data:
            aa = data["active_authentication"]
            if aa is not None and aa not in AA_KEY_TYPES:
                raise _err(f"one of {', '.join(AA_KEY_TYPES)} or null", "profile.active_authentication")
            kw["aa_key"] = aa
        if "max_response" in data:
            mr = data["max_response"]
            if not isinstance(mr, int) or not 16 <= mr <= 65536:
                raise _err("16 to 65536", "profile.max_response")
            kw["max_response"] = mr
        if "select_mf" in data:
            if data["select_mf"] not in _SELECT_MF:
                raise _err(f"one of {', '.join(_SELECT_MF)}", "profile.select_mf")
            kw["select_mf_sw"] = _SELECT_MF[data["select_mf"]]
        if "eac_data_groups" in data:
            groups = data["eac_data_groups"]
            if not isinstance(groups, list) or not all(isinstance(g, int) and 1 <= g <= 16 for g in groups):
                raise _err("a list of data group numbers", "profile.eac_data_groups")
            kw["eac_data_groups"] = tuple(groups)
        if "sod" in data:
            sod = data["sod"]
            if not isinstance(sod, Mapping) or sod.get("hash", "sha256") not in ("sha1", "sha224", "sha256",
                                                                                 "sha384", "sha512"):
                raise _err("{\"hash\": \"sha256\"} (sha1/224/256/384/512)", "profile.sod")
            kw["sod_hash"] = sod.get("hash", "sha256")
        if "atr" in data:
            try:
                kw["atr"] = bytes.fromhex(str(data["atr"]))
            except ValueError:
                raise _err("hex", "profile.atr") from None
        if "dg2_encoding" in data:
            if data["dg2_encoding"] not in ("19794", "39794"):
                raise _err("19794 or 39794", "profile.dg2_encoding")
            kw["dg2_encoding"] = data["dg2_encoding"]
        if "dg13_parents" in data:
            if data["dg13_parents"] not in ("two", "one"):
                raise _err("two or one", "profile.dg13_parents")
            kw["dg13_parents"] = data["dg13_parents"]
        for key, choices in (("ef_com", EF_COM_ORDERS), ("dg14", DG14_LAYOUTS),
                             ("document_signer", DOCUMENT_SIGNERS)):
            if key in data:
                if data[key] not in choices:
                    raise _err(" or ".join(choices), f"profile.{key}")
                kw[key] = data[key]
        if "dg2_declared_size" in data:
            size = data["dg2_declared_size"]
            if size is None:
                kw["dg2_declared_size"] = None
            elif (isinstance(size, list) and len(size) == 2
                  and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 65535 for v in size)):
                kw["dg2_declared_size"] = (size[0], size[1])
            else:
                raise _err("[width, height] (0-65535) or null for the image's own size",
                           "profile.dg2_declared_size")
        if "dg2_header_version" in data:
            if not isinstance(data["dg2_header_version"], bool):
                raise _err("must be true or false", "profile.dg2_header_version")
            kw["dg2_header_version"] = data["dg2_header_version"]
        profile = cls(**kw)
        if profile.pace is not None and "CAM" in profile.pace.mappings and (
                profile.ca_parameter_id not in profile.pace.parameter_ids):
            raise _err("PACE-CAM needs a Chip Authentication key on one of the PACE curves",
                       "profile.pace.mappings")
        return profile


def _pace_offer(data: Any) -> PACEOffer:
    if not isinstance(data, Mapping):
        raise _err("an object or null", "profile.pace")
    ids = tuple(data.get("parameter_ids", (13,)))
    maps = tuple(data.get("mappings", ("GM",)))
    pwds = tuple(data.get("passwords", ("CAN", "MRZ")))
    cipher = str(data.get("cipher", "AES-128"))
    if not ids or not all(isinstance(i, int) and i in _ec.STANDARD_EC_DOMAINS for i in ids):
        raise _err("EC standardized domain parameter IDs (12 = P-256, 13 = brainpoolP256r1, ...)",
                   "profile.pace.parameter_ids")
    if not maps or not all(m in PACE_MAPPINGS for m in maps):
        raise _err(f"mappings among {', '.join(PACE_MAPPINGS)}", "profile.pace.mappings")
    if not pwds or not all(p in PACE_PASSWORDS for p in pwds):
        raise _err("passwords among CAN, MRZ", "profile.pace.passwords")
    if cipher not in _CIPHER_SUFFIX or ("CAM" in maps and cipher == "3DES"):
        raise _err("cipher is AES-128/192/256 (or 3DES without CAM)", "profile.pace.cipher")
    return PACEOffer(ids, maps, pwds, cipher)


# --- the persona --------------------------------------------------------------------------------------

DG13Value = str | tuple[str, ...] | None


@dataclass(frozen=True)
class Persona:
    """A synthetic card holder and the card issued to them. ``repr`` shows only the label."""

    label: str
    generation: str
    dg13: Mapping[int, DG13Value] = field(repr=False)
    profile: ChipProfile = field(default_factory=ChipProfile, repr=False)
    description: str = field(default="", repr=False)
    portrait_path: Path | None = field(default=None, repr=False)
    no_portrait: bool = field(default=False, repr=False)  # a child under 6: no DG2 at all
    can_override: str | None = field(default=None, repr=False)
    mrz_name_override: str | None = field(default=None, repr=False)
    qr_overrides: Mapping[int, str] = field(default_factory=dict, repr=False)
    key_seed: str = field(default="", repr=False)
    ca_key_path: Path | None = field(default=None, repr=False)
    aa_key_path: Path | None = field(default=None, repr=False)
    folder: Path | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"Persona({self.label!r}, generation={self.generation!r})"

    # --- the DG13 fields as typed values ----------------------------------------------------------------

    def text(self, number: int) -> str | None:
        value = self.dg13.get(number)
        if isinstance(value, tuple):
            return value[0] if value else None
        return value

    @property
    def id_number(self) -> str:
        value = self.text(1)
        assert value is not None  # checked when loading
        return value

    @property
    def full_name(self) -> str:
        return self.text(2) or ""

    @property
    def date_of_birth(self) -> _dt.date:
        return _dmy(self.text(3) or "", "dg13.3")

    @property
    def sex(self) -> str:
        return self.text(4) or ""

    @property
    def sex_letter(self) -> str:
        folded = ascii_fold(self.sex).lower()
        return {"nam": "M", "nu": "F"}.get(folded, "<")

    @property
    def old_id_number(self) -> str | None:
        return self.text(15) or None

    @property
    def address(self) -> str:
        return self.text(9) or ""

    @property
    def issue_date(self) -> _dt.date:
        return _dmy(self.text(11) or "", "dg13.11")

    @property
    def expiry_date(self) -> _dt.date | None:
        """``None``: the card does not expire (DG13 field 12 is not a date, e.g. "Không thời hạn")."""
        text = self.text(12)
        if not text:
            return None
        try:
            return _dt.datetime.strptime(text, "%d/%m/%Y").date()
        except ValueError:
            return None

    @property
    def can(self) -> str:
        return self.can_override or self.id_number[-6:]

    @property
    def document_number(self) -> str:
        return self.id_number[3:12]

    # --- what is printed / encoded ----------------------------------------------------------------------

    def mrz_lines(self) -> tuple[str, str, str]:
        """The TD1 MRZ of the card (cccd-card-facts §2.1)."""
        doc = self.document_number
        id12 = self.id_number
        line1 = "IDVNM" + doc + check_digit(doc) + id12 + "<<" + check_digit(id12)
        dob = self.date_of_birth.strftime("%y%m%d")
        doe = NO_EXPIRY if self.expiry_date is None else self.expiry_date.strftime("%y%m%d")
        line2 = dob + check_digit(dob) + self.sex_letter + doe + check_digit(doe) + "VNM" + "<" * 11
        composite = line1[5:30] + line2[0:7] + line2[8:15] + line2[18:29]
        line2 += check_digit(composite)
        return line1, line2, self.mrz_name()

    def mrz_name(self) -> str:
        if self.mrz_name_override:
            return self.mrz_name_override.ljust(30, "<")[:30]
        words = ascii_fold(self.full_name).split()
        if not words:
            return "<" * 30
        surname, given = words[0], words[1:]
        name = surname + "<<" + "<".join(given)
        name = "".join(c if c.isascii() and (c.isalnum() or c == "<") else "<" for c in name)
        return name.ljust(30, "<")[:30]

    def qr_fields(self) -> list[str]:
        """The QR payload fields: ID | old ID | name | DOB | sex | address | issue date [| | | |]."""

        def shown(number: int) -> str:
            if number in self.qr_overrides:
                return self.qr_overrides[number]
            return self.text(number) or ""

        def qr_date(number: int) -> str:
            text = shown(number)
            return text.replace("/", "") if text else ""

        fields = [shown(1), shown(15), shown(2), qr_date(3), shown(4), shown(9), qr_date(11)]
        if self.generation == "can-cuoc-2024":
            fields += ["", "", "", ""]
        return fields

    def qr_payload(self) -> str:
        return "|".join(self.qr_fields())

    def mrz_key(self) -> MRZKey:
        return MRZKey(self.document_number, self.date_of_birth, self.expiry_date)

    def can_key(self) -> CANKey:
        return CANKey(self.can)

    def portrait_bytes(self) -> bytes:
        """The portrait file's bytes, or a synthetic face drawn from the persona's seed."""
        if self.portrait_path is not None:
            try:
                return self.portrait_path.read_bytes()
            except OSError as exc:
                raise _err(f"cannot read the portrait ({exc.strerror})", "portrait") from None
        return draw_portrait(self.key_seed or self.label, female=self.sex_letter == "F", fmt="JPEG")

    def dg13_fields(self) -> dict[int, str | Sequence[str] | None]:
        out: dict[int, str | Sequence[str] | None] = {}
        for number, value in self.dg13.items():
            out[number] = list(value) if isinstance(value, tuple) else value
        return out


def _dg13_value(number: int, value: Any) -> DG13Value:
    if value is None:
        return None
    if isinstance(value, str):
        return _nfc(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(_nfc(v) for v in value)
    raise _err("a DG13 value is a string, a list of strings or null", f"dg13.{number}")


def persona_from_dict(data: Mapping[str, Any], *, folder: Path | None = None) -> Persona:
    """Validate a decoded persona file. Messages name the field, never its value.

    Total: whatever JSON value is given, the result is a :class:`Persona` or an :class:`InputError`.
    """
    try:
        return _persona_from_dict(data, folder)
    except InputError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, OverflowError):
        raise InputError("persona: a value has the wrong type or shape (see docs/emulator.md)") from None


def _persona_from_dict(data: Mapping[str, Any], folder: Path | None) -> Persona:
    if not isinstance(data, Mapping):
        raise _err("the file holds one JSON object", "top level")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise _err(f"unknown keys {sorted(unknown)}", "top level")
    if data.get("schema", SCHEMA) != SCHEMA:
        raise _err(f"this library reads schema {SCHEMA}", "schema")
    label = data.get("label")
    if not isinstance(label, str) or not label or not all(c.isascii() and (c.isalnum() or c in "-_")
                                                          for c in label):
        raise _err("a short ASCII name (letters, digits, - and _)", "label")
    generation = data.get("generation", "cccd-2021")
    if generation not in GENERATIONS:
        raise _err(f"one of {', '.join(GENERATIONS)}", "generation")
    raw13 = data.get("dg13")
    if not isinstance(raw13, Mapping) or not raw13:
        raise _err("an object of numbered fields {\"1\": ..., \"2\": ...}", "dg13")
    dg13: dict[int, DG13Value] = {}
    for key, value in raw13.items():
        try:
            number = int(key)
        except (TypeError, ValueError):
            raise _err("field numbers are integers", "dg13") from None
        if not 1 <= number <= 255:
            raise _err("field numbers are 1 to 255", "dg13")
        dg13[number] = _dg13_value(number, value)
    id_number = dg13.get(1)
    if not (isinstance(id_number, str) and len(id_number) == 12 and id_number.isascii()
            and id_number.isdigit()):
        raise _err("field 1 is the 12-digit ID number", "dg13.1")
    for required in (2, 3, 4, 11):
        if not isinstance(dg13.get(required), str) or not dg13[required]:
            raise _err("required", f"dg13.{required}")
    _dmy(str(dg13[3]), "dg13.3")
    _dmy(str(dg13[11]), "dg13.11")
    old = dg13.get(15)
    if old is not None and (not isinstance(old, str) or not old.isascii() or not old.isdigit()):
        raise _err("field 15 is the old ID number (digits) or absent", "dg13.15")
    can = data.get("can")
    if can is not None:
        CANKey(can)  # validates
    qr_overrides: dict[int, str] = {}
    for key, value in (data.get("qr_overrides") or {}).items():
        try:
            qr_overrides[int(key)] = _nfc(str(value))
        except ValueError:
            raise _err("numbered like dg13", "qr_overrides") from None
    keys = data.get("keys") or {}
    if not isinstance(keys, Mapping):
        raise _err("an object {\"seed\": ..., \"ca_key\": file, \"aa_key\": file}", "keys")
    base = folder or Path(".")
    portrait = data.get("portrait")
    mrz_name = data.get("mrz_name")
    if mrz_name is not None and (not isinstance(mrz_name, str) or not all(
            c.isascii() and (c.isupper() or c.isdigit() or c == "<") for c in mrz_name)):
        raise _err("A-Z, 0-9 and <", "mrz_name")
    persona = Persona(
        label=label,
        generation=generation,
        dg13=dg13,
        profile=ChipProfile.from_json(data.get("profile") or {}),
        description=str(data.get("description", "")),
        portrait_path=(base / str(portrait)) if portrait else None,
        no_portrait=portrait is False,
        can_override=can,
        mrz_name_override=mrz_name,
        qr_overrides=qr_overrides,
        key_seed=str(keys.get("seed", label)),
        ca_key_path=(base / str(keys["ca_key"])) if keys.get("ca_key") else None,
        aa_key_path=(base / str(keys["aa_key"])) if keys.get("aa_key") else None,
        folder=folder,
    )
    persona.mrz_key()  # the derived access key must be valid
    return persona


def load_persona(path: str | Path) -> Persona:
    """Read a persona file (or a folder holding ``persona.json``)."""
    path = Path(path)
    if path.is_dir():
        path = path / "persona.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"persona: cannot read the file ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"persona: not valid JSON (line {exc.lineno})") from None
    return persona_from_dict(data, folder=path.parent)


# --- the chip's own keys --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardKeys:
    """The chip's static private keys: Chip Authentication (EC) and Active Authentication (RSA or EC)."""

    ca_domain: _ec.ECDomain | None = field(default=None, repr=False)
    ca_private: int | None = field(default=None, repr=False)
    aa_key: rsa.RSAPrivateKey | cec.EllipticCurvePrivateKey | None = field(default=None, repr=False)
    aa_domain: _ec.ECDomain | None = field(default=None, repr=False)
    aa_private: int | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        ca = self.ca_domain.name if self.ca_domain else None
        aa = type(self.aa_key).__name__ if self.aa_key is not None else None
        return f"CardKeys(ca={ca!r}, aa={aa!r})"

    @property
    def ca_public(self) -> _ec.Point | None:
        if self.ca_domain is None or self.ca_private is None:
            return None
        return self.ca_domain.public_key(self.ca_private)


_SMALL_PRIMES = [p for p in range(3, 2000) if all(p % q for q in range(2, math.isqrt(p) + 1))]


def _probable_prime(n: int, rb: RandomBytes, rounds: int = 40) -> bool:
    if n < 2:
        return False
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d //= 2
        r += 1
    for _ in range(rounds):
        a = 2 + random_int_below(rb, n - 3)
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _prime(bits: int, rb: RandomBytes, e: int) -> int:
    while True:
        candidate = int.from_bytes(rb(bits // 8), "big") | (3 << (bits - 2)) | 1
        if math.gcd(e, candidate - 1) == 1 and _probable_prime(candidate, rb):
            return candidate


@functools.lru_cache(maxsize=32)
def rsa_key_from_seed(seed: str, bits: int) -> rsa.RSAPrivateKey:
    """An RSA key drawn deterministically from ``seed``: a test chip's key, the same on every run."""
    rb = SeededRandom(f"{seed}/rsa-{bits}")
    e = 65537
    while True:
        p, q = _prime(bits // 2, rb, e), _prime(bits // 2, rb, e)
        if p != q and (p * q).bit_length() == bits:
            break
    if p < q:
        p, q = q, p
    d = pow(e, -1, (p - 1) * (q - 1))
    numbers = rsa.RSAPrivateNumbers(
        p=p, q=q, d=d, dmp1=rsa.rsa_crt_dmp1(d, p), dmq1=rsa.rsa_crt_dmq1(d, q), iqmp=rsa.rsa_crt_iqmp(p, q),
        public_numbers=rsa.RSAPublicNumbers(e, p * q),
    )
    return numbers.private_key()


def _ec_private_from_seed(seed: str, purpose: str, domain: _ec.ECDomain) -> int:
    return random_int_below(SeededRandom(f"{seed}/{purpose}"), domain.n)


def card_keys(persona: Persona) -> CardKeys:
    """The chip's keys: from the persona's key files when given, else derived from its seed."""
    prof = persona.profile
    ca_domain = ca_private = None
    if prof.ca_parameter_id is not None:
        ca_domain = _ec.STANDARD_EC_DOMAINS[prof.ca_parameter_id]
        if persona.ca_key_path is not None:
            key = load_pem_key(persona.ca_key_path, "keys.ca_key")
            if not isinstance(key, cec.EllipticCurvePrivateKey):
                raise _err("the Chip Authentication key must be an EC key", "keys.ca_key")
            ca_private = key.private_numbers().private_value
        else:
            ca_private = _ec_private_from_seed(persona.key_seed, "ca", ca_domain)
    aa_key: rsa.RSAPrivateKey | cec.EllipticCurvePrivateKey | None = None
    aa_domain = aa_private = None
    if prof.aa_key is not None:
        if persona.aa_key_path is not None:
            loaded = load_pem_key(persona.aa_key_path, "keys.aa_key")
            if not isinstance(loaded, rsa.RSAPrivateKey | cec.EllipticCurvePrivateKey):
                raise _err("the Active Authentication key must be RSA or EC", "keys.aa_key")
            aa_key = loaded
        elif prof.aa_key.startswith("RSA-"):
            aa_key = rsa_key_from_seed(persona.key_seed, int(prof.aa_key[4:]))
        else:
            dom = _ec.named_curve(_AA_CURVES[prof.aa_key])
            assert dom is not None
            aa_domain = dom
            aa_private = _ec_private_from_seed(persona.key_seed, "aa", dom)
            curve = dom.cryptography_curve()
            if curve is not None:
                aa_key = cec.derive_private_key(aa_private, curve)
        if isinstance(aa_key, cec.EllipticCurvePrivateKey) and aa_domain is None:
            aa_domain = _ec.named_curve(aa_key.curve.name)
            aa_private = aa_key.private_numbers().private_value
    return CardKeys(ca_domain, ca_private, aa_key, aa_domain, aa_private)


# --- building the chip ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardImage:
    """Everything personalisation produced: the encoded files and the chip's secrets."""

    persona: Persona
    files: FileSystem = field(repr=False)
    data_groups: Mapping[int, bytes] = field(repr=False)
    keys: CardKeys = field(repr=False)


def card_access_infos(persona: Persona) -> list[Any]:
    """EF.CardAccess contents, in the order the CCCD lists them: TA, CA, then the PACE offers."""
    from cccd_reader.lds.security_infos import ChipAuthenticationInfo, PACEInfo, TerminalAuthenticationInfo

    prof = persona.profile
    infos: list[Any] = []
    if prof.eac_data_groups:
        infos.append(TerminalAuthenticationInfo(oids.ID_TA, 1))
    if prof.ca_parameter_id is not None:
        infos.append(ChipAuthenticationInfo(f"{oids.ID_CA_ECDH}.{_CIPHER_SUFFIX[prof.ca_cipher]}", 1))
    if prof.pace is not None:
        for mapping in prof.pace.mappings:
            for pid in prof.pace.parameter_ids:
                if mapping == "CAM" and pid != prof.ca_parameter_id:
                    continue  # CAM proves the Chip Authentication key, so it runs on that key's curve only
                infos.append(PACEInfo(prof.pace.protocol_oid(mapping), 2, pid))
    return infos


def _dg14_infos(persona: Persona, keys: CardKeys) -> list[Any]:
    from cccd_reader.lds.security_infos import (
        ActiveAuthenticationInfo,
        ChipAuthenticationInfo,
        ChipAuthenticationPublicKeyInfo,
        PublicKeyInfo,
        TerminalAuthenticationInfo,
    )

    prof = persona.profile
    infos: list[Any] = []
    if prof.dg14 == "real":
        # as on real CCCD chips: EF.CardAccess's TA, CA and PACE infos, then the CA public key with
        # explicit domain parameters (ecdpVer1, cofactor 1)
        infos.extend(card_access_infos(persona))
        if keys.ca_domain is not None and keys.ca_public is not None:
            spki = PublicKeyInfo.from_ec(keys.ca_domain, keys.ca_public, form="explicit")
            infos.append(ChipAuthenticationPublicKeyInfo(oids.ID_PK_ECDH, spki))
    else:
        if keys.ca_domain is not None and keys.ca_public is not None:
            spki = PublicKeyInfo.from_ec(keys.ca_domain, keys.ca_public, form="named")
            infos.append(ChipAuthenticationPublicKeyInfo(oids.ID_PK_ECDH, spki))
            infos.append(ChipAuthenticationInfo(f"{oids.ID_CA_ECDH}.{_CIPHER_SUFFIX[prof.ca_cipher]}", 1))
        if prof.eac_data_groups:
            infos.append(TerminalAuthenticationInfo(oids.ID_TA, 1))
    if keys.aa_domain is not None:
        # ECDSA Active Authentication names its signature algorithm (9303-11 §6.1): plain ECDSA SHA-256
        infos.append(ActiveAuthenticationInfo(oids.ID_AA, 1, oids.BSI_DE + ".1.1.4.1.3"))
    return infos


def _dg15(keys: CardKeys) -> bytes | None:
    from cccd_reader.iso7816.tlv import encode_tlv

    if keys.aa_key is None and keys.aa_domain is None:
        return None
    if keys.aa_key is not None:
        spki = keys.aa_key.public_key().public_bytes(serialization.Encoding.DER,
                                                     serialization.PublicFormat.SubjectPublicKeyInfo)
    else:
        from cccd_reader.lds.security_infos import PublicKeyInfo

        assert keys.aa_domain is not None and keys.aa_private is not None
        spki = PublicKeyInfo.from_ec(keys.aa_domain, keys.aa_domain.public_key(keys.aa_private)).encode()
    return encode_tlv(0x6F, spki)


_DG3_EMPTY = bytes.fromhex("63057F6102020100")  # a biometric group template announcing no fingerprints


def _signing_time(persona: Persona, signer: DocumentSigner) -> _dt.datetime:
    """When the chip was personalised: the issue date, but never before the signer's certificate starts
    (the sample document signer is younger than the 2021 sample cards)."""
    from cryptography import x509

    issued = _dt.datetime.combine(persona.issue_date, _dt.time(9, 0), tzinfo=_dt.UTC)
    not_before = x509.load_der_x509_certificate(signer.certificate_der).not_valid_before_utc
    return max(issued, not_before + _dt.timedelta(days=1))


def ef_com_order(data_groups: Mapping[int, bytes] | Sequence[int], order: str = "real") -> list[int]:
    """The tag list of EF.COM: ascending, or as real CCCD chips list it (DG1, DG2, DG3, DG13, DG15, DG14)."""
    numbers = sorted(data_groups)
    if order == "real" and 14 in numbers and 15 in numbers:
        i, j = numbers.index(14), numbers.index(15)
        numbers[i], numbers[j] = 15, 14
    return numbers


def personalize(persona: Persona, signer: DocumentSigner, *, keys: CardKeys | None = None) -> CardImage:
    """Encode every file of the persona's chip and sign its EF.SOD (deterministic for a given signer)."""
    from cccd_reader.issue.signing import build_sod
    from cccd_reader.lds.com import EFCOM
    from cccd_reader.lds.dg1 import DG1
    from cccd_reader.lds.dg2 import DG2
    from cccd_reader.lds.dg13 import DG13
    from cccd_reader.lds.security_infos import DG14, SecurityInfos

    keys = keys or card_keys(persona)
    prof = persona.profile
    dgs: dict[int, bytes] = {}
    dgs[1] = DG1.from_mrz("\n".join(persona.mrz_lines())).encode()
    declared = prof.dg2_declared_size or (None, None)
    if not persona.no_portrait:  # cards of children under 6 carry no portrait: no DG2, not in the SOD
        dgs[2] = DG2.from_image(persona.portrait_bytes(), declared[0], declared[1],
                                encoding=prof.dg2_encoding, header_version=prof.dg2_header_version).encode()
    if 3 in prof.eac_data_groups:
        dgs[3] = _DG3_EMPTY
    parents: Literal["one", "two"] = "one" if prof.dg13_parents == "one" else "two"
    dgs[13] = DG13.build(persona.dg13_fields(), parents=parents).encode()
    dg14_infos = _dg14_infos(persona, keys)
    if dg14_infos:
        dgs[14] = DG14(SecurityInfos.build(dg14_infos)).encode()
    dg15 = _dg15(keys)
    if dg15 is not None:
        dgs[15] = dg15
    com = EFCOM.build("0107", "040000", ef_com_order(dgs, prof.ef_com)).encode()
    signing_time = _signing_time(persona, signer)
    sod = build_sod(dgs, signer_key=signer.key, signer_cert=signer.certificate_der,
                    hash_algorithm=prof.sod_hash, signing_time=signing_time)
    card_access = SecurityInfos.build(card_access_infos(persona)).encode()
    card_security = None
    if prof.pace is not None and "CAM" in prof.pace.mappings:
        # PACE-CAM: the terminal checks the chip's proof against the CA key signed in EF.CardSecurity
        from cccd_reader.issue.signing import build_signed_data

        content = SecurityInfos.build([*card_access_infos(persona), *_dg14_infos(persona, keys)]).encode()
        card_security = build_signed_data(oids.ID_SECURITY_OBJECT, content, signer_key=signer.key,
                                          signer_cert=signer.certificate_der, hash_algorithm=prof.sod_hash,
                                          signing_time=signing_time)
    files = FileSystem.from_lds(card_access=card_access, com=com, sod=sod, data_groups=dgs,
                                card_security=card_security, eac_protected=prof.eac_data_groups)
    return CardImage(persona, files, dgs, keys)


def protocol_responders(image: CardImage, random_bytes: RandomBytes) -> list[Responder]:
    """The chip sides of BAC, PACE, Chip and Active Authentication for a personalised chip.

    Each comes from ``cccd_reader.protocols``; the emulator has no second implementation of any of them.
    """
    persona, prof = image.persona, image.persona.profile
    out: list[Responder] = []
    if prof.bac:
        from cccd_reader.protocols.bac import BACChip

        mrz_key = persona.mrz_key()
        out.append(ProtocolResponder("BAC", lambda: BACChip.from_key(mrz_key, random_bytes=random_bytes),
                                     secure=False))
    if prof.pace is not None:
        out.append(pace_responder(image, random_bytes))
    if image.keys.ca_domain is not None:
        out.append(chip_auth_responder(image))
    if image.keys.aa_key is not None or image.keys.aa_domain is not None:
        out.append(active_auth_responder(image, random_bytes))
    return out


def chip_auth_responder(image: CardImage) -> Responder:
    """Chip Authentication v1 (MSE:Set KAT for 3DES, MSE:Set AT + GENERAL AUTHENTICATE for AES) with the
    key whose public half is in DG14."""
    from cccd_reader.lds.security_infos import ChipAuthenticationInfo, ChipAuthenticationPublicKeyInfo
    from cccd_reader.protocols.chip_auth import ChipAuthChip

    infos = _dg14_infos(image.persona, image.keys)
    public = next(i for i in infos if isinstance(i, ChipAuthenticationPublicKeyInfo))
    info = next(i for i in infos if isinstance(i, ChipAuthenticationInfo))
    private = image.keys.ca_private
    assert private is not None

    def factory() -> ChipAuthChip:
        return ChipAuthChip(public, private, info)

    return SteppedProtocolResponder("CA", factory, mse=(0x41, 0xA4, 0x41, 0xA6), secure=True,
                                    session_attr="new_session")


def active_auth_responder(image: CardImage, random_bytes: RandomBytes) -> Responder:
    """Active Authentication: INTERNAL AUTHENTICATE signed with the key whose public half is DG15
    (RSA: ISO/IEC 9796-2 scheme 1 with SHA-1; EC: plain ECDSA with SHA-256, as DG14 announces)."""
    from cccd_reader.protocols.active_auth import ActiveAuthChip

    keys = image.keys

    def factory() -> ActiveAuthChip:
        if isinstance(keys.aa_key, rsa.RSAPrivateKey):
            return ActiveAuthChip.rsa(keys.aa_key, hash_name="SHA-1", random_bytes=random_bytes)
        assert keys.aa_domain is not None and keys.aa_private is not None
        return ActiveAuthChip.ec(keys.aa_domain, keys.aa_private, hash_name="SHA-256",
                                 random_bytes=random_bytes)

    return SteppedProtocolResponder("AA", factory, mse=(), other_ins=(0x88,), secure=True)


def pace_responder(image: CardImage, random_bytes: RandomBytes) -> Responder:
    """The chip side of PACE for the persona's offer (mappings × curves, CAN and/or MRZ password)."""
    from cccd_reader.lds.security_infos import PACEInfo
    from cccd_reader.protocols.pace import PACEChip

    persona, offer = image.persona, image.persona.profile.pace
    assert offer is not None
    infos = [i for i in card_access_infos(persona) if isinstance(i, PACEInfo)]
    keys: list[CANKey | MRZKey] = []
    if "CAN" in offer.passwords:
        keys.append(persona.can_key())
    if "MRZ" in offer.passwords:
        keys.append(persona.mrz_key())
    static = image.keys.ca_private if "CAM" in offer.mappings else None

    def factory() -> PACEChip:
        return PACEChip(infos, keys, random_bytes=random_bytes, chip_static_private_key=static)

    return SteppedProtocolResponder("PACE", factory, mse=(0xC1, 0xA4), secure=None)


def build_card(persona: Persona | str | Path, *, signer: DocumentSigner | None = None,
               random_bytes: RandomBytes | None = None, faults: Sequence[Fault] = (),
               keys: CardKeys | None = None) -> VirtualCard:
    """Personalise a virtual chip for ``persona`` (a :class:`Persona` or the path of a persona file).

    ``signer`` defaults to the sample PKI's document signer (test keys). The chip's randomness defaults
    to a generator seeded from the persona, so two runs give the same session bytes.
    """
    if not isinstance(persona, Persona):
        persona = load_persona(persona)
    if signer is None:
        signer = sample_signer(persona.profile.document_signer)
    image = personalize(persona, signer, keys=keys)
    rb = random_bytes or SeededRandom(f"{persona.key_seed}/chip")
    card = VirtualCard(image.files, profile=persona.profile.card_profile(),
                       responders=protocol_responders(image, rb), random_bytes=rb, faults=faults,
                       name=persona.label)
    card.persona = persona
    card.image = image
    return card
