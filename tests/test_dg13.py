"""DG13 (Vietnamese details), pinned to the synthetic DG13 of cccd-card-facts §6.3 and the entry byte
prefixes a real card shows (facts §4.1), plus the variants the facts ask for."""

from __future__ import annotations

import dataclasses
import json
import unicodedata

import pytest

from cccd_reader.errors import ParseError
from cccd_reader.lds import decode_file
from cccd_reader.lds.dg13 import DG13, UTF8_OID, is_no_expiry
from cccd_reader.model import PartialDate

# cccd-card-facts.md §6.3 (368 bytes; field 13 as two SEQUENCEs; spouse empty)
FACTS_DG13 = bytes.fromhex(
    "6d82016c30820168020101060628d316010008318201593011020101130c30303130393031323334353630140201020c0f4e"
    "677579e1bb856e2056c4836e2041300f020103130a30312f30312f3139393030080201040c034e616d300f0201050c0a5669"
    "e1bb8774204e616d30090201060c044b696e68300b0201070c064b68c3b46e67300e0201080c0948c3a0204ee1bb99693035"
    "0201090c3053e1bb912031205068e1bb9120412c205068c6b0e1bb9d6e6720422c205175e1baad6e20432c2048c3a0204ee1"
    "bb9969302b02010a0c264ee1bb9174207275e1bb936920433a31636d2064c6b0e1bb9b69206dc3a970207068e1baa369300f"
    "02010b130a31352f30342f32303231300f02010c0c0a30312f30312f32303330302802010d30110c0f4e677579e1bb856e20"
    "56c4836e204230100c0e5472e1baa76e205468e1bb8b2043300302010e300e02010f13093031323334353637383015020110"
    "131030313233343536373839414243444546"
)
FACTS_FIELDS: dict[int, str | list[str] | None] = {
    1: "001090123456",
    2: "Nguyễn Văn A",
    3: "01/01/1990",
    4: "Nam",
    5: "Việt Nam",
    6: "Kinh",
    7: "Không",
    8: "Hà Nội",
    9: "Số 1 Phố A, Phường B, Quận C, Hà Nội",
    10: "Nốt ruồi C:1cm dưới mép phải",
    11: "15/04/2021",
    12: "01/01/2030",
    13: ["Nguyễn Văn B", "Trần Thị C"],
    14: None,
    15: "012345678",
    16: "0123456789ABCDEF",
}
# entry prefixes seen on a real card (facts §4.1), for entries whose lengths match the synthetic values
REAL_CARD_PREFIXES = [
    "3011020101130c", "300f020103130a", "30080201040c03", "300f0201050c0a", "30090201060c04",
    "300b0201070c06", "300f02010b130a", "300f02010c0c0a", "300302010e", "300e02010f1309", "3015020110131",
]  # fmt: skip


def test_facts_sample_decodes_to_every_field():
    dg13 = DG13.decode(FACTS_DG13)
    assert len(FACTS_DG13) == 368
    assert dg13.version == 1 and dg13.oid == UTF8_OID and dg13.warnings == ()
    assert dg13.numbers == tuple(range(1, 17))
    assert dg13.id_number == "001090123456"
    assert dg13.full_name == "Nguyễn Văn A"
    assert dg13.date_of_birth == PartialDate(1990, 1, 1)
    assert dg13.sex == "Nam"
    assert dg13.nationality == "Việt Nam"
    assert dg13.ethnicity == "Kinh"
    assert dg13.religion == "Không"
    assert dg13.place_of_origin == "Hà Nội"
    assert dg13.place_of_residence == "Số 1 Phố A, Phường B, Quận C, Hà Nội"
    assert dg13.identifying_marks == "Nốt ruồi C:1cm dưới mép phải"
    assert dg13.issue_date == PartialDate(2021, 4, 15)
    assert dg13.expiry_date == PartialDate(2030, 1, 1) and not dg13.no_expiry
    assert (dg13.father_name, dg13.mother_name) == ("Nguyễn Văn B", "Trần Thị C")
    assert dg13.spouse_name is None and dg13.values(14) == ()
    assert dg13.old_id_number == "012345678"
    assert dg13.extra == {16: ("0123456789ABCDEF",)}


def test_facts_sample_reencodes_byte_exact_and_builds_from_fields():
    dg13 = DG13.decode(FACTS_DG13)
    assert dg13.encode() == FACTS_DG13
    assert dg13._canonical() == FACTS_DG13  # canonical DER, no remembered bytes needed
    assert DG13.build(FACTS_FIELDS).encode() == FACTS_DG13
    assert DG13.build(FACTS_FIELDS) == dg13


