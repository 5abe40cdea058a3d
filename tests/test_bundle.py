"""Verification bundles: written by a read, re-checked by verify_bundle with the live read's verdict;
any changed byte of the evidence, edited desk fields or a future format never come back genuine."""

from __future__ import annotations

import base64
import functools
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cccd_reader import (
    BundleError,
    BundleVersionError,
    load_bundle,
    parse_qr_payload,
    read_card,
    verify_bundle,
)
from cccd_reader.bundle.check import sod_envelope_problems
from cccd_reader.cli import main
from cccd_reader.emulator.samples import load_sample, sample_names, sample_qr_payload, sample_trust_anchor
from cccd_reader.verify.trust import TrustStore

TRUST = TrustStore.from_paths(sample_trust_anchor())


@pytest.fixture(scope="module")
def reads() -> dict[str, Any]:
    return {n: read_card(load_sample(n), parse_qr_payload(sample_qr_payload(n)), trust=sample_trust_anchor())
            for n in sample_names()}


def _doc(bundle: bytes) -> dict[str, Any]:
    return json.loads(bundle)


def _verdict_or_format_error(doc: dict[str, Any]) -> str:
    try:
        return verify_bundle(doc, trust=TRUST).verdict
    except BundleError:
        return "format-error"


@pytest.mark.parametrize("name", sample_names())
def test_same_verdict_as_the_live_read(reads: dict[str, Any], name: str) -> None:
    record = reads[name]
    bundle = record.to_bundle()
    v = verify_bundle(bundle, trust=TRUST)
    assert v.verdict == record.security.verdict
    assert (v.passive_auth, v.active_auth, v.chip_auth) == (
        record.security.passive_auth, record.security.active_auth, record.security.chip_auth)
    assert v.desk_mismatches == () and v.desk_verdict == record.security.verdict
    # the identity comes from the signed bytes and equals what the desk decoded
    assert v.identity.to_dict() == record.identity.to_dict()
    assert v.chip_auth_source == "desk"  # CA v1: the desk's word only
    assert v.genuine_offline == (record.security.verdict == "genuine")  # PA + AA re-verified
    assert repr(v).count(record.identity.full_name) == 0


def test_bundle_carries_every_file_and_the_evidence(reads: dict[str, Any]) -> None:
    record = reads["an"]
    b = load_bundle(record.to_bundle())
    assert dict(b.files) == record.files
    assert {"EF.CardAccess", "EF.SOD", "DG1", "DG2", "DG13", "DG14", "DG15"} <= set(b.files)
    assert b.aa_challenge == record.evidence.aa_challenge and len(b.aa_challenge or b"") == 8
    assert b.aa_signature == record.evidence.aa_signature
    assert b.access["protocol"] == "PACE" and b.access["pace"]["mapping"] == "GM"
    assert b.chip_auth is not None and b.chip_auth["passed"] is True
    assert b.reader_time is not None and b.reader_time.tzinfo is not None
    assert b.library["version"] and b.version == 1
    assert b.qr_payload == sample_qr_payload("an")


def test_listed_data_groups_the_bundle_lacks_are_named(reads: dict[str, Any]) -> None:
    full = verify_bundle(reads["an"].to_bundle(), trust=TRUST)
    assert full.absent_data_groups == ()  # DG3 (EAC) is listed but never counts as absent
    doc = _doc(reads["an"].to_bundle())
    del doc["files"]["DG2"], doc["files"]["DG13"]
    v = verify_bundle(doc, trust=TRUST)
    assert v.absent_data_groups == ("DG2", "DG13")
    assert v.summary()["absent_data_groups"] == ["DG2", "DG13"]
    assert v.identity.full_name  # what was carried is still decoded from the signed bytes


def test_without_trust_it_is_not_genuine(reads: dict[str, Any]) -> None:
    v = verify_bundle(reads["an"].to_bundle())
    assert v.verdict != "genuine" and v.passive_auth == "passed_untrusted"


