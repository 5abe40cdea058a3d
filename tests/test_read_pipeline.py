"""The read pipeline against the in-process virtual chip.

Ground truth is what the emulator was personalised with (``card.image.data_groups``) and the persona's
own QR payload, not the reader's earlier output; the protocol steps themselves are pinned to the ICAO
worked examples in the protocol tests, so these tests check the orchestration: step order, key order and
bounds, PACE/BAC choice, partial results, stats, the QR check and the verdict.
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from cccd_reader.emulator import load_sample, sample_names
from cccd_reader.emulator.card import SeededRandom
from cccd_reader.emulator.samples import sample_persona, sample_qr_payload
from cccd_reader.errors import AccessDenied, InputError, KeyInputError, ReadError
from cccd_reader.keys import CANKey, MRZKey, keys_from_qr
from cccd_reader.qr.payload import parse_qr_payload
from cccd_reader.read import (
    MAX_KEY_ATTEMPTS,
    STEPS,
    CardRecord,
    ProgressEvent,
    _atr_extended_length,
    compare_qr_with_chip,
    read_card,
)
from cccd_reader.transport.faults import FaultyTransport

SAMPLES = sample_names()


class Counting:
    """Counts APDUs by INS, forwards everything."""

    def __init__(self, inner):
        self.inner = inner
        self.ins: list[int] = []

    @property
    def atr(self):
        return self.inner.atr

    def transmit(self, apdu: bytes) -> bytes:
        self.ins.append(apdu[1])
        return self.inner.transmit(apdu)

    def reconnect(self) -> None:
        self.inner.reconnect()


def _expected_dgs(card) -> dict[str, bytes]:
    return {f"DG{n}": bytes(data) for n, data in card.image.data_groups.items()}


@pytest.mark.parametrize("name", SAMPLES)
def test_full_read_of_every_sample_with_the_qr(name):
    card = load_sample(name)
    qr = parse_qr_payload(sample_qr_payload(name))
    rec = read_card(card, qr, random_bytes=SeededRandom(f"terminal/{name}"))
    assert rec.complete and rec.failed_step is None
    expected = _expected_dgs(card)
    eac = {"DG3", "DG4"}
    for dg, data in expected.items():
        if dg in eac:
            assert dg not in rec.files
        else:
            assert rec.files[dg] == data, dg  # byte for byte what the chip was personalised with
    assert rec.files["EF.SOD"] == card.files.file("EF.SOD").data
    # the CAN from the QR opens the card with PACE, first try
    assert rec.security.access_protocol == "PACE"
    assert rec.security.access_key == "CAN"
    assert rec.security.keys_tried == 1
    assert rec.security.hashes_ok is True
    # the identity comes from the chip; it agrees with the printed QR except where the sample's QR was
    # deliberately printed otherwise ("hung": another spelling of the name, which must be reported)
    assert rec.identity.id_number == qr.id_number
    expected_mismatch = {"full_name"} if name == "hung" else set()
    assert rec.security.qr_checked
    assert {m.field for m in rec.security.qr_mismatches} == expected_mismatch
    if not expected_mismatch:
        assert rec.identity.full_name == qr.full_name
    else:
        assert rec.identity.full_name != qr.full_name
        assert rec.security.verdict in ("mismatch", "not-genuine") and not rec.security.genuine
    if card.persona.no_portrait:  # a child under 6: no DG2 on the chip, and the record says why
        assert rec.portrait is None and "children under 6" in rec.security.details["portrait"]
    else:
        assert rec.portrait is not None and rec.portrait.image[:2] in (b"\xff\xd8", b"\x00\x00", b"\xff\x4f")
    # stats: every step is accounted, in order, and the totals add up
    assert [s.name for s in rec.stats.steps] == list(STEPS)
    assert rec.stats.apdus == sum(s.apdus for s in rec.stats.steps) > 5
    assert rec.stats.bytes_received > sum(len(v) for v in rec.files.values())


def test_bac_when_forced_and_when_the_card_has_no_pace():
    persona = sample_persona("an")
    key = persona.mrz_key()
    card = load_sample("an")
    rec = read_card(card, key, access="bac", random_bytes=SeededRandom("t"))
    assert rec.security.access_protocol == "BAC" and rec.security.access_key == "MRZ"
    assert rec.files["DG13"] == _expected_dgs(card)["DG13"]

    # a chip without PACE (no PACEInfo in EF.CardAccess): auto mode reads it with BAC
    from cccd_reader.emulator.persona import build_card

    bac_only = dataclasses.replace(persona, profile=dataclasses.replace(persona.profile, pace=None))
    card2 = build_card(bac_only)
    rec2 = read_card(card2, [persona.can_key(), key], random_bytes=SeededRandom("t2"))
    assert rec2.security.access_protocol == "BAC"
    assert rec2.files["DG1"] == _expected_dgs(card2)["DG1"]


def test_pace_with_the_mrz_key():
    persona = sample_persona("mai")
    rec = read_card(load_sample("mai"), persona.mrz_key(), random_bytes=SeededRandom("t"))
    assert rec.security.access_protocol == "PACE" and rec.security.access_key == "MRZ"


def test_wrong_can_then_right_mrz_key_is_tried_next():
    persona = sample_persona("an")
    wrong = CANKey("000000" if persona.can != "000000" else "111111")
    rec = read_card(load_sample("an"), [wrong, persona.mrz_key()], random_bytes=SeededRandom("t"))
    assert rec.complete
    assert rec.security.access_key == "MRZ"
    assert rec.stats.key_attempts == 2


def test_every_key_refused_is_a_read_error_with_a_partial_record():
    bad = [CANKey("000001"), MRZKey("000000000", __import__("datetime").date(1970, 1, 1), None)]
    with pytest.raises(ReadError) as info:
        read_card(load_sample("an"), bad, random_bytes=SeededRandom("t"))
    err = info.value
    assert err.step == "access"
    assert isinstance(err.cause, AccessDenied)
    partial = err.partial
    assert isinstance(partial, CardRecord) and partial.failed_step == "access"
    assert "EF.CardAccess" in partial.files  # what was read before the failure is kept
    assert partial.identity is None


def test_refused_keys_are_bounded():
    keys = [CANKey(f"{i:06d}") for i in range(1, 10)]
    card = Counting(load_sample("an"))
    with pytest.raises(ReadError):
        read_card(card, keys, random_bytes=SeededRandom("t"))
    # each PACE attempt starts with one MSE:Set AT (INS 22): no more than the bound
    assert card.ins.count(0x22) == MAX_KEY_ATTEMPTS


def test_qr_that_disagrees_with_the_chip_is_reported():
    qr = parse_qr_payload(sample_qr_payload("an"))
    fake = dataclasses.replace(qr, full_name=qr.full_name + " Giả", sex="F" if qr.sex == "M" else "M")
    rec = read_card(load_sample("an"), fake, random_bytes=SeededRandom("t"))
    fields = {m.field for m in rec.security.qr_mismatches}
    assert fields == {"full_name", "sex"}
    assert rec.security.verdict == "mismatch" or rec.security.verdict == "not-genuine"
    assert not rec.security.genuine
    # the mismatch report names fields, never values
    text = json.dumps(rec.security.to_dict()["qr_mismatches"], ensure_ascii=False)
    assert qr.full_name not in text


def test_compare_qr_with_chip_fields():
    qr = parse_qr_payload(sample_qr_payload("mai"))
    rec = read_card(load_sample("mai"), qr, random_bytes=SeededRandom("t"))
    assert compare_qr_with_chip(qr, rec.identity, rec.mrz) == []
    other = dataclasses.replace(qr, id_number=qr.id_number[:-1] + str((int(qr.id_number[-1]) + 1) % 10),
                                date_of_birth=qr.date_of_birth.replace(
                                    day=1 if qr.date_of_birth.day != 1 else 2),
                                issue_date=qr.issue_date.replace(year=qr.issue_date.year - 1))
    got = {m.field for m in compare_qr_with_chip(other, rec.identity, rec.mrz)}
    assert got == {"id_number", "date_of_birth", "issue_date"}


def test_requested_files_only():
    persona = sample_persona("thao")
    rec = read_card(load_sample("thao"), persona.can_key(), files=["DG1", 13], random_bytes=SeededRandom("t"))
    assert {k for k in rec.files if k.startswith("DG")} == {"DG1", "DG13"}
    assert rec.security.chip_auth == "not_supported"  # DG14 not read: nothing to run CA with
    with pytest.raises(InputError):
        read_card(load_sample("thao"), persona.can_key(), files=["DG99"])


def test_bad_key_arguments():
    with pytest.raises(KeyInputError):
        read_card(load_sample("an"), [])
    with pytest.raises(KeyInputError):
        read_card(load_sample("an"), "123456")
    with pytest.raises(InputError):
        read_card(load_sample("an"), sample_persona("an").can_key(), access="nfc")


def test_progress_events_and_json():
    events: list[ProgressEvent] = []
    persona = sample_persona("an")
    rec = read_card(load_sample("an"), persona.can_key(), progress=events.append,
                    random_bytes=SeededRandom("t"))
    starts = [e.step for e in events if e.event == "start"]
    assert starts == list(STEPS)
    dg2 = [e for e in events if e.event == "bytes" and e.file == "DG2"]
    assert dg2 and dg2[-1].done == dg2[-1].total == len(rec.files["DG2"])
    assert [e.done for e in dg2] == sorted(e.done for e in dg2)
    # a broken progress callback does not break the read
    read_card(load_sample("an"), persona.can_key(), progress=lambda e: 1 / 0, random_bytes=SeededRandom("t"))
    data = json.loads(rec.to_json())
    assert data["complete"] is True
    assert data["security"]["access"]["protocol"] == "PACE"
    assert data["stats"]["apdus"] == rec.stats.apdus
    assert "files" not in data and "files" in rec.to_dict(include_files=True)


def test_repr_has_no_personal_data():
    persona = sample_persona("an")
    qr = parse_qr_payload(sample_qr_payload("an"))
    rec = read_card(load_sample("an"), qr, random_bytes=SeededRandom("t"))
    text = repr(rec) + repr(rec.security) + repr(rec.stats)
    for secret in (qr.id_number, qr.full_name, persona.can, qr.date_of_birth.isoformat(), qr.id_number[3:]):
        assert secret not in text


def test_link_loss_without_reconnect_returns_the_partial_record():
    class NoReconnect:
        def __init__(self, inner, drop_at):
            self.inner, self.n, self.drop_at = inner, 0, drop_at

        @property
        def atr(self):  # declared, as the clean run's Counting does (wrappers are not searched)
            return self.inner.atr

        def transmit(self, apdu):
            self.n += 1
            if self.n > self.drop_at:
                from cccd_reader.errors import CardRemovedError

                raise CardRemovedError("gone")
            return self.inner.transmit(apdu)

    persona = sample_persona("an")
    clean = Counting(load_sample("an"))
    full = read_card(clean, persona.can_key(), random_bytes=SeededRandom("t"))
    # drop right after EF.SOD and DG1 were read: find that point from the clean run
    read_ins = [i for i, ins in enumerate(clean.ins) if ins in (0xB0, 0xB1)]
    with pytest.raises(ReadError) as info:
        read_card(NoReconnect(load_sample("an"), read_ins[2] + 1), persona.can_key(),
                  random_bytes=SeededRandom("t"))
    err = info.value
    assert err.step == "files"
    assert err.partial.files.get("EF.SOD") == full.files["EF.SOD"]
    for name, data in err.partial.files.items():
        assert full.files[name] == data  # nothing partial or wrong is returned as a file


def test_atr_capabilities():
    # 3B 85 80 01 | 80 73 00 00 C0 | TCK: card capabilities say extended Lc/Le
    assert _atr_extended_length(bytes.fromhex("3B85800180730000C037")) is True
    assert _atr_extended_length(bytes.fromhex("3B8580018073000080")) is False
    assert _atr_extended_length(bytes.fromhex("3B80800101")) is None
    assert _atr_extended_length(b"") is None


def test_keys_from_qr_order_is_used():
    qr = parse_qr_payload(sample_qr_payload("tho"))
    kinds = [k.kind for k in keys_from_qr(qr)]
    assert kinds[0] == "CAN" and set(kinds[1:]) == {"MRZ"}
    # with the CAN refused (injected 6300 on the first PACE mutual authentication), the MRZ keys follow
    card = load_sample("tho")
    state = {"ga": 0}

    def refuse_first_mutual_auth(apdu: bytes, index: int):
        if apdu[1] == 0x86:
            state["ga"] += 1
            if state["ga"] == 4:
                return 0x6300
        return None

    rec = read_card(FaultyTransport(card, naked_sw_when=refuse_first_mutual_auth), qr,
                    random_bytes=SeededRandom("t"))
    assert rec.security.access_key == "MRZ"
    assert rec.stats.key_attempts >= 2


def test_genuine_needs_passive_and_chip_or_active_authentication():
    from cccd_reader.read import FAILED, NOT_SUPPORTED, PASSED, UNTRUSTED, ReadSecurity

    def sec(pa, ca, aa):
        return ReadSecurity(passive_auth=pa, chip_auth=ca, active_auth=aa, hashes_ok=True)

    assert sec(PASSED, PASSED, NOT_SUPPORTED).genuine
    assert sec(PASSED, NOT_SUPPORTED, PASSED).genuine
    assert not sec(PASSED, NOT_SUPPORTED, NOT_SUPPORTED).genuine
    assert sec(PASSED, NOT_SUPPORTED, NOT_SUPPORTED).verdict == "unverified"
    assert not sec(UNTRUSTED, PASSED, PASSED).genuine  # signer not chained to a trusted CSCA
    assert sec(UNTRUSTED, PASSED, PASSED).verdict == "unverified"
    assert sec(PASSED, FAILED, PASSED).verdict == "not-genuine"
    assert sec(FAILED, PASSED, PASSED).verdict == "not-genuine"


def test_genuine_sample_and_a_clone_with_copied_files():
    from cccd_reader.emulator import sample_trust_anchor
    from cccd_reader.emulator.persona import build_card

    qr = parse_qr_payload(sample_qr_payload("an"))
    trust = sample_trust_anchor()
    rec = read_card(load_sample("an"), qr, trust=trust, random_bytes=SeededRandom("t"))
    assert rec.security.passive_auth == "passed"
    assert rec.security.chip_auth == "passed" and rec.security.active_auth == "passed"
    assert rec.security.genuine and rec.security.verdict == "genuine"

    # a clone: the genuine card's files (signed SOD, DG14, DG15) on a chip with other private keys
    persona = sample_persona("an")
    clone = build_card(dataclasses.replace(persona, key_seed=persona.key_seed + "/clone"))
    clone.files = load_sample("an").files
    rec = read_card(clone, qr, trust=trust, random_bytes=SeededRandom("t"))
    assert rec.security.passive_auth == "passed"  # the copied data is genuine...
    # ...but the chip cannot prove it holds the keys. Its answers under the CA session keys never verify:
    # that alone is what a link glitch looks like too, so CA could not complete (retried, never passed)...
    assert rec.security.chip_auth == "incomplete"
    # ...while its AA signature arrives intact under secure messaging and is wrong: proof
    assert rec.security.active_auth == "failed"
    assert not rec.security.genuine and rec.security.verdict == "not-genuine"
    assert rec.files["DG13"] == load_sample("an").image.data_groups[13]


def test_reader_without_extended_length_steps_down():
    # the ATR announces extended length, but the link refuses long reads with a naked 6700
    card = load_sample("an")
    link = FaultyTransport(card, wrong_length_above=231,
                           chip_session=lambda: getattr(card._state, "sm", None))
    rec = read_card(link, sample_persona("an").can_key(), random_bytes=SeededRandom("t"))
    assert rec.complete
    assert {k: v for k, v in rec.files.items() if k.startswith("DG")} == {
        f"DG{n}": bytes(d) for n, d in card.image.data_groups.items() if n not in (3, 4)}
    # refused while reading EF.CardAccess (extended, then Le 256 > 231) and remembered: no long read is
    # asked for again in the session
    card_access = rec.stats.step("card_access")
    assert [i for i, what in link.injected if "6700" in what] == [0, 1]
    assert card_access.apdus == 4  # 2 refused (extended, then 256), a header read, the rest
    assert card_access.retries == 2  # the step-downs are reported as retries
    assert rec.stats.step("files").retries == 0


def test_qr_check_without_dg13_compares_what_the_mrz_has():
    qr = parse_qr_payload(sample_qr_payload("an"))
    rec = read_card(load_sample("an"), qr, files=["DG1"], random_bytes=SeededRandom("t"))
    # the name (without diacritics), date of birth, sex and ID are in the MRZ; the issue date is not
    assert rec.security.qr_mismatches == []
    assert rec.security.qr_not_compared == ["issue_date"]
    assert rec.security.verdict != "mismatch"
    other = dataclasses.replace(qr, full_name="Trần Thị Bích")
    rec = read_card(load_sample("an"), other, files=["DG1"], random_bytes=SeededRandom("t"))
    assert [m.field for m in rec.security.qr_mismatches] == ["full_name"]


def test_partial_dates_on_the_chip_match_a_full_printed_date():
    import datetime as dt

    from cccd_reader.model import PartialDate
    from cccd_reader.read import _same_date

    assert _same_date(dt.date(1990, 3, 15), PartialDate(1990, None, None))
    assert not _same_date(dt.date(1991, 3, 15), PartialDate(1990, None, None))
    assert _same_date(dt.date(1990, 3, 15), dt.date(1990, 3, 15))


def test_card_without_extended_length_behind_a_stale_atr():
    # "mai" cannot do extended length, but the reader is told it can (a stale ATR, as a PC/SC reader may
    # report after a card swap): the chip refuses the extended APDU with a bare 6700 before its secure
    # messaging sees it, the counters stay in step, and short reads finish without re-authenticating
    card = load_sample("mai")
    rec = read_card(card, parse_qr_payload(sample_qr_payload("mai")), random_bytes=SeededRandom("t"),
                    extended_length=True)
    assert rec.complete
    assert rec.files["DG2"] == card.image.data_groups[2]
    assert rec.stats.recoveries == 0


class _IcaoD3Chip:
    """The chip of ICAO 9303-11 Appendix D.3/D.4 (an external worked example, not our emulator): no
    EF.CardAccess, no PACE, BAC with the ERIKSSON key, then 3DES secure messaging with the appendix's
    session keys and SSC. Only EF.COM (the D.4 content) is on it. It checks the reader's EXTERNAL
    AUTHENTICATE byte for byte against the appendix, and every later command's MAC with the appendix's
    keys, so the pipeline's BAC wiring (random draws, key derivation, SSC) is pinned to the example."""

    def __init__(self, vectors):
        from cccd_reader.crypto.sm import SMSession

        d3 = vectors["bac_mutual_auth"]
        self.d3 = d3
        self.ef_com = bytes.fromhex(vectors["bac_secure_messaging"]["description"].split(" is ")[-1]
                                    .rstrip("."))
        self.sm = None
        self.session = lambda: SMSession(bytes.fromhex(d3["ks_enc"]), bytes.fromhex(d3["ks_mac"]), "3DES",
                                         int(d3["ssc"], 16))
        self.external_auth_seen = None
        self.protected = 0
        self.selected = None
        self.atr = bytes.fromhex("3B80800101")

    def transmit(self, apdu: bytes) -> bytes:
        from cccd_reader.iso7816.apdu import CommandAPDU

        if self.sm is None:
            ins = apdu[1]
            if ins == 0xA4 and apdu[2] == 0x04:
                return b"\x90\x00"
            if ins == 0x84:
                return bytes.fromhex(self.d3["rnd_icc"]) + b"\x90\x00"
            if ins == 0x82:
                self.external_auth_seen = CommandAPDU.decode(apdu).data
                if self.external_auth_seen != bytes.fromhex(self.d3["cmd_data"]):
                    return b"\x63\x00"
                self.sm = self.session()
                return bytes.fromhex(self.d3["resp_data"]) + b"\x90\x00"
            if ins == 0x22:
                return b"\x6d\x00"  # no PACE on this chip
            return b"\x6a\x82"
        cmd = self.sm.unprotect_command(apdu)  # raises if the reader's MAC or SSC is wrong
        self.protected += 1
        if (cmd.ins == 0xB0 and cmd.p1 & 0x80 and (cmd.p1 & 0x1F) == 0x1E) or (
                cmd.ins == 0xB0 and self.selected == 0x011E):
            offset = 0 if cmd.p1 & 0x80 else int.from_bytes(bytes([cmd.p1, cmd.p2]), "big")
            data = self.ef_com[offset: offset + (cmd.le or 256)]
            return self.sm.protect_response(data, 0x9000)
        if cmd.ins == 0xA4 and cmd.data == b"\x01\x1e":
            self.selected = 0x011E
            return self.sm.protect_response(b"", 0x9000)
        return self.sm.protect_response(b"", 0x6A82)