def test_builder_reproduces_real_card_entry_prefixes():
    hexed = DG13.build(FACTS_FIELDS).encode().hex()
    for prefix in REAL_CARD_PREFIXES:
        assert prefix in hexed, prefix
    # field 13 as two SEQUENCEs: 30 28 02 01 0D | 30 11 0C 0F father | 30 10 0C 0E mother
    assert "302802010d30110c0f" in hexed and "30100c0e" in hexed


def _variant(**changes):
    fields = dict(FACTS_FIELDS)
    for key, value in changes.items():
        number = int(key[1:])
        if value is ...:
            del fields[number]
        else:
            fields[number] = value
    return fields


def test_variant_parents_in_one_sequence():
    built = DG13.build(FACTS_FIELDS, parents="one").encode()
    assert "302602010d30210c0f" in built.hex()  # SEQUENCE { INTEGER 13, SEQUENCE { father, mother } }
    dg13 = DG13.decode(built)
    assert (dg13.father_name, dg13.mother_name) == ("Nguyễn Văn B", "Trần Thị C")
    assert dg13.encode() == built
    assert dg13 != DG13.decode(FACTS_DG13)  # the layout is kept, not normalised away


def test_variant_without_old_id():
    built = DG13.build(_variant(f15=...)).encode()
    dg13 = DG13.decode(built)
    assert dg13.old_id_number is None and 15 not in dg13.numbers
    assert dg13.encode() == built and len(built) == len(FACTS_DG13) - 16


def test_variant_with_empty_residence_and_issue_date():
    built = DG13.build(_variant(f9="", f11="")).encode()
    assert "30050201090c00" in built.hex() and "300502010b1300" in built.hex()
    dg13 = DG13.decode(built)
    assert dg13.place_of_residence is None and dg13.values(9) == ("",)
    assert dg13.issue_date is None and dg13.values(11) == ("",)
    assert dg13.encode() == built and dg13.warnings == ()


def test_variant_with_unknown_entry_17():
    built = DG13.build(_variant(f17="O+")).encode()
    dg13 = DG13.decode(built)
    assert dg13.extra == {16: ("0123456789ABCDEF",), 17: ("O+",)}
    assert dg13.encode() == built
    assert dg13.to_dict()["extra"] == {"16": ["0123456789ABCDEF"], "17": ["O+"]}


def test_missing_entries_are_fine():
    dg13 = DG13.decode(DG13.build({1: "001090123456", 2: "Trần Thị D"}).encode())
    assert dg13.date_of_birth is None and dg13.father_name is None and dg13.expiry_date is None
    assert dg13.to_dict()["issue_date"] is None


def test_spouse_with_a_name():
    built = DG13.build(_variant(f14="Lê Văn E")).encode()
    assert "02010e30" in built.hex()  # SEQUENCE { INTEGER 14, SEQUENCE { UTF8String } }
    assert DG13.decode(built).spouse_name == "Lê Văn E"


@pytest.mark.parametrize(
    ("text", "expected", "iso"),
    [
        ("00/00/1950", PartialDate(1950), "1950"),
        ("00/05/1950", PartialDate(1950, 5), "1950-05"),
        ("1950", PartialDate(1950), "1950"),
        ("05/1950", PartialDate(1950, 5), "1950-05"),
        ("7/3/1961", PartialDate(1961, 3, 7), "1961-03-07"),
    ],
)
def test_partial_dates_stay_partial(text, expected, iso):
    dg13 = DG13.decode(DG13.build({3: text}).encode())
    assert dg13.date_of_birth == expected
    assert dg13.date_of_birth.isoformat() == iso
    assert dg13.date_of_birth.to_date() is None or expected.complete
    assert dg13.text(3) == text


@pytest.mark.parametrize("text", ["31/02/1990", "15/00/1990", "not a date", "00/00/0000"])
def test_unreadable_dates_are_kept_as_text_with_a_warning(text):
    dg13 = DG13.decode(DG13.build({3: text}, string_types={3: 0x0C}).encode())
    assert dg13.date_of_birth is None and dg13.text(3) == text
    assert any("date of birth" in w for w in dg13.warnings)
    assert text not in " ".join(dg13.warnings)


@pytest.mark.parametrize("text", ["Không thời hạn", "KHÔNG THỜI HẠN", "Khong thoi han", "Vô thời hạn",
                                  "không  thời hạn ", "Không có thời hạn"])  # fmt: skip
def test_no_expiry_wordings(text):
    dg13 = DG13.decode(DG13.build({12: text}).encode())
    assert dg13.no_expiry is True and dg13.expiry_date is None
    assert dg13.to_dict()["no_expiry"] is True and dg13.warnings == ()
    assert is_no_expiry(text)


