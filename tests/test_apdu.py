"""ISO 7816-4 APDUs: the encodings of cases 1-4 short and extended, decoding totality, status words."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cccd_reader import errors
from cccd_reader.iso7816.apdu import SW_OK, CommandAPDU, ResponseAPDU, status_error

H = bytes.fromhex


@pytest.mark.parametrize("apdu,encoded", [
    (CommandAPDU(0x00, 0xA4, 0x02, 0x0C, H("011E")), "00A4020C02011E"),            # case 3S (D.4 SELECT)
    (CommandAPDU(0x00, 0xB0, 0x00, 0x00, le=4), "00B0000004"),                    # case 2S
    (CommandAPDU(0x00, 0xB0, 0x00, 0x00, le=256), "00B0000000"),                  # Le 256 -> 00
    (CommandAPDU(0x00, 0x84, 0x00, 0x00, le=8), "0084000008"),                    # GET CHALLENGE (D.3)
    (CommandAPDU(0x00, 0x82, 0x00, 0x00, bytes(40), le=0x28), "0082000028" + "00" * 40 + "28"),  # case 4S
    (CommandAPDU(0x00, 0x20, 0x00, 0x00), "00200000"),                            # case 1
    (CommandAPDU(0x00, 0xB0, 0x00, 0x00, le=257), "00B00000000101"),              # case 2E
    (CommandAPDU(0x00, 0xB0, 0x00, 0x00, le=65536), "00B00000000000"),            # Le 65536 -> 0000
    (CommandAPDU(0x0C, 0xB0, 0x00, 0x00, H("97"), le=65536, force_extended=True),
     "0CB00000000001970000"),                                                      # case 4E
    (CommandAPDU(0x00, 0xB0, 0x00, 0x00, le=256, force_extended=True), "00B00000000100"),
])
def test_encodings(apdu: CommandAPDU, encoded: str) -> None:
    assert apdu.encode() == H(encoded)
    assert bytes(apdu) == H(encoded)
    back = CommandAPDU.decode(H(encoded))
    assert (back.cla, back.ins, back.p1, back.p2, back.data, back.le) == (
        apdu.cla, apdu.ins, apdu.p1, apdu.p2, apdu.data, apdu.le)
    assert back.encode() == H(encoded)


def test_extended_case3_with_long_data() -> None:
    apdu = CommandAPDU(0x00, 0xD6, 0x00, 0x00, bytes(300))
    enc = apdu.encode()
    assert enc[4:7] == H("00012C") and len(enc) == 7 + 300
    assert CommandAPDU.decode(enc).data == bytes(300)


@pytest.mark.parametrize("bad", [
    dict(cla=256), dict(ins=-1), dict(le=0), dict(le=65537), dict(data=bytes(65536)),
])
def test_field_checks(bad: dict[str, object]) -> None:
    fields: dict[str, object] = dict(cla=0, ins=0xB0, p1=0, p2=0)
    fields.update(bad)
    with pytest.raises(ValueError):
        CommandAPDU(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw", ["", "00B000", "00A4020C05011E", "00A4020C0201", "00B0000000010203",
                                 "00B00000000000FF", "00B0000000000500"])
def test_malformed_commands(raw: str) -> None:
    with pytest.raises(errors.ParseError):
        CommandAPDU.decode(H(raw))


command_strategy = st.builds(
    CommandAPDU,
    cla=st.integers(0, 255), ins=st.integers(0, 255), p1=st.integers(0, 255), p2=st.integers(0, 255),
    data=st.one_of(st.binary(max_size=20), st.binary(min_size=250, max_size=300)),
    le=st.one_of(st.none(), st.integers(1, 300), st.integers(65000, 65536)),
    force_extended=st.booleans(),
)


@given(command_strategy)
@settings(max_examples=200)
def test_round_trip(apdu: CommandAPDU) -> None:
    enc = apdu.encode()
    back = CommandAPDU.decode(enc)
    assert (back.cla, back.ins, back.p1, back.p2, back.data, back.le) == (
        apdu.cla, apdu.ins, apdu.p1, apdu.p2, apdu.data, apdu.le)
    assert back.extended == apdu.extended
    assert back.encode() == enc


@given(st.binary(max_size=300))
@settings(max_examples=300)
def test_decode_is_total_and_canonical(raw: bytes) -> None:
    """Any bytes: a CommandAPDU that re-encodes to the same bytes, or ParseError; nothing else."""
    try:
        apdu = CommandAPDU.decode(raw)
    except errors.ParseError:
        return
    assert apdu.encode() == raw


@given(st.binary(max_size=40))
@settings(max_examples=200)
def test_response_decode_total(raw: bytes) -> None:
    try:
        resp = ResponseAPDU.decode(raw)
    except errors.ParseError:
        assert len(raw) < 2
        return
    assert resp.encode() == raw
    assert resp.sw == (resp.sw1 << 8) | resp.sw2


def test_response_fields() -> None:
    r = ResponseAPDU.decode(H("60145F019000"))
    assert r.data == H("60145F01") and r.sw == SW_OK and r.ok and r.check() is r
    assert ResponseAPDU(b"", 0x6110).ok
    assert not ResponseAPDU(b"", 0x6282).ok


@pytest.mark.parametrize("sw,cls", [
    (0x6982, errors.SecurityStatusNotSatisfied),
    (0x6A82, errors.FileNotFoundOnCard),
    (0x6A88, errors.FileNotFoundOnCard),
    (0x6700, errors.WrongLength),
    (0x6C10, errors.WrongLength),
    (0x6282, errors.EndOfFile),
    (0x6B00, errors.EndOfFile),
    (0x6987, errors.SecureMessagingError),
    (0x6988, errors.SecureMessagingError),
    (0x6985, errors.ConditionsNotSatisfied),
    (0x6D00, errors.InstructionNotSupported),
    (0x6E00, errors.InstructionNotSupported),
    (0x6A80, errors.WrongParameters),
    (0x6A86, errors.WrongParameters),
    (0x6A87, errors.WrongParameters),
    (0x6300, errors.AccessDenied),
    (0x63C2, errors.AccessDenied),
    (0x6F00, errors.CardError),
])
def test_status_errors(sw: int, cls: type[Exception]) -> None:
    exc = status_error(sw, "READ BINARY")
    assert type(exc) is cls
    assert "READ BINARY" in str(exc)
    if isinstance(exc, errors.CardError):
        assert exc.sw == sw and f"{sw:04X}" in str(exc)
    with pytest.raises(cls):
        ResponseAPDU(b"", sw).check()


def test_6cxx_correct_le() -> None:
    exc = status_error(0x6C10)
    assert isinstance(exc, errors.WrongLength) and exc.correct_le == 0x10
    exc = status_error(0x6C00)
    assert isinstance(exc, errors.WrongLength) and exc.correct_le == 256


def test_6300_names_the_status_word() -> None:
    assert "6300" in str(status_error(0x6300))
