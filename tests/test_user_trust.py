"""The user's trust store (`cccd-read trust`), the unknown-issuer advice, the signer's own extensions,
the explicit CSCA download, and a read that stays offline."""

from __future__ import annotations

import contextlib
import functools
import http.server
import importlib.util
import ipaddress
import json
import os
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from cccd_reader.emulator import SeededRandom, load_sample
from cccd_reader.emulator.persona import DocumentSigner, build_card
from cccd_reader.emulator.samples import sample_persona
from cccd_reader.errors import TrustStoreError
from cccd_reader.qr.payload import parse_qr_payload
from cccd_reader.read import read_card
from cccd_reader.verify.issuer import VIETNAM_EID_CSCA_URLS, key_id_text, signer_extensions
from cccd_reader.verify.passive import ChainStatus, PAStatus, verify_passive
from cccd_reader.verify.trust import CertificateInfo, TrustStore
from cccd_reader.verify.userstore import UserTrustStore, default_trust_store, inspect_trust_data

ROOT = Path(__file__).resolve().parent.parent
PKI = ROOT / "samples" / "pki"
EID_CSCA = PKI / "trust" / "csca-vietnam-test.pem"
EID_DSC = PKI / "certs" / "dsc-vietnam-test.pem"


def _generate_module() -> Any:
    spec = importlib.util.spec_from_file_location("pki_generate", PKI / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generate_module()


def key(name: str) -> Any:
    return load_pem_private_key((PKI / "keys" / f"{name}.key").read_bytes(), None)


def der(path: Path) -> bytes:
    return x509.load_pem_x509_certificate(path.read_bytes()).public_bytes(serialization.Encoding.DER)


def cli(*args: str, data_dir: Path, input: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CCCD_READER_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", "from cccd_reader.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, input=input, timeout=120)


def eid_card(name: str = "an") -> Any:
    """A sample chip signed by the test document signer built like the real CCCD one."""
    signer = DocumentSigner.from_files(PKI / "keys" / "dsc-vietnam-test.key", EID_DSC)
    return build_card(sample_persona(name), signer=signer)


def read(card: Any, trust: Any) -> Any:
    qr = parse_qr_payload(card.persona.qr_payload())
    return read_card(card, qr, random_bytes=SeededRandom("user-trust"), trust=trust)


# --- the test PKI pair is built like the real one -----------------------------------------------------


def test_test_csca_and_signer_are_built_like_the_real_cccd_pki() -> None:
    csca = x509.load_pem_x509_certificate(EID_CSCA.read_bytes())
    dsc = x509.load_pem_x509_certificate(EID_DSC.read_bytes())
    names = {a.oid._name: a.value for a in csca.subject}
    assert names["commonName"].startswith("CSCA Vietnam") and "TEST" in names["commonName"]
    assert names["serialNumber"] == "001" and names["countryName"] == "VN"
    assert names["organizationName"].startswith("Vietnam Government Information Security Commission")
    assert dsc.issuer == csca.subject
    dnames = {a.oid._name: a.value for a in dsc.subject}
    assert dnames["organizationName"].startswith("Ministry of Public Security")
    assert dnames["organizationalUnitName"] == (
        "Police Department for Administrative Management of Social Order")
    assert dnames["commonName"].startswith("Document Signer National Identification") and "TEST" in dnames[
        "commonName"]
    assert isinstance(dsc.public_key(), ec.EllipticCurvePublicKey)
    assert dsc.public_key().curve.name == "brainpoolP384r1"
    assert dsc.signature_algorithm_oid == x509.oid.SignatureAlgorithmOID.ECDSA_WITH_SHA256
    assert csca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    ext = signer_extensions(der(EID_DSC))
    assert ext.document_types == ("ID",)
    assert ext.private_key_not_after is not None and ext.private_key_not_before is not None
    assert (ext.private_key_not_after - ext.private_key_not_before).days == 90
    # the real addresses' shape (…/crt/eid-csca-vietnam….crt, …/crl/….crl), on hosts that cannot resolve
    assert len(ext.ca_issuer_urls) == 2 and len(ext.crl_urls) == 2
    for url in ext.ca_issuer_urls:
        assert "/crt/eid-csca-vietnam" in url and url.endswith(".crt") and ".invalid/" in url
    for url in ext.crl_urls:
        assert "/crl/eid-csca-vietnam" in url and url.endswith(".crl") and ".invalid/" in url
    aki = dsc.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    ski = csca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    assert aki == ski == ext.authority_key_identifier


# --- the unknown issuer is named, with the way to trust it ---------------------------------------------


def test_unknown_issuer_message_names_the_issuer_and_how_to_trust_it() -> None:
    card = eid_card()
    record = read(card, trust=None)
    pa = record.security.passive_detail
    assert pa.status is PAStatus.PASSED_UNTRUSTED and record.security.verdict == "unverified"
    csca = CertificateInfo.from_der(der(EID_CSCA))
    kid = key_id_text(csca.subject_key_identifier)
    assert pa.chain.status is ChainStatus.UNKNOWN_ISSUER
    assert pa.chain.issuer == csca.subject and key_id_text(pa.chain.issuer_key_identifier) == kid
    message = pa.trust_message
    assert csca.subject in message and kid in message
    for url in VIETNAM_EID_CSCA_URLS:  # where the real eID CSCA is published
        assert url in message
    assert "cccd-read trust add" in message and "CSCA ePassport Vietnam" in message
    assert record.security.details["passive_authentication"] == message
    assert message in pa.summary().replace("  to trust it: ", "") or pa.chain.advice in pa.summary()
    d = pa.to_dict()["chain"]
    assert d["issuer"] == csca.subject and d["issuer_key_identifier"] == kid


def test_a_foreign_issuer_gets_the_generic_advice() -> None:
    from cccd_reader.issue.signing import build_sod

    files = {1: b"\x61\x00"}
    other = (PKI / "certs" / "dsc-other.pem").read_bytes()
    sod = build_sod(files, signer_key=key("dsc-other"), signer_cert=other)
    pa = verify_passive(sod, files)
    assert pa.chain.status is ChainStatus.UNKNOWN_ISSUER
    assert "Other test" in pa.trust_message and "cccd-read trust add FILE" in pa.trust_message
    assert VIETNAM_EID_CSCA_URLS[0] not in pa.trust_message


def test_trusted_chain_has_no_advice() -> None:
    pa = read(eid_card(), trust=TrustStore.from_paths(EID_CSCA)).security.passive_detail
    assert pa.status is PAStatus.PASSED and pa.trust_message is None and pa.chain.advice is None


# --- the signer's documentTypeList and private key usage period --------------------------------------


def _signer_with(tmp_path: Path, document_types: tuple[str, ...], serial: int) -> DocumentSigner:
    csca = x509.load_pem_x509_certificate(EID_CSCA.read_bytes())
    signer_key = key("dsc-vietnam-test")
    cert = GEN.eid_dsc_cert(signer_key.public_key(), key("csca-vietnam-test"), csca,
                            document_types=document_types, serial=serial)
    return DocumentSigner(signer_key, cert.public_bytes(serialization.Encoding.DER))


def test_document_type_list_and_key_usage_period_are_reported(tmp_path: Path) -> None:
    pa = read(eid_card(), trust=None).security.passive_detail
    ext = pa.signer.extensions
    assert ext.document_types == ("ID",) and pa.warnings == ()
    assert pa.signer.signed_within_key_usage_period is not None
    expected = ext.private_key_not_before <= pa.checked_at <= ext.private_key_not_after
    assert pa.signer.signed_within_key_usage_period is expected
    d = pa.to_dict()["signer"]["extensions"]
    assert d["document_types"] == ["ID"]
    assert d["private_key_usage_period"]["not_before"] == ext.private_key_not_before.isoformat()
    assert "document types: ID" in pa.summary() and "private key used" in pa.summary()


def test_a_document_type_mismatch_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    signer = _signer_with(tmp_path, ("P",), 0x4F01)  # a passport signer signing an ID card
    card = build_card(sample_persona("an"), signer=signer)
    record = read(card, trust=TrustStore.from_paths(EID_CSCA))
    pa = record.security.passive_detail
    assert pa.status is PAStatus.PASSED  # still genuine data and a trusted chain
    assert len(pa.warnings) == 1 and "document code ID" in pa.warnings[0] and "(P)" in pa.warnings[0]
    assert pa.warnings[0] in record.warnings


def test_a_signer_without_the_extensions_reports_none() -> None:
    pa = read(load_sample("binh"), trust=None).security.passive_detail  # the older-shaped signer
    ext = pa.signer.extensions
    assert ext.document_types is None and not ext.has_private_key_usage_period and ext.ca_issuer_urls == ()
    assert pa.signer.signed_within_key_usage_period is None and pa.warnings == ()
    assert "document types" not in pa.summary()
    assert "trust fetch" not in (pa.trust_message or "")  # no caIssuers URL to fetch from


def test_the_default_sample_is_signed_like_a_real_card() -> None:
    pa = read(load_sample("an"), trust=None).security.passive_detail
    assert pa.signer.extensions.document_types == ("ID",)
    assert pa.signer.signed_within_key_usage_period is True  # the default card's issue date is inside


# --- the user's trust store --------------------------------------------------------------------------------


def test_trust_add_refuses_a_document_signer_and_junk(tmp_path: Path) -> None:
    with pytest.raises(TrustStoreError, match="not a CA certificate"):
        inspect_trust_data(EID_DSC.read_bytes())
    with pytest.raises(TrustStoreError, match="not a CA certificate"):
        inspect_trust_data(der(EID_DSC))
    with pytest.raises(TrustStoreError):
        inspect_trust_data(b"\x30\x03\x02\x01\x00")
    proc = cli("trust", "add", "--yes", str(EID_DSC), data_dir=tmp_path)
    assert proc.returncode != 0 and "not a CA certificate" in proc.stderr
    assert UserTrustStore(tmp_path / "trust").items() == []


def test_pa_goes_from_unverified_to_genuine_after_trust_add(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("CCCD_READER_DATA_DIR", str(data))
    assert default_trust_store() is None
    before = read(eid_card(), trust=default_trust_store())
    assert before.security.verdict == "unverified"
    # the user is asked to compare the fingerprint, and says yes
    proc = cli("trust", "add", str(EID_CSCA), data_dir=data, input="y\n")
    assert proc.returncode == 0, proc.stderr
    fingerprint = ":".join(f"{b:02X}" for b in CertificateInfo.from_der(der(EID_CSCA)).fingerprint)
    assert fingerprint in proc.stdout and "Compare" in proc.stdout
    store = default_trust_store()
    assert store is not None and len(store) == 1
    after = read(eid_card(), trust=store)
    assert after.security.passive_detail.status is PAStatus.PASSED
    assert after.security.verdict == "genuine"


def test_answering_no_adds_nothing(tmp_path: Path) -> None:
    proc = cli("trust", "add", str(EID_CSCA), data_dir=tmp_path, input="n\n")
    assert proc.returncode != 0 and "nothing was added" in proc.stderr
    assert UserTrustStore(tmp_path / "trust").items() == []


def test_list_show_remove_and_master_lists_and_crls(tmp_path: Path) -> None:
    from cccd_reader.issue.signing import build_master_list

    ml = build_master_list([der(EID_CSCA), der(PKI / "certs" / "csca-other.pem")],
                           signer_key=key("mls"), signer_cert=(PKI / "certs" / "mls.pem").read_bytes())
    (tmp_path / "list.ml").write_bytes(ml)
    proc = cli("trust", "add", "-y", str(tmp_path / "list.ml"), str(PKI / "trust" / "csca-vn-test.crl"),
               str(PKI / "trust" / "csca-vn-test.pem"), data_dir=tmp_path / "d")
    assert proc.returncode == 0, proc.stderr
    listing = json.loads(cli("trust", "list", "--json", data_dir=tmp_path / "d").stdout)
    assert sorted(i["kind"] for i in listing) == ["certificate", "crl", "master list"]
    ml_item = next(i for i in listing if i["kind"] == "master list")
    assert "2 CSCAs" in ml_item["name"]
    cert_item = next(i for i in listing if i["kind"] == "certificate")
    shown = cli("trust", "show", cert_item["id"][:10], data_dir=tmp_path / "d")
    assert shown.returncode == 0 and cert_item["fingerprint"] in shown.stdout
    store = UserTrustStore(tmp_path / "d" / "trust").load()
    assert store is not None and len(store) == 3 and len(store.crls) == 1
    removed = cli("trust", "remove", cert_item["fingerprint"][:23], data_dir=tmp_path / "d")
    assert removed.returncode == 0, removed.stderr
    left = json.loads(cli("trust", "list", "--json", data_dir=tmp_path / "d").stdout)
    assert sorted(i["kind"] for i in left) == ["crl", "master list"]
    bad = cli("trust", "remove", "zz", data_dir=tmp_path / "d")
    assert bad.returncode == 2


def test_a_damaged_file_in_the_store_is_reported_and_removable(tmp_path: Path) -> None:
    store = UserTrustStore(tmp_path / "trust")
    (added,) = store.add(inspect_trust_data(EID_CSCA.read_bytes()))
    bad = tmp_path / "trust" / "csca-0000000000000000.der"
    bad.write_bytes(b"\x30\x03\x02\x01\x00")
    assert [i.fingerprint for i in store.items()] == [added.fingerprint]
    assert [p for p, _why in store.problems()] == [bad]
    loaded = store.load()  # the good anchor still serves reads
    assert loaded is not None and len(loaded) == 1
    assert loaded.source_of(loaded.certificates[0]) == str(added.path)
    listing = cli("trust", "list", data_dir=tmp_path)
    assert listing.returncode == 0 and "unreadable: csca-0000000000000000.der" in listing.stderr
    assert cli("trust", "remove", bad.name, data_dir=tmp_path).returncode == 0
    assert not bad.exists() and store.problems() == []


def test_read_command_uses_the_user_store_when_no_trust_is_given(tmp_path: Path) -> None:
    """`read --emulator` trusts the sample PKI only while the user's store is empty."""
    data = tmp_path / "d"
    assert cli("trust", "add", "-y", str(PKI / "certs" / "csca-other.pem"), data_dir=data).returncode == 0
    proc = cli("read", "--emulator", "an", "--json", "--no-progress", data_dir=data)
    out = json.loads(proc.stdout)
    assert out["security"]["passive_authentication"] == "passed_untrusted"
    # the CSCA of the sample signer, whichever of the two test CSCAs that is
    issuer = CertificateInfo.from_der(_sample_signer_der()).issuer
    csca = next(p for p in (PKI / "trust").glob("*.pem")
                if CertificateInfo.from_der(der(p)).subject == issuer)
    assert cli("trust", "add", "-y", str(csca), data_dir=data).returncode == 0
    out = json.loads(cli("read", "--emulator", "an", "--json", "--no-progress", data_dir=data).stdout)
    assert out["security"]["passive_authentication"] == "passed" and out["security"]["verdict"] == "genuine"


def _sample_signer_der() -> bytes:
    from cccd_reader.emulator.samples import sample_signer

    return sample_signer().certificate_der


# --- the explicit download -----------------------------------------------------------------------------


@contextlib.contextmanager
def local_server(folder: Path) -> Iterator[str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                             functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _served_signer(tmp_path: Path, base: str, csca_file: str) -> Path:
    csca = x509.load_pem_x509_certificate(EID_CSCA.read_bytes())
    cert = GEN.eid_dsc_cert(key("dsc-vietnam-test").public_key(), key("csca-vietnam-test"), csca,
                            ca_issuers=(f"{base}/crt/missing.crt", f"{base}/crt/{csca_file}"),
                            crls=(f"{base}/crl/eid-csca-vietnam-test.crl",), serial=0x4F02)
    path = tmp_path / "dsc.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path


def test_trust_fetch_downloads_from_the_signer_urls_and_shows_the_fingerprint(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "crt").mkdir(parents=True)
    (site / "crl").mkdir()
    (site / "crt" / "eid-csca-vietnam-test.crt").write_bytes(der(EID_CSCA))
    (site / "crt" / "other.crt").write_bytes(der(PKI / "certs" / "csca-other.pem"))
    crl = (PKI / "certs" / "csca-vietnam-test.crl").read_bytes()
    (site / "crl" / "eid-csca-vietnam-test.crl").write_bytes(crl)
    with local_server(site) as base:
        dsc = _served_signer(tmp_path, base, "eid-csca-vietnam-test.crt")
        proc = cli("trust", "fetch", str(dsc), "--yes", "--timeout", "5", data_dir=tmp_path / "d")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        fingerprint = ":".join(f"{b:02X}" for b in CertificateInfo.from_der(der(EID_CSCA)).fingerprint)
        assert fingerprint in proc.stdout
        assert f"{base}/crt/missing.crt: HTTP 404" in proc.stdout  # tried, reported, skipped
        kinds = sorted(i.kind for i in UserTrustStore(tmp_path / "d" / "trust").items())
        assert kinds == ["certificate", "crl"]
        # a served certificate that did not sign the document signer is refused
        wrong = _served_signer(tmp_path, base, "other.crt")
        proc = cli("trust", "fetch", str(wrong), "--yes", "--timeout", "5", data_dir=tmp_path / "e")
        assert proc.returncode != 0 and "did not sign this document signer" in proc.stderr
        assert UserTrustStore(tmp_path / "e" / "trust").items() == []


def test_trust_fetch_takes_the_signer_from_the_card(tmp_path: Path) -> None:
    """`trust fetch` with the card options reads the chip's EF.SOD; the legacy sample's signer names no
    address, so nothing is downloaded and the user is told why."""
    proc = cli("trust", "fetch", "--emulator", "binh", "--yes", data_dir=tmp_path)
    assert proc.returncode == 2 and "names no address for its CSCA" in proc.stderr
    sod = tmp_path / "EF.SOD"
    sod.write_bytes(load_sample("binh").image.files.file("EF.SOD").data)
    proc = cli("trust", "fetch", str(sod), "--yes", data_dir=tmp_path)
    assert proc.returncode == 2 and "names no address for its CSCA" in proc.stderr


# --- a read stays offline ---------------------------------------------------------------------------------


def _is_loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return isinstance(address, str | bytes)  # a Unix socket path


@pytest.fixture
def no_internet(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    attempts: list[Any] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            attempts.append(address)
            raise OSError("a test forbids internet connections")
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(address):
            attempts.append(address)
            raise OSError("a test forbids internet connections")
        return real_connect_ex(self, address)

    real_create = socket.create_connection

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_loopback(address):
            attempts.append(address)
            raise OSError("a test forbids internet connections")
        return real_create(address, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    return attempts


def test_the_guard_catches_an_internet_connection(no_internet: list[Any]) -> None:
    with pytest.raises(OSError):
        urllib.request.urlopen("http://192.0.2.1/", timeout=1)  # TEST-NET-1, never routed
    assert no_internet


def test_a_read_of_the_virtual_chip_opens_no_internet_socket(no_internet: list[Any], tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    UserTrustStore(tmp_path / "trust").add(inspect_trust_data(EID_CSCA.read_bytes()))
    monkeypatch.setenv("CCCD_READER_DATA_DIR", str(tmp_path))
    for card in (load_sample("an"), eid_card()):
        record = read(card, trust=default_trust_store())
        assert record.complete and record.security.passive_detail is not None
    untrusted = read(eid_card("mai"), trust=None)  # the unknown-issuer path names URLs, never opens them
    assert untrusted.security.passive_detail.trust_message
    assert no_internet == []


def test_fetch_follows_http_redirects_only() -> None:
    from cccd_reader.verify.fetch import _download

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            target = {"/to-ftp": "ftp://127.0.0.1/csca.crt", "/moved": "/csca.crt"}.get(self.path)
            if target:
                self.send_response(302)
                self.send_header("Location", target)
                self.end_headers()
            else:
                self.send_response(200)
                self.end_headers()
                self.wfile.write(der(EID_CSCA))

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert _download(base + "/moved", 5) == der(EID_CSCA)
        with pytest.raises(urllib.error.URLError, match="refused a redirect to ftp"):
            _download(base + "/to-ftp", 5)
    finally:
        server.shutdown()
        server.server_close()
