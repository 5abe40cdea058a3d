"""The one scripted chip of the test suite: a transport that answers from a script.

Two kinds of script:
* ``ScriptedChip(pairs)``: (command, response) pairs, bytes or hex text. Each command must equal the
  script's byte for byte, in order, and gets the scripted response (the published worked examples).
* ``ScriptedChip(answers=[...])``: only responses; the n-th command, whatever it is, gets ``answers[n]``
  and every later one ``default`` (9000): a hostile or oddly answering chip.

``sent`` keeps every command; ``pairs`` is what is left of the script (empty when it was all used).
"""

from __future__ import annotations

from collections.abc import Iterable


def _bytes(value: bytes | str) -> bytes:
    return bytes.fromhex(value) if isinstance(value, str) else bytes(value)


class ScriptedChip:
    def __init__(self, pairs: Iterable[tuple[bytes | str, bytes | str]] | None = None, *,
                 answers: Iterable[bytes | str] | None = None, default: bytes = b"\x90\x00") -> None:
        if (pairs is None) == (answers is None):
            raise ValueError("give either (command, response) pairs or answers")
        self.pairs = [(_bytes(c), _bytes(r)) for c, r in pairs] if pairs is not None else None
        self.answers = [_bytes(r) for r in answers] if answers is not None else None
        self.default = default
        self.sent: list[bytes] = []

    @property
    def n(self) -> int:
        """Commands received so far."""
        return len(self.sent)

    def transmit(self, apdu: bytes) -> bytes:
        index = len(self.sent)
        self.sent.append(bytes(apdu))
        if self.answers is not None:
            return self.answers[index] if index < len(self.answers) else self.default
        assert self.pairs, "more commands than the script has"
        expected, response = self.pairs.pop(0)
        assert bytes(apdu).hex().upper() == expected.hex().upper(), f"command {index} differs from the script"
        return response
