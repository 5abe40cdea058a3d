"""Steps ``chip_auth``, ``active_auth`` and ``passive_auth``: is the chip genuine and its data unaltered.

Each check records evidence for the one verdict (``records.ReadSecurity.verdict``): ``passed``, ``failed``
only on proof (an answer intact under secure messaging yet wrong), ``incomplete`` when the recovery policy
could not get an answer it could judge. Chip or Active Authentication passing shows the chip holds the
private key whose public key the SOD vouches for, so it is not a copy.
An EF.SOD read across a recovery must carry a valid signature; otherwise the read fails with
``ReadError`` and the bytes are dropped from the partial record rather than returned.
"""

from __future__ import annotations

import os
from typing import Any

from cccd_reader.errors import (
    CardError,
    CCCDError,
    ChipAuthenticationError,
    InputError,
    ParseError,
    ReadError,
    TransportError,
    UnsupportedProtocol,
    VerificationError,
)
from cccd_reader.read.records import (
    FAILED,
    INCOMPLETE,
    NOT_RUN,
    NOT_SUPPORTED,
    PASSED,
    UNKNOWN,
    UNTRUSTED,
)
from cccd_reader.read.recovery import Recovery, StepIncomplete
from cccd_reader.read.state import PipelineState


def security_file(st: PipelineState, name: str, verdict: str, detail: str) -> Any:
    """Decode DG14 / DG15 for an authenticity check, or set that check's verdict and return ``None``:
    not supported when the card has no such file, failed when the file is malformed."""
    sec = st.record.security
    raw = st.record.files.get(name)
    if raw is None:
        setattr(sec, verdict, NOT_SUPPORTED)
        return None
    from cccd_reader.lds import decode_file

    try:
        decoded = decode_file(name, raw)
    except ParseError as exc:
        setattr(sec, verdict, FAILED)
        sec.details[detail] = f"{name} is malformed: {getattr(exc, 'reason', exc)}"
        return None
    st.record.decoded[name] = decoded
    return decoded


def chip_auth_early(st: PipelineState, recovery: Recovery) -> None:
    """Start Chip Authentication in the files step, right after DG14 was read (APDUs charged to
    ``chip_auth``): switch to its keys and leave the proof to the next file read
    (:func:`chip_auth_confirmed`). PACE-CAM and a DG14 without a usable key are settled here; any failure
    is left to the ``chip_auth`` step, which runs the whole protocol with its own proof."""
    files_stats = st.link.current
    st.link.current = st.record.stats.step("chip_auth")
    t0 = st.options.clock()
    try:
        _start_chip_auth(st, recovery)
    finally:
        st.link.current.seconds += st.options.clock() - t0
        st.link.current = files_stats


def _start_chip_auth(st: PipelineState, recovery: Recovery) -> None:
    sec = st.record.security
    dg14 = security_file(st, "DG14", "chip_auth", "chip_authentication")
    if dg14 is None or (st.pace_result is not None and getattr(st.pace_result, "mapping", None) == "CAM"):
        chip_auth(st, recovery)  # no APDU: a verdict from the files alone
        st.ca_done = True
        return
    from cccd_reader.protocols.chip_auth import perform_chip_auth
    from cccd_reader.transport.secure import SecureMessagingTransport

    try:
        result = perform_chip_auth(st.secure(), dg14, random_bytes=st.options.random_bytes)
    except UnsupportedProtocol as exc:
        sec.chip_auth = NOT_SUPPORTED
        sec.details["chip_authentication"] = str(exc)
        st.ca_done = True
        return
    except CCCDError as exc:
        # refused, damaged or lost: the card is opened again (the session the failed attempt left is not
        # used for the files) and the chip_auth step runs the protocol under its own policy
        recovery.recover("chip_auth", exc)
        return
    st.sm = SecureMessagingTransport(st.link, result.session)
    st.ca_sm = st.sm
    if st.reader is not None:
        st.reader.resume(st.sm)
    key_note = f", key {result.key_id}" if result.key_id is not None else ""
    st.ca_pending, st.ca_pending_dg14 = True, dg14
    st.ca_detail = f"{result.protocol_name}{key_note}"


def chip_auth_confirmed(st: PipelineState) -> None:
    """A file came back intact under the Chip Authentication keys: the chip holds the private key."""
    sec = st.record.security
    st.ca_pending, st.ca_done = False, True
    sec.chip_auth = PASSED
    st.record.evidence.chip_auth = {"protocol": "CA", "passed": True, "detail": st.ca_detail}
    if st.ca_detail:
        sec.details["chip_authentication"] = st.ca_detail
    st.chip_auth_dg14 = st.ca_pending_dg14  # a recovery from now on runs CA again (see redo_chip_auth)


def chip_auth_unconfirmed(st: PipelineState) -> None:
    """The first read under the new keys failed: that proves nothing (a link glitch does the same). The
    read goes on under the access keys; the ``chip_auth`` step runs Chip Authentication again."""
    st.ca_pending = False