def test_replayed_signature_fails_the_issued_challenge(reads: dict[str, Any]) -> None:
    bundle = reads["an"].to_bundle()
    v = verify_bundle(bundle, trust=TRUST, expected_challenge=b"\x00" * 8)
    assert v.active_auth == "failed" and v.verdict == "not-genuine"
    ok = verify_bundle(bundle, trust=TRUST, expected_challenge=reads["an"].evidence.aa_challenge)
    assert ok.verdict == "genuine"


# --- one changed byte ----------------------------------------------------------------------------------


def _flip(doc: dict[str, Any], path: tuple[str, ...], index: int, mask: int) -> dict[str, Any]:
    out = json.loads(json.dumps(doc))
    node = out
    for key in path[:-1]:
        node = node[key]
    raw = bytearray(base64.b64decode(node[path[-1]]))
    raw[index % len(raw)] ^= mask
    node[path[-1]] = base64.b64encode(bytes(raw)).decode()
    return out


def _evidence_fields(doc: dict[str, Any]) -> list[tuple[str, ...]]:
    fields = [("files", name) for name in doc["files"] if name != "EF.CardAccess"]
    fields += [("active_authentication", "challenge"), ("active_authentication", "signature")]
    return fields


def test_every_byte_of_the_sod_matters(reads: dict[str, Any]) -> None:
    """Exhaustive over EF.SOD, the file whose unsigned envelope a verifier may otherwise skip."""
    doc = _doc(reads["an"].to_bundle())
    sod_len = len(base64.b64decode(doc["files"]["EF.SOD"]))
    for i in range(sod_len):
        assert _verdict_or_format_error(_flip(doc, ("files", "EF.SOD"), i, 0x01)) != "genuine", i


@pytest.mark.parametrize("field", ["DG1", "DG13", "DG14", "DG15"])
def test_every_byte_of_the_small_files_matters(reads: dict[str, Any], field: str) -> None:
    doc = _doc(reads["mai"].to_bundle())
    n = len(base64.b64decode(doc["files"][field]))
    for i in range(n):
        assert _verdict_or_format_error(_flip(doc, ("files", field), i, 0x80)) != "genuine", (field, i)


def test_every_byte_of_the_aa_evidence_matters(reads: dict[str, Any]) -> None:
    doc = _doc(reads["thao"].to_bundle())
    for key in ("challenge", "signature"):
        n = len(base64.b64decode(doc["active_authentication"][key]))
        for i in range(n):
            assert _verdict_or_format_error(_flip(doc, ("active_authentication", key), i, 0x01)) != "genuine"


@functools.lru_cache(maxsize=1)
def _sample_bundles() -> dict[str, bytes]:
    return {n: read_card(load_sample(n), parse_qr_payload(sample_qr_payload(n)),
                         trust=sample_trust_anchor()).to_bundle() for n in sample_names()}


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_changed_byte_of_the_evidence_is_caught(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sample_names()))
    doc = _doc(_sample_bundles()[name])
    path = data.draw(st.sampled_from(_evidence_fields(doc)))
    index = data.draw(st.integers(min_value=0, max_value=1 << 16))
    mask = data.draw(st.integers(min_value=1, max_value=255))
    assert _verdict_or_format_error(_flip(doc, path, index, mask)) != "genuine"


def test_envelope_check_accepts_every_sample_sod(reads: dict[str, Any]) -> None:
    for record in reads.values():
        assert sod_envelope_problems(record.files["EF.SOD"]) == []


# --- the desk's fields, the format --------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value"), [
    ("full_name", "Nguyễn Văn Bình"), ("date_of_birth", "1991-03-15"),
    ("place_of_residence", "Phường Hàng Đào, Quận Hoàn Kiếm, Hà Nội")])
def test_desk_edited_fields_are_caught(reads: dict[str, Any], field: str, value: str) -> None:
    doc = _doc(reads["an"].to_bundle())
    doc["desk"]["identity"][field] = value
    v = verify_bundle(doc, trust=TRUST)
    assert v.verdict == "not-genuine" and v.desk_mismatches == (field,)
    assert v.identity.to_dict()[field] != value  # the identity still comes from the signed bytes


