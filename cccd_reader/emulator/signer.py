"""The Document Signer that personalisation signs with: its key and certificate, loaded from files.

Apart from the personas and the sample PKI so that both can use it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from cccd_reader.errors import InputError


def load_pem_key(path: Path, what: str) -> Any:
    try:
        return serialization.load_pem_private_key(path.read_bytes(), password=None)
    except OSError as exc:
        raise InputError(f"persona: cannot read the key file ({exc.strerror}) ({what})") from None
    except ValueError:
        raise InputError(f"persona: not an unencrypted PEM private key ({what})") from None



@dataclass(frozen=True)
class DocumentSigner:
    """The key and certificate that sign EF.SOD (and EF.CardSecurity)."""

    key: Any = field(repr=False)
    certificate_der: bytes = field(repr=False)

    @classmethod
    def from_files(cls, key_path: str | Path, cert_path: str | Path) -> DocumentSigner:
        from cryptography import x509

        key = load_pem_key(Path(key_path), "document signer key")
        data = Path(cert_path).read_bytes()
        pem = b"-----BEGIN" in data
        cert = x509.load_pem_x509_certificate(data) if pem else x509.load_der_x509_certificate(data)
        return cls(key, cert.public_bytes(serialization.Encoding.DER))


__all__ = ["DocumentSigner", "load_pem_key"]
