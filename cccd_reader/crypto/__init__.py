"""Cryptographic building blocks: KDF, secure messaging, EC/DH helpers."""