def chip_auth(st: PipelineState, recovery: Recovery) -> None:
    """Chip Authentication (or the PACE-CAM check): proves the chip holds the private key of DG14.

    Normally started by the files step right after DG14 and proven by the next file read intact under
    the new keys (no file is read twice). Otherwise (DG14 read last, or that first read failed) it runs
    here: DG14 is read again under the CA session and must come back byte for byte; a clone without the
    private key cannot produce valid secure messaging there."""
    if st.ca_done:
        return
    st.ca_pending = False
    if st.ca_sm is not None and st.sm is st.ca_sm:
        # started in the files step but not proven, and still in its session: begin again from a fresh
        # access session
        recovery.guarded("chip_auth", lambda: reauth_quiet(st, recovery), what="opening the card again")
    sec = st.record.security
    dg14 = security_file(st, "DG14", "chip_auth", "chip_authentication")
    if dg14 is None:
        return
    if st.pace_result is not None and getattr(st.pace_result, "mapping", None) == "CAM":
        from cccd_reader.protocols.chip_auth import verify_cam

        cam = verify_cam(st.pace_result, dg14)
        sec.chip_auth = PASSED if cam.passed else FAILED
        st.record.evidence.chip_auth = {"protocol": "PACE-CAM", "passed": cam.passed}
        sec.details["chip_authentication"] = "PACE-CAM" + (f": {cam.reason}" if cam.reason else "")
        return
    dg14_raw = st.record.files["DG14"]  # present: security_file decoded it
    try:
        outcome = recovery.guarded("chip_auth", lambda: run_chip_auth(st, dg14, dg14_raw),
                                   what="Chip Authentication", retry_on=(CardError,), reopen=True)
    except UnsupportedProtocol as exc:
        sec.chip_auth = NOT_SUPPORTED
        sec.details["chip_authentication"] = str(exc)
        return
    except StepIncomplete as exc:
        # damaged answers, bare status words or MAC failures every time: nothing proven either way
        sec.chip_auth = INCOMPLETE
        sec.details["chip_authentication"] = str(exc)
        sec.could_not_complete("chip_auth", "Chip Authentication could not complete "
                                            f"({exc.__cause__ or exc})")
        recovery.guarded("chip_auth", lambda: reauth_quiet(st, recovery), what="opening the card again")
        return
    except ChipAuthenticationError as exc:  # proof: an answer intact under secure messaging yet wrong
        outcome = (False, str(exc))
    passed, detail = outcome
    sec.chip_auth = PASSED if passed else FAILED
    st.record.evidence.chip_auth = {"protocol": "CA", "passed": passed, "detail": detail}
    if detail:
        sec.details["chip_authentication"] = detail
    if passed:
        st.chip_auth_dg14 = dg14  # a recovery from now on runs CA again (see redo_chip_auth)
    else:
        # the chip dropped the session after the failed attempt: authenticate again for what follows
        recovery.guarded("chip_auth", lambda: reauth_quiet(st, recovery), what="opening the card again")


def run_chip_auth(st: PipelineState, dg14: Any, dg14_raw: bytes) -> tuple[bool, str | None]:
    """CA, then DG14 read again under the new session keys: the first answer a clone cannot give.

    A damaged answer there (a MAC that does not verify) proves nothing by itself, since a link glitch
    does the same: it is raised for the recovery policy to retry. Only DG14 coming back intact under the
    new keys with other bytes is proof."""
    from cccd_reader.lds import file_info
    from cccd_reader.protocols.chip_auth import perform_chip_auth
    from cccd_reader.transport.secure import SecureMessagingTransport

    result = perform_chip_auth(st.secure(), dg14, random_bytes=st.options.random_bytes)
    st.sm = SecureMessagingTransport(st.link, result.session)
    info = file_info("DG14")
    assert info is not None
    reader = st.file_reader(st.sm)
    again = bytes(reader.read_file(info.fid, sfi=info.sfi, name="DG14"))
    if st.reader is not None:
        st.reader.resume(st.sm)
    if again != dg14_raw:
        return False, "DG14 read under the Chip Authentication session differs: it may be a clone"
    key_note = f", key {result.key_id}" if result.key_id is not None else ""
    return True, f"{result.protocol_name}{key_note}"


def redo_chip_auth(st: PipelineState) -> None:
    """After the card was opened again: if CA had passed, run it again, so everything read from now on
    is bound to the chip that proved its key (not only to the access key, which a copy also knows)."""
    dg14 = st.chip_auth_dg14
    if dg14 is None:
        return
    from cccd_reader.protocols.chip_auth import perform_chip_auth
    from cccd_reader.transport.secure import SecureMessagingTransport

    result = perform_chip_auth(st.secure(), dg14, random_bytes=st.options.random_bytes)
    st.sm = SecureMessagingTransport(st.link, result.session)
    if st.reader is not None:
        st.reader.resume(st.sm)