def test_desk_claiming_a_passed_check_does_not_count(reads: dict[str, Any]) -> None:
    doc = _doc(reads["an"].to_bundle())
    doc["active_authentication"]["signature"] = base64.b64encode(b"\x00" * 64).decode()
    doc["desk"]["security"]["verdict"] = "genuine"
    assert verify_bundle(doc, trust=TRUST).verdict == "not-genuine"


def test_future_version_is_refused_clearly(reads: dict[str, Any]) -> None:
    doc = _doc(reads["an"].to_bundle())
    doc["version"] = 2
    with pytest.raises(BundleVersionError, match="newer") as info:
        verify_bundle(doc, trust=TRUST)
    assert info.value.version == 2


@pytest.mark.parametrize("text", [b"", b"not json", b"[]", b'{"format": "other", "version": 1}',
                                  b'{"format": "cccd-reader/verification-bundle", "version": "1"}',
                                  b'{"format": "cccd-reader/verification-bundle", "version": 1, "files": 3}',
                                  b"\xff\xfe"])
def test_malformed_bundles_are_format_errors(text: bytes) -> None:
    with pytest.raises(BundleError):
        verify_bundle(text)


def test_bad_base64_and_unknown_files_are_format_errors(reads: dict[str, Any]) -> None:
    doc = _doc(reads["an"].to_bundle())
    bad = json.loads(json.dumps(doc))
    bad["files"]["DG1"] = "***"
    with pytest.raises(BundleError):
        verify_bundle(bad)
    odd = json.loads(json.dumps(doc))
    odd["files"]["../etc/passwd"] = "AA=="
    with pytest.raises(BundleError):
        verify_bundle(odd)


# --- the commands --------------------------------------------------------------------------------------


def test_cli_read_bundle_and_verify(tmp_path: Path) -> None:
    out = tmp_path / "an.json"
    r = CliRunner().invoke(main, ["read", "--emulator", "an", "--no-progress", "--bundle", str(out)])
    assert r.exit_code == 0, r.output
    trust = str(sample_trust_anchor())
    v = CliRunner().invoke(main, ["verify", str(out), "--trust", trust])
    assert v.exit_code == 0 and "verdict: genuine" in v.output and "desk's observation" in v.output
    j = CliRunner().invoke(main, ["verify", str(out), "--trust", trust, "--json"])
    assert json.loads(j.output)["verdict"] == "genuine"
    untrusted = CliRunner().invoke(main, ["verify", str(out)])
    assert untrusted.exit_code == 1
    doc = json.loads(out.read_bytes())
    doc["version"] = 9
    future = tmp_path / "future.json"
    future.write_text(json.dumps(doc))
    f = CliRunner().invoke(main, ["verify", str(future)])
    assert f.exit_code == 2 and "newer" in f.output


def test_cli_verify_batch(tmp_path: Path, reads: dict[str, Any]) -> None:
    for name, record in reads.items():
        (tmp_path / f"{name}.json").write_bytes(record.to_bundle())
    (tmp_path / "broken.json").write_bytes(b"{}")
    r = CliRunner().invoke(main, ["verify", "--batch", str(tmp_path), "--trust", str(sample_trust_anchor()),
                                  "--workers", "2"])
    lines = [json.loads(line) for line in r.output.splitlines() if line.startswith("{")]
    verdicts = {line["file"]: line["verdict"] for line in lines}
    expected = {f"{n}.json": reads[n].security.verdict for n in reads}
    assert verdicts == {**expected, "broken.json": "format-error"}
    assert r.exit_code == 1
    assert all("Nguyễn" not in line for line in r.output.splitlines())


def test_batch_on_a_dask_local_cluster(tmp_path: Path, reads: dict[str, Any]) -> None:
    """The archive job of docs/bundle.md on Dask: one task per bundle, results gathered."""
    from dask.distributed import Client, LocalCluster

    from cccd_reader.cli.verify import check_file

    paths = []
    for name, record in reads.items():
        p = tmp_path / f"{name}.json"
        p.write_bytes(record.to_bundle())
        paths.append(str(p))
    trust = (str(sample_trust_anchor()),)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        results = client.gather(client.map(check_file, paths, trust_paths=trust))
        untrusted = client.gather(client.map(check_file, paths, key=[f"u-{p}" for p in paths]))
    expected = {f"{n}.json": reads[n].security.verdict for n in reads}
    assert {r["file"]: r["verdict"] for r in results} == expected
    # without trust anchors: signed and intact, but the signer is not known to be trusted
    assert {r["passive_authentication"] for r in untrusted} == {"passed_untrusted"}
    assert all(r["verdict"] != "genuine" for r in untrusted)


