"""Access keys: pinned to ICAO 9303-11 / BSI worked examples, the CCCD key rules and the expiry law.

External vectors (tests/vectors/icao-9303-worked-examples.json): bac_key_derivation, kdf_and_password_keys,
mrz_samples, check_digits. The CCCD vector is the synthetic MRZ of cccd-card-facts §2.1 / §6.2, whose
K_seed was computed independently of this project.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cccd_reader
from cccd_reader import CANKey, MRZKey, card_expiry, keys_from_qr, mrz_key_from_mrz, parse_qr_payload
from cccd_reader.errors import KeyInputError, MRZError
from cccd_reader.keys import (
    LAW_2023_IN_FORCE,
    birthday_at,
    expiry_candidates,
    milestones_for,
)
from cccd_reader.mrz import check_digit

D = dt.date

# --- external vectors -----------------------------------------------------------------------------------


def _yymmdd(text: str, *, future: bool = False) -> dt.date:
    yy, mm, dd = int(text[:2]), int(text[2:4]), int(text[4:])
    century = 1900 if (future and yy > 50) or (not future and yy > 30) else 2000
    return D(century + yy, mm, dd)


def test_bac_key_derivation_eriksson(vectors: dict[str, Any]) -> None:
    case = vectors["bac_key_derivation"]["cases"][0]
    key = MRZKey(case["document_number"], _yymmdd(case["date_of_birth"]), _yymmdd(case["date_of_expiry"]))
    assert key.mrz_information == case["mrz_information"]
    assert key.password.hex().upper() == case["sha1_mrz_information"]
    assert key.k_seed.hex().upper() == case["kseed"]
    k_enc, k_mac = key.bac_keys()
    assert k_enc.hex().upper() == case["kenc"]
    assert k_mac.hex().upper() == case["kmac"]


def test_bac_key_derivation_long_document_number(vectors: dict[str, Any]) -> None:
    case = vectors["bac_key_derivation"]["cases"][1]
    samples = vectors["mrz_samples"]["cases"]
    mrz = next(c for c in samples if c.get("mrz_information") == case["mrz_information"])
    key = mrz_key_from_mrz(mrz["mrz"])
    assert key.mrz_information == case["mrz_information"]
    assert key.k_seed.hex().upper() == case["kseed"]


def test_pace_password_keys(vectors: dict[str, Any]) -> None:
    cases = {c["name"]: c for c in vectors["kdf_and_password_keys"]["cases"]}
    can = cases["CAN 123456 -> K_pi AES-128"]
    key = CANKey("123456")
    assert key.password.hex().upper() == can["password"]
    assert key.k_pi("AES-128").hex().upper() == can["key"]
    assert key.pace_password_ref == 0x02

    # ICAO 9303-11 Appendix G: T22000129 / 640812 / 101031 (check digits in the check_digits set)
    mrz = cases["MRZ T22000129 -> K_pi AES-128"]
    key2 = MRZKey("T22000129", D(1964, 8, 12), D(2010, 10, 31))
    assert key2.password.hex().upper() == mrz["password"]
    assert key2.k_pi("AES-128").hex().upper() == mrz["key"]
    assert key2.pace_password_ref == 0x01

    plain = cases["MRZ 123456789/820101/291225 -> K (SHA-1 of MRZ information)"]
    key3 = MRZKey("123456789", D(1982, 1, 1), D(2029, 12, 25))
    assert key3.mrz_information == plain["mrz_information"]
    assert key3.password.hex().upper() == plain["k"]


def test_mrz_samples_give_their_mrz_information(vectors: dict[str, Any]) -> None:
    checked = 0
    for case in vectors["mrz_samples"]["cases"]:
        key = mrz_key_from_mrz(case["mrz"])
        doc = case["document_number"]
        expected = case.get("mrz_information") or (
            doc.ljust(9, "<") + check_digit(doc.ljust(9, "<"))
            + case["date_of_birth"] + check_digit(case["date_of_birth"])
            + case["date_of_expiry"] + check_digit(case["date_of_expiry"])
        )
        assert key.mrz_information == expected, case["name"]
        assert key.date_of_birth.strftime("%y%m%d") == case["date_of_birth"]
        checked += 1
    assert checked >= 6


def test_check_digit_vectors(vectors: dict[str, Any]) -> None:
    for case in vectors["check_digits"]["cases"]:
        assert check_digit(case["data"]) == case["check_digit"], case["data"]


# --- the CCCD rules -----------------------------------------------------------------------------------------

CCCD_MRZ = "IDVNM0901234562001090123456<<3\n9001011M3001019VNM<<<<<<<<<<<4\nNGUYEN<<VAN<A<<<<<<<<<<<<<<<<<"
CCCD_QR = "001090123456|012345678|Nguyễn Văn A|01011990|Nam|Số 1 Phố A, Phường B, Quận C, Hà Nội|15042021"
CCCD_KSEED = "7c982411e7bfc7420e579dcc18d88af8"


def test_cccd_synthetic_vector_from_the_mrz() -> None:
    key = mrz_key_from_mrz(CCCD_MRZ)
    assert key.mrz_information == "090123456290010113001019"
    assert key.k_seed.hex() == CCCD_KSEED
    assert key.date_of_expiry == D(2030, 1, 1)


def test_cccd_synthetic_vector_from_the_qr() -> None:
    keys = keys_from_qr(parse_qr_payload(CCCD_QR))
    assert isinstance(keys[0], CANKey)
    assert keys[0].password == b"123456"  # the last 6 digits of the ID
    assert isinstance(keys[1], MRZKey)
    assert keys[1].mrz_information == "090123456290010113001019"
    assert keys[1].k_seed.hex() == CCCD_KSEED
    # issued at 31, far from any 2-year window: nothing else is plausible
    assert len(keys) == 2


def test_public_names() -> None:
    for name in ("card_expiry", "keys_from_qr", "mrz_key_from_mrz", "validate_id_number", "AccessKey"):
        assert hasattr(cccd_reader, name)


def _td1(id_number: str, dob: str, sex: str, doe: str, names: str = "TRAN<<THI<B") -> str:
    doc = id_number[3:12]
    l1 = "IDVNM" + doc + check_digit(doc) + id_number + "<<"
    l1 += check_digit(l1[15:29])
    l2 = dob + check_digit(dob) + sex + doe + check_digit(doe) + "VNM" + "<" * 11
    composite = l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29]
    l2 += check_digit(composite)
    return "\n".join([l1, l2, names.ljust(30, "<")])


def test_td1_builder_reproduces_the_published_synthetic_mrz() -> None:
    assert _td1("001090123456", "900101", "M", "300101", "NGUYEN<<VAN<A") == CCCD_MRZ


def test_no_expiry_mrz_maps_to_none() -> None:
    text = _td1("079160004321", "600315", "F", "991231")
    key = mrz_key_from_mrz(text)
    assert key.date_of_expiry is None
    assert key.mrz_information.endswith("9912315")
    assert key.document_number == "160004321"


def test_mrz_key_accepts_ocr_spacing_and_one_line() -> None:
    spaced = "  " + CCCD_MRZ.replace("\n", " \n ").lower() + "\n\n"
    assert mrz_key_from_mrz(spaced).k_seed.hex() == CCCD_KSEED
    assert mrz_key_from_mrz(CCCD_MRZ.replace("\n", "")).k_seed.hex() == CCCD_KSEED


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (CCCD_MRZ.replace("0901234562", "0901234563"), "document_number"),  # check digit slip
        (CCCD_MRZ.replace("9001011M", "9001021M"), "date_of_birth"),
        (CCCD_MRZ.replace("M3001019", "M3001029"), "date_of_expiry"),
        ("IDVNM", "layout"),
        ("", "layout"),
        (CCCD_MRZ.replace("NGUYEN", "NGUYÊN"), "charset"),
    ],
)
def test_bad_mrz_raises_mrz_error(text: str, field: str) -> None:
    with pytest.raises(MRZError) as ei:
        mrz_key_from_mrz(text)
    assert field in (ei.value.field or "")
    assert "001090123456" not in str(ei.value) and "090123456" not in str(ei.value)


def test_mrz_with_impossible_date_but_valid_check_digits() -> None:
    with pytest.raises(MRZError) as ei:
        mrz_key_from_mrz(_td1("079190004321", "901301", "F", "300101"))
    assert ei.value.field == "date_of_birth"
    with pytest.raises(MRZError) as ei:
        mrz_key_from_mrz(_td1("079190004321", "900101", "F", "301301"))
    assert ei.value.field == "date_of_expiry"


def test_mrz_whose_document_number_is_not_the_id_digits() -> None:
    text = _td1("079190004321", "900101", "F", "300101")
    l1, l2, l3 = text.split("\n")
    doc = "190004322"
    l1 = l1[:5] + doc + check_digit(doc) + l1[15:]
    l2 = l2[:29] + check_digit(l1[5:30] + l2[0:7] + l2[8:15] + l2[18:29])
    with pytest.raises(MRZError) as ei:
        mrz_key_from_mrz("\n".join([l1, l2, l3]))
    assert ei.value.field == "document_number"


def test_mrz_key_from_non_text() -> None:
    with pytest.raises(MRZError):
        mrz_key_from_mrz(None)  # type: ignore[arg-type]


# --- card expiry: the law --------------------------------------------------------------------------------

OLD, NEW = (25, 40, 60), (14, 25, 40, 60)


def _boundary_cases() -> list[tuple[str, dt.date, dt.date, dt.date | None]]:
    """(label, dob, issue, expected) the day before, on and after each window opening and each milestone.

    Old law: the window for every milestone opens 2018-03-10, the milestone falls on 2020-03-10.
    New law: the window opens 2024-09-20, the milestone falls on 2026-09-20.
    """
    cases: list[tuple[str, dt.date, dt.date, dt.date | None]] = []
    for law, ages, opens, due in (("2014", OLD, D(2018, 3, 10), D(2020, 3, 10)),
                                  ("2023", NEW, D(2024, 9, 20), D(2026, 9, 20))):
        for i, age in enumerate(ages):
            dob = D(due.year - age, due.month, due.day)
            nxt = D(dob.year + ages[i + 1], dob.month, dob.day) if i + 1 < len(ages) else None
            one = dt.timedelta(days=1)
            for label, issue, expected in (
                ("day before the window", opens - one, due),
                ("window opens", opens, nxt),
                ("inside the window", opens + one, nxt),
                ("day before the milestone", due - one, nxt),
                ("on the milestone", due, nxt),
                ("day after the milestone", due + one, nxt),
            ):
                cases.append((f"{law} law, age {age}: {label}", dob, issue, expected))
    return cases


@pytest.mark.parametrize(("label", "dob", "issue", "expected"), _boundary_cases(), ids=lambda v: str(v))
def test_expiry_boundaries(label: str, dob: dt.date, issue: dt.date, expected: dt.date | None) -> None:
    assert card_expiry(dob, issue) == expected, label


def test_expiry_published_samples() -> None:
    # facts §2.3: born 1993 -> 40 (2033); born 2001 -> 25 (2026); born 1982, issued at 38-39 -> 60 (2042)
    assert card_expiry(D(1993, 5, 6), D(2021, 6, 1)) == D(2033, 5, 6)
    assert card_expiry(D(2001, 5, 6), D(2021, 6, 1)) == D(2026, 5, 6)
    assert card_expiry(D(1982, 5, 6), D(2021, 6, 1)) == D(2042, 5, 6)
    # born in the 1950s/60s, CCCD of 2021: no expiry (991231 on the card)
    assert card_expiry(D(1958, 5, 6), D(2021, 6, 1)) is None
    assert card_expiry(D(1962, 5, 6), D(2021, 6, 1)) is None


def test_expiry_law_switch_on_2024_07_01() -> None:
    dob = D(2014, 1, 1)  # 10 years old at the switch
    assert milestones_for(D(2024, 6, 30)) == OLD
    assert milestones_for(LAW_2023_IN_FORCE) == NEW
    assert card_expiry(dob, D(2024, 6, 30)) == D(2039, 1, 1)  # old law: next renewal at 25
    assert card_expiry(dob, D(2024, 7, 1)) == D(2028, 1, 1)  # new law: renewal at 14
    assert card_expiry(dob, D(2024, 7, 2)) == D(2028, 1, 1)


def test_expiry_children_under_the_new_law() -> None:
    dob = D(2024, 8, 1)
    assert card_expiry(dob, dob) == D(2038, 8, 1)  # a card on the day of birth
    assert card_expiry(dob, D(2036, 7, 31)) == D(2038, 8, 1)
    assert card_expiry(dob, D(2036, 8, 1)) == D(2049, 8, 1)  # at 12: valid to 25


def test_expiry_for_late_first_cards() -> None:
    assert card_expiry(D(1940, 1, 1), D(2021, 1, 1)) is None
    assert card_expiry(D(1940, 1, 1), D(2025, 1, 1)) is None


def test_leap_day_birthdays() -> None:
    dob = D(2000, 2, 29)
    issue = D(2021, 5, 1)
    assert card_expiry(dob, issue) == D(2025, 2, 28)
    assert card_expiry(dob, issue, leap_day="mar1") == D(2025, 3, 1)
    # the window for 25 opens on the 23rd birthday, which 2023 lacks
    assert card_expiry(dob, D(2023, 2, 28)) == D(2040, 2, 29)  # 2040 is a leap year
    assert card_expiry(dob, D(2023, 2, 28), leap_day="mar1") == D(2025, 3, 1)
    assert card_expiry(dob, D(2023, 3, 1), leap_day="mar1") == D(2040, 2, 29)
    assert birthday_at(dob, 4) == D(2004, 2, 29)
    assert birthday_at(dob, 1) == D(2001, 2, 28)
    assert birthday_at(dob, 1, leap_day="mar1") == D(2001, 3, 1)


def test_expiry_argument_errors() -> None:
    with pytest.raises(KeyInputError):
        card_expiry(D(2000, 1, 2), D(2000, 1, 1))
    with pytest.raises(KeyInputError):
        card_expiry("2000-01-01", D(2020, 1, 1))  # type: ignore[arg-type]
    with pytest.raises(KeyInputError):
        card_expiry(D(2000, 1, 1), D(2020, 1, 1), leap_day="feb29")  # type: ignore[arg-type]
    with pytest.raises(KeyInputError):
        card_expiry(D(9950, 1, 1), D(9990, 1, 1))  # the 58th birthday is past year 9999
    assert card_expiry(dt.datetime(1990, 1, 1, 8, 0), dt.datetime(2021, 4, 15, 9, 0)) == D(2030, 1, 1)


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=D(1900, 1, 1), max_value=D(2100, 12, 31)), st.integers(0, 120 * 366))
def test_expiry_properties(dob: dt.date, days: int) -> None:
    issue = dob + dt.timedelta(days=days)
    expiry = card_expiry(dob, issue)
    ages = NEW if issue >= LAW_2023_IN_FORCE else OLD
    if expiry is None:
        # only once the last window has opened
        assert issue >= birthday_at(dob, 58)
        return
    assert expiry > issue
    age = next(a for a in ages if birthday_at(dob, a) == expiry)
    # valid at least 2 years and at most one full renewal period
    assert expiry - issue > dt.timedelta(days=365 * 2 - 2)
    assert issue < birthday_at(dob, age - 2)


# --- keys from the QR ------------------------------------------------------------------------------------


def _qr(id_number: str, dob: dt.date, issue: dt.date, sex: str = "Nữ") -> str:
    return f"{id_number}||Trần Thị B|{dob:%d%m%Y}|{sex}|Phường 1, Quận 3, Hồ Chí Minh|{issue:%d%m%Y}"


def _expiries(keys: list[Any]) -> list[dt.date | None]:
    return [k.date_of_expiry for k in keys if isinstance(k, MRZKey)]


def test_keys_from_qr_order_and_no_duplicates() -> None:
    q = parse_qr_payload(_qr("079195004321", D(1995, 3, 10), D(2019, 6, 1)))  # issued at 24: in the window
    keys = keys_from_qr(q)
    assert isinstance(keys[0], CANKey) and keys[0].can == "004321"
    mrz_keys = [k for k in keys if isinstance(k, MRZKey)]
    assert all(k.document_number == "195004321" and k.date_of_birth == D(1995, 3, 10) for k in mrz_keys)
    assert _expiries(keys)[0] == card_expiry(D(1995, 3, 10), D(2019, 6, 1)) == D(2035, 3, 10)
    assert D(2020, 3, 10) in _expiries(keys)  # the milestone the window skipped
    infos = [k.mrz_information for k in mrz_keys]
    assert len(infos) == len(set(infos))
    assert all(isinstance(k, CANKey) for k in keys[:1]) and not any(isinstance(k, CANKey) for k in keys[1:])


def test_keys_from_qr_leap_day_variants() -> None:
    q = parse_qr_payload(_qr("079100004321", D(2000, 2, 29), D(2021, 5, 1)))
    expiries = _expiries(keys_from_qr(q))
    assert expiries[:2] == [D(2025, 2, 28), D(2025, 3, 1)]


def test_keys_from_qr_no_expiry_and_its_neighbour() -> None:
    q = parse_qr_payload(_qr("079162004321", D(1962, 3, 10), D(2021, 6, 1)))  # issued at 59
    expiries = _expiries(keys_from_qr(q))
    assert expiries[0] is None
    assert D(2022, 3, 10) in expiries
    key = next(k for k in keys_from_qr(q) if isinstance(k, MRZKey))
    assert key.mrz_information.endswith("9912315")


def test_keys_from_qr_just_before_a_window_opens() -> None:
    dob = D(1981, 3, 10)
    issue = D(2019, 3, 1)  # 9 days before the 38th birthday
    expiries = _expiries(keys_from_qr(parse_qr_payload(_qr("079081004321", dob, issue))))
    assert expiries[0] == D(2021, 3, 10)
    assert D(2041, 3, 10) in expiries


def test_keys_from_qr_other_law_for_a_child() -> None:
    dob = D(2014, 1, 1)
    expiries = _expiries(keys_from_qr(parse_qr_payload(_qr("079314004321", dob, D(2024, 7, 2)))))
    assert expiries[0] == D(2028, 1, 1)
    assert D(2039, 1, 1) in expiries


def test_keys_do_not_show_secrets() -> None:
    keys = keys_from_qr(parse_qr_payload(CCCD_QR))
    text = repr(keys) + str(keys)
    for secret in ("123456", "090123456", "900101", "300101", "1990", "2030"):
        assert secret not in text


@settings(max_examples=200, deadline=None)
@given(
    st.dates(min_value=D(1930, 1, 1), max_value=D(2023, 12, 31)),
    st.integers(0, 90 * 366),
    st.integers(0, 999999),
)
def test_keys_from_qr_properties(dob: dt.date, days: int, serial: int) -> None:
    issue = min(dob + dt.timedelta(days=days), D(2030, 12, 31))
    digit = (dob.year - 1900) // 100 * 2 + 1
    number = f"001{digit}{dob.year % 100:02d}{serial:06d}"
    keys = keys_from_qr(parse_qr_payload(_qr(number, dob, issue)))
    assert isinstance(keys[0], CANKey) and keys[0].can == number[-6:]
    assert isinstance(keys[1], MRZKey) and keys[1].date_of_expiry == card_expiry(dob, issue)
    assert all(isinstance(k, MRZKey) and k.document_number == number[3:] for k in keys[1:])
    infos = [k.mrz_information for k in keys[1:] if isinstance(k, MRZKey)]
    assert len(infos) == len(set(infos))
    assert expiry_candidates(dob, issue)[0] == card_expiry(dob, issue)