def test_bac_read_pinned_to_icao_appendix_d(vectors):
    from cccd_reader.emulator.card import ScriptedRandom

    d2 = vectors["bac_key_derivation"]["cases"][0]
    d3 = vectors["bac_mutual_auth"]
    import datetime as dt

    key = MRZKey(d2["document_number"], dt.date(1969, 8, 6), dt.date(1994, 6, 23))
    assert key.mrz_information == d2["mrz_information"]
    chip = _IcaoD3Chip(vectors)
    rnd = ScriptedRandom(bytes.fromhex(d3["rnd_ifd"]), bytes.fromhex(d3["k_ifd"]))
    rec = read_card(chip, key, random_bytes=rnd)
    # the EXTERNAL AUTHENTICATE the pipeline sent is the appendix's E_IFD || M_IFD
    assert chip.external_auth_seen == bytes.fromhex(d3["cmd_data"])
    # PACE was tried (no EF.CardAccess), refused as unsupported, and BAC opened the chip
    assert rec.security.access_protocol == "BAC"
    # later commands verified under the appendix's KSmac / SSC, and EF.COM came back decrypted
    assert chip.protected >= 2
    assert rec.files["EF.COM"] == chip.ef_com
    assert rec.failed_step is None


class _IcaoG1Chip:
    """The chip of ICAO 9303-11 Appendix G.1 (PACE-ECDH-GM, brainpoolP256r1, AES-128): EF.CardAccess as
    printed there, each GENERAL AUTHENTICATE checked byte for byte against the appendix and answered with
    the appendix's answers, then AES secure messaging under the appendix's session keys."""

    def __init__(self, vectors):
        self.g1 = vectors["pace_ecdh_gm"]
        self.sm = None
        self.ga = [bytes.fromhex(a["command"]) for a in self.g1["apdus"] if a["step"].startswith("GA")]
        self.ga_answers = [bytes.fromhex(a["response"]) for a in self.g1["apdus"]
                           if a["step"].startswith("GA")]
        self.step = 0
        self.mismatch: list[int] = []
        self.protected = 0
        self.atr = bytes.fromhex("3B80800101")

    def transmit(self, apdu: bytes) -> bytes:
        from cccd_reader.crypto.sm import SMSession

        if self.sm is None:
            if apdu[1] == 0xB0 and apdu[2] == 0x9C:  # READ BINARY by SFI 1C: EF.CardAccess
                return bytes.fromhex(self.g1["ef_cardaccess"]) + b"\x90\x00"
            if apdu[1] == 0x22:
                return b"\x90\x00"
            if apdu[1] == 0x86:
                if apdu != self.ga[self.step]:
                    self.mismatch.append(self.step)
                    return b"\x63\x00"
                answer = self.ga_answers[self.step]
                self.step += 1
                if self.step == len(self.ga):
                    g1 = self.g1
                    self.sm = SMSession(bytes.fromhex(g1["ks_enc"]), bytes.fromhex(g1["ks_mac"]),
                                        "AES-128", 0)
                return answer
            return b"\x6a\x82"
        cmd = self.sm.unprotect_command(apdu)  # raises if the reader's MAC or SSC is wrong
        self.protected += 1
        if cmd.ins == 0xA4 and cmd.p1 == 0x04:
            return self.sm.protect_response(b"", 0x9000)
        return self.sm.protect_response(b"", 0x6A82)


