"""The user's own trust store: CSCA certificates, master lists and CRLs kept in the user's data directory.

``cccd-read trust add`` puts files here; ``read``, ``watch``, ``serve`` and ``verify`` use them when no
``--trust`` is given (:func:`default_trust_store`). The folder is ``<user data dir>/cccd-reader/trust``
(platformdirs), or ``$CCCD_READER_DATA_DIR/trust`` when that variable is set.

Only CA certificates are accepted: a document signer is judged through its CSCA, and trusting a document
signer directly would make any chip signed by its key "genuine" without the issuing state's word. Each
item is stored as one file named after its SHA-256 fingerprint, so adding the same certificate twice
keeps one copy and the fingerprint the user compared is the name they can remove it by.

Nothing here touches the network; see :mod:`cccd_reader.verify.fetch` for the explicit download.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import pem

from cccd_reader.errors import InputError, ParseError, TrustStoreError
from cccd_reader.verify.trust import CertificateInfo, CRLInfo, MasterListInfo, TrustStore, parse_master_list

ENV_DATA_DIR = "CCCD_READER_DATA_DIR"
APP_NAME = "cccd-reader"
MAX_ITEM = 64 * 1024 * 1024  # master lists are a few MiB

CERTIFICATE = "certificate"
MASTER_LIST = "master list"
CRL = "crl"
_PREFIX = {CERTIFICATE: ("csca", ".der"), MASTER_LIST: ("ml", ".ml"), CRL: ("crl", ".crl")}


def data_dir() -> Path:
    """The library's per-user data folder (``$CCCD_READER_DATA_DIR`` when set)."""
    override = os.environ.get(ENV_DATA_DIR)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def fingerprint_text(digest: bytes) -> str:
    """A SHA-256 fingerprint the way issuers publish them: colon-separated upper-case hex."""
    return ":".join(f"{b:02X}" for b in digest)


@dataclass(frozen=True)
class TrustItem:
    """One item of the user's trust store (or one about to be added).

    ``name``: the certificate's subject, the CRL's issuer, or a master list's summary.
    ``fingerprint``: SHA-256 of the DER certificate / CRL, or of the master list file.
    """

    kind: str
    name: str
    fingerprint: bytes = field(repr=False)
    data: bytes = field(repr=False)
    path: Path | None = None
    certificate: CertificateInfo | None = field(default=None, repr=False)
    crl: CRLInfo | None = field(default=None, repr=False)
    master_list: MasterListInfo | None = field(default=None, repr=False)

    @property
    def id(self) -> str:
        """The short form used in listings and accepted by ``remove``/``show``: 16 hex digits."""
        return self.fingerprint.hex().upper()[:16]

    @property
    def fingerprint_text(self) -> str:
        return fingerprint_text(self.fingerprint)

    @property
    def file_name(self) -> str:
        prefix, ext = _PREFIX[self.kind]
        return f"{prefix}-{self.fingerprint.hex()[:16]}{ext}"


def _certificate_item(der: bytes) -> TrustItem:
    try:
        info = CertificateInfo.from_der(der)
    except ParseError as exc:
        raise TrustStoreError(f"not a usable certificate: {exc.reason}") from None
    if info.is_ca is not True:
        raise TrustStoreError(
            f"{info.subject} is not a CA certificate (basicConstraints cA is not set): the trust store holds "
            "CSCA certificates; a document signer is checked through its CSCA, add that instead")
    if info.key_usage is not None and "key_cert_sign" not in info.key_usage:
        raise TrustStoreError(f"{info.subject} may not sign certificates (keyUsage lacks keyCertSign)")
    return TrustItem(CERTIFICATE, info.subject, info.fingerprint, info.der, certificate=info)


def _crl_item(der: bytes) -> TrustItem:
    try:
        info = CRLInfo.from_der(der)
    except ParseError as exc:
        raise TrustStoreError(f"not a usable CRL: {exc.reason}") from None
    return TrustItem(CRL, info.issuer, hashlib.sha256(der).digest(), der, crl=info)


def _master_list_item(data: bytes, source: str | None) -> TrustItem:
    certs, info = parse_master_list(data, source=source)
    countries = ", ".join(info.countries) or "no country"
    name = f"master list of {len(certs)} CSCAs ({countries})"
    return TrustItem(MASTER_LIST, name, hashlib.sha256(data).digest(), data, master_list=info)


def inspect_trust_data(data: bytes, *, source: str | None = None) -> list[TrustItem]:
    """What a file would add: its CA certificates, CRLs or master list. TrustStoreError if it holds
    anything else (a document signer, a key, junk); nothing is stored."""
    data = bytes(data)
    if len(data) > MAX_ITEM:
        raise TrustStoreError(f"{len(data)} bytes is too large for a trust file")
    where = f"{source}: " if source else ""
    try:
        if pem.detect(data):
            try:
                blocks = [(str(kind), bytes(der)) for kind, _h, der in pem.unarmor(data, multiple=True)]
            except Exception as exc:
                raise TrustStoreError(f"malformed PEM ({type(exc).__name__})") from None
            items: list[TrustItem] = []
            for kind, der in blocks:
                if "CERTIFICATE" in kind:
                    items.append(_certificate_item(der))
                elif "CRL" in kind:
                    items.append(_crl_item(der))
                else:
                    raise TrustStoreError(f"a PEM {kind} block is neither a certificate nor a CRL")
            if not items:
                raise TrustStoreError("no certificate or CRL in the PEM file")
            return items
        if source is not None and source.lower().endswith(".ml"):
            return [_master_list_item(data, source)]
        try:
            CertificateInfo.from_der(data)
        except ParseError:
            pass
        else:
            return [_certificate_item(data)]
        try:
            return [_crl_item(data)]
        except TrustStoreError:
            pass
        try:
            return [_master_list_item(data, source)]
        except TrustStoreError as exc:
            if "not a CSCA master list" in str(exc) or "master list signature" in str(exc):
                raise
        raise TrustStoreError("neither a certificate, a CRL nor an ICAO master list")
    except TrustStoreError as exc:
        raise TrustStoreError(f"{where}{exc}") from None


