"""``cccd-read`` as an operator meets it: output paths checked before the card, one exit-code table for
every command, Ctrl-C, files created 0600, the QR payload from stdin, no image in JSON unless asked,
``--redact`` really redacting, and the smaller rough edges. Each test runs the real command in a
separate process (or, where a fault must be injected, the command in process)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_support import cccd_read, cli_env, command
from click.testing import CliRunner

from cccd_reader.cli import (
    EXIT_ACCESS_DENIED,
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_NO_READER,
    EXIT_OK,
    main,
)
from cccd_reader.emulator.samples import sample_persona, sample_qr_payload
from cccd_reader.qr.payload import parse_qr_payload

AN_ID = parse_qr_payload(sample_qr_payload("an")).id_number


def one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("cccd-read: error: ")
    return lines[0]


# --- 1. output paths are checked before the card is touched ----------------------------------------------


@pytest.mark.parametrize("where", ["missing-folder", "a-folder", "no-suffix"])
def test_bad_portrait_path_is_one_line_exit_2_before_the_card(tmp_path: Path, where: str) -> None:
    target = {"missing-folder": tmp_path / "nonexistent" / "face.jpg", "a-folder": tmp_path,
              "no-suffix": tmp_path / "adir"}[where]
    # a reader that does not exist: had the card been looked for first, the exit code would be 3
    result = cccd_read("read", "--reader", "No Such Reader 9", "--can", "123456", "--portrait", str(target),
                       cwd=tmp_path)
    assert result.returncode == EXIT_BAD_INPUT, result.stderr
    line = one_error_line(result.stderr)
    assert "--portrait" in line and "format=" not in line
    if where == "no-suffix":
        assert ".jpg" in line


def test_bad_trace_path_is_exit_2_and_the_emulator_card_is_not_read(tmp_path: Path) -> None:
    result = cccd_read("read", "--emulator", "an", "--json", "--trace", str(tmp_path / "no" / "t.jsonl"),
                       cwd=tmp_path)
    assert result.returncode == EXIT_BAD_INPUT
    assert "--trace" in one_error_line(result.stderr)
    assert result.stdout == ""  # nothing was read


def test_unwritable_folder_is_refused(tmp_path: Path) -> None:
    # /proc takes no new files, even for root: the write check must try, not only look at permissions
    result = cccd_read("read", "--emulator", "an", "--portrait", "/proc/face.jpg", cwd=tmp_path)
    assert result.returncode == EXIT_BAD_INPUT
    assert "cannot write" in one_error_line(result.stderr)


# --- 4. the same exit codes from every command -----------------------------------------------------------


def test_trust_that_does_not_load_is_bad_input(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a certificate\n")
    for trust in (str(tmp_path / "nonexistent.pem"), str(junk)):
        result = cccd_read("read", "--emulator", "an", "--trust", trust, cwd=tmp_path)
        assert result.returncode == EXIT_BAD_INPUT, (trust, result.stderr)
        one_error_line(result.stderr)


def _blocked_reading_stdin(pid: int) -> bool:
    """True once the process sleeps in read(0, ...) (Linux /proc; x86-64 and arm64 syscall numbers)."""
    try:
        fields = Path(f"/proc/{pid}/syscall").read_text().split()
    except OSError:
        return False
    read_nr = {"x86_64": "0", "aarch64": "63"}.get(os.uname().machine)
    return len(fields) > 1 and fields[0] == read_nr and int(fields[1], 16) == 0


def _interrupt_while_reading_stdin(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    proc = subprocess.Popen(command(*args), cwd=tmp_path, env=cli_env(), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not _blocked_reading_stdin(proc.pid):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the command never waited for standard input"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="waits on /proc/PID/syscall")
@pytest.mark.parametrize("args", [["read", "--emulator", "an", "--qr-text", "-", "--json"],
                                  ["qr", "--text", "-"]])
def test_ctrl_c_is_exit_130_without_traceback(tmp_path: Path, args: list[str]) -> None:
    result = _interrupt_while_reading_stdin(args, tmp_path)
    assert result.returncode == EXIT_INTERRUPTED, result.stderr
    assert "Traceback" not in result.stderr and "Aborted" not in result.stderr
    assert "interrupted" in result.stderr


def test_ctrl_c_during_a_read_prints_the_partial_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C while the chip is being read (injected as the KeyboardInterrupt Python raises for SIGINT):
    exit 130, one line, and with --json whatever was read so far."""
    from cccd_reader.protocols import active_auth

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(active_auth, "perform_active_auth", interrupted)
    result = CliRunner().invoke(main, ["read", "--emulator", "an", "--json"], catch_exceptions=False)
    assert result.exit_code == EXIT_INTERRUPTED
    assert "Traceback" not in result.stderr and "interrupted" in result.stderr
    data = json.loads(result.stdout)  # the pipeline attached what it had read to the KeyboardInterrupt
    assert data["complete"] is False and data["failed_step"] == "active_auth"
    assert data["error"] == "interrupted" and data["identity"]["id_number"] == AN_ID


