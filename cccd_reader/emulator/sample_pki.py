"""The sample PKI (TEST ONLY): where its files are, its document signers and its CSCA certificates.

Apart from the sample cards so that personalisation (:mod:`.persona`) can default to the sample signer
without importing the sample cards, which import it.
"""

from __future__ import annotations

import functools
from pathlib import Path

from cccd_reader.errors import InputError

from .signer import DocumentSigner

PACKAGE_DATA = Path(__file__).resolve().parent.parent / "data"
REPO_SAMPLES = Path(__file__).resolve().parents[2] / "samples"

# The sample PKI's document signers by the name a persona's profile gives (``document_signer``):
# "vietnam-eid" is built like the real CCCD signer (brainpoolP384r1, issued by "CSCA Vietnam TEST ONLY"),
# "vn-test" is the older brainpoolP256r1 signer of the fictional "VN test" CSCA.
SIGNERS = {
    "vietnam-eid": ("pki/keys/dsc-vietnam-test.key", "pki/certs/dsc-vietnam-test.pem"),
    "vn-test": ("pki/keys/dsc-ecdsa.key", "pki/certs/dsc-ecdsa.pem"),
}
SIGNER_KEY, SIGNER_CERT = SIGNERS["vietnam-eid"]
TRUST_FOLDER = "pki/trust"
TRUST_ANCHORS = ("pki/trust/csca-vietnam-test.pem", "pki/trust/csca-vn-test.pem")
TRUST_ANCHOR = TRUST_ANCHORS[0]
_PKI_FILES = (*(f for pair in SIGNERS.values() for f in pair), *TRUST_ANCHORS)

def _pki_file(rel: str) -> Path:
    for base in (PACKAGE_DATA, REPO_SAMPLES):
        candidate = base / rel
        if candidate.is_file():
            return candidate
    raise InputError(f"the sample PKI file {rel} is missing from this installation")


@functools.lru_cache(maxsize=4)
def sample_signer(kind: str = "vietnam-eid") -> DocumentSigner:
    """A sample PKI document signer (TEST ONLY): ``"vietnam-eid"`` (built like the real CCCD signer,
    ECDSA brainpoolP384r1) or ``"vn-test"`` (the older brainpoolP256r1 one)."""
    if kind not in SIGNERS:
        raise InputError(f"no sample document signer {kind!r} (known: {', '.join(SIGNERS)})")
    key, cert = SIGNERS[kind]
    return DocumentSigner.from_files(_pki_file(key), _pki_file(cert))


def sample_trust_anchor() -> Path:
    """The folder of the sample CSCA certificates (PEM) that the sample chips' SODs chain to (TEST ONLY).

    It holds both test CSCAs; ``TrustStore.from_paths`` and every ``trust=`` argument accept a folder.
    """
    _pki_file(TRUST_ANCHORS[0])  # InputError if this installation lacks the sample PKI
    for base in (PACKAGE_DATA, REPO_SAMPLES):
        if all((base / rel).is_file() for rel in TRUST_ANCHORS):
            return base / TRUST_FOLDER
    raise InputError("the sample PKI's CSCA certificates are missing from this installation")
