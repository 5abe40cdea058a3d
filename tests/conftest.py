"""Shared fixtures: the external worked examples and helpers."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _vectors_path() -> Path:
    for candidate in (ROOT / "tests" / "vectors" / "icao-9303-worked-examples.json",
                      ROOT.parent / "shared" / "vectors" / "icao-9303-worked-examples.json"):
        if candidate.exists():
            return candidate
    raise FileNotFoundError("icao-9303-worked-examples.json not found")


@pytest.fixture(scope="session")
def vectors() -> dict[str, Any]:
    """ICAO 9303 / BSI worked examples (an external source, not produced by this project)."""
    return json.loads(_vectors_path().read_text(encoding="utf-8"))


IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


# PC/SC end-to-end fixtures (tests/pcsc_support.py): registered here, once, so every test module shares
# one pcscd, one vpcd slot and one bridge per session.
from pcsc_support import pcsc_reader, pcscd_service, vpcd_slot  # noqa: E402,F401


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test sees an empty user trust store of its own, never the developer's real one."""
    monkeypatch.setenv("CCCD_READER_DATA_DIR", str(tmp_path_factory.mktemp("data")))
