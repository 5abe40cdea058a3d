"""The verification bundle format, version 1: JSON text, bytes as base64 (docs/bundle.md).

Written from a :class:`~cccd_reader.read.records.CardRecord` (``to_bundle``) and read back by
:func:`load_bundle`; the checks on it are :mod:`cccd_reader.bundle`, above the read package.

JSON rather than CBOR: a server's operators can open it, every language parses it without a new
dependency, and it travels in the JSON APIs those servers already speak. The price is a third more
bytes for the binary parts (a ~15 KB read becomes ~20 KB). Nothing in the bundle is signed as a whole:
what makes it worth checking is that the chip's own signatures (EF.SOD, Active Authentication) cover the
evidence inside it, so the encoding needs no canonical form.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cccd_reader.errors import BundleError, BundleVersionError

if TYPE_CHECKING:
    from cccd_reader.read.records import CardRecord

BUNDLE_FORMAT = "cccd-reader/verification-bundle"
BUNDLE_VERSION = 1
MAX_BUNDLE_BYTES = 4 * 1024 * 1024  # a read is ~20 KB; refuse to parse anything absurdly larger
# file names a bundle may carry (the raw bytes read from the chip)
FILE_NAMES = frozenset({"EF.CardAccess", "EF.CardSecurity", "EF.COM", "EF.SOD",
                        *(f"DG{n}" for n in range(1, 17))})


@dataclass(frozen=True)
class Bundle:
    """A parsed bundle. ``files`` are raw bytes by name; the rest as the desk recorded it."""

    files: Mapping[str, bytes] = field(repr=False)
    access: Mapping[str, Any]
    reader_time: _dt.datetime | None
    library: Mapping[str, Any]
    aa_challenge: bytes | None = field(default=None, repr=False)
    aa_signature: bytes | None = field(default=None, repr=False)
    pace_cam: Mapping[str, bytes] | None = field(default=None, repr=False)
    chip_auth: Mapping[str, Any] | None = None
    qr_payload: str | None = field(default=None, repr=False)
    desk: Mapping[str, Any] = field(default_factory=dict, repr=False)  # the desk's decoded record
    version: int = BUNDLE_VERSION


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(bytes(data)).decode("ascii")


def make_bundle(record: CardRecord) -> bytes:
    """The bundle of ``record`` as UTF-8 JSON bytes."""
    from cccd_reader import __version__

    ev = record.evidence
    sec = record.security
    pace = dict(ev.pace) if ev.pace else None
    pace_cam = None
    if pace is not None:
        cam_data = pace.pop("cam_data", None)
        chip_key = pace.pop("chip_mapping_public_key", None)
        if pace.get("mapping") == "CAM":
            pace_cam = {"cam_data": _b64(cam_data), "chip_mapping_public_key": _b64(chip_key)}
    desk = record.to_dict(include_portrait=False)
    doc: dict[str, Any] = {
        "format": BUNDLE_FORMAT,
        "version": BUNDLE_VERSION,
        "library": {"name": "cccd-reader", "version": __version__},
        "reader_time": ev.read_time.isoformat() if ev.read_time else None,
        "files": {name: _b64(data) for name, data in sorted(record.files.items())},
        "access": {"protocol": sec.access_protocol, "key": sec.access_key, "detail": sec.access_detail,
                   "pace": pace},
        "active_authentication": (None if ev.aa_challenge is None or ev.aa_signature is None else
                                  {"challenge": _b64(ev.aa_challenge), "signature": _b64(ev.aa_signature)}),
        "pace_cam": pace_cam,
        "chip_authentication": dict(ev.chip_auth) if ev.chip_auth else None,
        "qr_payload": ev.qr_payload,
        "desk": desk,
    }
    return json.dumps(doc, ensure_ascii=False, indent=1, sort_keys=False).encode("utf-8")


# --- reading ---------------------------------------------------------------------------------------------


def _bytes(value: Any, where: str) -> bytes:
    if not isinstance(value, str):
        raise BundleError(f"{where} must be base64 text")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise BundleError(f"{where} is not valid base64") from None


def _opt_bytes(value: Any, where: str) -> bytes | None:
    return None if value is None else _bytes(value, where)


def _mapping(value: Any, where: str, *, optional: bool = True) -> dict[str, Any] | None:
    if value is None and optional:
        return None
    if not isinstance(value, dict):
        raise BundleError(f"{where} must be an object")
    return value


def load_bundle(data: bytes | str | Mapping[str, Any]) -> Bundle:
    """Parse a bundle (bytes, text or an already parsed JSON object); :class:`BundleError` if malformed,
    :class:`BundleVersionError` if written by a newer format version."""
    if isinstance(data, bytes | bytearray | memoryview):
        if len(data) > MAX_BUNDLE_BYTES:
            raise BundleError("the bundle is larger than any read produces")
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise BundleError("the bundle is not UTF-8 JSON text") from None
    if isinstance(data, str):
        if len(data) > MAX_BUNDLE_BYTES:
            raise BundleError("the bundle is larger than any read produces")
        try:
            doc = json.loads(data)
        except (json.JSONDecodeError, RecursionError):
            raise BundleError("the bundle is not JSON") from None
    elif isinstance(data, Mapping):
        doc = dict(data)
    else:
        raise BundleError("a bundle is bytes, text or a parsed JSON object")
    if not isinstance(doc, dict) or doc.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"not a verification bundle (no \"format\": \"{BUNDLE_FORMAT}\")")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BundleError("the bundle's version must be a positive whole number")
    if version > BUNDLE_VERSION:
        raise BundleVersionError(f"bundle format version {version} is newer than this library reads "
                                 f"(up to {BUNDLE_VERSION}): update cccd-reader", version=version)
    files_doc = _mapping(doc.get("files"), "files", optional=False)
    assert files_doc is not None
    files: dict[str, bytes] = {}
    for name, value in files_doc.items():
        if name not in FILE_NAMES:
            raise BundleError("files holds an unknown file name")
        files[name] = _bytes(value, f"files.{name}")
    access = _mapping(doc.get("access"), "access", optional=False)
    assert access is not None
    when = doc.get("reader_time")
    reader_time = None
    if when is not None:
        try:
            reader_time = _dt.datetime.fromisoformat(str(when))
        except ValueError:
            raise BundleError("reader_time is not an ISO 8601 time") from None
    aa = _mapping(doc.get("active_authentication"), "active_authentication")
    cam = _mapping(doc.get("pace_cam"), "pace_cam")
    pace_cam = None
    if cam is not None:
        pace_cam = {k: _bytes(cam.get(k), f"pace_cam.{k}") for k in ("cam_data", "chip_mapping_public_key")}
    qr = doc.get("qr_payload")
    if qr is not None and not isinstance(qr, str):
        raise BundleError("qr_payload must be text")
    return Bundle(
        files=files,
        access=access,
        reader_time=reader_time,
        library=_mapping(doc.get("library"), "library") or {},
        aa_challenge=_opt_bytes(aa.get("challenge"), "active_authentication.challenge") if aa else None,
        aa_signature=_opt_bytes(aa.get("signature"), "active_authentication.signature") if aa else None,
        pace_cam=pace_cam,
        chip_auth=_mapping(doc.get("chip_authentication"), "chip_authentication"),
        qr_payload=qr,
        desk=_mapping(doc.get("desk"), "desk") or {},
        version=version,
    )