def test_pace_read_pinned_to_icao_appendix_g1(vectors):
    import datetime as dt

    from cccd_reader.emulator.card import ScriptedRandom

    g1 = vectors["pace_ecdh_gm"]
    key = MRZKey(g1["document_number"], dt.date(1964, 8, 12), dt.date(2010, 10, 31))
    assert key.mrz_information == g1["mrz_information"]
    chip = _IcaoG1Chip(vectors)
    rnd = ScriptedRandom(bytes.fromhex(g1["terminal_mapping_private_key"]),
                         bytes.fromhex(g1["terminal_ephemeral_private_key"]))
    rec = read_card(chip, key, random_bytes=rnd)
    assert chip.mismatch == [] and chip.step == 4  # all four GENERAL AUTHENTICATEs as in the appendix
    assert rec.security.access_protocol == "PACE" and rec.security.access_key == "MRZ"
    assert chip.protected >= 2  # SELECT and reads verified under the appendix's KSmac
    assert rec.files["EF.CardAccess"] == bytes.fromhex(g1["ef_cardaccess"])
    assert rec.failed_step is None


def test_trust_given_as_a_path_object_or_a_bad_type():
    from pathlib import Path

    from cccd_reader.emulator.samples import sample_trust_anchor

    qr = parse_qr_payload(sample_qr_payload("an"))
    rec = read_card(load_sample("an"), qr, random_bytes=SeededRandom("p"), trust=Path(sample_trust_anchor()))
    assert rec.security.passive_auth == "passed" and rec.security.verdict == "genuine"
    with pytest.raises(ReadError) as info:
        read_card(load_sample("an"), qr, random_bytes=SeededRandom("p"), trust=42)
    assert info.value.step == "passive_auth"
    assert isinstance(info.value.__cause__, InputError) or "trust must be" in str(info.value)


