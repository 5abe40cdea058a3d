"""Identity: DG13 first, DG1 for the rest, and the cross-checks of cccd-card-facts §4.3 step 5.

Inputs are the synthetic DG13 of facts §6.3 and the synthetic MRZ of facts §2.1 (same person).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from test_dg13 import FACTS_DG13, FACTS_FIELDS

from cccd_reader.lds.dg1 import DG1
from cccd_reader.lds.dg13 import DG13
from cccd_reader.model import Identity, PartialDate, ascii_fold, merge_identity

VN_MRZ = [
    "IDVNM0901234562001090123456<<3",
    "9001011M3001019VNM<<<<<<<<<<<4",
    "NGUYEN<<VAN<A<<<<<<<<<<<<<<<<<",
]
PERSONAL = ("001090123456", "Nguyễn", "NGUYEN", "1990", "Hà Nội", "012345678", "Trần")


def mrz(line1=VN_MRZ[0], line2=VN_MRZ[1], line3=VN_MRZ[2]) -> DG1:
    return DG1.from_mrz("\n".join((line1, line2, line3)))


def dg13(**changes) -> DG13:
    fields = dict(FACTS_FIELDS)
    for key, value in changes.items():
        fields[int(key[1:])] = value
    return DG13.decode(DG13.build(fields).encode())


def test_merge_prefers_dg13_and_agrees_with_the_mrz():
    ident = merge_identity(DG13.decode(FACTS_DG13), mrz())
    assert ident.warnings == ()
    assert ident.id_number == "001090123456"
    assert ident.full_name == "Nguyễn Văn A"
    assert ident.date_of_birth == PartialDate(1990, 1, 1)
    assert (ident.sex, ident.sex_text) == ("M", "Nam")
    assert ident.nationality == "Việt Nam" and ident.nationality_code == "VNM"
    assert ident.ethnicity == "Kinh" and ident.religion == "Không"
    assert ident.place_of_origin == "Hà Nội"
    assert ident.place_of_residence.startswith("Số 1")
    assert ident.identifying_marks.startswith("Nốt ruồi")
    assert ident.issue_date == PartialDate(2021, 4, 15)
    assert ident.expiry_date == PartialDate(2030, 1, 1) and not ident.no_expiry
    assert (ident.father_name, ident.mother_name, ident.spouse_name) == ("Nguyễn Văn B", "Trần Thị C", None)
    assert ident.old_id_number == "012345678"
    assert ident.document_number == "090123456"
    assert ident.extra == {16: ("0123456789ABCDEF",)}
    assert ident.sources["full_name"] == "DG13" and ident.sources["nationality_code"] == "DG1"


def test_dg1_only_fills_what_it_can():
    ident = merge_identity(None, mrz())
    assert ident.id_number == "001090123456"  # from the TD1 optional data
    assert ident.full_name == "NGUYEN VAN A"
    assert ident.date_of_birth == dt.date(1990, 1, 1)
    assert ident.sex == "M" and ident.nationality == "VNM"
    assert ident.expiry_date == dt.date(2030, 1, 1)
    assert ident.place_of_residence is None
    assert set(ident.sources.values()) == {"DG1"}


def test_dg13_only():
    ident = merge_identity(DG13.decode(FACTS_DG13))
    assert ident.full_name == "Nguyễn Văn A" and ident.nationality_code is None
    assert set(ident.sources.values()) == {"DG13"}


def test_mrz_object_is_accepted_in_place_of_dg1():
    assert merge_identity(None, mrz().mrz).id_number == "001090123456"


def test_empty_dg13_entries_fall_back_to_dg1():
    ident = merge_identity(dg13(f2="", f3=""), mrz())
    assert ident.full_name == "NGUYEN VAN A" and ident.sources["full_name"] == "DG1"
    assert ident.date_of_birth == dt.date(1990, 1, 1)


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"f1": "001090123457"}, "ID number"),
        ({"f3": "02/01/1990"}, "date of birth"),
        ({"f4": "Nữ"}, "sex"),
        ({"f2": "Nguyễn Văn B"}, "name"),
        ({"f12": "01/01/2031"}, "expiry"),
    ],
)
def test_disagreements_are_reported_without_values(changes, needle):
    ident = merge_identity(dg13(**changes), mrz())
    assert len(ident.warnings) == 1 and needle in ident.warnings[0]
    for value in changes.values():
        assert value not in ident.warnings[0]
    # DG13 still wins
    field = {
        "f1": "id_number",
        "f3": "date_of_birth",
        "f4": "sex_text",
        "f2": "full_name",
        "f12": "expiry_date",
    }
    key = next(iter(changes))
    assert ident.sources[field[key]] == "DG13"


def test_no_expiry_agrees_with_mrz_991231():
    line2 = "9001011M9912315VNM<<<<<<<<<<<"
    line2 += __import__("cccd_reader.mrz", fromlist=["check_digit"]).check_digit(
        VN_MRZ[0][5:30] + line2[0:7] + line2[8:15] + line2[18:29]
    )
    ident = merge_identity(dg13(f12="Không thời hạn"), mrz(line2=line2))
    assert ident.expiry_date is None and ident.no_expiry is True
    assert ident.warnings == ()
    assert merge_identity(None, mrz(line2=line2)).no_expiry is True


def test_truncated_mrz_name_is_not_a_disagreement():
    long_name = "Nguyễn Thị Phương Thảo Quỳnh Anh"
    line3 = "NGUYEN<<THI<PHUONG<THAO<QUYNH<"  # 30 characters: the MRZ cut the name
    assert len(line3) == 30
    ident = merge_identity(dg13(f2=long_name), mrz(line3=line3))
    assert not any("name" in w for w in ident.warnings)
    assert ascii_fold(long_name) == "NGUYEN THI PHUONG THAO QUYNH ANH"


def test_partial_birth_date_is_kept_partial():
    ident = merge_identity(dg13(f3="00/00/1990"), mrz())
    assert ident.date_of_birth == PartialDate(1990) and ident.to_dict()["date_of_birth"] == "1990"
    assert ident.warnings == ()  # year agrees, unknown parts are not a disagreement


def test_to_dict_is_json_ready_with_iso_dates():
    d = merge_identity(DG13.decode(FACTS_DG13), mrz()).to_dict()
    text = json.dumps(d, ensure_ascii=False)
    assert d["date_of_birth"] == "1990-01-01" and d["issue_date"] == "2021-04-15"
    assert d["expiry_date"] == "2030-01-01" and d["no_expiry"] is False
    assert d["extra"] == {"16": ["0123456789ABCDEF"]}
    assert "Nguyễn Văn A" in text


def test_repr_shows_no_personal_values():
    ident = merge_identity(DG13.decode(FACTS_DG13), mrz())
    text = repr(ident)
    for secret in PERSONAL:
        assert secret not in text
    assert "full_name" in text
    assert isinstance(ident, Identity)
    assert "1990" not in repr(ident.date_of_birth)


def test_portrait_from_dg2_is_attached_but_not_shown():
    import io

    from PIL import Image

    from cccd_reader.lds.dg2 import DG2

    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="JPEG")
    dg2 = DG2.decode(DG2.from_image(out.getvalue()).encode())
    ident = merge_identity(DG13.decode(FACTS_DG13), mrz(), dg2)
    assert ident.portrait == dg2.portrait and ident.sources["portrait"] == "DG2"
    assert merge_identity(None, mrz(), dg2.portrait).portrait == dg2.portrait
    assert "image" not in repr(ident)
    assert json.loads(json.dumps(ident.to_dict()))["portrait"]["mime_type"] == "image/jpeg"


def test_a_dg1_check_digit_failure_reaches_the_identity_and_the_records_warnings():
    import dataclasses

    from cccd_reader.emulator import load_sample
    from cccd_reader.emulator.card import SeededRandom
    from cccd_reader.emulator.samples import sample_persona
    from cccd_reader.lds.dg1 import DG1 as DG1File
    from cccd_reader.model import merge_identity
    from cccd_reader.read import read_card

    card = load_sample("an")
    ef = card.files.file("DG1")
    dg1 = DG1File.decode(ef.data)
    text = dg1.mrz_text
    # TD1: document number in 5-14, its check digit at 14; change the check digit only
    wrong = text[:14] + str((int(text[14]) + 1) % 10) + text[15:]
    bad = DG1File.from_mrz(wrong)
    assert not bad.valid and bad.check_results["document_number"] is False
    identity = merge_identity(None, bad)
    assert any("check digit of the document number" in w for w in identity.warnings)
    assert not any(wrong[5:14] in w for w in identity.warnings)  # the field, never its value
    assert not any("check digit" in w for w in merge_identity(None, dg1).warnings)

    card.files.app.replace(dataclasses.replace(ef, data=bad.encode()))
    rec = read_card(card, sample_persona("an").can_key(), random_bytes=SeededRandom("t"))
    assert any("check digit of the document number" in w for w in rec.warnings)
    assert any("check digit of the document number" in w for w in rec.identity.warnings)
