"""ISO/IEC 7816-4: APDUs, status words and BER-TLV."""

from cccd_reader.iso7816.apdu import SW_OK, CommandAPDU, ResponseAPDU, status_error
from cccd_reader.iso7816.tlv import (
    TLV,
    decode,
    decode_one,
    encode_length,
    encode_tag,
    encode_tlv,
    read_header,
)

__all__ = [
    "SW_OK", "TLV", "CommandAPDU", "ResponseAPDU", "decode", "decode_one", "encode_length", "encode_tag",
    "encode_tlv", "read_header", "status_error",
]