# --- a transport that misbehaves: only the library's errors come out, with what was read ---------------


class _Misbehaving:
    """Answers like the card for ``good`` APDUs, then does ``what`` (returns junk or raises)."""

    def __init__(self, card, good, what):
        self.card, self.good, self.what, self.n = card, good, what, 0

    @property
    def atr(self):
        return self.card.atr

    def transmit(self, apdu):
        self.n += 1
        if self.n <= self.good:
            return self.card.transmit(apdu)
        return self.what()


def _raise(exc):
    def go():
        raise exc

    return go


@pytest.mark.parametrize("what", [lambda: None, lambda: 0x9000, lambda: "9000",
                                  _raise(OSError(5, "I/O error")), _raise(RuntimeError("reader died"))],
                         ids=["None", "int", "str", "OSError", "RuntimeError"])
@pytest.mark.parametrize("good", [0, 12])
def test_a_misbehaving_transport_gives_a_transport_error_with_the_partial_record(what, good):
    from cccd_reader.errors import ReadLinkError, TransportError

    persona = sample_persona("an")
    link = _Misbehaving(load_sample("an"), good, what)
    with pytest.raises(TransportError) as info:
        read_card(link, persona.can_key(), random_bytes=SeededRandom("t"))
    err = info.value
    assert isinstance(err, ReadError) and isinstance(err, ReadLinkError)
    assert isinstance(err.cause, TransportError)
    assert err.partial is not None and err.partial.failed_step == err.step
    if good:  # the card answered the first APDUs: what was read then is in the partial record
        assert "EF.CardAccess" in err.partial.files
        assert err.step != "probe"
    else:
        assert err.step in ("card_access", "access")


