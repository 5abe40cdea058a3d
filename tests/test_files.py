"""FileReader: the ICAO D.4 read byte for byte, then chunk sizes, fallbacks, every status-word path,
SFI, odd-INS offsets, resume after link loss / dead session, and counters."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from minichip import DG1, DG2, EF_COM, FILES, KEY, MiniChip, blob, counter_random, tlv_file
from scripted_chip import ScriptedChip

from cccd_reader.crypto.sm import SMSession
from cccd_reader.errors import (
    CardError,
    CardRemovedError,
    EndOfFile,
    FileNotFoundOnCard,
    InputError,
    ParseError,
    SecureMessagingError,
    SecurityStatusNotSatisfied,
    TransientError,
    WrongLength,
)
from cccd_reader.iso7816.tlv import encode_tlv
from cccd_reader.protocols import files as F
from cccd_reader.protocols.bac import perform_bac
from cccd_reader.protocols.files import EMRTD_AID, FileReader, ReadStats
from cccd_reader.transport.faults import FaultyTransport, requested_le
from cccd_reader.transport.secure import SecureMessagingTransport

H = bytes.fromhex
def make_chip(**kw: Any) -> MiniChip:
    return MiniChip(KEY, kw.pop("files", FILES), random_bytes=counter_random(b"chip"), **kw)


def bac_session(link: Any) -> SecureMessagingTransport:
    reader = FileReader(link)
    reader.select_application()
    result = perform_bac(link, KEY, random_bytes=counter_random(b"term"))
    return SecureMessagingTransport(link, result.session)


def aes_session(chip: MiniChip, link: Any = None) -> SecureMessagingTransport:
    k1, k2 = blob(16, b"enc"), blob(16, b"mac")
    chip.app_selected = True
    chip.session = SMSession(k1, k2, "AES-128")
    return SecureMessagingTransport(link or chip, SMSession(k1, k2, "AES-128"))


# --- ICAO D.4 -------------------------------------------------------------------------------------------


def test_icao_d4_read_of_ef_com(vectors: dict[str, Any]) -> None:
    """With a 4-byte header read and SELECT by FID the reader sends exactly the D.4 APDUs."""
    sm = vectors["bac_secure_messaging"]
    link = ScriptedChip([(H(s["protected_command"]), H(s["protected_response"])) for s in sm["steps"]])
    session = SMSession(H(sm["ks_enc"]), H(sm["ks_mac"]), "3DES", int(sm["ssc_initial"], 16))
    reader = FileReader(SecureMessagingTransport(link, session), first_read=4, use_sfi=False)
    assert reader.read_ef(F.EF_COM) == H(sm["ef_com_plain"])
    assert not link.pairs
    assert reader.stats.apdus == 3 and reader.stats.payload_bytes == 22 and reader.stats.retries == 0
    wire = sum(len(H(s["protected_command"])) for s in sm["steps"])
    assert reader.stats.bytes_sent == wire
    assert reader.stats.bytes_received == sum(len(H(s["protected_response"])) for s in sm["steps"])


def test_file_identifiers() -> None:
    assert (F.EF_COM.fid, F.EF_COM.sfi) == (0x011E, 0x1E)
    assert (F.EF_SOD.fid, F.EF_SOD.sfi) == (0x011D, 0x1D)
    assert (F.EF_CARD_ACCESS.fid, F.EF_CARD_ACCESS.sfi) == (0x011C, 0x1C)
    assert (F.EF_CARD_SECURITY.fid, F.EF_CARD_SECURITY.df) == (0x011D, "MF")
    assert F.EF_ATR_INFO.fid == 0x2F01
    assert F.DATA_GROUPS[13].fid == 0x010D and F.DATA_GROUPS[13].sfi == 0x0D
    assert F.DG_FIDS[16] == 0x0110
    assert H("A0000002471001") == EMRTD_AID
    with pytest.raises(InputError):
        F.data_group(17)


# --- chunk sizes ----------------------------------------------------------------------------------------


def _read_les(chip: MiniChip) -> list[int]:
    return [le for _, _, le in chip.reads]


def test_dg2_under_3des_uses_231_byte_chunks() -> None:
    chip = make_chip()
    reader = FileReader(bac_session(chip))
    assert reader.read_limit == 231
    assert reader.read_ef(F.DATA_GROUPS[2]) == DG2
    assert reader.stats.apdus == math.ceil(15000 / 231) == 65
    les = _read_les(chip)
    assert max(les) == 231 and sum(les) == 15000  # never asks past the end of the file
    assert chip.reads[0][1] == 0 and reader.stats.retries == 0


def test_dg2_under_aes_uses_223_byte_chunks() -> None:
    chip = make_chip()
    reader = FileReader(aes_session(chip))
    assert reader.read_ef(F.DATA_GROUPS[2]) == DG2
    assert reader.stats.apdus == math.ceil(15000 / 223) == 68
    assert sum(_read_les(chip)) == 15000


def test_plain_reads_use_256() -> None:
    chip = make_chip(require_auth=False)
    chip.app_selected = True
    reader = FileReader(chip)
    assert reader.read_ef(F.DATA_GROUPS[2]) == DG2
    assert reader.stats.apdus == math.ceil(15000 / 256)


def test_small_file_in_one_apdu_by_sfi() -> None:
    chip = make_chip()
    reader = FileReader(bac_session(chip))
    before = len(chip.log)
    assert reader.read_ef(F.EF_COM) == EF_COM
    assert len(chip.log) - before == 1 and reader.sfi_ok is True
    assert chip.reads[-1] == (0xB0, 0, 231)  # one optimistic read answered with 6282 + 22 bytes


def test_extended_length_reads_dg2_in_one_apdu() -> None:
    chip = make_chip(extended=True)
    reader = FileReader(bac_session(chip), extended=True)
    assert reader.read_ef(F.DATA_GROUPS[2]) == DG2
    assert reader.stats.apdus == 1


def test_extended_refused_falls_back_and_is_remembered() -> None:
    chip = make_chip(extended=False)
    reader = FileReader(bac_session(chip), extended=True)
    assert reader.read_ef(F.DATA_GROUPS[2]) == DG2
    assert reader.extended_ok is False and reader.read_limit == 231
    assert reader.stats.retries >= 1 and reader.stats.fallbacks
    retries = reader.stats.retries
    assert reader.read_ef(F.DATA_GROUPS[3]) == FILES[0x0103]
    assert reader.stats.retries == retries  # learned: no second attempt


def test_naked_6700_on_extended_read_keeps_counters_in_step() -> None:
    """A chip that answers extended reads under SM with a bare 6700 (gmrtd #457)."""
    chip = make_chip(extended=True)
    faults = FaultyTransport(chip, wrong_length_above=231, chip_session=lambda: chip.session)
    reader = FileReader(bac_session(faults), extended=True)
    assert reader.read_ef(F.DATA_GROUPS[2]) == DG2
    assert any("6700" in what for _, what in faults.injected)
    assert reader.transport.session.usable  # type: ignore[attr-defined]
    assert reader.read_ef(F.DATA_GROUPS[1]) == DG1


def test_chip_read_limit_is_learned_from_6700() -> None:
    chip = make_chip(read_limit=128)
    reader = FileReader(bac_session(chip))
    assert reader.read_ef(F.DATA_GROUPS[2]) == DG2
    assert reader.read_limit == 128
    assert reader.stats.fallbacks == [
        "Le 231 -> 223 after 6700", "Le 223 -> 160 after 6700", "Le 160 -> 128 after 6700"]
    retries = reader.stats.retries
    assert reader.read_ef(F.DATA_GROUPS[13]) == FILES[0x010D]
    assert reader.stats.retries == retries
    assert max(_read_les(chip)[-3:]) <= 128


def test_6cxx_gives_the_exact_length() -> None:
    chip = make_chip(require_auth=False, exact_le=True)
    chip.app_selected = True
    reader = FileReader(chip)
    assert reader.read_ef(F.EF_COM) == EF_COM
    assert chip.reads == [(0xB0, 0, 256), (0xB0, 0, 22)]
    assert reader.stats.retries == 1 and reader.read_limit == 256  # 6Cxx is per request, not learned


def test_naked_6cxx_under_sm() -> None:
    chip = make_chip()
    faults = FaultyTransport(chip, chip_session=lambda: chip.session,
                             naked_sw_when=lambda apdu, i: 0x6C16 if requested_le(apdu) == 231 else None)
    reader = FileReader(bac_session(faults))
    assert reader.read_ef(F.EF_COM) == EF_COM
    assert chip.reads[-1] == (0xB0, 0, 22)


def test_end_of_file_answered_9000() -> None:
    chip = make_chip(eof_sw=0x9000)
    reader = FileReader(bac_session(chip))
    assert reader.read_ef(F.DATA_GROUPS[1]) == DG1


def test_custom_chunk() -> None:
    chip = make_chip()
    reader = FileReader(bac_session(chip), chunk=100)
    assert reader.read_ef(F.DATA_GROUPS[13]) == FILES[0x010D]
    assert max(_read_les(chip)) == 100 and reader.stats.apdus == 7


def test_header_first_read() -> None:
    chip = make_chip()
    reader = FileReader(bac_session(chip), first_read=8)
    assert reader.read_ef(F.DATA_GROUPS[13]) == FILES[0x010D]
    assert _read_les(chip) == [8, 231, 231, 230]


def test_odd_ins_read_beyond_32767() -> None:
    big = tlv_file(0x75, 40000)
    chip = make_chip(files={0x0102: big}, extended=False)
    reader = FileReader(bac_session(chip))
    assert reader.read_ef(F.DATA_GROUPS[2]) == big
    odd = [r for r in chip.reads if r[0] == 0xB1]
    assert odd
    assert all(offset > 0x7FFF for _, offset, _ in odd)
    assert all(offset <= 0x7FFF for ins, offset, _ in chip.reads if ins == 0xB0)


def test_odd_ins_with_extended_length() -> None:
    big = tlv_file(0x75, 70000)
    chip = make_chip(files={0x0102: big}, extended=True, require_auth=False)
    chip.app_selected = True
    reader = FileReader(chip, extended=True)
    assert reader.read_ef(F.DATA_GROUPS[2]) == big
    assert [ins for ins, _, _ in chip.reads] == [0xB0, 0xB1]


def test_file_not_single_tlv_read_to_its_end() -> None:
    info = H("43017047030000FF") + blob(300)
    chip = make_chip(mf_files={0x2F01: info}, files={}, require_auth=False)
    reader = FileReader(chip, use_sfi=False)
    assert reader.read_ef(F.EF_ATR_INFO) == info


# --- status words ---------------------------------------------------------------------------------------


def test_6982_security_status() -> None:
    chip = make_chip(denied=frozenset({0x0103}))
    reader = FileReader(bac_session(chip))
    with pytest.raises(SecurityStatusNotSatisfied):
        reader.read_ef(F.DATA_GROUPS[3])
    assert reader.transport.session.usable  # type: ignore[attr-defined]
    assert reader.read_ef(F.DATA_GROUPS[1]) == DG1


def test_6a82_missing_file_costs_one_apdu_once_sfi_is_known() -> None:
    chip = make_chip()
    reader = FileReader(bac_session(chip))
    n = len(chip.log)
    with pytest.raises(FileNotFoundOnCard):
        reader.read_ef(F.DATA_GROUPS[11])
    assert len(chip.log) - n == 2  # SFI read, then SELECT by FID to be sure
    reader.read_ef(F.DATA_GROUPS[1])
    n = len(chip.log)
    with pytest.raises(FileNotFoundOnCard):
        reader.read_ef(F.DATA_GROUPS[12])
    assert len(chip.log) - n == 1


def test_sfi_refused_falls_back_to_select() -> None:
    chip = make_chip(sfi=False)
    reader = FileReader(bac_session(chip))
    assert reader.read_ef(F.DATA_GROUPS[1]) == DG1
    assert reader.sfi_ok is False
    n = len(chip.log)
    assert reader.read_ef(F.EF_COM) == EF_COM
    assert len(chip.log) - n == 2  # SELECT + one READ BINARY, no SFI attempt


def test_select_application_errors() -> None:
    chip = make_chip()
    with pytest.raises(FileNotFoundOnCard):
        FileReader(chip).select_application(H("A0000002471002"))


def test_6b00_and_short_file() -> None:
    short = H("75820100") + blob(20)  # announces 256 bytes, has 20
    chip = make_chip(files={0x0102: short}, require_auth=False)
    chip.app_selected = True
    reader = FileReader(chip)
    with pytest.raises(EndOfFile):
        reader.read_ef(F.DATA_GROUPS[2])


def test_malformed_header_is_parse_error() -> None:
    chip = make_chip(files={0x0102: H("7580") + blob(30)}, require_auth=False)
    chip.app_selected = True
    with pytest.raises(ParseError):
        FileReader(chip).read_ef(F.DATA_GROUPS[2])


def test_6700_at_le_1_gives_up() -> None:
    chip = make_chip(files={0x0101: DG1}, require_auth=False)
    chip.app_selected = True
    faults = FaultyTransport(chip, naked_sw_when=lambda apdu, i: 0x6700 if apdu[1] == 0xB0 else None)
    with pytest.raises(WrongLength):
        FileReader(faults).read_ef(F.DATA_GROUPS[1])


@pytest.mark.parametrize("sw", [0x6987, 0x6988])
def test_naked_6987_6988_kills_session_and_resume_continues(sw: int) -> None:
    chip = make_chip()
    faults = FaultyTransport(chip, naked_sw={12: sw}, chip_session=lambda: chip.session)
    reader = FileReader(bac_session(faults))
    with pytest.raises(SecureMessagingError):
        reader.read_ef(F.DATA_GROUPS[2])
    kept = reader.partials["DG2"]
    assert kept > 0 and kept % 231 == 0
    assert not reader.transport.session.usable  # type: ignore[attr-defined]
    reader.resume(bac_session(faults))
    assert reader.read_ef(F.DATA_GROUPS[2]) == DG2
    assert reader.stats.resumed == 1 and not reader.partials
    resumed_at = [r for r in chip.reads if r[1] == kept]
    assert resumed_at  # continued at the offset reached


def test_corrupt_mac_kills_session() -> None:
    chip = make_chip()
    faults = FaultyTransport(chip, corrupt_mac_at={10})
    reader = FileReader(bac_session(faults))
    with pytest.raises(SecureMessagingError, match="MAC"):
        reader.read_ef(F.DATA_GROUPS[2])
    assert reader.partials["DG2"] > 0
    with pytest.raises(SecureMessagingError, match="no longer usable"):
        reader.read_ef(F.DATA_GROUPS[2])


def test_link_loss_mid_dg2_resumes_at_offset() -> None:
    chip = make_chip()
    faults = FaultyTransport(chip, drop_after=30)
    reader = FileReader(bac_session(faults))
    with pytest.raises(CardRemovedError):
        reader.read_ef(F.DATA_GROUPS[2])
    kept = reader.partials["DG2"]
    assert kept > 5000
    faults.reconnect()  # the chip was power-cycled: application, BAC, then go on
    n_reads = len(chip.reads)
    reader.resume(bac_session(faults))
    assert reader.read_ef(F.DATA_GROUPS[2]) == DG2
    after = chip.reads[n_reads:]
    assert after[0][1] == kept  # first READ BINARY after the new session starts where we stopped
    assert sum(le for _, _, le in after) == 15000 - kept


def test_progress_and_stats() -> None:
    chip = make_chip()
    seen: list[tuple[int, int | None]] = []
    stats = ReadStats()
    reader = FileReader(bac_session(chip), stats=stats)
    reader.read_ef(F.DATA_GROUPS[13], progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (700, 700) and [d for d, _ in seen] == [231, 462, 693, 700]
    assert stats.files == 1 and stats.payload_bytes == 700
    assert stats.bytes_received > stats.payload_bytes  # SM overhead on the wire
    assert set(stats.to_dict()) >= {"apdus", "bytes_sent", "bytes_received", "payload_bytes", "retries"}


def test_input_checks() -> None:
    with pytest.raises(InputError):
        FileReader(make_chip()).read_file()
    with pytest.raises(InputError):
        FileReader(make_chip(), chunk=0)


@given(size=st.integers(0, 3000), limit=st.sampled_from([None, 1, 7, 64, 100, 200]),
       eof=st.sampled_from([0x6282, 0x9000]), first=st.sampled_from([None, 4, 8]),
       sfi=st.booleans(), exact=st.booleans())
@settings(max_examples=120, deadline=None)
def test_any_size_any_chip_reads_exactly(size: int, limit: int | None, eof: int, first: int | None,
                                         sfi: bool, exact: bool) -> None:
    content = encode_tlv(0x6D, blob(size))
    chip = make_chip(files={0x010D: content}, read_limit=limit, eof_sw=eof, require_auth=False, sfi=sfi,
                     exact_le=exact)
    chip.app_selected = True
    reader = FileReader(chip, first_read=first)
    assert reader.read_ef(F.DATA_GROUPS[13]) == content
    # after the first read the reader never asks past the end of the file
    offsets = [(o, le) for _, o, le in chip.reads]
    assert all(o + le <= len(content) for o, le in offsets[1:] if o > 0)


# --- the fault-injecting transport itself -------------------------------------------------------------------


def test_requested_le_plain_and_protected() -> None:
    assert requested_le(H("00B0000004")) == 4
    assert requested_le(H("00B0000000")) == 256
    assert requested_le(H("00A4020C02011E")) is None
    assert requested_le(H("0CB000000D9701128E082EA28A70F3C7B53500")) == 0x12  # ICAO D.4
    assert requested_le(H("0CB0000000000E970200008E0800000000000000000000")) == 65536
    assert requested_le(H("0C")) is None and requested_le(H("0CB00000029705")) is None


def test_fault_delay_and_reconnect() -> None:
    slept: list[float] = []
    chip = make_chip()
    faults = FaultyTransport(chip, delay=0.25, sleep=slept.append, drop_after=1)
    FileReader(faults).select_application()
    with pytest.raises(CardRemovedError):
        faults.transmit(H("0084000008"))
    with pytest.raises(CardRemovedError):  # stays dropped until reconnected
        faults.transmit(H("0084000008"))
    faults.reconnect()
    assert faults.transmit(H("0084000008"))[-2:] == H("9000")
    assert slept == [0.25] * 4
    assert [what for _, what in faults.injected] == ["drop", "drop"]
    assert "count=4" in repr(faults)


def test_failed_read_of_another_file_forces_reselect_before_resume() -> None:
    """After DG2 broke off and DG3 was refused, resuming DG2 must not read from whatever is current."""
    chip = make_chip(denied=frozenset({0x0103}))
    faults = FaultyTransport(chip, naked_sw_when=lambda apdu, i: 0x6A82 if i == 12 else None,
                             chip_session=lambda: chip.session)
    reader = FileReader(bac_session(faults))
    with pytest.raises(TransientError) as info:  # half-way through a file: could not complete, resumable
        reader.read_ef(F.DATA_GROUPS[2])
    assert isinstance(info.value.__cause__, FileNotFoundOnCard) and info.value.step == "files"
    kept = reader.partials["DG2"]
    assert 0 < kept < len(DG2)
    with pytest.raises(SecurityStatusNotSatisfied):
        reader.read_ef(F.DATA_GROUPS[3])
    n = len(chip.log)
    assert reader.read_ef(F.DATA_GROUPS[2]) == DG2
    assert chip.reads[-1][1] + chip.reads[-1][2] == len(DG2)
    assert len(chip.log) - n == 1 + math.ceil((len(DG2) - kept) / 231)  # SELECT again, then the rest


def test_malformed_file_is_not_kept_for_resume() -> None:
    chip = make_chip(files={0x0102: H("7580") + blob(30)}, require_auth=False)
    chip.app_selected = True
    reader = FileReader(chip)
    with pytest.raises(ParseError):
        reader.read_ef(F.DATA_GROUPS[2])
    assert not reader.partials


@pytest.mark.parametrize("label,chip_kw,reader_kw,apdus,retries", [
    ("AES, SELECT + 8-byte header", {}, {"first_read": 8, "use_sfi": False}, 70, 0),
    ("AES, Le 160", {}, {"chunk": 160}, 94, 0),
    ("AES, Le 112", {}, {"chunk": 112}, 134, 0),
    # one refused extended read, then short reads at once (no header probe), remembered for the file
    ("AES, extended refused", {"extended": False}, {"extended": True}, 69, 1),
    ("AES, chip limit 128", {"read_limit": 128}, {}, 122, 3),
])
def test_read_strategy_table(label: str, chip_kw: dict[str, Any], reader_kw: dict[str, Any], apdus: int,
                             retries: int) -> None:
    """The rows of docs/read-strategy.md §5 for a 15 000-byte DG2."""
    chip = make_chip(**chip_kw)
    reader = FileReader(aes_session(chip), **reader_kw)
    assert reader.read_ef(F.DATA_GROUPS[2]) == DG2
    assert (reader.stats.apdus, reader.stats.retries) == (apdus, retries), label


@given(drops=st.lists(st.integers(3, 80), min_size=1, max_size=3), aes=st.booleans(),
       naked=st.sampled_from([None, 0x6987, 0x6988]))
@settings(max_examples=40, deadline=None)
def test_any_interruption_resumes_to_the_exact_file(drops: list[int], aes: bool, naked: int | None) -> None:
    """Tag losses (or a session-killing naked SW) anywhere: re-authenticate, resume, same bytes."""
    chip = make_chip()
    faults = FaultyTransport(chip, chip_session=lambda: chip.session)

    def new_session() -> SecureMessagingTransport:
        return aes_session(chip, faults) if aes else bac_session(faults)

    reader = FileReader(new_session())
    out = None
    for n in [*drops, None]:
        if n is not None:
            if naked is None:
                faults.drop_after = faults.count + n
            else:
                faults.naked_sw = {faults.count + n: naked}
        try:
            out = reader.read_ef(F.DATA_GROUPS[2])
            break
        except (CardRemovedError, SecureMessagingError):
            faults.reconnect()
            chip.reset()
            reader.resume(new_session())
    assert out == DG2
    assert sum(le for ins, _, le in chip.reads) >= len(DG2)


@pytest.mark.parametrize("sw", [0x6A82, 0x6982, 0x6A86, 0x6D00])
def test_status_word_half_way_is_transient_and_resumes(sw) -> None:
    """A file that answered its first bytes cannot vanish or lock: a bare status word half-way is the
    link's doing. It is 'could not complete' (resumable), and the same status word on the file's first
    read is still the chip's typed answer for the caller to judge."""
    chip = make_chip()
    faults = FaultyTransport(chip, naked_sw={8: sw}, chip_session=lambda: chip.session)
    reader = FileReader(bac_session(faults))
    with pytest.raises(TransientError):
        reader.read_ef(F.DATA_GROUPS[2])
    assert reader.partials["DG2"] > 0
    assert reader.read_ef(F.DATA_GROUPS[2]) == DG2  # resumed at the offset, byte for byte
    chip = make_chip()
    faults = FaultyTransport(chip, chip_session=lambda: chip.session)
    reader = FileReader(bac_session(faults))
    faults.naked_sw = {faults.count: sw, faults.count + 1: sw}  # the first read, and the SELECT fallback
    with pytest.raises(CardError) as info:
        reader.read_ef(F.DATA_GROUPS[2])
    assert not isinstance(info.value, TransientError) and info.value.sw == sw
    assert not reader.partials
