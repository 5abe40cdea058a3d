"""``cccd-read demo``: the README's first command must read a sample card end to end and say so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cccd_reader.cli import main
from cccd_reader.emulator import sample_names
from cccd_reader.emulator.samples import sample_persona


def run(*args: str) -> tuple[int, str]:
    runner = CliRunner()
    result = runner.invoke(main, ["demo", *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_default_demo_reads_the_sample_and_saves_the_portrait(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = run()
    assert code == 0, out
    persona = sample_persona("an")
    assert persona.full_name in out and persona.id_number in out
    assert "GENUINE" in out and "PACE with the CAN" in out
    for check in ("Passive authentication", "Chip Authentication", "Active Authentication"):
        line = next(ln for ln in out.splitlines() if check in ln)
        assert "passed" in line
    saved = tmp_path / "cccd-demo-portrait.jpg"
    assert saved.read_bytes() == persona.portrait_bytes()
    assert "cccd-demo-portrait.jpg" in out


def test_json_output(tmp_path: Path) -> None:
    target = tmp_path / "face.png"
    code, out = run("--json", "--portrait", str(target))
    assert code == 0
    data = json.loads(out)
    assert data["complete"] is True
    assert data["security"]["verdict"] == "genuine"
    assert data["identity"]["id_number"] == sample_persona("an").id_number
    assert data["demo"]["card"] == "an"
    assert data["portrait"]["path"] == str(target) and "image_base64" not in data["portrait"]
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_mismatch_card_exits_1_and_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = run("--card", "hung")
    assert code == 1
    assert "MISMATCH" in out and "full name" in out


def test_jpeg2000_card_portrait_is_saved_as_jpeg_by_default(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out = run("--card", "tho")
    assert code == 0, out
    assert "no expiry" in out
    assert (tmp_path / "cccd-demo-portrait.jpg").read_bytes()[:2] == b"\xff\xd8"


@pytest.mark.parametrize("name", sample_names())
def test_every_sample_card_runs(name: str, tmp_path: Path) -> None:
    code, out = run("--card", name, "--json", "--portrait", str(tmp_path / "p.jpg"))
    data = json.loads(out)
    assert data["complete"] is True
    assert code == (1 if data["security"]["verdict"] == "mismatch" else 0)


def test_list_and_unknown_card() -> None:
    code, out = run("--list")
    assert code == 0 and all(name in out for name in sample_names())
    code, out = run("--card", "nobody")
    assert code == 2 and "an" in out


def test_demo_works_from_the_package_data_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As from an installed wheel: no samples/ folder next to the package."""
    from cccd_reader.emulator import sample_pki, samples

    monkeypatch.setattr(samples, "REPO_SAMPLES", tmp_path / "no-such-folder")
    monkeypatch.setattr(sample_pki, "REPO_SAMPLES", tmp_path / "no-such-folder")
    samples.sample_signer.cache_clear()
    try:
        code, out = run("--json", "--portrait", str(tmp_path / "p.jpg"))
    finally:
        samples.sample_signer.cache_clear()
    assert code == 0 and json.loads(out)["security"]["verdict"] == "genuine"


def test_bad_portrait_path_is_refused_before_the_read(tmp_path: Path) -> None:
    code, out = run("--portrait", str(tmp_path / "missing-dir" / "p.jpg"))
    assert code == 2
    assert "--portrait" in out and "does not exist" in out and "GENUINE" not in out


def test_unwritable_default_portrait_is_a_warning_not_a_crash(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from cccd_reader.cli import demo

    monkeypatch.setattr(demo, "DEFAULT_PORTRAIT", str(tmp_path / "missing-dir" / "p.jpg"))
    code, out = run()
    assert code == 0
    assert "could not be saved" in out and "GENUINE" in out
