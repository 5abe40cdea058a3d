"""The link model in benchmarks/: its frame arithmetic, and its secure-messaging sizes against real reads.

The peers' rows of docs/performance.md are synthesized from ``sm_command`` / ``sm_response``; they are
only fair if those give the sizes our own secure messaging puts on the wire for the same read.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import link_model as lm


def test_frame_time_chains_at_253_bytes() -> None:
    rate = 106_000
    one = lm.frame_time(253, rate)
    assert one == pytest.approx(256 * 9 / rate + lm.TURNAROUND_S)
    two = lm.frame_time(254, rate)
    # two I-blocks (253 + 1 byte of payload, 3 bytes each of framing) and one R(ACK) between them
    assert two == pytest.approx((254 + 2 * 3 + 3) * 9 / rate + 3 * lm.TURNAROUND_S)
    assert lm.floor_time(13_250, 106_000) == pytest.approx(1.125)


def test_secure_messaging_sizes_match_a_recorded_short_read() -> None:
    exchanges, sizes = lm.record_ours("an", False)
    reads = [ex for ex in exchanges if ex.kind == "file" and ex.secure]
    assert reads
    # every full-size secure READ BINARY of the short read: 223 plaintext bytes under AES
    full = [ex for ex in reads if ex.response == lm.sm_response(223)]
    assert len(full) > 40
    assert {ex.command for ex in full} == {lm.sm_command(0, 223)}
    # and the model's peer read of the same files at 223 carries the same bytes per chunk
    files = [(size, name != "EF.CardAccess") for name, size in sizes.items()]
    peer = lm.peer_reads(lm.Strategy("223", 223, 223), files)
    # (our reader may place a file's chunk boundaries differently, e.g. after reading its TLV header,
    # which moves at most one full chunk per file into or out of a short last one)
    peer_full = sum(1 for ex in peer if ex.response == lm.sm_response(223))
    assert abs(peer_full - len(full)) <= len(files)
    assert peer_full >= sum(size // 223 for size, secure in files if secure) - len(files)


def test_gmrtd_steps_down_once_and_keeps_192() -> None:
    gmrtd = next(p for p in lm.PEERS if p.name.startswith("gmrtd"))
    reads = lm.peer_reads(gmrtd, [(1000, True), (1000, True)])
    refused = [ex for ex in reads if ex.response == lm.SW_BYTES]
    assert len(refused) == 1  # one 256 refused in the whole session
    sizes = [ex.response for ex in reads if ex.response > lm.sm_response(0)]
    assert lm.sm_response(192) in sizes and lm.sm_response(256) not in sizes