class UserTrustStore:
    """The folder of trusted items. Every method reads the folder afresh (another process may change it)."""

    def __init__(self, folder: str | os.PathLike[str] | None = None) -> None:
        self.folder = Path(folder) if folder is not None else data_dir() / "trust"

    def __repr__(self) -> str:
        return f"UserTrustStore({str(self.folder)!r})"

    def items(self) -> list[TrustItem]:
        """What the store holds (files that no longer load are left out: see :meth:`problems`)."""
        return self._scan()[0]

    def problems(self) -> list[tuple[Path, str]]:
        """Files in the store that no longer load (changed on disk), with the reason; ``remove`` takes
        their file name."""
        return self._scan()[1]

    def _scan(self) -> tuple[list[TrustItem], list[tuple[Path, str]]]:
        if not self.folder.is_dir():
            return [], []
        out: list[TrustItem] = []
        bad: list[tuple[Path, str]] = []
        for path in sorted(self.folder.iterdir()):
            kind = next((k for k, (prefix, ext) in _PREFIX.items()
                         if path.name.startswith(prefix + "-") and path.suffix == ext), None)
            if kind is None or not path.is_file():
                continue
            try:
                data = path.read_bytes()
                if kind == CERTIFICATE:
                    item = _certificate_item(data)
                elif kind == CRL:
                    item = _crl_item(data)
                else:
                    item = _master_list_item(data, str(path))
            except OSError as exc:
                bad.append((path, f"cannot read it: {exc.strerror}"))
                continue
            except TrustStoreError as exc:
                bad.append((path, str(exc)))
                continue
            out.append(TrustItem(item.kind, item.name, item.fingerprint, item.data, path, item.certificate,
                                 item.crl, item.master_list))
        return out, bad

    def add(self, items: list[TrustItem]) -> list[TrustItem]:
        """Store items (from :func:`inspect_trust_data`); an item already present is kept as it is."""
        self.folder.mkdir(parents=True, exist_ok=True)
        stored = []
        for item in items:
            path = self.folder / item.file_name
            if not path.exists():
                tmp = path.with_name(path.name + ".part")
                tmp.write_bytes(item.data)
                tmp.replace(path)
            stored.append(TrustItem(item.kind, item.name, item.fingerprint, item.data, path, item.certificate,
                                    item.crl, item.master_list))
        return stored

    def add_file(self, path: str | os.PathLike[str]) -> list[TrustItem]:
        return self.add(read_trust_file(path))

    def find(self, ident: str) -> TrustItem:
        """The item whose fingerprint starts with ``ident`` (hex, colons allowed; at least 8 digits) or
        whose file name is ``ident``. InputError if none or several match."""
        text = ident.strip()
        digits = text.replace(":", "").lower()
        items = self.items()
        matches = [i for i in items if i.path is not None and i.path.name == text]
        broken = next((path for path, _why in self.problems() if path.name == text), None)
        if not matches and broken is not None:
            return TrustItem("unreadable file", text, b"", b"", broken)
        if not matches:
            if len(digits) < 8 or any(c not in "0123456789abcdef" for c in digits):
                raise InputError("give at least 8 hex digits of the fingerprint (see `cccd-read trust list`)")
            matches = [i for i in items if i.fingerprint.hex().startswith(digits)]
        if not matches:
            raise InputError(f"nothing in the trust store has fingerprint {text}")
        if len(matches) > 1:
            raise InputError(f"{len(matches)} items start with {text}: give more digits")
        return matches[0]

    def remove(self, ident: str) -> TrustItem:
        item = self.find(ident)
        assert item.path is not None
        try:
            item.path.unlink()
        except OSError as exc:
            raise TrustStoreError(f"cannot remove {item.path}: {exc.strerror}") from None
        return item

    def load(self) -> TrustStore | None:
        """The stored items as a :class:`TrustStore`, or ``None`` when the store is empty.

        Built from the items that load, so one damaged file (reported by ``cccd-read trust list``)
        does not stop every read.
        """
        items = self.items()
        if not items:
            return None
        store = TrustStore()
        for item in items:
            assert item.path is not None
            store.add_path(item.path)  # checked by items(); the path becomes the anchor's source
        return store


def read_trust_file(path: str | os.PathLike[str]) -> list[TrustItem]:
    p = Path(path)
    try:
        if p.stat().st_size > MAX_ITEM:
            raise TrustStoreError(f"{p}: too large for a trust file")
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror}") from None
    return inspect_trust_data(data, source=str(p))


def default_trust_store() -> TrustStore | None:
    """The user's trust store (``cccd-read trust``), or ``None`` when it is empty.

    What ``read``, ``watch``, ``serve`` and ``verify`` use when no ``--trust`` is given.
    """
    return UserTrustStore().load()


__all__ = [
    "ENV_DATA_DIR",
    "TrustItem",
    "UserTrustStore",
    "data_dir",
    "default_trust_store",
    "fingerprint_text",
    "inspect_trust_data",
    "read_trust_file",
]