def test_wrong_key_is_5_in_read_and_in_watch_lines() -> None:
    from cccd_reader.cli import exit_code_for
    from cccd_reader.errors import AccessDenied, ReadError

    failed = ReadError("access: refused", step="access")
    failed.__cause__ = AccessDenied("refused")
    # watch prints "(exit code N)" per card with the code read would exit with
    assert exit_code_for(failed) == EXIT_ACCESS_DENIED


# --- 5. privacy ------------------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_portrait_trace_and_json_files_are_0600(tmp_path: Path) -> None:
    face, trace, out = tmp_path / "face.png", tmp_path / "t.jsonl", tmp_path / "card.json"
    out.write_text("")
    out.chmod(0o644)  # as a shell redirection with umask 022 creates it
    with out.open("w") as stdout:
        proc = subprocess.run(command("read", "--emulator", "an", "--json", "--portrait", str(face),
                                      "--trace", str(trace)),
                              cwd=tmp_path, env=cli_env(), stdout=stdout, stderr=subprocess.PIPE,
                              timeout=120, preexec_fn=lambda: os.umask(0o022))
    assert proc.returncode == EXIT_OK, proc.stderr
    assert face.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(out.read_text())["identity"]["id_number"] == AN_ID
    assert (_mode(face), _mode(trace), _mode(out)) == (0o600, 0o600, 0o600)


def test_qr_text_dash_reads_the_payload_from_stdin(tmp_path: Path) -> None:
    payload = sample_qr_payload("mai")
    result = cccd_read("read", "--emulator", "mai", "--qr-text", "-", "--json", "--report-only",
                       cwd=tmp_path, input=payload + "\n")
    assert result.returncode == EXIT_OK, result.stderr
    data = json.loads(result.stdout)
    assert data["identity"]["id_number"] == parse_qr_payload(payload).id_number
    assert data["security"]["qr_matches_chip"] is True


def test_json_has_no_image_unless_asked(tmp_path: Path) -> None:
    image = sample_persona("an").portrait_bytes()
    import base64

    encoded = base64.b64encode(image).decode()
    plain = cccd_read("read", "--emulator", "an", "--json", cwd=tmp_path)
    assert plain.returncode == EXIT_OK
    data = json.loads(plain.stdout)
    assert data["portrait"]["size"] == len(image) and encoded not in plain.stdout
    assert "portrait" not in data["identity"]
    face = tmp_path / "face.jpg"
    saved = cccd_read("read", "--emulator", "an", "--json", "--portrait", str(face), cwd=tmp_path)
    assert json.loads(saved.stdout)["portrait"]["path"] == str(face) and encoded not in saved.stdout
    asked = cccd_read("read", "--emulator", "an", "--json", "--json-portrait", cwd=tmp_path)
    assert asked.stdout.count(encoded) == 1
    assert json.loads(asked.stdout)["portrait"]["image_base64"] == encoded


def test_record_json_has_the_image_once_or_not_at_all() -> None:
    """The public API: to_dict(include_portrait=False) has no image, the identity never repeats it."""
    import base64

    from cccd_reader.emulator import load_sample
    from cccd_reader.read import read_card

    record = read_card(load_sample("an"), sample_persona("an").can_key())
    encoded = base64.b64encode(record.portrait.image).decode()
    assert encoded not in json.dumps(record.to_dict(include_portrait=False))
    assert json.dumps(record.to_dict()).count(encoded) == 1
    assert "portrait" not in record.to_dict()["identity"]


def test_demo_json_writes_no_file_unasked(tmp_path: Path) -> None:
    result = cccd_read("demo", "--json", cwd=tmp_path)
    assert result.returncode == EXIT_OK
    assert list(tmp_path.iterdir()) == []
    assert "image_base64" not in result.stdout


# --- 12. --redact, through the command ------------------------------------------------------------------


