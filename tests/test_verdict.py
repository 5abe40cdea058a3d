"""One verdict from evidence: proof of forgery gives not-genuine, missing data never reads genuine."""

from __future__ import annotations

import itertools

import pytest

from cccd_reader.emulator import load_sample, sample_trust_anchor
from cccd_reader.emulator.card import SeededRandom
from cccd_reader.emulator.filesystem import Access, ElementaryFile
from cccd_reader.emulator.samples import sample_qr_payload
from cccd_reader.qr.payload import parse_qr_payload
from cccd_reader.read import (
    FAILED,
    INCOMPLETE,
    NOT_RUN,
    NOT_SUPPORTED,
    PASSED,
    UNKNOWN,
    UNTRUSTED,
    ReadSecurity,
    Verdict,
    read_card,
)

STATUSES = (PASSED, FAILED, NOT_SUPPORTED, NOT_RUN, UNKNOWN, UNTRUSTED, INCOMPLETE)


def _read(card, sample="an", **kw):
    return read_card(card, parse_qr_payload(sample_qr_payload(sample)), trust=sample_trust_anchor(),
                     random_bytes=SeededRandom("t"), **kw)


# --- the decision itself ----------------------------------------------------------------------


def test_verdict_from_evidence_on_every_combination():
    seen = set()
    for pa, ca, aa in itertools.product(STATUSES, repeat=3):
        for hashes_ok, incomplete in itertools.product((True, False, None), (False, True)):
            sec = ReadSecurity(passive_auth=pa, chip_auth=ca, active_auth=aa, hashes_ok=hashes_ok)
            if incomplete:
                sec.could_not_complete("files", "DG2 is listed but could not be read (FileNotFoundOnCard)")
            v = sec.verdict
            assert isinstance(v, Verdict)
            assert sec.genuine is (v is Verdict.GENUINE)  # one answer to one question, on every path
            if FAILED in (pa, ca, aa) or hashes_ok is False:
                expected = Verdict.NOT_GENUINE  # proof wins over everything else
            elif incomplete or INCOMPLETE in (pa, ca, aa):
                expected = Verdict.INCOMPLETE
            elif pa == PASSED and PASSED in (ca, aa):
                expected = Verdict.GENUINE
            else:
                expected = Verdict.UNVERIFIED
            assert v is expected, (pa, ca, aa, hashes_ok, incomplete)
            assert sec.to_dict()["verdict"] == expected.value and sec.to_dict()["genuine"] is sec.genuine
            seen.add(v)
    assert seen == set(Verdict) - {Verdict.MISMATCH}


def test_verdict_is_a_string_enum_with_the_documented_values():
    assert [v.value for v in Verdict] == ["genuine", "not-genuine", "mismatch", "incomplete", "unverified"]
    assert Verdict.NOT_GENUINE == "not-genuine" and f"{Verdict.INCOMPLETE}" == "incomplete"
    import cccd_reader

    assert cccd_reader.Verdict is Verdict


def test_qr_mismatch_is_mismatch_and_never_genuine():
    sec = ReadSecurity(passive_auth=PASSED, chip_auth=PASSED, active_auth=PASSED, hashes_ok=True)
    from cccd_reader.read import QRMismatch

    sec.qr_checked, sec.qr_mismatches = True, [QRMismatch("full_name")]
    assert sec.verdict is Verdict.MISMATCH and not sec.genuine


# --- whole reads --------------------------------------------------------------------------------


def test_clean_sample_is_genuine_and_reports_the_eac_groups_once():
    rec = _read(load_sample("an"))
    assert rec.security.verdict is Verdict.GENUINE and rec.security.genuine
    assert rec.security.incomplete == []
    eac = [w for w in rec.warnings if "Extended Access Control" in w]
    assert len(eac) == len(rec.security.unread_expected) == len(set(rec.security.unread_expected))
    assert "DG3" in rec.security.unread_expected


def test_requested_eac_group_answering_6982_is_expected_not_a_fault():
    rec = _read(load_sample("an"), files=["DG1", "DG3", "DG13"])
    assert "DG3" not in rec.files and rec.security.unread_expected == ["DG3"]
    assert rec.security.incomplete == []
    assert rec.stats.recoveries == 0  # not retried: 6982 is what DG3 answers without terminal auth


@pytest.mark.parametrize("how", ["removed (6A82)", "locked (6982)"])
def test_listed_data_group_that_cannot_be_read_is_never_genuine(how):
    card = load_sample("an")
    dg2 = card.files.file("DG2")
    if how.startswith("removed"):
        card.files.app.remove(dg2.fid)
    else:
        card.files.app.replace(ElementaryFile(dg2.name, dg2.fid, dg2.sfi, dg2.data, Access.EAC))
    rec = _read(card)
    sec = rec.security
    assert "DG2" not in rec.files and rec.portrait is None
    assert sec.passive_auth == PASSED  # what was read verifies...
    assert sec.chip_auth == PASSED
    assert sec.verdict is Verdict.INCOMPLETE and not sec.genuine  # ...but the SOD lists a portrait
    assert any(note.startswith("files: DG2 ") for note in sec.incomplete)
    assert rec.to_dict()["security"]["incomplete"] == sec.incomplete