def reauth_quiet(st: PipelineState, recovery: Recovery) -> None:
    assert st.access is not None
    recovery.reauthenticate(st.access)


def active_auth(st: PipelineState, recovery: Recovery) -> None:
    sec = st.record.security
    dg15 = security_file(st, "DG15", "active_auth", "active_authentication")
    if dg15 is None:
        return
    from cccd_reader.protocols.active_auth import perform_active_auth

    dg14 = st.record.decoded.get("DG14")

    def run() -> Any:
        return perform_active_auth(st.secure(), dg15, challenge=st.options.aa_challenge,
                                   random_bytes=st.options.random_bytes, dg14=dg14)

    try:
        # a fresh challenge on every attempt: ``run`` draws it
        result = recovery.guarded("active_auth", run, what="Active Authentication", reopen=True)
    except UnsupportedProtocol as exc:
        sec.active_auth = NOT_SUPPORTED
        sec.details["active_authentication"] = str(exc)
        return
    except StepIncomplete as exc:
        sec.active_auth = INCOMPLETE
        sec.details["active_authentication"] = str(exc)
        sec.could_not_complete("active_auth", "Active Authentication could not complete "
                                              f"({exc.__cause__ or exc})")
        return
    except CCCDError as exc:
        if isinstance(exc, TransportError):
            raise
        # proof: the chip refused INTERNAL AUTHENTICATE in an intact answer (ActiveAuthenticationError)
        sec.active_auth = FAILED
        sec.details["active_authentication"] = str(exc)
        return
    sec.active_auth = PASSED if passed(result) else FAILED
    st.record.evidence.aa_challenge = getattr(result, "challenge", None)
    st.record.evidence.aa_signature = getattr(result, "signature", None)
    desc = describe(result)
    if desc:
        sec.details["active_authentication"] = desc


def passive_auth(st: PipelineState, recovery: Recovery) -> None:
    sec = st.record.security
    if st.sod is None:
        sec.passive_auth = NOT_RUN
        sec.details["passive_authentication"] = "no EF.SOD"
        return
    from cccd_reader.verify import TrustStore, verify_passive

    trust = st.options.trust
    if trust is not None and not isinstance(trust, TrustStore):
        if not isinstance(trust, str | os.PathLike | list | tuple):
            raise InputError("trust must be a TrustStore, or a path or list of paths to CSCA "
                             "certificates, master lists or CRLs")
        trust = TrustStore.from_paths(trust)
    files = {int(k[2:]): v for k, v in st.record.files.items()
             if k.startswith("DG") and k[2:].isdigit()}
    try:
        result = verify_passive(st.sod, files, trust=trust)
    except VerificationError as exc:
        sec.passive_auth = UNKNOWN
        sec.details["passive_authentication"] = str(exc)
        return
    sec.passive_detail = result
    sec.passive_auth = pa_status(result)
    if result.trust_message:
        sec.details["passive_authentication"] = result.trust_message
    st.record.warnings.extend(result.warnings)
    if "EF.SOD" in st.resumed and not sod_intact(result):
        st.record.files.pop("EF.SOD", None)
        raise ReadError("EF.SOD was read across a tag loss and does not verify: the record is "
                        "discarded; read the card again", step="passive_auth", partial=st.record)


def sod_intact(result: Any) -> bool:
    """The SOD's own signature verifies (with the certificate it carries): its bytes are one piece, even
    when the certificate chain or the validity dates fail for other reasons."""
    signature = getattr(result, "signature", None)
    status = getattr(signature, "status", None)
    if status is not None:
        return str(getattr(status, "value", status)).lower() == "valid"
    return pa_status(result) in (PASSED, UNTRUSTED)


def passed(result: Any) -> bool:
    for attr in ("passed", "verified", "ok", "success", "valid"):
        value = getattr(result, attr, None)
        if isinstance(value, bool):
            return value
    return result is not None and result is not False


def pa_status(result: Any) -> str:
    for attr in ("status", "verdict"):
        value = getattr(result, attr, None)
        if value is not None:
            text = str(getattr(value, "value", value)).lower()
            if text in ("passed", "valid", "ok", "genuine"):
                return PASSED
            if text in ("failed", "invalid", "not-genuine"):
                return FAILED
            if "untrusted" in text:
                return UNTRUSTED
            if "unknown" in text:
                return UNKNOWN
            return text
    ok = getattr(result, "passed", None)
    if isinstance(ok, bool):
        return PASSED if ok else FAILED
    return UNKNOWN


def describe(result: Any) -> str | None:
    for attr in ("describe", "summary"):
        fn = getattr(result, attr, None)
        if callable(fn):
            try:
                return str(fn())
            except Exception:  # noqa: S112  best effort
                continue
        if isinstance(fn, str):
            return fn
    for attr in ("protocol_name", "protocol", "oid_name", "algorithm"):
        value = getattr(result, attr, None)
        if isinstance(value, str):
            return value
        name = getattr(value, "name", None)
        if isinstance(name, str):
            return name
    return None
