"""The printed QR against the chip, through ``cccd-read read``: a QR typed without diacritics is compared
in folded form (a note, not a mismatch), a QR with diacritics exactly, and the address is information."""

from __future__ import annotations

import json
from pathlib import Path

from cli_support import cccd_read

from cccd_reader.cli import EXIT_OK, EXIT_VERIFICATION_FAILED
from cccd_reader.emulator.samples import sample_qr_payload
from cccd_reader.folding import ascii_fold, has_diacritics


def payload_with(name: str, **changes: str) -> str:
    fields = sample_qr_payload(name).split("|")
    index = {"full_name": 2, "address": 5}
    for field, value in changes.items():
        fields[index[field]] = value
    return "|".join(fields)


def plain(text: str) -> str:
    """As a keyboard-wedge scanner types it: no diacritics, Đ as D, case kept."""
    import unicodedata

    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def read_json(tmp_path: Path, sample: str, payload: str) -> tuple[int, dict]:
    result = cccd_read("read", "--emulator", sample, "--qr-text", "-", "--json", cwd=tmp_path,
                       input=payload)
    return result.returncode, json.loads(result.stdout)


def test_has_diacritics() -> None:
    assert has_diacritics("Nguyễn Văn An") and has_diacritics("Đinh") and has_diacritics("Nguye\u0302\u0303n")
    assert not has_diacritics("Nguyen Van An") and not has_diacritics("DINH")


def test_qr_without_diacritics_is_a_note_not_a_mismatch(tmp_path: Path) -> None:
    fields = sample_qr_payload("an").split("|")
    payload = payload_with("an", full_name=plain(fields[2]), address=plain(fields[5]))
    assert not has_diacritics(payload)
    code, data = read_json(tmp_path, "an", payload)
    sec = data["security"]
    assert code == EXIT_OK and sec["verdict"] == "genuine"
    assert sec["qr_mismatches"] == [] and sec["qr_matches_chip"] is True
    assert {"field": "full_name", "note": "compared-without-diacritics"} in sec["qr_notes"]
    assert {"field": "address", "note": "compared-without-diacritics"} in sec["qr_notes"]
    table = cccd_read("read", "--emulator", "an", "--qr-text", "-", "--no-progress", cwd=tmp_path,
                      input=payload)
    assert table.returncode == EXIT_OK and "compared without diacritics" in table.stdout


def test_a_different_name_without_diacritics_is_still_a_mismatch(tmp_path: Path) -> None:
    name = plain(sample_qr_payload("an").split("|")[2]) + "h"  # "Nguyen Van Anh"
    code, data = read_json(tmp_path, "an", payload_with("an", full_name=name))
    assert code == EXIT_VERIFICATION_FAILED and data["security"]["verdict"] == "mismatch"
    assert [m["field"] for m in data["security"]["qr_mismatches"]] == ["full_name"]
    assert not any(n["field"] == "full_name" for n in data["security"]["qr_notes"])


def test_qr_with_diacritics_is_compared_exactly(tmp_path: Path) -> None:
    # the sample "hung": the QR prints Hùng, the chip says Hưng; folded both are HUNG, but the QR has
    # diacritics, so they are compared as they are: a mismatch
    payload = sample_qr_payload("hung")
    name = payload.split("|")[2]
    assert has_diacritics(name)
    code, data = read_json(tmp_path, "hung", payload)
    assert code == EXIT_VERIFICATION_FAILED
    assert [m["field"] for m in data["security"]["qr_mismatches"]] == ["full_name"]
    assert ascii_fold(name) == ascii_fold(data["identity"]["full_name"])


def test_address_difference_is_information(tmp_path: Path) -> None:
    moved = "Số 5 Phố Tràng Tiền, Phường Tràng Tiền, Quận Hoàn Kiếm, Hà Nội"
    code, data = read_json(tmp_path, "an", payload_with("an", address=moved))
    sec = data["security"]
    assert code == EXIT_OK and sec["verdict"] == "genuine" and sec["qr_mismatches"] == []
    assert {"field": "address", "note": "differs"} in sec["qr_notes"]
    table = cccd_read("read", "--emulator", "an", "--qr-text", "-", "--no-progress", cwd=tmp_path,
                      input=payload_with("an", address=moved))
    assert "QR address" in table.stdout and "information only" in table.stdout
    # the same address as on the chip gives no note at all
    _code, same = read_json(tmp_path, "an", sample_qr_payload("an"))
    assert same["security"]["qr_notes"] == []
