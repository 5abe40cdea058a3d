"""Download a document signer's CSCA and CRL from the addresses in the signer certificate, when asked.

This is the only code in the library that opens a network connection, and only ``cccd-read trust fetch``
(or a caller) runs it: a read never does. It contacts only the URLs the signer certificate itself names
(authority information access caIssuers, CRL distribution points), trying HTTPS first (the https form of
an http address, then the address as written), and accepts a downloaded certificate only if it is a CA
whose key verifies the signer certificate. A CRL is kept only if that CSCA's key verifies it.

Downloading over plain HTTP can be tampered with; the binding checks above make a substituted file
useless unless its key signed the card's signer, and the caller still shows the fingerprint for the
user to compare with the one the issuer publishes.
"""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asn1crypto import pem

from cccd_reader.errors import ParseError, TrustStoreError
from cccd_reader.verify.issuer import signer_extensions
from cccd_reader.verify.trust import CertificateInfo, CRLInfo

MAX_DOWNLOAD = 4 * 1024 * 1024  # a CSCA certificate is ~1 KB, a CRL rarely more than a few hundred KB
TIMEOUT = 15.0

Opener = Callable[[str, float], bytes]


@dataclass(frozen=True)
class FetchedIssuer:
    """What was downloaded: the CSCA (checked to sign the document signer) and its CRL if one verified.

    ``attempts`` records every URL tried and what happened, for the user to see.
    """

    certificate: CertificateInfo
    certificate_url: str
    crl: CRLInfo | None = None
    crl_url: str | None = None
    crl_der: bytes | None = field(default=None, repr=False)
    attempts: tuple[str, ...] = ()


def _candidates(urls: tuple[str, ...]) -> list[str]:
    """HTTPS first: every https URL, then the https form of each http URL, then the http URLs."""
    usable = [u for u in urls if urllib.parse.urlsplit(u).scheme.lower() in ("http", "https")]
    https = [u for u in usable if u.lower().startswith("https:")]
    upgraded = ["https:" + u[5:] for u in usable if u.lower().startswith("http:")]
    plain = [u for u in usable if u.lower().startswith("http:")]
    out: list[str] = []
    for u in (*https, *upgraded, *plain):
        if u not in out:
            out.append(u)
    return out


class _HttpOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect (an http address moving to https is common) only to another http(s) URL."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> Any:
        if urllib.parse.urlsplit(newurl).scheme.lower() not in ("http", "https"):
            raise urllib.error.URLError(f"refused a redirect to {urllib.parse.urlsplit(newurl).scheme}:")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _download(url: str, timeout: float) -> bytes:
    # only http(s) URLs reach here (_candidates filters the schemes; redirects are held to the same)
    request = urllib.request.Request(url, headers={"User-Agent": "cccd-reader trust fetch"})  # noqa: S310
    opener = urllib.request.build_opener(_HttpOnlyRedirects)
    with opener.open(request, timeout=timeout) as response:
        data: bytes = response.read(MAX_DOWNLOAD + 1)
    if len(data) > MAX_DOWNLOAD:
        raise TrustStoreError(f"more than {MAX_DOWNLOAD} bytes")
    return data


def _der(data: bytes) -> bytes:
    if pem.detect(data):
        try:
            return bytes(pem.unarmor(data)[2])
        except Exception as exc:
            raise ParseError(f"malformed PEM ({type(exc).__name__})") from None
    return data


def fetch_issuer(signer_der: bytes, *, timeout: float = TIMEOUT,
                 opener: Opener | None = None) -> FetchedIssuer:
    """Download and check the CSCA (and CRL) named in the document signer certificate ``signer_der``.

    TrustStoreError when the certificate names no address or nothing downloaded is the signer's CSCA.
    """
    get = opener or _download
    signer = CertificateInfo.from_der(signer_der)
    ext = signer_extensions(signer_der)
    urls = _candidates(ext.ca_issuer_urls)
    if not urls:
        raise TrustStoreError("the document signer certificate names no address for its CSCA "
                              "(no authority information access caIssuers URL)")
    attempts: list[str] = []
    csca: CertificateInfo | None = None
    where = ""
    for url in urls:
        try:
            cand = CertificateInfo.from_der(_der(get(url, timeout)))
        except (OSError, urllib.error.URLError, ValueError, TrustStoreError) as exc:
            attempts.append(f"{url}: {_why(exc)}")
            continue
        if cand.is_ca is not True:
            attempts.append(f"{url}: not a CA certificate")
        elif not signer.is_signed_by(cand):
            attempts.append(f"{url}: {cand.subject} did not sign this document signer")
        else:
            attempts.append(f"{url}: CSCA {cand.subject}")
            csca, where = cand, url
            break
    if csca is None:
        raise TrustStoreError("no CSCA for this document signer could be downloaded: " + "; ".join(attempts))
    crl = crl_der = crl_url = None
    for url in _candidates(ext.crl_urls):
        try:
            raw = _der(get(url, timeout))
            item = CRLInfo.from_der(raw)
        except (OSError, urllib.error.URLError, ValueError, TrustStoreError) as exc:
            attempts.append(f"{url}: {_why(exc)}")
            continue
        if not item.is_signed_by(csca):
            attempts.append(f"{url}: the CRL is not signed by the CSCA")
            continue
        attempts.append(f"{url}: CRL of {item.issuer}")
        crl, crl_der, crl_url = item, raw, url
        break
    return FetchedIssuer(csca, where, crl, crl_url, crl_der, tuple(attempts))


def _why(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return f"cannot connect ({exc.reason})"
    if isinstance(exc, ParseError):
        return f"not a certificate or CRL ({exc.reason})"
    return str(exc) or type(exc).__name__


__all__ = ["MAX_DOWNLOAD", "FetchedIssuer", "fetch_issuer"]
