"""The default sample chips are laid out like real CCCDs (cccd-card-facts §8), point by point; the sample
`binh` keeps every older shape, so a reader stays tested on both."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from asn1crypto import cms, keys
from asn1crypto import x509 as ax509

from cccd_reader.emulator import SeededRandom, load_sample
from cccd_reader.emulator.persona import DOCUMENT_SIGNERS, REAL_DG2_DECLARED_SIZE, ef_com_order
from cccd_reader.emulator.samples import sample_names, sample_persona
from cccd_reader.iso7816.tlv import decode_one
from cccd_reader.lds.biometric import ICAO_HEADER_VERSION_TAG, probe_image
from cccd_reader.lds.com import EFCOM
from cccd_reader.lds.dg2 import DG2
from cccd_reader.lds.security_infos import (
    DG14,
    ChipAuthenticationInfo,
    ChipAuthenticationPublicKeyInfo,
    PACEInfo,
    SecurityInfos,
    TerminalAuthenticationInfo,
)
from cccd_reader.lds.sod import decode_sod
from cccd_reader.qr.payload import parse_qr_payload
from cccd_reader.read import read_card

LEGACY = "binh"
REAL = [n for n in sample_names() if sample_persona(n).profile.ef_com == "real"]


@functools.lru_cache(maxsize=16)
def read(name: str) -> Any:
    card = load_sample(name)
    record = read_card(card, parse_qr_payload(card.persona.qr_payload()), random_bytes=SeededRandom("layout"))
    return card, record


def chip_file(name: str, file: str) -> bytes:
    card = load_sample(name)
    ef = card.image.files.file(file)
    assert ef is not None
    return bytes(ef.data)


def test_every_sample_but_the_legacy_one_follows_the_real_layout() -> None:
    assert "an" in REAL and LEGACY not in REAL
    legacy = sample_persona(LEGACY).profile
    assert (legacy.ef_com, legacy.dg14, legacy.aa_key, legacy.document_signer, legacy.dg2_declared_size,
            legacy.dg2_header_version) == ("ascending", "legacy", "RSA-1024", "vn-test", None, True)
    for name in REAL:
        prof = sample_persona(name).profile
        assert (prof.ef_com, prof.dg14, prof.document_signer) == ("real", "real", "vietnam-eid")


# --- EF.COM: DG15 listed before DG14 ------------------------------------------------------------------


@pytest.mark.parametrize("name", REAL)
def test_ef_com_lists_dg15_before_dg14(name: str) -> None:
    tags = EFCOM.decode(chip_file(name, "EF.COM")).data_groups
    assert tags.index(15) == tags.index(14) - 1
    assert sorted(tags) == sorted(load_sample(name).image.data_groups)
    assert [t for t in tags if t not in (14, 15)] == sorted(t for t in tags if t not in (14, 15))


def test_ef_com_real_order_is_the_published_one() -> None:
    assert ef_com_order([1, 2, 3, 13, 14, 15]) == [1, 2, 3, 13, 15, 14]
    assert ef_com_order([1, 2, 13, 14]) == [1, 2, 13, 14]
    assert ef_com_order([15, 14, 1], "ascending") == [1, 14, 15]


def test_legacy_ef_com_is_ascending() -> None:
    tags = EFCOM.decode(chip_file(LEGACY, "EF.COM")).data_groups
    assert list(tags) == sorted(tags) and tags.index(14) < tags.index(15)


# --- DG14: TA, CA, PACE infos, then the CA key with explicit brainpoolP256r1 parameters ----------------


def test_dg14_entry_order_and_explicit_ca_key() -> None:
    _card, record = read("an")
    raw = record.files["DG14"]
    infos = DG14.decode(raw).security_infos.infos
    assert [type(i) for i in infos] == [TerminalAuthenticationInfo, ChipAuthenticationInfo, PACEInfo,
                                         ChipAuthenticationPublicKeyInfo]
    ca_info = infos[1]
    assert isinstance(ca_info, ChipAuthenticationInfo) and ca_info.key_id is None
    # the same three entries as EF.CardAccess open DG14, byte for byte
    access = decode_one(record.files["EF.CardAccess"])
    dg14_set = decode_one(decode_one(raw).value)
    assert [c.encode() for c in dg14_set.children[:3]] == [c.encode() for c in access.children]
    # ChipAuthenticationPublicKeyInfo: id-PK-ECDH, SubjectPublicKeyInfo with explicit ecdpVer1 parameters
    spki_der = dg14_set.children[3].children[1].encode()
    spki = keys.PublicKeyInfo.load(bytes(spki_der))
    params = spki["algorithm"]["parameters"]
    assert params.name == "specified"
    spec = params.chosen
    assert spec["version"].native == "ecdpVer1" and spec["cofactor"].native == 1
    from ecdsa.curves import BRAINPOOLP256r1

    assert spec["field_id"]["parameters"].native == BRAINPOOLP256r1.curve.p()
    assert spec["order"].native == BRAINPOOLP256r1.order
    point = spki["public_key"].native
    assert len(point) == 65 and point[0] == 4
    assert len(raw) == 386  # the size the real DG14 has with these entries


def test_legacy_dg14_keeps_the_old_order_and_named_curve() -> None:
    _card, record = read(LEGACY)
    infos = DG14.decode(record.files["DG14"]).security_infos.infos
    assert [type(i) for i in infos] == [ChipAuthenticationPublicKeyInfo, ChipAuthenticationInfo,
                                         TerminalAuthenticationInfo]
    pk = infos[0]
    assert isinstance(pk, ChipAuthenticationPublicKeyInfo) and pk.public_key.parameters == "named"


@pytest.mark.parametrize("name", [*REAL, LEGACY])
def test_chip_authentication_works_with_either_dg14(name: str) -> None:
    _card, record = read(name)
    assert record.security.chip_auth == "passed"
    assert SecurityInfos.decode(record.files["EF.CardAccess"]).infos  # still the published EF.CardAccess


# --- Active Authentication: RSA-2048, e 65537, ISO 9796-2 scheme 1 with SHA-1 -------------------------


def _aa_answers(monkeypatch: pytest.MonkeyPatch, name: str) -> list[Any]:
    import cccd_reader.protocols.active_auth as aa

    seen: list[Any] = []
    real = aa.perform_active_auth

    def spy(*args: Any, **kwargs: Any) -> Any:
        result = real(*args, **kwargs)
        seen.append(result)
        return result

    monkeypatch.setattr(aa, "perform_active_auth", spy)
    card = load_sample(name)
    read_card(card, parse_qr_payload(card.persona.qr_payload()), random_bytes=SeededRandom("aa"))
    return seen


@pytest.mark.parametrize(("name", "bits"), [("an", 2048), (LEGACY, 1024)])
def test_active_authentication_key_and_answer(monkeypatch: pytest.MonkeyPatch, name: str, bits: int) -> None:
    dg15 = chip_file(name, "DG15")
    spki = keys.PublicKeyInfo.load(decode_one(dg15).value)
    assert spki["algorithm"]["algorithm"].native == "rsa"
    assert spki["algorithm"]["parameters"].dump() == b"\x05\x00"  # NULL parameters
    rsa_key = spki["public_key"].parsed
    n, e = rsa_key["modulus"].native, rsa_key["public_exponent"].native
    assert n.bit_length() == bits and e == 65537
    (result,) = _aa_answers(monkeypatch, name)
    assert result.passed and len(result.challenge) == 8 and result.hash_name == "SHA-1"
    # opened with the public key alone: 9796-2 scheme 1, partial recovery (header 6A), trailer BC
    block = pow(int.from_bytes(result.signature, "big"), e, n).to_bytes(bits // 8, "big")
    assert block[0] == 0x6A and block[-1] == 0xBC


# --- EF.SOD: a brainpoolP384r1 signer, ecdsa-with-SHA256, the real issuer's naming style ----------------


@pytest.mark.parametrize("name", REAL)
def test_sod_signer_is_built_like_the_real_one(name: str) -> None:
    _card, record = read(name)
    raw = record.files["EF.SOD"]
    sod = decode_sod(raw)
    assert sod.hash_algorithm == "sha256"
    assert list(sod.dg_hashes) == sorted(load_sample(name).image.data_groups)
    content = cms.ContentInfo.load(decode_one(raw).value)["content"]
    assert content["version"].native == "v3" and len(content["certificates"]) == 1
    (signer,) = content["signer_infos"]
    assert signer["sid"].name == "issuer_and_serial_number"
    assert signer["signature_algorithm"]["algorithm"].native == "sha256_ecdsa"
    assert [a["type"].native for a in signer["signed_attrs"]] == ["content_type", "signing_time",
                                                                  "message_digest"]
    cert = ax509.Certificate.load(bytes(sod.signer_certificates[0]))
    assert cert.public_key["algorithm"]["parameters"].chosen.native.lower() == "brainpoolp384r1"
    issuer = cert.issuer.native
    assert issuer["country_name"] == "VN" and issuer["serial_number"] == "001"
    assert issuer["common_name"].startswith("CSCA Vietnam") and "TEST" in issuer["common_name"]
    assert issuer["organization_name"].startswith("Vietnam Government Information Security Commission")
    subject = cert.subject.native
    assert subject["organization_name"].startswith("Ministry of Public Security")
    assert 1500 < len(raw) < 2100  # real CCCD EF.SODs are ~1.77 KB


def test_legacy_sod_signer_is_the_older_test_signer() -> None:
    _card, record = read(LEGACY)
    cert = ax509.Certificate.load(bytes(decode_sod(record.files["EF.SOD"]).signer_certificates[0]))
    assert cert.public_key["algorithm"]["parameters"].chosen.native.lower() == "brainpoolp256r1"
    assert "CSCA VN test" in cert.issuer.native["common_name"]
    assert set(DOCUMENT_SIGNERS) == {"vietnam-eid", "vn-test"}


# --- DG13: "no old ID" is an empty entry 15; a spouse is SEQUENCE { 14, SEQUENCE { UTF8String } } -----


def _entries(dg13: bytes) -> dict[int, bytes]:
    outer = decode_one(dg13)
    seq = outer.children[0]
    the_set = next(c for c in seq.children if c.tag == 0x31)
    return {int.from_bytes(bytes(e.children[0].value), "big"): e.encode() for e in the_set.children}


def test_no_old_id_is_a_present_but_empty_entry_15() -> None:
    entries = _entries(chip_file("mai", "DG13"))
    assert entries[15] == bytes.fromhex("3003 02010F")
    _card, record = read("mai")
    assert record.identity.old_id_number is None
    assert load_sample("mai").persona.qr_fields()[1] == ""


def test_legacy_no_old_id_is_an_absent_entry() -> None:
    assert 15 not in _entries(chip_file(LEGACY, "DG13"))
    assert read(LEGACY)[1].identity.old_id_number is None


def test_spouse_entry_forms() -> None:
    spouse = sample_persona("tho").text(14)
    assert spouse
    value = spouse.encode("utf-8")
    inner = bytes([0x0C, len(value)]) + value
    expected = bytes([0x30, 3 + 2 + len(inner), 0x02, 0x01, 0x0E, 0x30, len(inner)]) + inner
    assert _entries(chip_file("tho", "DG13"))[14] == expected
    assert _entries(chip_file("an", "DG13"))[14] == bytes.fromhex("3003 02010E")  # no spouse
    legacy = sample_persona(LEGACY).text(14)
    assert legacy
    lv = legacy.encode("utf-8")
    bare = bytes([0x30, 3 + 2 + len(lv), 2, 1, 14, 0x0C, len(lv)]) + lv
    assert _entries(chip_file(LEGACY, "DG13"))[14] == bare
    for name in ("tho", LEGACY):
        assert read(name)[1].identity.spouse_name == sample_persona(name).text(14)


def test_dg13_entries_are_ascending_with_short_lengths() -> None:
    for name in REAL:
        entries = list(_entries(chip_file(name, "DG13")))
        assert entries == sorted(entries)


# --- DG2: the record declares a size the image does not have; no header version -------------------------


@pytest.mark.parametrize("name", [n for n in REAL if not sample_persona(n).no_portrait])
def test_dg2_declared_size_differs_from_the_image(name: str) -> None:
    _card, record = read(name)
    template = DG2.decode(record.files["DG2"]).templates[0]
    assert template.header.get(ICAO_HEADER_VERSION_TAG) is None
    face = template.data.images[0]
    assert (face.width, face.height) == REAL_DG2_DECLARED_SIZE
    probe = probe_image(face.image)
    assert (probe.width, probe.height) != REAL_DG2_DECLARED_SIZE
    # the reader trusts the image, not the record
    assert (record.portrait.width, record.portrait.height) == (probe.width, probe.height)


def test_legacy_dg2_declares_the_image_size_with_a_header_version() -> None:
    _card, record = read(LEGACY)
    template = DG2.decode(record.files["DG2"]).templates[0]
    assert template.header.get(ICAO_HEADER_VERSION_TAG) == b"\x01\x01"
    face = template.data.images[0]
    probe = probe_image(face.image)
    assert (face.width, face.height) == (probe.width, probe.height)
