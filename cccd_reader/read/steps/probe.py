"""Steps ``probe`` and ``card_access``: what the card announces before anything is authenticated."""

from __future__ import annotations

from cccd_reader.errors import (
    CardError,
    CardRemovedError,
    ConditionsNotSatisfied,
    FileNotFoundOnCard,
    InstructionNotSupported,
    ParseError,
    SecurityStatusNotSatisfied,
    WrongParameters,
)
from cccd_reader.read.link import atr_extended_length, card_atr
from cccd_reader.read.recovery import Recovery
from cccd_reader.read.state import PipelineState


def probe(st: PipelineState, recovery: Recovery) -> None:
    """The ATR, whether it announces extended-length APDUs, and whether the link can come back after a
    tag loss (a transport that cannot is said so once, instead of a read that silently cannot recover)."""
    st.record.atr = card_atr(st.link)
    if not st.link.reconnectable:
        st.record.warnings.append("this transport cannot reconnect: a tag loss will end the read "
                                  "(a CardTransport with can_reconnect recovers from it)")
    caps = atr_extended_length(st.record.atr)
    if st.extended_length is None and caps is not None:
        st.extended_length = caps
    if st.record.atr:
        st.record.security.details["atr_extended_length"] = str(caps).lower() if caps is not None \
            else "unknown"


def read_card_access(st: PipelineState, recovery: Recovery) -> None:
    """EF.CardAccess: the PACE parameters. Unreadable or malformed, the known CCCD profiles are tried."""
    from cccd_reader.protocols import files as F

    attempts = 0
    while True:
        reader = st.file_reader(st.link)
        try:
            data = reader.read_file(F.FID_CARD_ACCESS, sfi=F.SFI_CARD_ACCESS, name="EF.CardAccess")
            if reader.extended_ok is False:
                # the card or the reader refused an extended read: do not ask again in this session
                # (learned from the answers alone, so a replayed trace makes the same choice)
                st.extended_length = False
            # the file reader's own step-downs count as this step's retries (as in the files step)
            st.link.current.retries += reader.stats.retries
            break
        except CardRemovedError:
            # nothing is authenticated yet: wait for the card and read the (small) file again
            attempts += 1
            if not recovery.before_access("card_access", attempts):
                raise
        except (FileNotFoundOnCard, SecurityStatusNotSatisfied, InstructionNotSupported, WrongParameters,
                ConditionsNotSatisfied, CardError) as exc:
            st.record.warnings.append(f"EF.CardAccess could not be read ({exc.__class__.__name__}); "
                                      "trying the known CCCD profiles, then BAC")
            return
    st.card_access_raw = data
    st.record.files["EF.CardAccess"] = data
    try:
        from cccd_reader.lds import decode_file

        st.card_access = decode_file("EF.CardAccess", data)
        st.record.decoded["EF.CardAccess"] = st.card_access
    except ParseError as exc:
        reason = getattr(exc, "reason", str(exc))
        st.record.warnings.append(f"EF.CardAccess is malformed ({reason}); trying the known profiles")