def test_nfd_text_is_normalised_but_bytes_kept():
    nfd = unicodedata.normalize("NFD", "Nguyễn Văn A")
    raw = nfd.encode("utf-8")
    entry = b"\x30" + bytes([3 + 2 + len(raw)]) + b"\x02\x01\x02\x0c" + bytes([len(raw)]) + raw
    body = bytes.fromhex("020101060628d316010008") + b"\x31" + bytes([len(entry)]) + entry
    data = b"\x6d" + bytes([len(body) + 2]) + b"\x30" + bytes([len(body)]) + body
    dg13 = DG13.decode(data)
    assert dg13.full_name == "Nguyễn Văn A" and dg13.full_name != nfd
    assert dg13.encode() == data


def test_long_residence_uses_long_form_lengths():
    address = (
        "Số 123 Đường Nguyễn Thị Minh Khai, Phường Bến Thành, Quận 1, "
        "Thành phố Hồ Chí Minh, Việt Nam, Tổ dân phố 5"
    )
    built = DG13.build({9: address}).encode()
    assert len(address.encode()) > 127 and "0c81" in built.hex()
    assert DG13.decode(built).place_of_residence == address


def test_lenient_string_types():
    bmp = DG13.build({2: "Phạm Thị F"}, string_types={2: 0x1E}).encode()
    ia5 = DG13.build({1: "001090123456"}, string_types={1: 0x16}).encode()
    assert DG13.decode(bmp).full_name == "Phạm Thị F" and DG13.decode(bmp).encode() == bmp
    assert DG13.decode(ia5).id_number == "001090123456"


def test_non_canonical_lengths_reencode_exactly_and_edits_reencode_canonically():
    inner = FACTS_DG13[4:]  # the SEQUENCE
    odd = b"\x6d\x84\x00\x00\x01\x6c" + inner + b"\x00\x00"  # 4-byte length form, padding after the file
    dg13 = DG13.decode(odd)
    assert dg13 == DG13.decode(FACTS_DG13)
    assert dg13.encode() == odd
    edited = dataclasses.replace(dg13, version=1)
    assert edited.encode() == odd  # same fields: same bytes
    changed = dataclasses.replace(dg13, entries=dg13.entries[:-1])
    assert changed.encode() == DG13.build(_variant(f16=...)).encode()


def test_other_oid_is_kept_with_a_warning():
    data = DG13.build({1: "001090123456"}, oid="1.2.840.113549").encode()
    dg13 = DG13.decode(data)
    assert dg13.oid == "1.2.840.113549" and any("OID" in w for w in dg13.warnings)
    assert dg13.encode() == data


def test_missing_oid_and_odd_items_are_tolerated():
    entry = bytes.fromhex("3006020101130130")
    stray = bytes.fromhex("0401ff")  # an OCTET STRING where a SEQUENCE entry should be
    body = bytes.fromhex("020101") + b"\x31" + bytes([len(entry + stray)]) + entry + stray
    data = b"\x6d" + bytes([len(body) + 2]) + b"\x30" + bytes([len(body)]) + body
    dg13 = DG13.decode(data)
    assert dg13.oid is None and dg13.id_number == "0"
    assert len(dg13.entries) == 2 and dg13.entries[1].number is None
    assert dg13.encode() == data


def test_repr_shows_no_personal_values():
    text = repr(DG13.decode(FACTS_DG13))
    for secret in ("001090123456", "Nguyễn", "1990", "012345678", "Hà Nội"):
        assert secret not in text


def test_to_dict_is_json_ready():
    d = DG13.decode(FACTS_DG13).to_dict()
    json.dumps(d, ensure_ascii=False)
    assert d["date_of_birth"] == "1990-01-01" and d["expiry_date"] == "2030-01-01"
    assert d["entries"]["13"] == ["Nguyễn Văn B", "Trần Thị C"]


@pytest.mark.parametrize(
    ("data", "offset"),
    [
        (bytes.fromhex("6e03020101"), 0),  # DG14's tag
        (bytes.fromhex("6d03020101"), 2),  # no SEQUENCE
        (bytes.fromhex("6d0530040201 01"), 2),  # the SEQUENCE claims more than DG13 holds
        (bytes.fromhex("6d0530030201 01"), 4),  # SEQUENCE without the SET
        (bytes.fromhex("6d0a30080201010603ffffff"), 9),  # malformed OID (last byte continues)
        (FACTS_DG13[:200], 0),  # truncated file
    ],
    ids=["tag", "no-sequence", "lengths", "no-set", "bad-oid", "truncated"],
)
def test_bad_input_raises_parse_error_naming_dg13(data, offset):
    with pytest.raises(ParseError) as info:
        DG13.decode(data)
    assert info.value.file == "DG13"
    assert info.value.offset == offset


def test_decode_file_returns_dg13():
    assert isinstance(decode_file("DG13", FACTS_DG13), DG13)
    assert isinstance(decode_file(None, FACTS_DG13), DG13)
    assert isinstance(decode_file(0x6D, FACTS_DG13), DG13)