def test_files_as_one_name_is_one_file():
    persona = sample_persona("an")
    rec = read_card(load_sample("an"), persona.can_key(), files="DG1", random_bytes=SeededRandom("t"))
    assert sorted(k for k in rec.files if k.startswith("DG")) == ["DG1"]
    rec = read_card(load_sample("an"), persona.can_key(), files=13, random_bytes=SeededRandom("t"))
    assert sorted(k for k in rec.files if k.startswith("DG")) == ["DG13"]


# --- APDU counts: what the read costs on the sample cards (docs/performance.md) ---------------------------


def _wire_log(name: str, extended: bool | None) -> tuple[CardRecord, list[tuple[bytes, bytes]]]:
    card = load_sample(name)
    log: list[tuple[bytes, bytes]] = []

    class Wire:
        @property
        def atr(self) -> bytes:
            return bytes(card.atr)

        def transmit(self, apdu: bytes) -> bytes:
            response = bytes(card.transmit(apdu))
            log.append((bytes(apdu), response))
            return response

    rec = read_card(Wire(), parse_qr_payload(sample_qr_payload(name)), random_bytes=SeededRandom("count"),
                    extended_length=extended)
    assert rec.complete and rec.security.chip_auth == "passed"
    return rec, log


@pytest.mark.parametrize(("name", "extended", "apdus"), [
    ("an", None, 28),  # extended length, announced by the ATR and taken
    # short reads: 67 READ BINARYs at 223 bytes carry mai's 13.2 KB of files, + 10 protocol APDUs
    ("mai", False, 77),
    ("mai", True, 78),  # the ATR says extended length but the chip refuses it: one refusal, remembered
])
def test_apdu_counts(name: str, extended: bool | None, apdus: int) -> None:
    rec, log = _wire_log(name, extended)
    assert rec.stats.apdus == len(log) == apdus
    refused = [apdu for apdu, response in log if response[-2:] == b"\x67\x00"]
    assert len(refused) == (1 if extended else 0)