# --- other chip profiles: PACE-CAM, no AA, BAC ---------------------------------------------------------


def _variant_read(profile: dict[str, Any]) -> Any:
    from cccd_reader.emulator import build_card
    from cccd_reader.emulator.persona import persona_from_dict
    from cccd_reader.emulator.samples import REPO_SAMPLES

    data = json.loads((REPO_SAMPLES / "cards" / "an" / "persona.json").read_text(encoding="utf-8"))
    data["portrait"] = None
    data["profile"] = {**data["profile"], **profile}
    card = build_card(persona_from_dict(data))
    return read_card(card, parse_qr_payload(card.persona.qr_payload()), trust=str(sample_trust_anchor()))


def test_pace_cam_is_re_verified_from_the_bundle() -> None:
    record = _variant_read({"pace": {"parameter_ids": [13], "mappings": ["CAM"]},
                            "active_authentication": None})
    assert record.security.verdict == "genuine" and record.security.active_auth == "not_supported"
    doc = _doc(record.to_bundle())
    assert doc["pace_cam"] is not None and doc["access"]["pace"]["mapping"] == "CAM"
    v = verify_bundle(doc, trust=TRUST)
    assert v.verdict == "genuine" and v.chip_auth_source == "bundle" and v.genuine_offline
    for key in ("cam_data", "chip_mapping_public_key"):
        n = len(base64.b64decode(doc["pace_cam"][key]))
        for i in range(n):
            assert _verdict_or_format_error(_flip(doc, ("pace_cam", key), i, 0x01)) != "genuine", (key, i)


def test_chip_authentication_only_is_the_desks_word() -> None:
    record = _variant_read({"active_authentication": None})
    doc = _doc(record.to_bundle())
    assert doc["active_authentication"] is None
    v = verify_bundle(doc, trust=TRUST)
    assert v.verdict == record.security.verdict == "genuine"
    assert v.chip_auth_source == "desk" and not v.genuine_offline
    doc["chip_authentication"]["passed"] = False
    assert verify_bundle(doc, trust=TRUST).verdict == "not-genuine"


def test_bac_read_bundle() -> None:
    record = _variant_read({"pace": None})
    v = verify_bundle(record.to_bundle(), trust=TRUST)
    assert record.security.access_protocol == "BAC"
    assert v.verdict == record.security.verdict


