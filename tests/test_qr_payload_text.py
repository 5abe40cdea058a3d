"""``parse_qr_payload`` and the text a scanner damaged: mojibake repaired only when certain (with a
warning on the record), U+FFFD and bidi / invisible formatting characters refused."""

from __future__ import annotations

import pytest

from cccd_reader.emulator.samples import sample_qr_payload
from cccd_reader.errors import QRPayloadError
from cccd_reader.qr.payload import MOJIBAKE_WARNING, REPAIR_MOJIBAKE, parse_qr_payload

PAYLOAD = sample_qr_payload("an")
CLEAN = parse_qr_payload(PAYLOAD)


def with_name(name: str) -> str:
    fields = PAYLOAD.split("|")
    fields[2] = name
    return "|".join(fields)


@pytest.mark.parametrize("codec", ["cp1252", "latin-1"])
def test_whole_payload_mojibake_is_repaired_with_a_warning(codec: str) -> None:
    damaged = PAYLOAD.encode("utf-8").decode(codec, errors="strict" if codec == "latin-1" else "ignore")
    if codec == "cp1252":
        # as Windows decodes: the 5 bytes cp1252 leaves undefined become the C1 control of that value
        damaged = "".join(bytes([b]).decode("cp1252") if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
                          else chr(b) for b in PAYLOAD.encode("utf-8"))
    assert "á»" in damaged
    record = parse_qr_payload(damaged)
    assert (record.full_name, record.address) == (CLEAN.full_name, CLEAN.address)
    assert REPAIR_MOJIBAKE in record.repairs and MOJIBAKE_WARNING in record.warnings
    assert MOJIBAKE_WARNING not in CLEAN.warnings


def test_one_mojibake_field_is_repaired() -> None:
    damaged = with_name(CLEAN.full_name.encode("utf-8").decode("cp1252"))  # "Nguyá»…n VÄƒn An"
    assert damaged.split("|")[2] == "Nguyá»…n VÄƒn An"
    record = parse_qr_payload(damaged)
    assert record.full_name == CLEAN.full_name and record.address == CLEAN.address
    assert MOJIBAKE_WARNING in record.warnings


def test_genuine_vietnamese_is_not_repaired() -> None:
    for name in ("Nguyễn Văn An", "Lê Thị Hà", "Đỗ Ánh Dương", "Tôn Nữ Ý"):
        record = parse_qr_payload(with_name(name))
        assert record.full_name == name and REPAIR_MOJIBAKE not in record.repairs


@pytest.mark.parametrize("char", ["\ufffd", "\u202e", "\u202a", "\u2066", "\u200f", "\u200b", "\ufeff",
                                  "\ue000"])
def test_replacement_and_bidi_characters_are_refused(char: str) -> None:
    with pytest.raises(QRPayloadError) as info:
        parse_qr_payload(with_name(f"Nguy{char}n Văn An"))
    assert info.value.field == "full_name"
    assert "Nguy" not in str(info.value)  # the message never quotes the value


def test_mojibake_that_lost_bytes_is_refused() -> None:
    # a decoder that replaced the bytes it could not map by U+FFFD: the text cannot be restored for sure
    damaged = PAYLOAD.encode("utf-8").decode("cp1252", errors="replace")
    assert "\ufffd" in damaged
    with pytest.raises(QRPayloadError):
        parse_qr_payload(damaged)
