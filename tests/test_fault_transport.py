"""The fault-injecting transport's single faults do what the fault matrices rely on."""

from __future__ import annotations

import pytest

from cccd_reader.errors import CardRemovedError
from cccd_reader.transport.faults import FaultyTransport


class Chip:
    """Counts the commands that reached it and answers each with its number and 9000."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []
        self.reconnects = 0

    def transmit(self, apdu: bytes) -> bytes:
        self.seen.append(apdu)
        return bytes([len(self.seen), 0xAA, 0xBB]) + b"\x90\x00"

    def reconnect(self) -> None:
        self.reconnects += 1


def test_lost_answer_reaches_the_chip_then_drops_until_reconnect() -> None:
    chip = Chip()
    link = FaultyTransport(chip, lose_answer_at={1})
    assert link.transmit(b"\x00\xb0\x00\x00\x01") == bytes([1, 0xAA, 0xBB, 0x90, 0x00])
    with pytest.raises(CardRemovedError):
        link.transmit(b"\x00\xb0\x00\x01\x01")
    assert len(chip.seen) == 2  # the chip acted on the command whose answer was lost
    with pytest.raises(CardRemovedError):  # the card stays gone until it is brought back
        link.transmit(b"\x00\xb0\x00\x02\x01")
    assert len(chip.seen) == 2
    link.reconnect()
    assert chip.reconnects == 1
    assert link.transmit(b"\x00\xb0\x00\x02\x01")[0] == 3
    assert link.injected == [(1, "answer lost"), (2, "drop")]


def test_command_lost_never_reaches_the_chip() -> None:
    chip = Chip()
    link = FaultyTransport(chip, drop_after=0)
    with pytest.raises(CardRemovedError):
        link.transmit(b"\x00\xb0\x00\x00\x01")
    assert chip.seen == []


@pytest.mark.parametrize(("position", "expected"), [
    (0, bytes([0, 0xAA, 0xBB, 0x90, 0x00])),
    (2, bytes([1, 0xAA, 0xBA, 0x90, 0x00])),
    (-1, bytes([1, 0xAA, 0xBB, 0x90, 0x01])),
    (7, bytes([1, 0xAA, 0xBA, 0x90, 0x00])),  # past the end: modulo the length
])
def test_corrupt_byte_flips_one_bit_at_the_position(position: int, expected: bytes) -> None:
    link = FaultyTransport(Chip(), corrupt_byte_at={0: position})
    assert link.transmit(b"\x00\xb0\x00\x00\x01") == expected
    assert link.transmit(b"\x00\xb0\x00\x00\x01") == bytes([2, 0xAA, 0xBB, 0x90, 0x00])  # only once
    assert link.injected == [(0, "corrupt byte")]


def test_delay_at_one_index_only() -> None:
    slept: list[float] = []
    link = FaultyTransport(Chip(), delay_at={1: 0.1}, sleep=slept.append)
    for _ in range(3):
        link.transmit(b"\x00\xb0\x00\x00\x01")
    assert slept == [0.1]
    assert link.injected == [(1, "delay")]