def test_chip_authentication_comes_before_the_large_files_and_nothing_is_read_twice() -> None:
    rec, log = _wire_log("an", None)
    ins = [apdu[1] for apdu, _response in log]
    ga_ca = max(i for i, apdu in enumerate(log) if apdu[0][1] == 0x86)  # the CA General Authenticate
    reads = [(i, apdu) for i, (apdu, _r) in enumerate(log) if apdu[1] == 0xB0]
    # by SFI (P1 = 80|SFI): which file each first read opens
    opened = [(i, apdu[2] & 0x1F) for i, apdu in reads if apdu[2] & 0x80]
    before = [sfi for i, sfi in opened if i < ga_ca]
    after = [sfi for i, sfi in opened if i > ga_ca]
    assert before == [0x1C, 0x1D, 14]  # EF.CardAccess, EF.SOD, DG14: then Chip Authentication
    assert 2 in after and 14 not in after  # the portrait under the CA keys; DG14 not read again
    assert len(opened) == len(set(sfi for _i, sfi in opened))
    assert ins.count(0x22) == 2  # MSE for PACE and for CA
    assert rec.stats.step("chip_auth").apdus == 2


def test_a_damaged_first_answer_under_the_chip_authentication_keys_proves_nothing():
    # the first file read after Chip Authentication (DG1, right after DG14) comes back with a bad MAC:
    # no verdict from that; the read goes on and the chip_auth step proves the key with its own read
    from cccd_reader.emulator.faults import CorruptMAC, When

    clean_rec, clean_log = _wire_log("an", None)
    reads = [i for i, (apdu, _r) in enumerate(clean_log) if apdu[1] == 0xB0]
    ga = max(i for i, (apdu, _r) in enumerate(clean_log) if apdu[1] == 0x86)
    # the first protected READ BINARY under the new keys (the fault counts protected answers)
    nth = sum(1 for i in reads if i < ga and clean_log[i][0][0] & 0x0C) + 1
    card = load_sample("an", faults=(CorruptMAC(When(nth=nth, ins=0xB0)),))
    rec = read_card(card, parse_qr_payload(sample_qr_payload("an")), random_bytes=SeededRandom("count"))
    assert rec.complete
    assert rec.security.chip_auth == "passed"
    assert rec.stats.recoveries >= 1
    assert rec.stats.step("chip_auth").apdus > clean_rec.stats.step("chip_auth").apdus  # CA ran again
    assert {k: v for k, v in rec.files.items()} == {k: v for k, v in clean_rec.files.items()}
