"""Build the sample traces in this folder: ``python3 samples/traces/make_traces.py``.

* icao-9303-11-appendix-d.jsonl: hand-built from the ICAO 9303-11 Appendix D.3 (BAC) and D.4 (secure
  messaging: SELECT EF.COM, READ BINARY 4 bytes, READ BINARY 18 bytes) worked example as quoted in
  tests/vectors/icao-9303-worked-examples.json. The random draws are the example's RND.IFD and K.IFD, so
  replaying it with the specimen MRZ key (L898902C<, 690806, 940623) reproduces the printed APDUs.
* synthetic-bac-read.jsonl: recorded from the tests' scripted chip (synthetic person, synthetic files):
  SELECT application, BAC, then EF.COM, DG1 and DG2 with the reader's default strategy. If the read
  strategy changes on purpose, regenerate it; the replay test then pins the new APDU sequence.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from cccd_reader.transport.trace import TRACE_FORMAT, TRACE_VERSION  # noqa: E402


def appendix_d() -> None:
    vectors = json.loads((ROOT / "tests" / "vectors" / "icao-9303-worked-examples.json").read_text())
    bac, sm = vectors["bac_mutual_auth"], vectors["bac_secure_messaging"]
    lines: list[dict[str, object]] = [{
        "type": "header", "format": TRACE_FORMAT, "version": TRACE_VERSION, "created": "2026-11-26T00:00:00Z",
        "transport": "hand-built", "layer": "wire", "redacted": False, "atr": None, "ats": None,
        "source": "ICAO Doc 9303 Part 11 Appendix D.3 and D.4",
        "read": ["EF.COM"],
        "key_hint": "specimen MRZ key from Appendix D.2 (document L898902C<, born 690806, expires 940623)",
    }]
    i = 0
    t = 0.0
    lines.append({"type": "note", "t": t, "text": "BAC (D.3)"})
    for n, apdu in enumerate(bac["apdus"]):
        if n == 1:
            lines.append({"type": "random", "n": 8, "t": t, "hex": bac["rnd_ifd"]})
            lines.append({"type": "random", "n": 16, "t": t, "hex": bac["k_ifd"]})
        lines.append({"type": "apdu", "i": i, "t": t, "ms": 0.0, "c": apdu["command"], "r": apdu["response"],
                      "sw": apdu["response"][-4:]})
        i += 1
    lines.append({"type": "note", "t": t, "text": "EF.COM under secure messaging (D.4)"})
    for step in sm["steps"]:
        resp = step["protected_response"]
        lines.append({"type": "apdu", "i": i, "t": t, "ms": 0.0, "c": step["protected_command"], "r": resp,
                      "sw": resp[-4:]})
        i += 1
    lines.append({"type": "end", "exchanges": i, "random_draws": 2, "ms": 0.0, "files": ["EF.COM"]})
    with open(HERE / "icao-9303-11-appendix-d.jsonl", "w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(json.dumps(line, separators=(",", ":")) + "\n")


def synthetic() -> None:
    from minichip import FILES, KEY, MiniChip, counter_random
    from test_trace import session_read

    from cccd_reader.transport.trace import RecordingTransport

    chip = MiniChip(KEY, FILES, random_bytes=counter_random(b"chip"))
    clock = iter(float(n) / 1000 for n in range(10**6))
    rec = RecordingTransport(chip, HERE / "synthetic-bac-read.jsonl", clock=lambda: next(clock),
                             header={"read": ["EF.COM", "DG1", "DG2"],
                                     "created_by": "samples/traces/make_traces.py",
                                     "person": "synthetic (tests/minichip.py)"})
    out = session_read(rec, rec.random_source(counter_random(b"term")))
    rec.close(files=list(out))


if __name__ == "__main__":
    appendix_d()
    synthetic()
