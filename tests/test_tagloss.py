"""Tag loss: the link dropped at every single APDU index of one full read.

For every index the read must end in either the complete record, byte for byte equal to a clean read
(and to what the chip was personalised with), or a clear ReadError; never in wrong or spliced data. Also:
a dead secure-messaging session (corrupted MAC, naked 6988), a different card brought back in the middle of
a file, and the same drop through pcscd + vpcd and through nfcpy's udp driver.
"""

from __future__ import annotations

import time

import pytest

from cccd_reader.emulator import load_sample
from cccd_reader.emulator.card import SeededRandom
from cccd_reader.emulator.filesystem import ElementaryFile
from cccd_reader.emulator.samples import sample_qr_payload
from cccd_reader.errors import CardRemovedError, CCCDError, ReadError
from cccd_reader.qr.payload import parse_qr_payload
from cccd_reader.read import MAX_RECOVERIES, read_card
from cccd_reader.transport.faults import FaultyTransport

SAMPLE = "an"


class Counting:
    def __init__(self, inner):
        self.inner = inner
        self.commands: list[bytes] = []

    @property
    def atr(self):
        return self.inner.atr

    def transmit(self, apdu: bytes) -> bytes:
        self.commands.append(apdu)
        return self.inner.transmit(apdu)


def _key():
    return parse_qr_payload(sample_qr_payload(SAMPLE))


@pytest.fixture(scope="module")
def clean():
    card = Counting(load_sample(SAMPLE))
    rec = read_card(card, _key(), random_bytes=SeededRandom("terminal"))
    assert rec.complete
    return rec, card.commands


def _same_outcome(rec, ref) -> None:
    assert rec.files == ref.files
    assert rec.identity == ref.identity
    assert rec.portrait == ref.portrait
    for attr in ("access_protocol", "access_key", "chip_auth", "active_auth", "passive_auth", "hashes_ok"):
        assert getattr(rec.security, attr) == getattr(ref.security, attr), attr
    assert rec.security.qr_mismatches == ref.security.qr_mismatches


def test_drop_at_every_apdu_index(clean):
    ref, commands = clean
    card_dgs = {f"DG{n}": bytes(d) for n, d in load_sample(SAMPLE).image.data_groups.items()}
    outcomes = {"complete": 0, "error": 0}
    for index in range(len(commands)):
        card = load_sample(SAMPLE)
        link = FaultyTransport(card, drop_after=index)
        try:
            rec = read_card(link, _key(), random_bytes=SeededRandom(f"terminal/{index}"))
        except ReadError as exc:
            # a clear error naming the step, and nothing wrong in what it carries
            outcomes["error"] += 1
            assert exc.step in ("probe", "card_access", "access", "files", "chip_auth", "active_auth",
                                "passive_auth", "qr_check")
            for name, data in exc.partial.files.items():
                assert ref.files[name] == data, (index, name)
            continue
        outcomes["complete"] += 1
        assert link.injected[0] == (index, "drop")  # the link really dropped at this APDU
        assert rec.stats.recoveries >= 1, index
        _same_outcome(rec, ref)
        for name, data in rec.files.items():
            if name in card_dgs:
                assert data == card_dgs[name]
    # the chip comes back every time here, so every drop must be recovered from
    assert outcomes == {"complete": len(commands), "error": 0}


