"""Vietnamese for Vietnamese desks: ``--lang vi`` (or the locale) for labels, verdict sentences, states and
error lines, dates as dd/mm/yyyy; JSON stays language-neutral; the catalogs are gettext files in the
package, and the compiled one agrees with its source."""

from __future__ import annotations

import ast
import gettext
import json
import re
from pathlib import Path

import pytest
from cli_support import ROOT, cccd_read, cli_env

from cccd_reader.cli import EXIT_ACCESS_DENIED, EXIT_OK
from cccd_reader.emulator.samples import sample_persona
from cccd_reader.i18n import LOCALE_DIR, format_date, locale_language, set_language
from cccd_reader.model import PartialDate

PO = LOCALE_DIR / "vi" / "LC_MESSAGES" / "cccd_reader.po"
MO = PO.with_suffix(".mo")


def read_po(path: Path) -> dict[str, str]:
    """msgid -> msgstr of a PO file (single-line and continued strings)."""
    entries: dict[str, str] = {}
    current: dict[str, str] = {}
    key = None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if line.startswith(("msgid ", "msgstr ")):
            key, _, rest = line.partition(" ")
            current[key] = ast.literal_eval(rest)
        elif line.startswith('"') and key:
            current[key] += ast.literal_eval(line)
        elif not line.strip():
            if current.get("msgid"):
                entries[current["msgid"]] = current.get("msgstr", "")
            current, key = {}, None
    return entries


def test_compiled_catalog_matches_its_source() -> None:
    entries = read_po(PO)
    assert len(entries) > 50 and all(entries.values())
    with MO.open("rb") as f:
        compiled = gettext.GNUTranslations(f)
    for msgid, msgstr in entries.items():
        assert compiled.gettext(msgid) == msgstr, msgid


def test_every_marked_message_is_translated() -> None:
    entries = read_po(PO)
    marked: set[str] = set()
    for path in [*(ROOT / "cccd_reader" / "cli").glob("*.py"), ROOT / "cccd_reader" / "i18n.py"]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                    and node.func.id in ("_", "N_") and node.args and isinstance(node.args[0], ast.Constant):
                marked.add(node.args[0].value)
    missing = sorted(marked - set(entries))
    assert not missing, missing
    # placeholders survive translation
    for msgid, msgstr in entries.items():
        assert set(re.findall(r"{[^}]*}", msgid)) == set(re.findall(r"{[^}]*}", msgstr)), msgid


def test_catalogs_are_package_data() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    assert '"locale/*/LC_MESSAGES/*.mo"' in text and '"locale/*/LC_MESSAGES/*.po"' in text
    assert MO.is_relative_to(ROOT / "cccd_reader")


def test_language_from_the_locale() -> None:
    assert locale_language({"LANG": "vi_VN.UTF-8"}) == "vi"
    assert locale_language({"LANGUAGE": "vi:en", "LANG": "en_US.UTF-8"}) == "vi"
    assert locale_language({"LC_ALL": "C", "LANG": "vi_VN.UTF-8"}) == "en"
    assert locale_language({"LANG": "fr_FR.UTF-8"}) == "en" and locale_language({}) == "en"


def test_dates_for_people() -> None:
    import datetime as dt

    try:
        set_language("vi")
        assert format_date(dt.date(1990, 3, 5)) == "05/03/1990"
        assert format_date(PartialDate(1950)) == "1950" and format_date(PartialDate(1950, 7)) == "07/1950"
        set_language("en")
        assert format_date(dt.date(1990, 3, 5)) == "1990-03-05"
    finally:
        set_language("en")


def test_read_in_vietnamese(tmp_path: Path) -> None:
    persona = sample_persona("an")
    result = cccd_read("read", "--emulator", "an", "--no-progress", "--lang", "vi", cwd=tmp_path)
    assert result.returncode == EXIT_OK, result.stderr
    out = result.stdout
    for label in ("Họ và tên", "Ngày sinh", "Nơi thường trú", "Xác thực thụ động", "Kết luận"):
        assert label in out
    assert persona.date_of_birth.strftime("%d/%m/%Y") in out and persona.date_of_birth.isoformat() not in out
    assert "THẬT" in out and "Full name" not in out


@pytest.mark.parametrize("env", [{"LANG": "vi_VN.UTF-8"}, {"LANGUAGE": "vi"}])
def test_default_language_comes_from_the_locale(tmp_path: Path, env: dict[str, str]) -> None:
    result = cccd_read("read", "--emulator", "an", "--no-progress", cwd=tmp_path, env=cli_env(**env))
    assert "Họ và tên" in result.stdout
    english = cccd_read("read", "--emulator", "an", "--no-progress", "--lang", "en", cwd=tmp_path,
                        env=cli_env(**env))
    assert "Full name" in english.stdout and "Họ và tên" not in english.stdout


def test_json_is_language_neutral(tmp_path: Path) -> None:
    runs = [json.loads(cccd_read("read", "--emulator", "an", "--json", "--lang", lang, cwd=tmp_path).stdout)
            for lang in ("vi", "en")]
    for data in runs:
        data.pop("stats")
        data["security"].pop("passive_authentication_detail", None)
    assert runs[0] == runs[1]
    assert runs[0]["identity"]["date_of_birth"] == sample_persona("an").date_of_birth.isoformat()
    assert runs[0]["security"]["verdict"] == "genuine"


def test_error_lines_and_states_in_vietnamese(tmp_path: Path) -> None:
    result = cccd_read("--lang", "vi", "read", "--emulator", "an", "--can", "000001", cwd=tmp_path)
    assert result.returncode == EXIT_ACCESS_DENIED
    assert result.stderr.startswith("cccd-read: lỗi: thẻ từ chối khóa truy cập")
    assert "000001" not in result.stderr
    kiosk = cccd_read("watch", "--reader", "Reader Plugged In Later 7", "--can", "123456", "--idle-timeout",
                      "2", "--lang", "vi", cwd=tmp_path)
    assert "không có đầu đọc: đang chờ kết nối lại" in kiosk.stderr


def test_unknown_language_is_bad_input(tmp_path: Path) -> None:
    result = cccd_read("read", "--emulator", "an", "--lang", "fr", cwd=tmp_path)
    assert result.returncode == 2 and "fr" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_every_verdict_has_a_sentence_and_a_page_label(lang: str) -> None:
    from cccd_reader.cli.read import verdict_text
    from cccd_reader.i18n import language
    from cccd_reader.read import Verdict

    previous = language()
    set_language(lang)
    try:
        for verdict in Verdict:
            text = verdict_text(verdict.value)
            assert text != verdict.value.upper(), verdict  # not the bare fallback word
            assert ":" in text, verdict
    finally:
        set_language(previous)
    page = (ROOT / "cccd_reader" / "serve" / "static" / "demo.js").read_text(encoding="utf-8")
    for verdict in Verdict:
        labels = page.count(f"v_{verdict.value.replace('-', '_')}:") + page.count(f'"v_{verdict.value}":')
        assert labels == 2, verdict  # one label in each of the page's two languages
