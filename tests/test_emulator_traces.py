"""Traces recorded from the sample cards (samples/traces/sample-*.jsonl) replay through the reader.

Replaying needs no emulator: the recorded answers and random draws drive the same read again, so these
pin the reader's whole APDU sequence for each sample card. When the read strategy or a sample card
changes on purpose, regenerate them with ``python3 -m cccd_reader.emulator.samples traces``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cccd_reader.emulator.samples import REPO_SAMPLES, SAMPLE_TRACES, record_sample_trace, sample_persona
from cccd_reader.emulator.samples import sample_trust_anchor as anchor
from cccd_reader.qr.payload import parse_qr_payload
from cccd_reader.read import read_card
from cccd_reader.transport.trace import ReplayTransport, read_trace

TRACES = REPO_SAMPLES / "traces"
REGENERATE = "regenerate with: python3 -m cccd_reader.emulator.samples traces"


def _exchanges(path: Path) -> list[tuple[str, Any, Any]]:
    _, events = read_trace(str(path))
    out = []
    for ev in events:
        if ev["type"] == "apdu":
            out.append(("apdu", ev["c"], ev["r"]))
        elif ev["type"] == "random":
            out.append(("random", ev["n"], ev["hex"]))
        elif ev["type"] in ("error", "reconnect"):
            out.append((ev["type"], ev.get("c"), ev.get("error")))
    return out


@pytest.mark.parametrize("stem", sorted(SAMPLE_TRACES))
def test_sample_trace_replays_to_the_persona(stem: str) -> None:
    path = TRACES / f"{stem}.jsonl"
    assert path.is_file(), f"{path.name} is missing; {REGENERATE}"
    replay = ReplayTransport(str(path))
    header = replay.header
    persona = sample_persona(header["sample"])
    qr = parse_qr_payload(persona.qr_payload())
    record = read_card(replay, qr, random_bytes=replay.random_bytes, trust=str(anchor()),
                       access=header["read"]["access"])
    replay.assert_complete()
    assert record.complete
    assert record.identity.id_number == persona.id_number
    assert record.identity.full_name == persona.full_name
    assert record.portrait.image == persona.portrait_bytes()
    expected = "mismatch" if persona.qr_overrides else "genuine"
    assert record.security.verdict == expected
    if header["read"]["access"] == "bac":
        assert record.security.access_protocol == "BAC"
    if header.get("chip_faults"):
        assert record.stats.recoveries >= 1
        assert any(kind == "reconnect" for kind, *_ in _exchanges(path))


@pytest.mark.parametrize("stem", sorted(SAMPLE_TRACES))
def test_sample_traces_are_up_to_date(stem: str, tmp_path: Path) -> None:
    """Recording again gives the same exchanges: the emulator and the reader are deterministic."""
    fresh = tmp_path / f"{stem}.jsonl"
    record_sample_trace(stem, fresh)
    assert _exchanges(fresh) == _exchanges(TRACES / f"{stem}.jsonl"), REGENERATE


def test_traces_hold_no_secrets_beyond_the_synthetic_session() -> None:
    for stem in SAMPLE_TRACES:
        header, _ = read_trace(str(TRACES / f"{stem}.jsonl"))
        text = json.dumps(header, ensure_ascii=False)
        persona = sample_persona(header["sample"])
        assert persona.id_number not in text and persona.can not in text
        assert "synthetic" in header["person"]


def test_replay_command_needs_no_key_for_sample_traces() -> None:
    from cccd_reader.cli import main

    result = CliRunner().invoke(main, ["replay", str(TRACES / "sample-an.jsonl"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["security"]["verdict"] == "genuine"
