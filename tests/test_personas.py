"""Persona files and the sample cards: what is derived from them, pinned to the card facts where possible.

The MRZ and DG13 of a persona built from the values of cccd-card-facts §6.2/§6.3 must equal the bytes
printed there (an external reference), and the sample card "an" must carry exactly the EF.CardAccess
published for real CCCD chips (§3.2).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cccd_reader.emulator import build_card, load_persona, load_sample, sample_names
from cccd_reader.emulator.persona import Persona, card_keys, persona_from_dict, rsa_key_from_seed
from cccd_reader.emulator.samples import PACKAGE_DATA, REPO_SAMPLES, draw_portrait, sample_persona
from cccd_reader.errors import InputError
from cccd_reader.keys import keys_from_qr
from cccd_reader.lds.dg1 import DG1
from cccd_reader.lds.dg2 import DG2
from cccd_reader.lds.dg13 import DG13
from cccd_reader.lds.security_infos import DG14, parse_card_access
from cccd_reader.lds.sod import SOD
from cccd_reader.mrz import parse_mrz
from cccd_reader.qr.payload import parse_qr_payload

H = bytes.fromhex
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
REAL_CARD_ACCESS = H(
    "3134300d060804007f0007020202020101300f060a04007f000702020302020201013012060a04007f0007020204020202010202010d"
)
FACTS_DG13 = H(
    "6d82016c30820168020101060628d316010008318201593011020101130c30303130393031323334353630140201020c0f4e67"
    "7579e1bb856e2056c4836e2041300f020103130a30312f30312f3139393030080201040c034e616d300f0201050c0a5669e1bb"
    "8774204e616d30090201060c044b696e68300b0201070c064b68c3b46e67300e0201080c0948c3a0204ee1bb996930350201"
    "090c3053e1bb912031205068e1bb9120412c205068c6b0e1bb9d6e6720422c205175e1baad6e20432c2048c3a0204ee1bb99"
    "69302b02010a0c264ee1bb9174207275e1bb936920433a31636d2064c6b0e1bb9b69206dc3a970207068e1baa369300f0201"
    "0b130a31352f30342f32303231300f02010c0c0a30312f30312f32303330302802010d30110c0f4e677579e1bb856e2056c4"
    "836e204230100c0e5472e1baa76e205468e1bb8b2043300302010e300e02010f13093031323334353637383015020110131030"
    "313233343536373839414243444546"
)
ALL_VIETNAMESE_LETTERS = set("ăâêôơưđ") | set(
    "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
)


def facts_persona(**changes: Any) -> Persona:
    """The synthetic holder of cccd-card-facts §6.2 / §6.3."""
    data: dict[str, Any] = {
        "label": "facts",
        "dg13": {
            "1": "001090123456", "2": "Nguyễn Văn A", "3": "01/01/1990", "4": "Nam", "5": "Việt Nam",
            "6": "Kinh", "7": "Không", "8": "Hà Nội", "9": "Số 1 Phố A, Phường B, Quận C, Hà Nội",
            "10": "Nốt ruồi C:1cm dưới mép phải", "11": "15/04/2021", "12": "01/01/2030",
            "13": ["Nguyễn Văn B", "Trần Thị C"], "14": None, "15": "012345678", "16": "0123456789ABCDEF",
        },
        "profile": {"active_authentication": "EC-P256"},
    }
    data.update(changes)
    return persona_from_dict(data)


# --- derivations pinned to the card facts -------------------------------------------------------------------


def test_mrz_matches_the_facts_example() -> None:
    lines = facts_persona().mrz_lines()
    assert lines == ("IDVNM0901234562001090123456<<3", "9001011M3001019VNM<<<<<<<<<<<4",
                     "NGUYEN<<VAN<A<<<<<<<<<<<<<<<<<")
    mrz = parse_mrz("\n".join(lines))
    assert mrz.valid and mrz.personal_id_number == "001090123456"
    assert facts_persona().mrz_key().mrz_information == "090123456290010113001019"
    assert facts_persona().mrz_key().k_seed.hex() == "7c982411e7bfc7420e579dcc18d88af8"
    assert facts_persona().can == "123456"


def test_dg13_matches_the_facts_bytes() -> None:
    card = build_card(facts_persona())
    assert card.image.data_groups[13] == FACTS_DG13


def test_sample_an_carries_the_published_card_access() -> None:
    card = load_sample("an")
    assert card.files.file("EF.CardAccess").data == REAL_CARD_ACCESS  # type: ignore[union-attr]


def test_other_curve_profile_announces_parameter_12() -> None:
    infos = parse_card_access(load_sample("mai").files.file("EF.CardAccess").data)  # type: ignore[union-attr]
    assert [i.parameter_id for i in infos.pace_infos] == [12]
    both = parse_card_access(load_sample("hung").files.file("EF.CardAccess").data)  # type: ignore[union-attr]
    assert [i.parameter_id for i in both.pace_infos] == [13, 12]


# --- the sample set covers what the issue asks for ---------------------------------------------------------


def test_at_least_four_samples_cover_both_generations() -> None:
    names = sample_names()
    assert len(names) >= 4
    generations = {sample_persona(n).generation for n in names}
    assert generations == {"cccd-2021", "can-cuoc-2024"}
    counts = {parse_qr_payload(sample_persona(n).qr_payload()).field_count for n in names}
    assert counts == {7, 11}


def test_holder_without_old_id() -> None:
    # mai: entry 15 present but empty, as real cards write it; binh: entry 15 absent (the older shape)
    for name, entry_15 in (("mai", True), ("binh", False)):
        persona = sample_persona(name)
        assert persona.old_id_number is None and (15 in persona.dg13) is entry_15
        assert persona.dg13.get(15) is None
        qr = parse_qr_payload(persona.qr_payload())
        assert qr.old_id_number is None and persona.qr_payload().split("|")[1] == ""
        dg13 = DG13.decode(load_sample(name).image.data_groups[13])
        assert dg13.old_id_number is None
        assert any(e.number == 15 for e in dg13.entries) is entry_15


def test_holder_over_60_has_no_expiry() -> None:
    persona = sample_persona("tho")
    assert persona.date_of_birth.year < 1965 and persona.expiry_date is None
    line2 = persona.mrz_lines()[1]
    assert line2[8:15] == "9912315"
    assert persona.mrz_key().date_of_expiry is None
    qr = parse_qr_payload(persona.qr_payload())
    assert keys_from_qr(qr)[1].mrz_information == persona.mrz_key().mrz_information


def test_jpeg2000_portrait() -> None:
    persona = sample_persona("tho")
    data = persona.portrait_bytes()
    assert data[:12] == H("0000000C6A5020200D0A870A")
    portrait = DG2.decode(load_sample("tho").image.data_groups[2]).portrait
    assert portrait is not None and portrait.format == "JP2"


def test_long_names_use_every_vietnamese_letter() -> None:
    persona = sample_persona("thao")
    text = " ".join(v if isinstance(v, str) else " ".join(v) for v in persona.dg13.values() if v)
    assert unicodedata.is_normalized("NFC", text)
    assert set(text.lower()) >= ALL_VIETNAMESE_LETTERS
    assert "Đ" in text and "đ" in text
    assert len(persona.address.encode("utf-8")) > 127  # long-form DER length inside DG13
    dg13 = DG13.decode(load_sample("thao").image.data_groups[13])
    assert dg13.place_of_residence == persona.address and dg13.full_name == persona.full_name
    assert (dg13.father_name, dg13.mother_name) == tuple(persona.dg13[13])  # type: ignore[arg-type]
    assert len(persona.mrz_lines()[2]) == 30  # the name is cut to the MRZ width


def test_mismatch_card_disagrees_only_where_intended() -> None:
    persona = sample_persona("hung")
    qr = parse_qr_payload(persona.qr_payload())
    assert qr.full_name != persona.full_name and qr.address != persona.address
    assert (qr.id_number, qr.date_of_birth, qr.issue_date) == (
        persona.id_number, persona.date_of_birth, persona.issue_date)
    assert keys_from_qr(qr)[0].can == persona.can  # type: ignore[union-attr]


@pytest.mark.parametrize("name", sample_names())
def test_every_sample_is_consistent(name: str) -> None:
    persona = sample_persona(name)
    card = load_sample(name)
    dgs = card.image.data_groups
    # DG1 is the persona's MRZ and agrees with DG13
    dg1 = DG1.decode(dgs[1])
    assert dg1.mrz.valid and dg1.mrz.personal_id_number == persona.id_number
    dg13 = DG13.decode(dgs[13])
    assert dg13.id_number == persona.id_number
    # the QR gives keys the chip accepts: the CAN, and the MRZ key the expiry law predicts
    qr = parse_qr_payload(persona.qr_payload())
    assert not qr.warnings, qr.warnings
    keys = keys_from_qr(qr)
    assert keys[0].password == persona.can_key().password
    assert keys[1].mrz_information == persona.mrz_key().mrz_information
    # DG14 holds the CA key, DG15 the AA key; EF.COM lists what is there
    dg14 = DG14.decode(dgs[14])
    assert dg14.security_infos.chip_authentication_public_keys
    if persona.no_portrait:  # a child under 6: the card carries no portrait at all
        assert 2 not in dgs and set(dgs) >= {1, 3, 13, 14, 15}
        assert 2 not in SOD.decode(card.files.file("EF.SOD").data).data_groups
        return
    assert 15 in dgs and set(dgs) >= {1, 2, 3, 13, 14, 15}
    # the portrait is a small synthetic image of the right kind
    portrait = DG2.decode(dgs[2]).portrait
    assert portrait is not None and (portrait.width, portrait.height) == (240, 320)
    assert 4_000 < len(persona.portrait_bytes()) < 16_000


@pytest.mark.parametrize("name", sample_names())
def test_sample_files_on_disk_match_the_persona(name: str) -> None:
    folder = REPO_SAMPLES / "cards" / name
    persona = load_persona(folder)
    assert (folder / "qr.txt").read_text(encoding="utf-8") == persona.qr_payload() + "\n"
    zxingcpp = __import__("zxingcpp") if IN_CI else pytest.importorskip("zxingcpp")
    from PIL import Image

    found = zxingcpp.read_barcodes(Image.open(folder / "qr.png"))
    assert [r.text for r in found] == [persona.qr_payload()]
    # the copy shipped inside the package is the same
    shipped = PACKAGE_DATA / "cards" / name
    for f in folder.iterdir():
        if f.suffix in (".json", ".jpg", ".jp2", ".txt"):
            assert (shipped / f.name).read_bytes() == f.read_bytes(), f.name


def test_shipped_pki_matches_the_sample_pki() -> None:
    from cccd_reader.emulator.samples import _PKI_FILES

    assert "pki/trust/csca-vietnam-test.pem" in _PKI_FILES and "pki/keys/dsc-ecdsa.key" in _PKI_FILES
    for rel in _PKI_FILES:
        assert (PACKAGE_DATA / rel).read_bytes() == (REPO_SAMPLES / rel).read_bytes(), rel


# --- building is deterministic; keys from seeds ------------------------------------------------------------


def test_building_twice_gives_the_same_chip() -> None:
    a, b = load_sample("an"), load_sample("an")
    for ef in a.files.app:
        assert b.files.app.by_fid(ef.fid).data == ef.data, ef.name  # type: ignore[union-attr]


def test_rsa_keys_from_seed_are_deterministic_and_sound() -> None:
    k1 = rsa_key_from_seed("unit-test", 1024)
    k2 = rsa_key_from_seed("unit-test", 1024)
    assert k1.private_numbers() == k2.private_numbers()
    n = k1.public_key().public_numbers().n
    assert n.bit_length() == 1024 and k1.public_key().public_numbers().e == 65537
    assert pow(pow(12345, 65537, n), k1.private_numbers().d, n) == 12345
    assert rsa_key_from_seed("other", 1024).public_key().public_numbers().n != n


def test_keys_can_come_from_pem_files(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    ca = ec.generate_private_key(ec.BrainpoolP256R1())
    (tmp_path / "ca.key").write_bytes(ca.private_bytes(serialization.Encoding.PEM,
                                                       serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    persona = facts_persona(keys={"ca_key": "ca.key"})
    persona = persona_from_dict({**json.loads(_persona_json(persona)), "keys": {"ca_key": "ca.key"}},
                                folder=tmp_path)
    assert card_keys(persona).ca_private == ca.private_numbers().private_value


def _persona_json(persona: Persona) -> str:
    return json.dumps({"label": persona.label, "dg13": {str(k): list(v) if isinstance(v, tuple) else v
                                                        for k, v in persona.dg13.items()}})


def test_portrait_drawing_is_deterministic() -> None:
    assert draw_portrait("x") == draw_portrait("x")
    assert draw_portrait("x") != draw_portrait("y")
    assert draw_portrait("x", fmt="JP2")[:4] == H("0000000C")


def test_persona_without_portrait_gets_a_drawn_one() -> None:
    card = build_card(facts_persona())
    portrait = DG2.decode(card.image.data_groups[2]).portrait
    assert portrait is not None and portrait.format == "JPEG"


# --- validation: errors name the field, never the value -----------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"dg13": {"1": "12345", "2": "A", "3": "01/01/1990", "4": "Nam", "11": "01/01/2021"}}, "dg13.1"),
        ({"dg13": {"1": "001090123456", "2": "A", "3": "1990-01-01", "4": "Nam", "11": "01/01/2021"}},
         "dg13.3"),
        ({"generation": "cccd-1999"}, "generation"),
        ({"label": "bad label!"}, "label"),
        ({"profile": {"pace": {"parameter_ids": [99]}}}, "profile.pace.parameter_ids"),
        ({"profile": {"active_authentication": "DSA"}}, "profile.active_authentication"),
        ({"profile": {"max_response": 5}}, "profile.max_response"),
        ({"profile": {"select_mf": "maybe"}}, "profile.select_mf"),
        ({"surprise": 1}, "top level"),
        ({"can": "12ab56"}, "CAN"),
    ],
)
def test_invalid_personas_are_refused(change: dict[str, Any], field: str) -> None:
    base = json.loads(_persona_json(facts_persona()))
    base.update(change)
    with pytest.raises(InputError) as info:
        persona_from_dict(base)
    text = str(info.value)
    assert field in text
    assert "001090123456" not in text and "1990" not in text


def test_persona_repr_hides_personal_data() -> None:
    persona = sample_persona("an")
    assert "Nguyễn" not in repr(persona) and persona.id_number not in repr(persona)
    assert "RSA" not in repr(card_keys(persona)) or "private" not in repr(card_keys(persona))


def test_load_persona_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        load_persona(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError):
        load_persona(tmp_path / "bad.json")
    with pytest.raises(InputError):
        load_sample("nobody")


def test_dates_follow_the_expiry_law_for_every_sample() -> None:
    from cccd_reader.keys import card_expiry

    for name in sample_names():
        p = sample_persona(name)
        assert card_expiry(p.date_of_birth, p.issue_date) == p.expiry_date, name
        assert p.issue_date <= dt.date(2026, 1, 1)


# --- totality of the persona reader ---

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 40) | st.text(max_size=12),
    lambda children: (st.lists(children, max_size=4)
                      | st.dictionaries(st.text(max_size=6), children, max_size=4)),
    max_leaves=12,
)
_KEYS = st.sampled_from(["label", "generation", "dg13", "profile", "keys", "qr_overrides", "can", "mrz_name",
                         "portrait", "schema"])


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(_KEYS, _JSON, max_size=5), st.dictionaries(st.sampled_from(
    ["pace", "chip_authentication", "active_authentication", "max_response", "select_mf", "sod",
     "eac_data_groups", "atr", "bac"]), _JSON, max_size=3))
def test_any_persona_json_gives_a_persona_or_an_input_error(mutation: dict[str, Any],
                                                           profile: dict[str, Any]) -> None:
    base = json.loads(_persona_json(facts_persona()))
    base["profile"] = profile
    base.update(mutation)
    try:
        persona = persona_from_dict(base)
    except InputError:
        return
    assert isinstance(persona, Persona) and persona.mrz_lines()
