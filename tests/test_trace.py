"""Traces: record a BAC + file read against a scripted chip, replay it byte for byte with the recorded
random draws, catch the first differing command, redact, replay link errors, and the sample traces."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from minichip import DG1, DG2, EF_COM, FILES, KEY, MiniChip, counter_random

from cccd_reader.errors import CardRemovedError, InputError, ParseError, TraceMismatchError
from cccd_reader.keys import MRZKey
from cccd_reader.protocols import files as F
from cccd_reader.protocols.bac import perform_bac
from cccd_reader.protocols.files import FileReader
from cccd_reader.transport.faults import FaultyTransport
from cccd_reader.transport.secure import SecureMessagingTransport
from cccd_reader.transport.trace import (
    TRACE_VERSION,
    RecordingTransport,
    ReplayTransport,
    hex_diff,
    read_trace,
)

SAMPLES = Path(__file__).resolve().parent.parent / "samples" / "traces"
H = bytes.fromhex


def session_read(link: Any, random_bytes: Any, key: MRZKey = KEY) -> dict[str, bytes]:
    """What the read pipeline does: select the application, BAC, read files under SM."""
    FileReader(link).select_application()
    result = perform_bac(link, key, random_bytes=random_bytes)
    reader = FileReader(SecureMessagingTransport(link, result.session))
    return {name: reader.read_ef(ef) for name, ef in
            (("EF.COM", F.EF_COM), ("DG1", F.DATA_GROUPS[1]), ("DG2", F.DATA_GROUPS[2]))}


def record(path: Any, **kw: Any) -> tuple[MiniChip, dict[str, bytes]]:
    chip = MiniChip(KEY, FILES, random_bytes=counter_random(b"chip"))
    rec = RecordingTransport(chip, path, header={"read": ["EF.COM", "DG1", "DG2"]}, **kw)
    out = session_read(rec, rec.random_source(counter_random(b"term")))
    rec.close(files=list(out))
    return chip, out


def test_record_then_replay_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "bac.jsonl"
    chip, out = record(path)
    assert out == {"EF.COM": EF_COM, "DG1": DG1, "DG2": DG2}

    replay = ReplayTransport(path)
    again = session_read(replay, replay.random_bytes)
    assert again == out
    replay.assert_complete()

    header, events = read_trace(path)
    assert header["format"] == "cccd-trace" and header["version"] == TRACE_VERSION
    assert header["transport"] == "MiniChip" and header["read"] == ["EF.COM", "DG1", "DG2"]
    apdus = [e for e in events if e["type"] == "apdu"]
    assert [H(e["c"]) for e in apdus] == chip.log  # every wire command, in order
    assert [e["n"] for e in events if e["type"] == "random"] == [8, 16]  # RND.IFD then K.IFD
    assert events[-1]["type"] == "end" and events[-1]["exchanges"] == len(apdus)
    assert all(isinstance(e["t"], float) and e["ms"] >= 0 for e in apdus)


def test_replay_with_other_randomness_fails_at_external_authenticate(tmp_path: Path) -> None:
    path = tmp_path / "bac.jsonl"
    record(path)
    replay = ReplayTransport(path)
    with pytest.raises(TraceMismatchError, match="command #2 differs") as info:
        session_read(replay, counter_random(b"other"))
    assert "first difference at byte 5" in str(info.value)  # header 0082000028 matches, the cryptogram not


def test_replay_with_wrong_key_fails(tmp_path: Path) -> None:
    path = tmp_path / "bac.jsonl"
    record(path)
    replay = ReplayTransport(path)
    wrong = MRZKey("090123457", dt.date(1990, 1, 1), dt.date(2030, 1, 1))
    with pytest.raises(TraceMismatchError):
        session_read(replay, replay.random_bytes, key=wrong)


def test_replay_detects_extra_and_missing_exchanges(tmp_path: Path) -> None:
    path = tmp_path / "bac.jsonl"
    record(path)
    replay = ReplayTransport(path)
    session_read(replay, replay.random_bytes)
    with pytest.raises(TraceMismatchError, match="no exchange"):
        replay.transmit(H("00B0000001"))
    short = ReplayTransport(path)
    FileReader(short).select_application()
    with pytest.raises(TraceMismatchError, match="stopped early"):
        short.assert_complete()
    with pytest.raises(TraceMismatchError, match="8 bytes"):
        ReplayTransport(path).random_bytes(7)


def test_redacted_trace_keeps_shape_only(tmp_path: Path) -> None:
    # the same session recorded in the clear: what it shows must not be in the redacted trace (the
    # plaintext files travel encrypted, so looking for them alone would pass without any redaction)
    plain = tmp_path / "plain.jsonl"
    record(plain, redact=False)
    _, clear = read_trace(plain)
    shown = [e["r"] for e in clear if e["type"] == "apdu" and len(e["r"]) > 4]
    shown += [e["c"][8:] for e in clear if e["type"] == "apdu" and len(e["c"]) > 10]
    shown += [e["hex"] for e in clear if e["type"] == "random"]
    assert len(shown) > 10
    path = tmp_path / "red.jsonl"
    record(path, redact=True)
    text = path.read_text()
    leaked = [value for value in shown if value in text]
    assert not leaked, f"{len(leaked)} response, command or random values appear in the redacted trace"
    header, events = read_trace(path)
    assert header["redacted"] is True
    apdus = [e for e in events if e["type"] == "apdu"]
    assert all("r" not in e and len(e["c"]) == 8 and e["c_len"] >= 4 for e in apdus)
    assert all(e["sw"] in ("9000", "6282") for e in apdus)
    assert all("hex" not in e for e in events if e["type"] == "random")
    with pytest.raises(ParseError, match="redacted"):
        ReplayTransport(path)


def test_link_error_is_recorded_and_replayed(tmp_path: Path) -> None:
    path = tmp_path / "drop.jsonl"
    chip = MiniChip(KEY, FILES, random_bytes=counter_random(b"chip"))
    rec = RecordingTransport(FaultyTransport(chip, drop_after=10), path)
    with pytest.raises(CardRemovedError):
        session_read(rec, rec.random_source(counter_random(b"term")))
    rec.close()
    replay = ReplayTransport(path)
    with pytest.raises(CardRemovedError, match="replayed"):
        session_read(replay, replay.random_bytes)
    replay.assert_complete()


def test_stream_target_and_notes() -> None:
    buf = io.StringIO()
    chip = MiniChip(KEY, FILES, random_bytes=counter_random(b"chip"))
    with RecordingTransport(chip, buf, header={"atr": "3B8880010000000000000000"}) as rec:
        rec.note("select")
        FileReader(rec).select_application()
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert lines[0]["atr"] == "3B8880010000000000000000"
    assert [x["type"] for x in lines] == ["header", "note", "apdu", "end"]
    assert not buf.closed


@pytest.mark.parametrize("text,match", [
    ("", "empty"),
    ("not json\n", "not JSON"),
    ('{"type":"apdu"}\n', "header"),
    ('{"type":"header","format":"cccd-trace","version":2}\n', "version"),
    ('{"type":"header","format":"cccd-trace","version":1}\n{"type":"apdu","c":"zz","r":"9000"}\n', "hex"),
    ('{"type":"header","format":"cccd-trace","version":1}\n[1,2]\n', "event"),
])
def test_bad_traces(text: str, match: str) -> None:
    with pytest.raises(ParseError, match=match):
        ReplayTransport(io.StringIO(text))


@given(st.text(max_size=200))
@settings(max_examples=200)
def test_read_trace_is_total(text: str) -> None:
    with contextlib.suppress(ParseError):
        ReplayTransport(io.StringIO('{"type":"header","format":"cccd-trace","version":1}\n' + text))


def test_missing_trace_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        ReplayTransport(tmp_path / "nope.jsonl")


def test_hex_diff() -> None:
    d = hex_diff(H("00A4020C"), H("00A4040C"))
    assert "byte 2" in d and d.splitlines()[-1].index("^") == 11 + 4


# --- the samples ------------------------------------------------------------------------------------------


def test_icao_appendix_d_sample_replays(vectors: dict[str, Any]) -> None:
    """The hand-built trace of ICAO 9303-11 D.3 + D.4 drives our BAC and reader to the printed EF.COM."""
    replay = ReplayTransport(SAMPLES / "icao-9303-11-appendix-d.jsonl")
    key = MRZKey("L898902C<", dt.date(1969, 8, 6), dt.date(1994, 6, 23))
    result = perform_bac(replay, key, random_bytes=replay.random_bytes)
    reader = FileReader(SecureMessagingTransport(replay, result.session), first_read=4, use_sfi=False)
    assert reader.read_ef(F.EF_COM) == H(vectors["bac_secure_messaging"]["ef_com_plain"])
    replay.assert_complete()


def test_synthetic_sample_replays() -> None:
    path = SAMPLES / "synthetic-bac-read.jsonl"
    header, _ = read_trace(path)
    replay = ReplayTransport(path)
    out = session_read(replay, replay.random_bytes)
    replay.assert_complete()
    assert out["EF.COM"] == EF_COM and out["DG1"] == DG1 and out["DG2"] == DG2
    assert header["read"] == ["EF.COM", "DG1", "DG2"]


def test_reconnect_is_recorded_passes_timeout_and_replays(tmp_path: Path) -> None:
    from cccd_reader.transport.base import CardTransport

    class Link(CardTransport):  # declares reconnect(timeout): the wrappers pass the timeout on
        can_reconnect = True

        def __init__(self) -> None:
            self.timeouts: list[float | None] = []

        def transmit(self, apdu: bytes) -> bytes:
            return b"\x90\x00"

        def reconnect(self, timeout: float | None = None) -> None:
            self.timeouts.append(timeout)

    link = Link()
    path = tmp_path / "re.jsonl"
    rec = RecordingTransport(FaultyTransport(link), path)
    rec.transmit(H("00A4040C07A0000002471001"))
    rec.reconnect(timeout=2.5)
    rec.transmit(H("0084000008"))
    rec.close()
    assert link.timeouts == [2.5]
    replay = ReplayTransport(path)
    replay.transmit(H("00A4040C07A0000002471001"))
    with pytest.raises(TraceMismatchError, match="reconnects"):
        replay.transmit(H("0084000008"))
    replay.reconnect()
    assert replay.transmit(H("0084000008")) == H("9000")
    with pytest.raises(TraceMismatchError, match="reconnected"):
        replay.reconnect()


def test_replay_from_command_response_pairs() -> None:
    # a recorded session turned into plain pairs replays the same way as the trace file did
    import json as _json

    buf = io.StringIO()
    chip = MiniChip(KEY, FILES, random_bytes=counter_random(b"chip"))
    rec = RecordingTransport(chip, buf)
    out = session_read(rec, rec.random_source(counter_random(b"term")))
    rec.close()
    lines = [_json.loads(x) for x in buf.getvalue().splitlines()]
    pairs = [(e["c"], bytes.fromhex(e["r"])) for e in lines if e["type"] == "apdu"]
    draws = [e["hex"] for e in lines if e["type"] == "random"]
    replay = ReplayTransport.from_pairs(pairs, random=draws, atr=b"\x3b\x80\x80\x01\x01")
    assert replay.atr == b"\x3b\x80\x80\x01\x01"
    assert session_read(replay, replay.random_bytes) == out
    replay.assert_complete()
    # a different command than the pair says is a mismatch
    again = ReplayTransport.from_pairs(pairs[:1])
    with pytest.raises(TraceMismatchError):
        again.transmit(b"\x00\xa4\x00\x00")
    with pytest.raises(InputError):
        ReplayTransport.from_pairs([("zz", "9000")])