def test_archive_recheck_after_the_signer_is_revoked(reads: dict[str, Any], tmp_path: Path) -> None:
    """Bundles that verified at the desk fail once the CSCA's CRL lists their document signer."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization

    from cccd_reader.emulator.samples import REPO_SAMPLES, SIGNER_CERT, TRUST_ANCHOR

    anchor = REPO_SAMPLES / TRUST_ANCHOR  # the sample cards' CSCA, its key, and their document signer
    csca = x509.load_pem_x509_certificate(anchor.read_bytes())
    csca_key = serialization.load_pem_private_key(
        (REPO_SAMPLES / "pki" / "keys" / f"{anchor.stem}.key").read_bytes(), None)
    signer = x509.load_pem_x509_certificate((REPO_SAMPLES / SIGNER_CERT).read_bytes())
    assert signer.issuer == csca.subject
    utc = dt.UTC
    crl = (x509.CertificateRevocationListBuilder().issuer_name(csca.subject)
           .last_update(dt.datetime(2026, 1, 1, tzinfo=utc)).next_update(dt.datetime(2036, 1, 1, tzinfo=utc))
           .add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(signer.serial_number)
                                    .revocation_date(dt.datetime(2026, 1, 1, tzinfo=utc)).build())
           .sign(csca_key, hashes.SHA256()))  # type: ignore[arg-type]
    (tmp_path / "revoked.crl").write_bytes(crl.public_bytes(serialization.Encoding.DER))
    store = TrustStore.from_paths([str(anchor), str(tmp_path / "revoked.crl")])
    bundle = reads["an"].to_bundle()
    assert verify_bundle(bundle, trust=TRUST).verdict == "genuine"
    after = verify_bundle(bundle, trust=store)
    assert after.verdict == "not-genuine" and after.passive_auth == "failed"
    assert "revoked" in after.passive_detail.summary()  # type: ignore[union-attr]


def test_server_issued_challenge_end_to_end(tmp_path: Path) -> None:
    """The server hands the desk a nonce; the bundle proves a read that answered it."""
    nonce = bytes.fromhex("0011223344556677")
    out = tmp_path / "fresh.json"
    trace = tmp_path / "read.jsonl"
    r = CliRunner().invoke(main, ["read", "--emulator", "mai", "--no-progress", "--bundle", str(out),
                                  "--aa-challenge", nonce.hex(), "--trace", str(trace)])
    assert r.exit_code == 0, r.output
    assert load_bundle(out.read_bytes()).aa_challenge == nonce
    assert verify_bundle(out.read_bytes(), trust=TRUST, expected_challenge=nonce).verdict == "genuine"
    replay = CliRunner().invoke(main, ["replay", str(trace), "--json"])  # the trace keeps the challenge
    assert replay.exit_code == 0, replay.output
    bad = CliRunner().invoke(main, ["read", "--emulator", "mai", "--no-progress", "--aa-challenge", "00ff"])
    assert bad.exit_code == 2


def test_read_card_refuses_a_wrong_challenge_length() -> None:
    from cccd_reader import InputError

    with pytest.raises(InputError):
        read_card(load_sample("an"), parse_qr_payload(sample_qr_payload("an")), aa_challenge=b"\x01" * 7)


def test_desk_of_another_library_version_is_not_a_mismatch(reads: dict[str, Any]) -> None:
    doc = _doc(reads["an"].to_bundle())
    doc["desk"]["identity"].pop("religion")  # an older desk without a field
    doc["desk"]["identity"]["new_field"] = "x"  # a newer desk with one
    doc["desk"]["identity"]["warnings"] = ["worded otherwise"]
    v = verify_bundle(doc, trust=TRUST)
    assert v.verdict == "genuine" and v.desk_mismatches == ()


def test_a_dg2_without_an_image_has_no_portrait(reads: dict[str, Any]) -> None:
    """Found by the byte-flip property: a DG2 whose template count was hit decodes with no image; the
    portrait is then None (it was the DG2's own method), and the bundle is not genuine."""
    from cccd_reader.lds import decode_file
    from cccd_reader.read.steps.identity import first_portrait

    raw = bytearray(reads["an"].files["DG2"])
    raw[10] ^= 3
    assert decode_file("DG2", bytes(raw)).portraits() == []
    assert first_portrait(decode_file("DG2", bytes(raw))) is None
    assert first_portrait(decode_file("DG2", reads["an"].files["DG2"])) == reads["an"].portrait
    doc = _flip(_doc(reads["an"].to_bundle()), ("files", "DG2"), 10, 3)
    v = verify_bundle(doc, trust=TRUST)
    assert v.verdict == "not-genuine" and v.identity.portrait is None


def test_unsigned_context_changes_never_crash(reads: dict[str, Any]) -> None:
    """EF.CardAccess is not signed (docs/bundle.md): a changed byte there may leave the verdict as it
    was, but the check always answers with a verdict or a format error."""
    doc = _doc(reads["tho"].to_bundle())
    n = len(base64.b64decode(doc["files"]["EF.CardAccess"]))
    for i in range(n):
        verdict = _verdict_or_format_error(_flip(doc, ("files", "EF.CardAccess"), i, 0xFF))
        assert verdict in ("genuine", "not-genuine", "mismatch", "unverified", "incomplete", "format-error")
    odd = json.loads(json.dumps(doc))
    odd["access"] = {"protocol": 5, "pace": "x"}
    odd["reader_time"] = None
    odd["library"] = {}
    assert verify_bundle(odd, trust=TRUST).verdict == reads["tho"].security.verdict