def test_dead_session_recovers_corrupt_mac_and_naked_6988(clean):
    ref, commands = clean
    reads = [i for i, c in enumerate(commands) if c[1] in (0xB0, 0xB1) and c[0] & 0x0C]
    middle = reads[len(reads) // 2]
    card = load_sample(SAMPLE)
    rec = read_card(FaultyTransport(card, corrupt_mac_at={middle}), _key(), random_bytes=SeededRandom("x"))
    assert rec.stats.recoveries == 1
    _same_outcome(rec, ref)

    card = load_sample(SAMPLE)
    faulty = FaultyTransport(card, naked_sw={middle: 0x6988},
                             chip_session=lambda: getattr(card._state, "sm", None))
    rec = read_card(faulty, _key(), random_bytes=SeededRandom("y"))
    assert rec.stats.recoveries == 1
    _same_outcome(rec, ref)


class SwapOnReconnect:
    """After the tag loss, a different chip comes back (same person and key, altered DG2)."""

    def __init__(self, first, second, drop_at):
        self.inner = first
        self.second = second
        self.n = 0
        self.drop_at = drop_at
        self.dropped = False

    @property
    def atr(self):
        return self.inner.atr

    def transmit(self, apdu):
        self.n += 1
        if self.n == self.drop_at and not self.dropped:
            self.dropped = True
            raise CardRemovedError("injected")
        return self.inner.transmit(apdu)

    def reconnect(self):
        self.inner = self.second
        self.second.power_on()


def test_a_different_card_coming_back_is_never_spliced(clean):
    ref, commands = clean
    # drop in the middle of DG2 (the largest file): at its second READ BINARY
    reads = [i for i, c in enumerate(commands) if c[1] in (0xB0, 0xB1) and c[0] & 0x0C]
    first = load_sample(SAMPLE)
    second = load_sample(SAMPLE)
    dg2 = second.files.file("DG2")
    tampered = bytearray(dg2.data)
    tampered[-10] ^= 0xFF  # a different portrait byte near the end: only the tail would be spliced
    second.files.app.replace(ElementaryFile(dg2.name, dg2.fid, dg2.sfi, bytes(tampered), dg2.access))
    first_dg2 = next(i for i in reads if commands[i][2] == 0x82)  # READ BINARY by SFI 2 opens DG2
    dg2_reads = [i for i in reads if i >= first_dg2]
    with pytest.raises(ReadError) as info:
        read_card(SwapOnReconnect(first, second, dg2_reads[1] + 1), _key(), random_bytes=SeededRandom("z"))
    err = info.value
    assert err.step == "files"
    assert "DG2" not in err.partial.files  # the spliced bytes are not handed out
    for name, data in err.partial.files.items():
        assert ref.files[name] == data


def test_card_that_never_comes_back_is_a_clear_error():
    class Gone:
        def __init__(self, inner):
            self.inner, self.n = inner, 0

        @property
        def atr(self):
            return self.inner.atr

        def transmit(self, apdu):
            self.n += 1
            if self.n > 12:
                raise CardRemovedError("gone")
            return self.inner.transmit(apdu)

        def reconnect(self, timeout=None):
            raise CardRemovedError("no card came back")

    class GoneNoCard(Gone):
        def reconnect(self, timeout=None):
            from cccd_reader.errors import NoCardError

            raise NoCardError("no card on the reader")

    for cls in (Gone, GoneNoCard):
        started = time.monotonic()
        with pytest.raises(ReadError) as info:
            read_card(cls(load_sample(SAMPLE)), _key(), random_bytes=SeededRandom("g"), recovery_timeout=0.5)
        # a card that does not come back is a lost card (exit 6), not "no card presented" (exit 4)
        assert isinstance(info.value.cause, CardRemovedError)
        assert time.monotonic() - started < 30  # bounded, not an endless loop


def test_flapping_link_is_bounded():
    class Flapping:
        """Drops every 6th APDU forever."""

        def __init__(self, inner):
            self.inner, self.n = inner, 0

        @property
        def atr(self):
            return self.inner.atr

        def transmit(self, apdu):
            self.n += 1
            if self.n % 6 == 0:
                self.inner.power_off()
                raise CardRemovedError("flap")
            return self.inner.transmit(apdu)

        def reconnect(self, timeout=None):
            self.inner.power_on()

    rec_or_err = None
    try:
        rec_or_err = read_card(Flapping(load_sample(SAMPLE)), _key(), random_bytes=SeededRandom("f"))
    except ReadError as exc:
        rec_or_err = exc
        assert isinstance(exc.cause, CardRemovedError)
        assert exc.partial.stats.recoveries <= MAX_RECOVERIES
    assert rec_or_err is not None


# --- through the real stacks ------------------------------------------------------------------------


@pytest.mark.pcsc
@pytest.mark.parametrize("where", ["access", "dg2", "chip_auth"])
def test_drop_through_pcscd(pcsc_reader, clean, where):
    from pcsc_support import card_on

    from cccd_reader.transport.pcsc import PCSCTransport

    ref, commands = clean
    reads = [i for i, c in enumerate(commands) if c[1] in (0xB0, 0xB1) and c[0] & 0x0C]
    index = {"access": next(i for i, c in enumerate(commands) if c[1] == 0x86) + 1,
             "dg2": reads[4],
             "chip_auth": next((i for i, c in enumerate(commands) if c[1] == 0x22 and i > reads[-1]),
                               len(commands) - 2)}[where]
    card = load_sample(SAMPLE)
    with card_on(pcsc_reader, card), PCSCTransport(pcsc_reader.name, timeout=5) as t:
        pcsc_reader.bridge.drop_after(index + 1, away=0.6)
        rec = read_card(t, _key(), random_bytes=SeededRandom(f"pcsc/{where}"))
    assert rec.stats.recoveries >= 1
    assert rec.files == ref.files
    assert rec.identity == ref.identity


@pytest.mark.nfc
def test_drop_through_nfcpy(clean):
    from cccd_reader.emulator.nfc_udp import NfcUdpCard
    from cccd_reader.transport.nfc import NFCTransport

    ref, commands = clean
    reads = [i for i, c in enumerate(commands) if c[1] in (0xB0, 0xB1) and c[0] & 0x0C]
    card = load_sample(SAMPLE)
    with NfcUdpCard(card, fwi=9) as responder, NFCTransport(responder.path, timeout=5) as t:
        responder.drop_after(reads[4] + 1, away=0.2)
        rec = read_card(t, _key(), random_bytes=SeededRandom("nfc"))
    assert rec.stats.recoveries >= 1
    assert rec.files == ref.files




def test_resume_continues_at_the_offset_instead_of_rereading():
    # short reads, so DG2 takes many READ BINARYs; drop in its middle
    key = _key()
    clean_card = Counting(load_sample(SAMPLE))
    clean_rec = read_card(clean_card, key, random_bytes=SeededRandom("r"), extended_length=False)
    dg2_len = len(clean_rec.files["DG2"])
    reads = [i for i, c in enumerate(clean_card.commands) if c[1] in (0xB0, 0xB1) and c[0] & 0x0C]
    per_chunk = 223
    middle = reads[2 + (dg2_len // per_chunk) // 2]  # about half-way through DG2
    card = load_sample(SAMPLE)
    link = Counting(FaultyTransport(card, drop_after=middle))

    class Reconnecting(Counting):
        def reconnect(self):
            self.inner.reconnect()

    link = Reconnecting(FaultyTransport(card, drop_after=middle))
    rec = read_card(link, key, random_bytes=SeededRandom("r"), extended_length=False)
    assert rec.files == clean_rec.files
    resumed_reads = sum(1 for c in link.commands if c[1] in (0xB0, 0xB1))
    clean_reads = sum(1 for c in clean_card.commands if c[1] in (0xB0, 0xB1))
    # re-reading DG2 from the start would cost about half of its ~dg2_len/223 reads again
    assert resumed_reads <= clean_reads + 2
    assert (dg2_len // per_chunk) // 2 > 3


def test_trace_of_a_read_with_a_tag_loss_replays(tmp_path):
    from cccd_reader.transport.trace import RecordingTransport, ReplayTransport

    key = _key()
    path = tmp_path / "loss.jsonl"
    card = load_sample(SAMPLE)
    from cccd_reader.read import card_atr

    link = FaultyTransport(card, drop_after=20)
    with RecordingTransport(link, str(path), header={"atr": card_atr(link).hex()}) as recorder:
        rec = read_card(recorder, key, random_bytes=recorder.random_source(SeededRandom("rec")))
    assert rec.stats.recoveries == 1
    replay = ReplayTransport(str(path))
    again = read_card(replay, key, random_bytes=replay.random_bytes)
    replay.assert_complete()
    assert again.files == rec.files
    assert again.stats.recoveries == 1


def test_another_persons_card_coming_back_is_a_read_error():
    with pytest.raises(ReadError) as info:
        read_card(SwapOnReconnect(load_sample(SAMPLE), load_sample("mai"), 25), _key(),
                  random_bytes=SeededRandom("o"))
    assert "different card" in str(info.value)
    # the cause is what the returned card answered (it refused the key), not the error itself
    assert isinstance(info.value.cause, CCCDError) and info.value.cause is not info.value
    assert info.value.__cause__ is info.value.cause
    for name, data in info.value.partial.files.items():
        assert load_sample(SAMPLE).files.file(name).data == data


def test_drop_at_every_apdu_index_with_bac():
    from cccd_reader.emulator.samples import sample_persona

    key = sample_persona(SAMPLE).mrz_key()
    clean_card = Counting(load_sample(SAMPLE))
    ref = read_card(clean_card, key, access="bac", random_bytes=SeededRandom("bac"))
    assert ref.security.access_protocol == "BAC"
    for index in range(len(clean_card.commands)):
        link = FaultyTransport(load_sample(SAMPLE), drop_after=index)
        rec = read_card(link, key, access="bac", random_bytes=SeededRandom(f"bac/{index}"))
        assert rec.stats.recoveries >= 1, index
        assert rec.files == ref.files, index
        assert rec.security.access_protocol == "BAC"
        for attr in ("chip_auth", "active_auth", "passive_auth", "hashes_ok"):
            assert getattr(rec.security, attr) == getattr(ref.security, attr), (index, attr)
