"""ICAO 9303-11 §9.7.1 key derivation: KDF(K, c) = H(K || c) truncated to the cipher's key length."""

from __future__ import annotations

import hashlib
from typing import Literal

Cipher = Literal["3DES", "AES-128", "AES-192", "AES-256"]

ENC = 1
MAC = 2
PACE = 3

KEY_LENGTHS: dict[str, int] = {"3DES": 16, "AES-128": 16, "AES-192": 24, "AES-256": 32}


def adjust_des_parity(key: bytes) -> bytes:
    """Set the odd-parity bit of each DES key byte (the low bit)."""
    out = bytearray(key)
    for i, b in enumerate(out):
        high = b & 0xFE
        out[i] = high | (1 ^ (bin(high).count("1") & 1))
    return bytes(out)


def kdf(secret: bytes, counter: int, cipher: Cipher | str) -> bytes:
    """Derive a key of the size ``cipher`` needs from a shared secret and a counter (1 enc, 2 mac, 3 PACE)."""
    c = counter.to_bytes(4, "big")
    if cipher == "3DES":
        return adjust_des_parity(hashlib.sha1(secret + c).digest()[:16])  # noqa: S324 (ICAO 9303-11 mandates SHA-1)
    if cipher == "AES-128":
        return hashlib.sha1(secret + c).digest()[:16]  # noqa: S324 (ICAO 9303-11 mandates SHA-1)
    if cipher in ("AES-192", "AES-256"):
        return hashlib.sha256(secret + c).digest()[: KEY_LENGTHS[cipher]]
    raise ValueError(f"unknown cipher {cipher!r}")
