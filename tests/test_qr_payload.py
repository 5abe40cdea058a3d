"""The QR payload parser: every variant, every leniency, every rejection, and totality.

Payloads are the synthetic examples published with the format (cccd-card-facts §1.4) and invented
synthetic people; none is a real citizen.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cccd_reader
from cccd_reader import QRData, QRPayloadError, parse_qr_payload
from cccd_reader.errors import CCCDError
from cccd_reader.qr import payload as payload_mod

# --- facts §1.4, exactly as published -----------------------------------------------------------------

EX1 = "001090123456|012345678|NGUYEN VAN A|01011990|Nam|Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh|15042021"
EX2 = (
    "012345678912|123456789|Nguyễn Văn A|01011990|Nam|"
    "123 Đường Số 1, Phường 2, Quận 3, TP Hồ Chí Minh|01012022||||"
)
EX3 = (
    "079090001001|020123456|Nguyễn Văn A|01011990|Nam|"
    "1 Lê Duẫn, Bến Nghé, Quận 1, Thành phố Hồ Chí Minh|01012021"
)
EX4 = "001099012345|123456789|Nguyễn Văn A|01011990|Nam|Xã X, Huyện Y, Tỉnh Z|15082021"
EX5 = "079201001234|123456789|Nguyễn Văn A|01011990|Nam|123 Cầu Giấy, Hà Nội|01012021"
EX6_SIX = "001234567890|NGUYEN VAN A|01011990|Nam|123 Duong ABC, Phuong XYZ, Quan 1, TP HCM|01012020"
EX6_SLASHED = "123456789012|123456789|Nguyễn Văn A|01/01/1990|Nam|123 Đường ABC, Quận 1, TP.HCM|01/01/2020"

# --- invented synthetic people -------------------------------------------------------------------------

# A woman born 2003 in Đà Nẵng, never had a 9-digit CMND, Căn cước card of 2024.
NO_OLD_ID_CC = "048303007788||Lê Thị Hồng Nhung|17082003|Nữ|Tổ 5, Phường Hải Châu, Đà Nẵng|02092024||||"
# A man born 1958 in Cần Thơ, CCCD of 2021.
OLDER_MAN = "092058004411|361234567|Phạm Văn Đức|05031958|Nam|Khu vực 3, Phường An Hòa, Cần Thơ|20042021"


def test_public_names() -> None:
    assert cccd_reader.parse_qr_payload is parse_qr_payload
    assert cccd_reader.QRData is QRData
    assert issubclass(QRPayloadError, CCCDError) and issubclass(QRPayloadError, ValueError)


def test_seven_field_cccd() -> None:
    q = parse_qr_payload(EX1)
    assert q.id_number == "001090123456"
    assert q.old_id_number == "012345678"
    assert q.full_name == "NGUYEN VAN A"
    assert q.date_of_birth == dt.date(1990, 1, 1)
    assert q.sex == "M"
    assert q.address == "Phường Bến Nghé, Quận 1, TP. Hồ Chí Minh"
    assert q.issue_date == dt.date(2021, 4, 15)
    assert q.field_count == 7
    assert q.extra_fields == ()
    assert q.variant == "cccd"
    assert q.warnings == ()
    assert q.repairs == ()
    assert q.raw == EX1
    assert q.can == "123456"
    assert q.document_number == "090123456"
    assert q.province == "Hà Nội"


def test_eleven_field_can_cuoc_keeps_empty_trailing_fields() -> None:
    q = parse_qr_payload(EX2)
    assert q.field_count == 11
    assert q.variant == "can-cuoc"
    assert q.extra_fields == ("", "", "", "")
    assert q.issue_date == dt.date(2022, 1, 1)
    assert q.full_name == "Nguyễn Văn A"
    # 0123 45 678912: Lai Châu, 4th digit 3 = woman born 2000-2099, year digits 45 vs a man born 1990
    kinds = {w.split(":")[0] for w in q.warnings}
    assert kinds == {"century", "birth_year", "sex"}


def test_eleven_field_extras_are_verbatim() -> None:
    q = parse_qr_payload(EX2.removesuffix("||||") + "| 012345678901 |Nguyễn Văn B||")
    assert q.extra_fields == (" 012345678901 ", "Nguyễn Văn B", "", "")


@pytest.mark.parametrize(
    ("text", "expected_kinds"),
    [
        (EX3, set()),
        (EX4, {"birth_year"}),  # 99 vs 1990
        (EX5, {"century", "birth_year"}),  # 2 = born 2000-2099, 01 vs 1990
        (NO_OLD_ID_CC, set()),
        (OLDER_MAN, set()),
    ],
)
def test_published_and_synthetic_examples(text: str, expected_kinds: set[str]) -> None:
    q = parse_qr_payload(text)
    assert q.id_number == text.split("|")[0]
    assert {w.split(":")[0] for w in q.warnings} == expected_kinds


def test_empty_old_id_is_none() -> None:
    q = parse_qr_payload(NO_OLD_ID_CC)
    assert q.old_id_number is None
    assert q.full_name == "Lê Thị Hồng Nhung"
    assert q.sex == "F"
    assert q.date_of_birth == dt.date(2003, 8, 17)
    assert q.province == "Đà Nẵng"


def test_six_field_form_without_old_id_slot() -> None:
    q = parse_qr_payload(EX6_SIX)
    assert q.field_count == 6
    assert q.variant == "no-old-id-slot"
    assert q.old_id_number is None
    assert q.full_name == "NGUYEN VAN A"
    assert q.date_of_birth == dt.date(1990, 1, 1)
    assert q.address == "123 Duong ABC, Phuong XYZ, Quan 1, TP HCM"
    assert q.issue_date == dt.date(2020, 1, 1)
    assert payload_mod.REPAIR_NO_OLD_ID_SLOT in q.repairs


def test_six_fields_with_a_numeric_second_field_is_rejected() -> None:
    # drop the name from a 7-field payload: field 1 is still the old ID -> not the 6-field form
    broken = "001090123456|012345678|01011990|Nam|Hà Nội|15042021"
    with pytest.raises(QRPayloadError) as ei:
        parse_qr_payload(broken)
    assert ei.value.field == "field_count"


def test_slashed_dates() -> None:
    q = parse_qr_payload(EX6_SLASHED)
    assert q.date_of_birth == dt.date(1990, 1, 1)
    assert q.issue_date == dt.date(2020, 1, 1)
    assert payload_mod.REPAIR_SLASHED_DATES in q.repairs
    assert q.province is None
    assert any(w.startswith("province:") for w in q.warnings)


def _cp1252_mojibake(text: str) -> str:
    """What a decoder that reads UTF-8 bytes as cp1252 returns (undefined bytes passed through)."""
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in text.encode("utf-8"))


def _core(q: QRData) -> tuple[object, ...]:
    return (q.id_number, q.old_id_number, q.full_name, q.date_of_birth, q.sex, q.address, q.issue_date,
            q.extra_fields)


@pytest.mark.parametrize(
    ("mangled", "repair"),
    [
        ("  " + NO_OLD_ID_CC + "  ", "whitespace"),
        (NO_OLD_ID_CC + "\r\n", "whitespace"),
        (NO_OLD_ID_CC + "\n", "whitespace"),
        ("\ufeff" + NO_OLD_ID_CC, "bom"),
        (unicodedata.normalize("NFD", NO_OLD_ID_CC), "nfc"),
        (NO_OLD_ID_CC.encode("utf-8").decode("latin-1"), "mojibake"),
        (_cp1252_mojibake(NO_OLD_ID_CC), "mojibake"),
        (("\ufeff" + NO_OLD_ID_CC).encode("utf-8").decode("latin-1"), "bom"),
    ],
)
def test_lenient_repairs(mangled: str, repair: str) -> None:
    clean = parse_qr_payload(NO_OLD_ID_CC)
    q = parse_qr_payload(mangled)
    assert _core(q) == _core(clean)
    assert repair in q.repairs
    assert q.raw == mangled


def test_cp1252_mojibake_of_d_with_stroke() -> None:
    # 'Đ'/'đ' encode to C4 90 / C4 91; a cp1252 decoder turns 0x91 into a curly quote
    name = "Đỗ Thị Đào"
    text = f"031185012345||{name}|09091985|Nữ|Số 2 Lạch Tray, Hải Phòng|10102022"
    mangled = _cp1252_mojibake(text)
    assert mangled != text
    q = parse_qr_payload(mangled)
    assert q.full_name == name
    assert "mojibake" in q.repairs


def test_real_vietnamese_text_is_never_taken_for_mojibake() -> None:
    q = parse_qr_payload("001190000001||Hà Thị Ân|01011990|Nữ|Tân Bình, Hồ Chí Minh|01012021")
    assert q.full_name == "Hà Thị Ân"
    assert "mojibake" not in q.repairs


def test_sex_is_case_insensitive_and_accepts_ascii_nu() -> None:
    base = NO_OLD_ID_CC.split("|")
    for word, expected in (("NỮ", "F"), ("nữ", "F"), ("Nu", "F"), ("NAM", "M"), ("nam", "M")):
        fields = list(base)
        fields[4] = word
        assert parse_qr_payload("|".join(fields)).sex == expected


def test_fields_are_stripped() -> None:
    q = parse_qr_payload(" 048303007788 || Lê Thị Hồng Nhung | 17082003 | Nữ | Đà Nẵng | 02092024 ")
    assert q.id_number == "048303007788"
    assert q.full_name == "Lê Thị Hồng Nhung"
    assert q.address == "Đà Nẵng"


# --- rejections -------------------------------------------------------------------------------------


def _with(index: int, value: str, base: str = NO_OLD_ID_CC) -> str:
    fields = base.split("|")
    fields[index] = value
    return "|".join(fields)


BAD = [
    # (payload, field, personal value that must not appear in the message)
    ("", "payload", None),
    ("   \r\n", "payload", None),
    ("048303007788", "field_count", "048303007788"),
    ("048303007788||Lê Thị Hồng Nhung|17082003|Nữ|Đà Nẵng", "field_count", "Hồng Nhung"),
    (NO_OLD_ID_CC + "|", "field_count", "Hồng Nhung"),  # 12 fields
    (NO_OLD_ID_CC.removesuffix("|"), "field_count", "Hồng Nhung"),  # 10 fields
    ("048303007788||Lê Thị Hồng Nhung|17082003|Nữ|Đà Nẵng|02092024|", "field_count", "Hồng Nhung"),
    (_with(0, "04830300778"), "id_number", "04830300778"),
    (_with(0, "0483030077881"), "id_number", "0483030077881"),
    (_with(0, "04830300778A"), "id_number", "04830300778A"),
    (_with(0, "０４８３０３００７７８８"), "id_number", "０４８３０３００７７８８"),  # fullwidth digits
    (_with(0, "٠٤٨٣٠٣٠٠٧٧٨٨"), "id_number", "٠٤٨٣٠٣٠٠٧٧٨٨"),  # Arabic-Indic digits
    (_with(0, ""), "id_number", None),
    (_with(1, "12345678"), "old_id_number", "12345678"),
    (_with(1, "1234567890"), "old_id_number", "1234567890"),
    (_with(1, "12345678X"), "old_id_number", "12345678X"),
    (_with(2, ""), "full_name", None),
    (_with(2, "   "), "full_name", None),
    (_with(2, "Lê Thị\x00Nhung"), "full_name", "Nhung"),
    (_with(2, "Lê Thị\tNhung"), "full_name", "Nhung"),
    (_with(3, "31022003"), "date_of_birth", "31022003"),
    (_with(3, "17132003"), "date_of_birth", "17132003"),
    (_with(3, "29022003"), "date_of_birth", "29022003"),
    (_with(3, "2003-08-17"), "date_of_birth", "2003-08-17"),
    (_with(3, "1708203"), "date_of_birth", "1708203"),
    (_with(3, "17081899"), "date_of_birth", "17081899"),
    (_with(3, "17/08/03"), "date_of_birth", "17/08/03"),
    (_with(3, ""), "date_of_birth", None),
    (_with(4, "Female"), "sex", "Female"),
    (_with(4, "X"), "sex", None),
    (_with(4, ""), "sex", None),
    (_with(5, "Tổ 5\x1bĐà Nẵng"), "address", "Tổ 5"),
    (_with(6, "00002024"), "issue_date", "00002024"),
    (_with(6, "31042024"), "issue_date", "31042024"),
    (_with(6, "16082003"), "issue_date", "16082003"),  # before the date of birth
    (_with(7, "\x07"), "extra_fields", None),
    (_with(2, "Lê Thị\udcffNhung"), "full_name", "Nhung"),  # a byte the decoder could not read
    (_with(5, "Tổ 5\u2028Đà Nẵng"), "address", "Tổ 5"),
]


@pytest.mark.parametrize(("text", "field", "secret"), BAD)
def test_rejections_name_the_field_and_hide_the_value(text: str, field: str, secret: str | None) -> None:
    with pytest.raises(QRPayloadError) as ei:
        parse_qr_payload(text)
    err = ei.value
    assert err.field == field
    message = str(err)
    assert message
    if secret:
        assert secret not in message
    for personal in ("048303007788", "Hồng Nhung", "17082003", "Đà Nẵng"):
        assert personal not in message


@pytest.mark.parametrize("value", [None, b"001090123456|...", 12, ["a"], object()])
def test_non_text_input_is_a_payload_error(value: object) -> None:
    with pytest.raises(QRPayloadError) as ei:
        parse_qr_payload(value)  # type: ignore[arg-type]
    assert ei.value.field == "payload"


def test_overlong_text_is_rejected_before_splitting() -> None:
    with pytest.raises(QRPayloadError) as ei:
        parse_qr_payload(NO_OLD_ID_CC + " " * payload_mod.MAX_PAYLOAD_CHARS)
    assert ei.value.field == "payload"


# --- the record ----------------------------------------------------------------------------------------


def test_repr_and_str_show_no_personal_data() -> None:
    q = parse_qr_payload(OLDER_MAN)
    for shown in (repr(q), str(q), f"{q}"):
        for personal in ("092058004411", "361234567", "Phạm Văn Đức", "1958", "05031958", "An Hòa", "2021"):
            assert personal not in shown
    assert "QRData" in repr(q)


def test_record_is_frozen() -> None:
    q = parse_qr_payload(OLDER_MAN)
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.id_number = "000000000000"  # type: ignore[misc]


def test_to_dict_is_json_ready() -> None:
    q = parse_qr_payload(NO_OLD_ID_CC)
    d = q.to_dict()
    text = json.dumps(d, ensure_ascii=False)
    back = json.loads(text)
    assert back["id_number"] == "048303007788"
    assert back["old_id_number"] is None
    assert back["date_of_birth"] == "2003-08-17"
    assert back["issue_date"] == "2024-09-02"
    assert back["sex"] == "F"
    assert back["extra_fields"] == ["", "", "", ""]
    assert back["field_count"] == 11
    assert back["province_of_birth_registration"] == "Đà Nẵng"
    assert "raw" not in back
    assert q.to_dict(include_raw=True)["raw"] == NO_OLD_ID_CC


# --- properties -----------------------------------------------------------------------------------------

NAMES = st.sampled_from(["Nguyễn Văn An", "Trần Thị Bích", "Lê Hoàng Đạt", "Võ Thị Ưng", "ĐẶNG MINH KHÔI"])
ADDRESSES = st.sampled_from(
    ["Số 1 Phố Huế, Hà Nội", "Ấp 3, Xã Tân Phú, Đồng Nai", "", "Thôn Đông, Quảng Trị"]
)


@st.composite
def synthetic_payloads(draw: st.DrawFn) -> tuple[str, dict[str, object]]:
    dob = draw(st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(2023, 12, 31)))
    issue = draw(st.dates(min_value=max(dob, dt.date(2016, 1, 1)), max_value=dt.date(2030, 12, 31)))
    sex = draw(st.sampled_from(["M", "F"]))
    province = draw(st.sampled_from(["001", "031", "048", "079", "092", "096"]))
    digit = (dob.year - 1900) // 100 * 2 + (0 if sex == "M" else 1)
    serial = draw(st.integers(0, 999999))
    id_number = f"{province}{digit}{dob.year % 100:02d}{serial:06d}"
    old = draw(st.one_of(st.just(""), st.integers(0, 999999999).map(lambda n: f"{n:09d}")))
    name = draw(NAMES)
    address = draw(ADDRESSES)
    eleven = draw(st.booleans())
    fields = [id_number, old, name, dob.strftime("%d%m%Y"), "Nam" if sex == "M" else "Nữ", address,
              issue.strftime("%d%m%Y")]
    if eleven:
        fields += ["", "", "", ""]
    expected = {"id_number": id_number, "old_id_number": old or None, "full_name": name,
                "date_of_birth": dob, "sex": sex, "address": address, "issue_date": issue,
                "field_count": 11 if eleven else 7}
    return "|".join(fields), expected


@settings(max_examples=200, deadline=None)
@given(synthetic_payloads())
def test_round_trip_of_synthetic_people(case: tuple[str, dict[str, object]]) -> None:
    text, expected = case
    q = parse_qr_payload(text)
    for key, value in expected.items():
        assert getattr(q, key) == value
    assert q.warnings == ()  # every generated number agrees with its holder


def _accepts_only_record_or_payload_error(text: object) -> None:
    try:
        q = parse_qr_payload(text)  # type: ignore[arg-type]
    except QRPayloadError as exc:
        assert isinstance(exc.field, str)
        return
    assert isinstance(q, QRData)
    assert len(q.id_number) == 12 and q.id_number.isdigit()
    assert q.sex in ("M", "F")
    assert q.issue_date >= q.date_of_birth


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_gives_record_or_payload_error(text: str) -> None:
    _accepts_only_record_or_payload_error(text)
    # the unguarded parser must be total too: the safety net in parse_qr_payload is not what holds
    with contextlib.suppress(QRPayloadError):
        payload_mod._parse(text)


MUTATION_CHARS = st.sampled_from(["|", "||", "\x00", "\r", "\n", "\t", "\x1f", "\x85", "\ufeff", "\u200b",
                                  "Ã", "»", "\u0301", "/", " ", "0", "9", "é", "\U0001f600", "\ud800"])


@st.composite
def mutated_payloads(draw: st.DrawFn) -> str:
    text, _ = draw(synthetic_payloads())
    chars = list(text)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["insert", "delete", "replace", "unicode"]))
        pos = draw(st.integers(0, len(chars)))
        if op == "insert":
            chars.insert(pos, draw(MUTATION_CHARS))
        elif op == "unicode":
            chars.insert(pos, draw(st.characters()))
        elif chars and pos < len(chars):
            if op == "delete":
                del chars[pos]
            else:
                chars[pos] = draw(MUTATION_CHARS)
    out = "".join(chars)
    if draw(st.booleans()):
        out = out.encode("utf-8", errors="surrogatepass").decode("latin-1")
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_payloads())
def test_mutated_payloads_give_record_or_payload_error(text: str) -> None:
    _accepts_only_record_or_payload_error(text)
    with contextlib.suppress(QRPayloadError):
        payload_mod._parse(text)