def _trace_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_redacted_trace_has_no_responses_and_no_random_draws(tmp_path: Path) -> None:
    full, redacted = tmp_path / "full.jsonl", tmp_path / "redacted.jsonl"
    assert cccd_read("read", "--emulator", "an", "--trace", str(full), cwd=tmp_path).returncode == EXIT_OK
    assert cccd_read("read", "--emulator", "an", "--trace", str(redacted), "--redact",
                     cwd=tmp_path).returncode == EXIT_OK
    plain = _trace_lines(full)
    # the unredacted trace holds what the redacted one must not: responses and the terminal's draws
    assert any(ev.get("r") and len(ev["r"]) > 4 for ev in plain if ev["type"] == "apdu")
    assert any(ev.get("hex") for ev in plain if ev["type"] == "random")
    events = _trace_lines(redacted)
    assert events[0]["redacted"] is True
    apdus = [ev for ev in events if ev["type"] == "apdu"]
    draws = [ev for ev in events if ev["type"] == "random"]
    assert len(apdus) == sum(1 for ev in plain if ev["type"] == "apdu")
    assert all("r" not in ev and len(ev["c"]) <= 8 for ev in apdus)  # command headers only
    assert draws and all("hex" not in ev for ev in draws)
    text = redacted.read_text()
    for ev in plain:
        for value in (ev.get("hex"), ev.get("r") if ev.get("r") and len(ev["r"]) > 8 else None):
            if value:
                assert value not in text


def test_redact_without_trace_is_refused(tmp_path: Path) -> None:
    result = cccd_read("read", "--emulator", "an", "--redact", cwd=tmp_path)
    assert result.returncode == EXIT_BAD_INPUT
    assert "--trace" in one_error_line(result.stderr)


# --- 11. the smaller rough edges ----------------------------------------------------------------------


def test_empty_trace_is_bad_input(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = cccd_read("replay", str(empty), "--can", "123456", cwd=tmp_path)
    assert result.returncode == EXIT_BAD_INPUT
    one_error_line(result.stderr)


def test_replay_with_another_key_says_so(tmp_path: Path) -> None:
    trace = tmp_path / "an.jsonl"
    assert cccd_read("read", "--emulator", "an", "--trace", str(trace), cwd=tmp_path).returncode == EXIT_OK
    wrong = f"{(int(sample_persona('an').can) + 1) % 1_000_000:06d}"
    result = cccd_read("replay", str(trace), "--can", wrong, cwd=tmp_path)
    assert result.returncode == EXIT_ACCESS_DENIED
    line = one_error_line(result.stderr)
    assert "recorded with another key" in line and "expected" not in line and wrong not in line
    # the right key replays
    right = cccd_read("replay", str(trace), "--can", sample_persona("an").can, cwd=tmp_path)
    assert right.returncode == EXIT_OK, right.stderr


def test_id_of_11_digits_names_the_id_not_the_key(tmp_path: Path) -> None:
    for extra in ([], ["--dob", "1990-03-15"]):
        result = cccd_read("read", "--emulator", "an", "--id", AN_ID[:11], *extra, cwd=tmp_path)
        assert result.returncode == EXIT_BAD_INPUT
        line = one_error_line(result.stderr)
        assert "--id" in line and "12-digit" in line and "11 digits" in line and AN_ID[:11] not in line


def test_mrz_needs_only_its_first_two_lines(tmp_path: Path) -> None:
    lines = sample_persona("an").mrz_lines()
    result = cccd_read("read", "--emulator", "an", "--mrz", "\\n".join(lines[:2]), "--json", cwd=tmp_path)
    assert result.returncode == EXIT_OK, result.stderr
    assert json.loads(result.stdout)["security"]["access"]["key"] == "MRZ"


def test_readers_without_pcsc_prints_the_problem_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from cccd_reader.errors import ReaderNotFoundError
    from cccd_reader.transport import pcsc

    def stopped() -> list[object]:
        raise ReaderNotFoundError("the PC/SC service is not running")

    monkeypatch.setattr(pcsc, "list_readers", stopped)
    result = CliRunner().invoke(main, ["readers", "--no-nfc"], catch_exceptions=False)
    assert result.exit_code == EXIT_NO_READER
    assert result.stdout == ""  # no empty table
    assert result.stderr.count("not running") == 1


def test_camera_that_does_not_open_is_one_line(tmp_path: Path) -> None:
    pytest.importorskip("cv2")
    result = cccd_read("qr", "--camera", "97", cwd=tmp_path)
    assert result.returncode == EXIT_BAD_INPUT
    assert "camera 97" in one_error_line(result.stderr)


@pytest.mark.parametrize("name", ["read", "watch", "qr", "demo", "replay", "readers", "trust"])
def test_every_command_help_has_an_example(name: str, tmp_path: Path) -> None:
    result = cccd_read(name, "--help", cwd=tmp_path)
    assert result.returncode == EXIT_OK
    assert "Examples:" in result.stdout and "cccd-read " + name in result.stdout
