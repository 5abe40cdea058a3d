"""The 12-digit personal ID number: structure (Decree 137/2015, Circular 07/2016/TT-BCA) and consistency."""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cccd_reader
from cccd_reader.errors import IDNumberError, InputError
from cccd_reader.idnumber import id_number_birth_year, id_number_century, id_number_sex, validate_id_number
from cccd_reader.provinces import PROVINCE_CODES, is_province_code, province_name

# Annex I of Circular 07/2016/TT-BCA, as published: (code, name)
SPOT_CHECKS = [
    ("001", "Hà Nội"),
    ("002", "Hà Giang"),
    ("022", "Quảng Ninh"),
    ("031", "Hải Phòng"),
    ("035", "Hà Nam"),
    ("046", "Thừa Thiên Huế"),
    ("048", "Đà Nẵng"),
    ("067", "Đắk Nông"),
    ("077", "Bà Rịa - Vũng Tàu"),
    ("079", "Hồ Chí Minh"),
    ("092", "Cần Thơ"),
    ("096", "Cà Mau"),
]


def test_public_name() -> None:
    assert cccd_reader.validate_id_number is validate_id_number


def test_province_table_has_the_63_provinces() -> None:
    assert len(PROVINCE_CODES) == 63
    assert len(set(PROVINCE_CODES.values())) == 63
    codes = sorted(PROVINCE_CODES)
    assert codes[0] == "001" and codes[-1] == "096"
    for code, name in PROVINCE_CODES.items():
        assert len(code) == 3 and code.isdigit()
        assert name == unicodedata.normalize("NFC", name)


@pytest.mark.parametrize(("code", "name"), SPOT_CHECKS)
def test_province_spot_checks(code: str, name: str) -> None:
    assert PROVINCE_CODES[code] == name
    assert province_name(code) == name
    assert province_name(code + "090123456") == name
    assert is_province_code(code)


@pytest.mark.parametrize("code", ["000", "003", "005", "097", "099", "123", "999"])
def test_codes_outside_the_table(code: str) -> None:
    assert province_name(code) is None
    assert not is_province_code(code)
    warnings = validate_id_number(code + "090123456")
    assert [w.split(":")[0] for w in warnings] == ["province"]


def test_province_name_rejects_other_lengths() -> None:
    assert province_name("01") is None
    assert province_name("0010") is None
    assert province_name(1) is None  # type: ignore[arg-type]


# (4th digit, a birth year in its century, sex)
CENTURY_DIGITS = [
    ("0", 1990, "M"),
    ("1", 1901, "F"),
    ("2", 2005, "M"),
    ("3", 2099, "F"),
    ("4", 2100, "M"),
    ("5", 2150, "F"),
    ("6", 2201, "M"),
    ("7", 2299, "F"),
    ("8", 2300, "M"),
    ("9", 2399, "F"),
]


@pytest.mark.parametrize(("digit", "year", "sex"), CENTURY_DIGITS)
def test_century_and_sex_digit(digit: str, year: int, sex: str) -> None:
    number = f"079{digit}{year % 100:02d}000123"
    assert id_number_sex(number) == sex
    assert id_number_century(number) == year // 100 * 100
    assert id_number_birth_year(number) == year
    dob = dt.date(year, 6, 1)
    assert validate_id_number(number, date_of_birth=dob, sex=sex) == ()
    assert validate_id_number(number, date_of_birth=dob, sex=sex, strict=True) == ()


def test_published_worked_example() -> None:
    # The explanation pages' example: 035 199 000123 = Hà Nam, woman, born 1999.
    number = "035199000123"
    assert province_name(number) == "Hà Nam"
    assert id_number_sex(number) == "F"
    assert id_number_birth_year(number) == 1999
    assert validate_id_number(number, date_of_birth=dt.date(1999, 3, 4), sex="Nữ") == ()


@pytest.mark.parametrize(
    ("dob", "sex", "kinds"),
    [
        (dt.date(1990, 1, 1), "M", []),
        (dt.date(1990, 1, 1), "F", ["sex"]),
        (dt.date(1991, 1, 1), "M", ["birth_year"]),
        (dt.date(2090, 1, 1), "M", ["century"]),
        (dt.date(2091, 1, 1), "F", ["century", "birth_year", "sex"]),
        (None, "Nữ", ["sex"]),
        (dt.date(1890, 1, 1), None, ["century"]),
    ],
)
def test_inconsistencies_are_warnings(dob: dt.date | None, sex: str | None, kinds: list[str]) -> None:
    number = "001090123456"
    warnings = validate_id_number(number, date_of_birth=dob, sex=sex)
    assert [w.split(":")[0] for w in warnings] == kinds
    for w in warnings:
        assert number not in w and "1990" not in w and "090" not in w
    if kinds:
        with pytest.raises(IDNumberError) as ei:
            validate_id_number(number, date_of_birth=dob, sex=sex, strict=True)
        assert number not in str(ei.value)
        assert isinstance(ei.value, InputError)


@pytest.mark.parametrize(
    "bad",
    [
        "", "00109012345", "0010901234567", "00109012345X", "００１０９０１２３４５６", " 001090123456",
        None, 1090123456,
    ],
)
@pytest.mark.parametrize("strict", [False, True])
def test_malformed_numbers_always_raise(bad: object, strict: bool) -> None:
    with pytest.raises(IDNumberError) as ei:
        validate_id_number(bad, strict=strict)  # type: ignore[arg-type]
    if isinstance(bad, str) and bad.strip():
        assert bad.strip() not in str(ei.value)


def test_bad_arguments_raise_library_errors() -> None:
    with pytest.raises(IDNumberError):
        validate_id_number("001090123456", sex="X")
    with pytest.raises(IDNumberError):
        validate_id_number("001090123456", date_of_birth="1990-01-01")  # type: ignore[arg-type]
    with pytest.raises(IDNumberError):
        id_number_sex("12")


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(sorted(PROVINCE_CODES)),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2399, 12, 31)),
    st.sampled_from(["M", "F"]),
    st.integers(0, 999999),
)
def test_numbers_built_by_the_rule_validate(province: str, dob: dt.date, sex: str, serial: int) -> None:
    digit = (dob.year - 1900) // 100 * 2 + (sex == "F")
    number = f"{province}{digit}{dob.year % 100:02d}{serial:06d}"
    assert validate_id_number(number, date_of_birth=dob, sex=sex, strict=True) == ()
    assert id_number_birth_year(number) == dob.year
    assert id_number_sex(number) == sex
