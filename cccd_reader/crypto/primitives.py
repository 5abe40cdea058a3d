"""Block-cipher primitives for BAC and secure messaging (ICAO 9303-11 §9.8, ISO/IEC 9797-1).

Only what the protocols need, with the key sizes and modes fixed, so a caller cannot pick a wrong mode by
accident: 3DES (two-key EDE, CBC, zero IV) and single DES for the retail MAC, AES-CBC / AES-ECB (one block,
for the AES secure-messaging IV) and AES-CMAC. Padding is ISO/IEC 9797-1 method 2 (``80 00 ..``).

``cryptography`` moved TripleDES to ``hazmat.decrepit`` (v43+) and will drop it from the old place; the
import below prefers the new location and falls back to the old one for older releases.
"""

from __future__ import annotations

import hmac

from cryptography.hazmat.primitives import cmac
from cryptography.hazmat.primitives.ciphers import Cipher, CipherAlgorithm, algorithms, modes

from cccd_reader.errors import ParseError

try:  # cryptography >= 43
    from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES as _TripleDES
except ImportError:  # pragma: no cover - older cryptography
    _TripleDES = algorithms.TripleDES  # type: ignore[misc,unused-ignore]

DES_BLOCK = 8
AES_BLOCK = 16
ZERO_IV_DES = bytes(DES_BLOCK)


def pad(data: bytes, block: int) -> bytes:
    """ISO/IEC 9797-1 padding method 2: append ``80`` then zeros up to a whole block (always adds a byte)."""
    padded = data + b"\x80"
    return padded + bytes(-len(padded) % block)


def unpad(data: bytes, *, what: str = "secure messaging data") -> bytes:
    """Strip method-2 padding; a missing ``80`` marker means the plaintext is not what we expect."""
    end = len(data)
    while end > 0 and data[end - 1] == 0x00:
        end -= 1
    if end == 0 or data[end - 1] != 0x80:
        raise ParseError("padding (80 00..) is missing or wrong", file=what)
    return data[: end - 1]


def constant_time_equal(a: bytes, b: bytes) -> bool:
    """MAC comparison that does not leak, through timing, how many leading bytes matched."""
    return hmac.compare_digest(a, b)


def _des_key(key: bytes) -> CipherAlgorithm:
    # Spelled out as three 8-byte keys: newer ``cryptography`` deprecates the short key forms.
    if len(key) == 8:
        return _TripleDES(key * 3)  # single DES: K1 = K2 = K3
    if len(key) == 16:
        return _TripleDES(key + key[:8])  # two-key EDE: K1 K2 K1
    if len(key) == 24:
        return _TripleDES(key)
    raise ValueError("a DES/3DES key is 8, 16 or 24 bytes")


def _require_blocks(data: bytes, block: int) -> None:
    if len(data) % block:
        raise ValueError(f"data length {len(data)} is not a multiple of the {block}-byte block")


def des3_cbc_encrypt(key: bytes, data: bytes, iv: bytes = ZERO_IV_DES) -> bytes:
    """3DES-CBC, no padding added (BAC cryptograms and SM data are padded by the caller)."""
    _require_blocks(data, DES_BLOCK)
    enc = Cipher(_des_key(key), modes.CBC(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def des3_cbc_decrypt(key: bytes, data: bytes, iv: bytes = ZERO_IV_DES) -> bytes:
    _require_blocks(data, DES_BLOCK)
    dec = Cipher(_des_key(key), modes.CBC(iv)).decryptor()
    return dec.update(data) + dec.finalize()


def retail_mac(key: bytes, data: bytes, *, padded: bool = False) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 with DES ("retail MAC"), 8 bytes.

    Single-DES CBC with K1 over all blocks, then the last block is decrypted with K2 and encrypted with
    K1 again. Equivalently: DES-CBC(K1) over all but the last block, then one 3DES-EDE(K1, K2, K1) block
    chained on that — which is how it is computed here. ``padded`` says the caller already applied
    method-2 padding (the worked examples print padded inputs).
    """
    if len(key) != 16:
        raise ValueError("the retail MAC key is 16 bytes (K1 || K2)")
    msg = data if padded else pad(data, DES_BLOCK)
    _require_blocks(msg, DES_BLOCK)
    if not msg:
        raise ValueError("nothing to MAC")
    head, last = msg[:-DES_BLOCK], msg[-DES_BLOCK:]
    chain = ZERO_IV_DES
    if head:
        chain = des3_cbc_encrypt(key[:8], head)[-DES_BLOCK:]
    return des3_cbc_encrypt(key, last, chain)


def _aes_key(key: bytes) -> algorithms.AES:
    if len(key) not in (16, 24, 32):
        raise ValueError("an AES key is 16, 24 or 32 bytes")
    return algorithms.AES(key)


def aes_ecb_block(key: bytes, block: bytes) -> bytes:
    """Encrypt one 16-byte block (the AES secure-messaging IV is E(KSenc, SSC))."""
    if len(block) != AES_BLOCK:
        raise ValueError("AES block is 16 bytes")
    enc = Cipher(_aes_key(key), modes.ECB()).encryptor()  # noqa: S305 - one block, used to derive an IV
    return enc.update(block) + enc.finalize()


def aes_cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    _require_blocks(data, AES_BLOCK)
    enc = Cipher(_aes_key(key), modes.CBC(iv)).encryptor()
    return enc.update(data) + enc.finalize()


def aes_cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    _require_blocks(data, AES_BLOCK)
    dec = Cipher(_aes_key(key), modes.CBC(iv)).decryptor()
    return dec.update(data) + dec.finalize()


def aes_cmac(key: bytes, data: bytes) -> bytes:
    """Full 16-byte AES-CMAC (secure messaging and PACE tokens truncate it to 8)."""
    c = cmac.CMAC(_aes_key(key))
    c.update(data)
    return c.finalize()


def block_size(cipher: str) -> int:
    """Block size of an SM cipher name ("3DES", "AES-128", "AES-192", "AES-256")."""
    if cipher == "3DES":
        return DES_BLOCK
    if cipher in ("AES-128", "AES-192", "AES-256"):
        return AES_BLOCK
    raise ValueError(f"unknown cipher {cipher!r}")