def test_unreadable_sod_is_incomplete_not_unverified():
    card = load_sample("an")
    card.files.app.remove(card.files.file("EF.SOD").fid)
    rec = _read(card)
    assert rec.security.verdict is Verdict.INCOMPLETE
    assert any("EF.SOD" in n for n in rec.security.incomplete)


# --- proof of forgery keeps giving not-genuine --------------------------------------------------


def test_altered_data_group_is_not_genuine():
    card = load_sample("an")
    dg13 = card.files.file("DG13")
    altered = bytearray(dg13.data)
    altered[-1] ^= 0x01
    card.files.app.replace(ElementaryFile(dg13.name, dg13.fid, dg13.sfi, bytes(altered), dg13.access))
    rec = _read(card)
    assert rec.security.hashes_ok is False
    assert rec.security.verdict is Verdict.NOT_GENUINE and not rec.security.genuine


def test_bad_sod_signature_is_not_genuine():
    card = load_sample("an")
    sod = card.files.file("EF.SOD")
    forged = bytearray(sod.data)
    forged[-5] ^= 0x01  # inside the signature value at the end of the SignedData
    card.files.app.replace(ElementaryFile(sod.name, sod.fid, sod.sfi, bytes(forged), sod.access))
    rec = _read(card)
    assert rec.security.passive_auth == FAILED
    assert rec.security.verdict is Verdict.NOT_GENUINE


def test_wrong_active_authentication_signature_is_not_genuine(monkeypatch):
    # the chip signs intact under secure messaging, but not over this read's challenge
    from cccd_reader.protocols import active_auth as aa

    card = load_sample("an")
    original = aa.ActiveAuthChip.sign

    def replaying(self, challenge):
        return original(self, b"\x00" * 8)

    monkeypatch.setattr(aa.ActiveAuthChip, "sign", replaying)
    rec = _read(card)
    assert rec.security.active_auth == FAILED and rec.security.chip_auth == PASSED
    assert rec.security.verdict is Verdict.NOT_GENUINE and not rec.security.genuine


# --- a card without some files: a child under 6 ---------------------------------------------------------


def test_child_card_without_portrait_is_genuine_and_says_why():
    card = load_sample("khoi")
    assert 2 not in card.image.data_groups
    rec = _read(card, "khoi")
    sec = rec.security
    assert sec.verdict is Verdict.GENUINE and sec.genuine  # nothing listed is missing
    assert rec.portrait is None and "DG2" not in rec.files
    assert sec.incomplete == [] and "children under 6" in sec.details["portrait"]
    assert any("no portrait" in w for w in rec.warnings)
    # DG13 entries numbered above 16 are kept, as unknown entries, in the record and its JSON
    assert rec.identity.extra[17] == ("Dữ liệu mở rộng",) and rec.identity.extra[18] == ("Mục 18",)
    assert rec.to_dict()["identity"]["extra"]["18"] == ["Mục 18"]
    # an 11-field 2024 QR, and it agrees with the chip
    assert len(sample_qr_payload("khoi").split("|")) == 11 and sec.qr_matches is True


def test_a_recovery_after_chip_authentication_runs_it_again():
    """After the card is opened again, CA runs again before anything else is read or signed, so what
    follows stays bound to the chip that proved its key (not only to the access key a copy also knows)."""
    import faultmatrix as fm

    from cccd_reader.transport.faults import FaultyTransport

    def ca_commands(commands):  # protected MSE:Set AT / KAT for Chip Authentication (P1 41)
        return sum(1 for c in commands if c[0] & 0x0C and c[1] == 0x22 and c[2] == 0x41)

    clean = fm.clean_read("an")
    assert ca_commands(c for c, _ in clean.exchanges) == 1
    aa_index = max(i for i, (c, _) in enumerate(clean.exchanges) if c[1] == 0x88)  # INTERNAL AUTHENTICATE
    seen: list[bytes] = []

    class Spy:
        def __init__(self, inner):
            self.inner = inner

        @property
        def atr(self):
            return self.inner.atr

        def transmit(self, apdu):
            seen.append(apdu)
            return self.inner.transmit(apdu)

        def reconnect(self):
            self.inner.reconnect()

    rec = _read(FaultyTransport(Spy(load_sample("an")), drop_after=aa_index), "an")
    assert rec.stats.recoveries == 1 and rec.security.verdict is Verdict.GENUINE
    assert ca_commands(seen) == 2  # CA again on the card that came back, then AA with a new challenge
    challenges = [c for c in seen if c[1] == 0x88]
    assert len(challenges) == 1  # the dropped one never reached the chip; the retry did
