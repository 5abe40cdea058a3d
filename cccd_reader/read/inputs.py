"""What ``read_card`` accepts, checked and put into one shape before the card is touched."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from cccd_reader.errors import InputError, KeyInputError

if TYPE_CHECKING:
    from cccd_reader.keys import AccessKey
    from cccd_reader.qr.payload import QRData


def keys_and_qr(key: Any) -> tuple[list[AccessKey], QRData | None]:
    """``key`` as a list of access keys, and the QR it came from (to compare with the chip) if any."""
    from cccd_reader.keys import CANKey, MRZKey

    qr = None
    if hasattr(key, "id_number") and hasattr(key, "issue_date"):
        from cccd_reader.keys import keys_from_qr

        qr = key
        keys: list[Any] = list(keys_from_qr(key))
    elif isinstance(key, CANKey | MRZKey):
        keys = [key]
    elif isinstance(key, Iterable) and not isinstance(key, str | bytes):
        keys = list(key)
    else:
        raise KeyInputError("key must be a CANKey, an MRZKey, a list of them, or a QRData")
    if not keys:
        raise KeyInputError("no access key given")
    for k in keys:
        if not isinstance(k, CANKey | MRZKey):
            raise KeyInputError("every key must be a CANKey or an MRZKey")
    return keys, qr


def normalise_files(files: str | int | Sequence[str | int]) -> list[str]:
    """File names or data-group numbers as canonical names (``"DG13"``, ``"EF.SOD"``); one name or number
    alone is one file (``"DG1"`` is DG1, not the letters D, G, 1)."""
    from cccd_reader.lds import file_info

    if isinstance(files, str | int):
        files = [files]
    out = []
    for f in files:
        name = f"DG{f}" if isinstance(f, int) else str(f)
        info = file_info(name)
        if info is None:
            raise InputError(f"unknown file {name!r}: use DG1..DG16, EF.COM or EF.SOD")
        out.append(info.name)
    return out
