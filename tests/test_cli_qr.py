"""``cccd-read qr``: exit codes, table and JSON output, standard input."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cccd_reader.cli import EXIT_BAD_INPUT, EXIT_OK, main

PAYLOAD = "048303007788||Lê Thị Hồng Nhung|17082003|Nữ|Tổ 5, Phường Hải Châu, Đà Nẵng|02092024||||"
CCCD = "001090123456|012345678|Nguyễn Văn A|01011990|Nam|Số 1 Phố A, Phường B, Quận C, Hà Nội|15042021"


def run(args: list[str], stdin: str | bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, input=stdin)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_qr_is_registered() -> None:
    code, out, _ = run(["--help"])
    assert code == EXIT_OK
    assert "qr" in out


def test_table_output() -> None:
    code, out, err = run(["qr", "--text", PAYLOAD])
    assert code == EXIT_OK, err
    shown_values = (
        "048303007788", "Lê Thị Hồng Nhung", "2003-08-17", "2024-09-02", "Căn cước", "Đà Nẵng (048)"
    )
    for shown in shown_values:
        assert shown in out
    # born 2003, Căn cước card issued at 21 (before the window that opens at 23): valid to 25
    assert "2028-08-17" in out
    assert err == ""


def test_table_shows_no_expiry_and_warnings() -> None:
    older = "092058004411|361234567|Phạm Văn Đức|05031958|Nam|Khu vực 3, Cần Thơ|20042021"
    code, out, _ = run(["qr", "--text", older])
    assert code == EXIT_OK
    assert "no expiry" in out
    code, out, _ = run(["qr", "--text", older.replace("092058", "092059")])
    assert code == EXIT_OK
    assert "birth_year" in out


def test_markup_in_values_is_printed_literally() -> None:
    code, out, _ = run(["qr", "--text", PAYLOAD.replace("Hồng Nhung", "[bold red]Nhung[/]")])
    assert code == EXIT_OK
    assert "[bold red]Nhung[/]" in out


def test_json_output() -> None:
    code, out, _ = run(["qr", "--text", CCCD, "--json"])
    assert code == EXIT_OK
    assert "Nguyễn Văn A" in out  # ensure_ascii=False
    data = json.loads(out)
    assert data["id_number"] == "001090123456"
    assert data["old_id_number"] == "012345678"
    assert data["date_of_birth"] == "1990-01-01"
    assert data["issue_date"] == "2021-04-15"
    assert data["sex"] == "M"
    assert data["field_count"] == 7
    assert data["warnings"] == []


@pytest.mark.parametrize(
    "args", [["qr"], ["qr", "--text", "-"], ["qr", "--json"], ["qr", "--text", "-", "--json"]]
)
def test_payload_from_stdin(args: list[str]) -> None:
    code, out, err = run(args, stdin=PAYLOAD + "\r\n")
    assert code == EXIT_OK, err
    assert "Lê Thị Hồng Nhung" in out
    if "--json" in args:
        assert json.loads(out)["full_name"] == "Lê Thị Hồng Nhung"


def test_stdin_bytes_with_bom() -> None:
    code, out, _ = run(["qr", "--json"], stdin=b"\xef\xbb\xbf" + PAYLOAD.encode("utf-8"))
    assert code == EXIT_OK
    assert "bom" in json.loads(out)["repairs"]


@pytest.mark.parametrize(
    ("args", "stdin"),
    [
        (["qr", "--text", "048303007788||Lê Thị Hồng Nhung|17082003"], None),
        (["qr", "--text", PAYLOAD.replace("17082003", "31022003")], None),
        (["qr", "--text", PAYLOAD.replace("048303007788", "04830300778X")], None),
        (["qr", "--text", ""], None),
        (["qr"], ""),
        (["qr", "--text", "-"], b"\xff\xfe\x00garbage"),
        (["qr", "--json"], "x" * 20000),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], stdin: str | bytes | None) -> None:
    code, out, err = run(args, stdin=stdin)
    assert code == EXIT_BAD_INPUT
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("cccd-read: error: ")
    for personal in ("048303007788", "04830300778X", "Hồng Nhung", "17082003", "31022003"):
        assert personal not in err


def test_no_payload_at_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from cccd_reader.cli import qr as cli_qr

    class Tty:
        def isatty(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            raise AssertionError("must not read a terminal")

    monkeypatch.setattr(cli_qr, "stdin_bytes", lambda: Tty())
    code, _out, err = run(["qr"])
    assert code == EXIT_BAD_INPUT
    assert "--text" in err
    assert err.startswith("cccd-read: error: ")
