"""Chip and QR text reaches the terminal with its control, bidi and invisible characters made visible.

A forged chip whose DG13 name holds an escape sequence, a carriage return, a bidi override and a newline
must not rewrite what ``read`` / ``watch`` print, nor add rows to the table; JSON keeps the exact text
(escaped); the record's warnings say the text holds such characters."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from cli_support import cccd_read
from click.testing import CliRunner
from pcsc_support import card_on

from cccd_reader.cli import EXIT_BAD_INPUT, main
from cccd_reader.emulator.persona import build_card
from cccd_reader.emulator.samples import sample_persona, sample_qr_payload
from cccd_reader.safetext import json_safe, unsafe_characters, visible

FORGED_NAME = "Nguyễn Văn An\x1b[2K\r\u202everdict=genuine\nFAKE ROW"
FORGED_ADDRESS = "Hà Nội\u200b\x9b31m"
RAW = ("\x1b", "\r", "\u202e", "\u200b", "\x9b")


def forged_card() -> Any:
    persona = sample_persona("an")
    forged = dataclasses.replace(persona, dg13={**persona.dg13, 2: FORGED_NAME, 9: FORGED_ADDRESS},
                                 mrz_name_override="NGUYEN<<VAN<AN")
    return build_card(forged)


def assert_no_raw(text: str) -> None:
    for char in RAW:
        assert char not in text, repr(char)


def test_visible_and_json_safe() -> None:
    assert visible("Nguyễn Văn An") == "Nguyễn Văn An"  # Vietnamese (precomposed) is untouched
    assert visible("Nguye\u0302\u0303n") == "Nguye\u0302\u0303n"  # and combining marks too
    assert visible("a\x1b[2Jb\u202ec\\d") == "a\\x1b[2Jb\\u202ec\\\\d"
    assert unsafe_characters(FORGED_NAME) == ["\\x1b", "\\x0d", "\\u202e", "\\x0a"]
    text = json_safe(json.dumps({"n": FORGED_NAME + "\U000e0001\x7f"}, ensure_ascii=False))
    assert_no_raw(text)
    assert "\U000e0001" not in text and "\x7f" not in text and "Nguyễn" in text
    assert json.loads(text)["n"] == FORGED_NAME + "\U000e0001\x7f"


def _read_forged(monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    from cccd_reader.cli import read as cli_read

    sample = cli_read.EmulatorSample("an", forged_card(), sample_qr_payload("an"))
    monkeypatch.setattr(cli_read, "load_emulator_sample", lambda name: sample)
    return CliRunner().invoke(main, ["read", "--emulator", "an", "--can", sample_persona("an").can, *args],
                              catch_exceptions=False, env={"COLUMNS": "250"})


def test_read_table_shows_forged_text_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _read_forged(monkeypatch, "--no-progress", "--report-only")
    out = result.stdout
    assert_no_raw(out)
    assert "\\x1b[2K\\x0d\\u202everdict=genuine\\x0aFAKE ROW" in out
    # the forged newline added no row: "FAKE ROW" is on the name's line, not a line of its own
    assert not any(line.strip(" │|").startswith("FAKE ROW") for line in out.splitlines())
    assert "control or invisible formatting characters" in out  # the warning is shown


def test_read_json_keeps_the_exact_text_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    result = _read_forged(monkeypatch, "--json", "--report-only")
    assert_no_raw(result.stdout)
    data = json.loads(result.stdout)
    assert data["identity"]["full_name"] == FORGED_NAME
    assert data["identity"]["place_of_residence"] == FORGED_ADDRESS
    warnings = data["identity"]["warnings"]
    assert any("full name" in w and "\\x1b" in w and "\\u202e" in w for w in warnings)
    assert any("place of residence" in w and "\\u200b" in w for w in warnings)


def test_chip_parser_flags_control_characters() -> None:
    from cccd_reader.read import read_card

    record = read_card(forged_card(), sample_persona("an").can_key())
    dg13 = record.decoded["DG13"]
    assert any(w.startswith("entry 2 holds control") for w in dg13.warnings)
    assert any(w.startswith("entry 9 holds control") for w in dg13.warnings)
    assert record.identity.full_name == FORGED_NAME  # kept exact
    # and the record's own warnings say so (what `read` shows and JSON carries)
    assert any("full name from DG13 holds control" in w for w in record.warnings)
    assert len(record.warnings) == len(set(record.warnings))


@pytest.mark.pcsc
def test_watch_line_cannot_be_rewritten_by_the_chip(pcsc_reader: Any, tmp_path: Path) -> None:
    with card_on(pcsc_reader, forged_card()):
        result = cccd_read("watch", "--reader", pcsc_reader.name, "--can", sample_persona("an").can,
                           "--count", "1", cwd=tmp_path)
    assert_no_raw(result.stdout)
    lines = [ln for ln in result.stdout.splitlines() if ln.strip()]
    card_lines = [ln for ln in lines if "verdict=" in ln]
    assert len(card_lines) == 1, result.stdout
    # the only verdict on the line is the real one, after the escaped name
    assert card_lines[0].count("verdict=") == 2 and "verdict=unverified" in card_lines[0]
    assert "\\u202everdict=genuine\\x0aFAKE ROW" in card_lines[0]


def test_qr_table_and_error_lines_are_escaped(tmp_path: Path) -> None:
    payload = sample_qr_payload("an").replace("Nguyễn", "Nguy\u200bễn", 1)
    result = cccd_read("qr", "--text", payload, cwd=tmp_path)
    assert_no_raw(result.stdout + result.stderr)
    if result.returncode == 0:
        assert "Nguy\\u200bễn" in result.stdout
    else:
        assert result.returncode == EXIT_BAD_INPUT
    bad = cccd_read("read", "--emulator", "an", "--portrait", str(tmp_path / "a\x1b[31m" / "f.jpg"),
                    cwd=tmp_path)
    assert bad.returncode == EXIT_BAD_INPUT
    assert_no_raw(bad.stderr)
    assert "a\\x1b[31m" in bad.stderr
