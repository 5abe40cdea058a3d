"""``cccd-read watch`` as a kiosk: one read per presentation however long the card stays, "place" /
"remove" states, readers that go away and come back, a CSV log (UTF-8 with BOM, chosen columns, no
image) and one portrait file per card, all created 0600."""

from __future__ import annotations

import csv
import io
import json
import stat
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from cli_support import cccd_read, cli_env, command
from click.testing import CliRunner
from pcsc_support import card_on

from cccd_reader.cli import EXIT_BAD_INPUT, EXIT_OK, main
from cccd_reader.emulator import load_sample
from cccd_reader.emulator.samples import sample_persona, sample_qr_payload
from cccd_reader.errors import NoCardError, ReaderNotFoundError, TransportError
from cccd_reader.qr.payload import parse_qr_payload


class Lines:
    """Collects a stream's lines from a thread, so a test can wait for one without blocking."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: Any) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, *, after: int = 0, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, line in enumerate(self.lines[after:], after):
                if text in line:
                    return i
            time.sleep(0.05)
        raise AssertionError(f"{text!r} never came; got {self.lines}")


@pytest.mark.pcsc
def test_kiosk_reads_once_per_presentation_with_csv_and_portraits(pcsc_reader: Any, tmp_path: Path) -> None:
    faces = tmp_path / "faces"
    faces.mkdir()
    log = tmp_path / "desk.csv"
    persona = sample_persona("an")
    card = load_sample("an")
    with card_on(pcsc_reader, card):
        proc = subprocess.Popen(
            command("watch", "--reader", pcsc_reader.name, "--can", persona.can, "--json", "--count", "2",
                    "--csv", str(log),
                    "--csv-columns", "id_number,full_name,date_of_birth,verdict,portrait_file",
                    "--portrait-dir", str(faces)),
            cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            encoding="utf-8")
        out, err = Lines(proc.stdout), Lines(proc.stderr)
        try:
            first_remove = err.wait_for("remove the card")
            # the card stays on the reader: it is not read again, and the kiosk keeps asking for removal
            apdus = card.apdu_count
            time.sleep(3)
            assert len(out.lines) == 1 and card.apdu_count == apdus
            assert proc.poll() is None
            # taken away and put back: a new presentation, read once more
            pcsc_reader.bridge.remove()
            err.wait_for("place the card", after=first_remove)
            pcsc_reader.bridge.insert()
            assert proc.wait(timeout=120) == EXIT_OK
        finally:
            if proc.poll() is None:
                proc.kill()
        time.sleep(0.2)
    records = [json.loads(line) for line in out.lines if line.strip()]
    assert [r["identity"]["id_number"] for r in records] == [persona.id_number] * 2
    assert all("image_base64" not in r["portrait"] for r in records)
    states = [line for line in err.lines if line.startswith("cccd-read: ")]
    assert states.index(next(s for s in states if "remove the card" in s)) > 0
    # the CSV: BOM, the chosen header, one row per card, Vietnamese letters intact, no image
    raw = log.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["id_number", "full_name", "date_of_birth", "verdict", "portrait_file"]
    assert len(rows) == 3
    assert rows[1][:3] == [persona.id_number, persona.full_name, persona.date_of_birth.isoformat()]
    # one portrait file per card, the chip's own bytes, named in the CSV, owner-only
    files = sorted(faces.iterdir())
    assert [f.name for f in files] == sorted(r[4] for r in rows[1:]) and len(files) == 2
    for f in [*files, log]:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert files[0].read_bytes() == persona.portrait_bytes()


def test_missing_reader_is_waited_for_not_an_exit(tmp_path: Path) -> None:
    result = cccd_read("watch", "--reader", "Reader Plugged In Later 7", "--can", "123456",
                       "--idle-timeout", "3", cwd=tmp_path)
    assert result.returncode == EXIT_OK, result.stderr
    assert "waiting for it to come back" in result.stderr
    assert result.stderr.count("waiting for it to come back") == 1  # said once, not once per poll


def test_bad_kiosk_options_are_bad_input(tmp_path: Path) -> None:
    for args in (["--csv", str(tmp_path / "none" / "x.csv")], ["--portrait-dir", str(tmp_path / "none")],
                 ["--csv", str(tmp_path / "x.csv"), "--csv-columns", "id_number,portrait_image"],
                 ["--csv-columns", "id_number"]):
        result = cccd_read("watch", "--can", "123456", *args, cwd=tmp_path)
        assert result.returncode == EXIT_BAD_INPUT, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_csv_cells_cannot_be_formulas_or_control_text() -> None:
    from cccd_reader.cli.watch import csv_cell

    assert csv_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert csv_cell("@SUM(A1)").startswith("'") and csv_cell("+1").startswith("'")
    assert csv_cell("Nguyễn\x1b[2J") == "Nguyễn\\x1b[2J"
    assert csv_cell(None) == "" and csv_cell(True) == "True"


# --- readers that go away and come back (the PC/SC side injected, the command run in process) ----------


class FakeCard:
    """An emulator card behind a transport whose removal wait fails once, as after a pcscd restart."""

    reader_name = "Desk Reader 0"

    def __init__(self) -> None:
        self.card = load_sample("an")
        self.removal_calls = 0
        self.closed = False

    def transmit(self, apdu: bytes) -> bytes:
        return self.card.transmit(apdu)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.card, name)

    def wait_for_removal(self, timeout: float) -> bool:
        self.removal_calls += 1
        raise TransportError("cannot query the readers: the PC/SC service stopped")

    def close(self) -> None:
        self.closed = True


def test_kiosk_survives_a_reader_that_disappears_and_a_service_restart(monkeypatch: pytest.MonkeyPatch,
                                                                         tmp_path: Path) -> None:
    from cccd_reader.cli import watch

    monkeypatch.setattr(watch, "POLL_SECONDS", 0.01)
    monkeypatch.setattr(watch, "READER_RETRY_SECONDS", 0.01)
    cards = [FakeCard(), FakeCard()]
    opened: list[FakeCard] = []
    attempts = iter([ReaderNotFoundError("no PC/SC reader is connected"),
                     ReaderNotFoundError("is the PC/SC service (pcscd) running?"),
                     NoCardError("no card"), cards[0], NoCardError("no card"), cards[1]])

    def open_card(reader: str | None, nfc: str | None, timeout: float) -> Any:
        step = next(attempts)
        if isinstance(step, Exception):
            raise step
        opened.append(step)
        return step

    # while the first card is waited off the reader: the service is down, then the card is still there,
    # then it is gone
    presence = iter([None, None, True, True, False])
    monkeypatch.setattr(watch, "open_card", open_card)
    monkeypatch.setattr(watch, "card_still_on", lambda name: next(presence))
    result = CliRunner().invoke(main, ["watch", "--can", sample_persona("an").can, "--json", "--count", "2"],
                                catch_exceptions=False)
    assert result.exit_code == EXIT_OK, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    an_id = parse_qr_payload(sample_qr_payload("an")).id_number
    assert [d["identity"]["id_number"] for d in lines] == [an_id, an_id]
    assert opened == cards and all(c.closed for c in cards)
    err = result.stderr
    # said before the first card, then while the first card was waited off the reader
    assert err.count("no reader: waiting for it to come back") == 2
    assert err.index("remove the card") < err.rindex("no reader")


@pytest.mark.pcsc
def test_refused_key_is_exit_code_5_in_watch_as_in_read(pcsc_reader: Any, tmp_path: Path) -> None:
    log = tmp_path / "desk.csv"
    with card_on(pcsc_reader, load_sample("an")):
        result = cccd_read("watch", "--reader", pcsc_reader.name, "--can", "000001", "--count", "1",
                           "--csv", str(log), "--csv-columns", "id_number,complete,exit_code", cwd=tmp_path)
    assert result.returncode == EXIT_OK
    assert "cccd-read: card not read: " in result.stderr and "(exit code 5)" in result.stderr
    assert "000001" not in result.stderr
    rows = list(csv.reader(io.StringIO(log.read_text(encoding="utf-8-sig"))))
    assert rows == [["id_number", "complete", "exit_code"], ["", "False", "5"]]
