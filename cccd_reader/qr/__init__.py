"""The CCCD QR code: payload text -> :class:`QRData` (this package); images -> payload texts (``image``).

Only the payload names are imported here, so ``import cccd_reader.qr`` needs no image libraries.
"""

from cccd_reader.qr.payload import MAX_PAYLOAD_CHARS, QRData, parse_qr_payload

__all__ = ["MAX_PAYLOAD_CHARS", "QRData", "parse_qr_payload"]
