"""Step ``access``: open the card with PACE or BAC, trying the keys in order.

A key the card refuses (AccessDenied) moves on to the next key; at most :data:`MAX_KEY_ATTEMPTS` refused
keys are tried per read, because chips may slow down or suspend access after repeated wrong keys. PACE
parameter sets the card does not take (when EF.CardAccess is unreadable, the known CCCD profiles are
tried) do not count as refusals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cccd_reader.errors import (
    AccessDenied,
    CardRemovedError,
    CCCDError,
    ConditionsNotSatisfied,
    FileNotFoundOnCard,
    InputError,
    InstructionNotSupported,
    PasswordTypeNotSupported,
    UnsupportedProtocol,
    WrongParameters,
)
from cccd_reader.read.recovery import MAX_ATTEMPTS, Recovery
from cccd_reader.read.state import Access, PipelineState

if TYPE_CHECKING:
    from cccd_reader.keys import AccessKey

MAX_KEY_ATTEMPTS = 4
"""Authentications tried per read at most (CAN + three MRZ expiry candidates)."""


def has_pace(st: PipelineState) -> bool:
    ca = st.card_access
    if ca is None:
        return True  # unreadable CardAccess: the CCCD supports PACE; the PACE module knows its profiles
    infos = getattr(ca, "pace_infos", None)
    return True if infos is None else bool(infos)


def authenticate(st: PipelineState, recovery: Recovery) -> None:
    """Try the keys in order. A refused key (AccessDenied) moves on to the next key; after
    MAX_KEY_ATTEMPTS refusals the read stops rather than risk the chip suspending access."""
    sec = st.record.security
    last: CCCDError | None = None
    denied = 0
    for key in st.options.keys:
        if denied >= MAX_KEY_ATTEMPTS:
            st.record.warnings.append(f"stopped after {MAX_KEY_ATTEMPTS} refused keys: cards may block "
                                      "after repeated wrong keys")
            break
        try:
            access = try_key(st, recovery, key)
        except AccessDenied as exc:
            denied += 1
            last = exc
            st.emit("access", "retry", message=f"the card refused the {key.kind} key")
            continue
        except (UnsupportedProtocol, PasswordTypeNotSupported) as exc:
            last = exc
            st.record.warnings.append(f"{key.kind} key: {exc}")
            continue
        st.access = access
        sec.access_protocol = access.protocol
        sec.access_key = key.kind
        return
    if isinstance(last, AccessDenied) or last is None:
        raise AccessDenied("the card refused every access key tried: check the CAN (last 6 digits of "
                           "the ID number) or the document number, date of birth and date of expiry")
    raise last


def try_key(st: PipelineState, recovery: Recovery, key: AccessKey) -> Access:
    """PACE with each profile the card may use; BAC with an MRZ key when the PACE policy allows."""
    from cccd_reader.protocols.pace import PACEPolicy, pace_profiles_to_try

    sec = st.record.security
    mode = st.options.access_mode
    pace_error: CCCDError | None = None
    if mode == "bac" and key.kind != "MRZ":
        raise UnsupportedProtocol("BAC needs the MRZ key (document number, date of birth, expiry)")
    if mode != "bac" and has_pace(st):
        for info in pace_profiles_to_try(st.card_access_raw):
            access = Access("PACE", key, info)
            sec.keys_tried += 1
            st.record.stats.key_attempts += 1
            try:
                open_card(st, recovery, access)
                return access
            except AccessDenied:
                raise
            except (UnsupportedProtocol, WrongParameters, InstructionNotSupported,
                    ConditionsNotSatisfied, FileNotFoundOnCard) as exc:
                # this parameter set is not the card's: try the next known profile
                pace_error = exc
                continue
        if not isinstance(pace_error, UnsupportedProtocol | PasswordTypeNotSupported):
            pace_error = UnsupportedProtocol("the card accepted none of the PACE parameter sets tried")
    if key.kind != "MRZ":
        raise pace_error or UnsupportedProtocol("a CAN is used with PACE, which this card does not offer")
    policy = PACEPolicy(allow_bac=mode != "pace")
    if mode == "pace" and pace_error is None:
        raise UnsupportedProtocol("the card does not offer PACE (EF.CardAccess lists no PACE parameters)")
    if pace_error is not None and not policy.may_fall_back_to_bac(
            card_access_available=st.card_access_raw is not None, pace_error=pace_error):
        raise pace_error
    if pace_error is not None and mode == "auto":
        st.record.warnings.append("PACE was not possible; the chip was read with BAC")
    access = Access("BAC", key, None)
    sec.keys_tried += 1
    st.record.stats.key_attempts += 1
    open_card(st, recovery, access)
    return access


_REFUSED_PARAMETERS = (UnsupportedProtocol, WrongParameters, InstructionNotSupported, ConditionsNotSatisfied,
                       FileNotFoundOnCard)


def open_card(st: PipelineState, recovery: Recovery, access: Access) -> None:
    """One access attempt under the recovery policy: a failure that is not the card refusing the key (a
    damaged or bare answer, an answer without status word, a broken first SELECT under secure messaging)
    is tried again with the same key and parameters, :data:`MAX_ATTEMPTS` times at most. Parameters the
    card refuses are retried only when they came from its own EF.CardAccess (then a refusal is
    unexpected); the guessed profiles of a card without one move on at the first refusal."""
    attempts = 0
    while True:
        try:
            recovery.guarded_auth(access)
            return
        except (AccessDenied, PasswordTypeNotSupported, InputError, CardRemovedError):
            raise
        except CCCDError as exc:
            attempts += 1
            guessed = st.card_access_raw is None or access.protocol != "PACE"
            if attempts >= MAX_ATTEMPTS or (isinstance(exc, _REFUSED_PARAMETERS) and guessed):
                raise
            st.record.stats.recoveries += 1
            st.link.current.retries += 1
            st.emit("access", "retry", message="the card's answer could not be used: opening it again")


def authenticate_with(st: PipelineState, access: Access) -> None:
    """Run PACE or BAC with ``access`` and select the application under secure messaging."""
    from cccd_reader.transport.secure import SecureMessagingTransport

    sec = st.record.security
    if access.protocol == "PACE":
        from cccd_reader.protocols.pace import perform_pace

        pace = perform_pace(st.link, access.key, pace_info=access.pace_info,
                            card_access=st.card_access_raw, random_bytes=st.options.random_bytes)
        st.sm = SecureMessagingTransport(st.link, pace.session)
        st.pace_result = pace
        st.record.evidence.pace = {  # what a verification bundle keeps of PACE (no session keys)
            "protocol_oid": pace.protocol_oid, "mapping": pace.mapping, "parameter_id": pace.parameter_id,
            "domain": pace.domain_name, "chip_mapping_public_key": pace.chip_mapping_public_key,
            "cam_data": pace.cam_data}
        sec.access_detail = f"{pace.protocol_name}, {pace.domain_name}"
        st.app_reader().select_application()
    else:
        from cccd_reader.keys import MRZKey
        from cccd_reader.protocols.bac import perform_bac

        if not isinstance(access.key, MRZKey):
            raise UnsupportedProtocol("BAC needs the MRZ key (document number, date of birth, expiry)")
        st.file_reader(st.link).select_application()
        bac = perform_bac(st.link, access.key, random_bytes=st.options.random_bytes)
        st.sm = SecureMessagingTransport(st.link, bac.session)
        sec.access_detail = "BAC (3DES)"
        st.app_reader()
