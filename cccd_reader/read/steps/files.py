"""Step ``files``: EF.SOD first, then the data groups it lists, each checked against its hash.

To make sure no bytes from two different chips are spliced, every data group read across a recovery
must match its hash in EF.SOD (read first, before any data group); otherwise the read fails with
``ReadError`` and the bytes are dropped from the partial record rather than returned.

DG14 is read first of the data groups and Chip Authentication starts right after it (its APDUs charged to
the ``chip_auth`` step): the other files, the portrait among them, travel under its stronger keys, and
the first of them read intact under those keys is its proof, so no file is read twice. When that first
read fails, nothing is concluded: the read goes on under the access keys and the ``chip_auth`` step runs
Chip Authentication again with its own proof (authenticity.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection

from cccd_reader.errors import (
    CCCDError,
    FileNotFoundOnCard,
    ParseError,
    ReadError,
    SecureMessagingError,
    SecurityStatusNotSatisfied,
    TransientError,
)
from cccd_reader.read.recovery import Recovery, StepIncomplete
from cccd_reader.read.state import PipelineState

# files the pipeline reads when the SOD cannot be read / does not list them
DEFAULT_DGS = (1, 2, 13, 14, 15)
EAC_PROTECTED = (3, 4)  # fingerprints / iris: Extended Access Control, not attempted without TA


def read_one(st: PipelineState, recovery: Recovery, name: str, fid: int, sfi: int, *,
             listed: bool = False) -> bytes:
    """Read one file through the recovery policy: after a transient failure the card is opened again and
    the file reader continues at the offset it had reached. A file the SOD (or EF.COM) ``listed`` that
    answers 6A82 / 6982 is retried the same way: a listed file does not vanish. Raises
    :class:`~cccd_reader.read.recovery.StepIncomplete` when the file could not be read after the retries.
    """
    def progress(done: int, total: int | None = None) -> None:
        st.emit("files", "bytes", file=name, done=done, total=total)

    resumed = False

    def attempt() -> bytes:
        nonlocal resumed
        reader = st.reader
        assert reader is not None
        try:
            return bytes(reader.read_file(fid, sfi=sfi, name=name, progress=progress))
        except (TransientError, SecureMessagingError, FileNotFoundOnCard, SecurityStatusNotSatisfied) as exc:
            if st.ca_pending:
                from cccd_reader.read.steps import authenticity

                authenticity.chip_auth_unconfirmed(st)  # no proof either way: the chip_auth step decides
            if reader.partials.get(name):
                resumed = True
            if isinstance(exc, SecureMessagingError) and reader.read_limit > 256:
                # Secure messaging broke while extended reads were in use. Our counter assumes a
                # chip that refuses an extended APDU bare does not count it (gmrtd #457); a chip
                # that does count it answers the next command with 6988. Either way: read on with
                # short APDUs after re-authenticating.
                reader.extended = False
                st.extended_length = False
                st.record.warnings.append("extended-length reads broke secure messaging; "
                                          "reading on with short reads")
            raise

    retry_on = (FileNotFoundOnCard, SecurityStatusNotSatisfied) if listed else ()
    data = recovery.guarded("files", attempt, what=name, retry_on=retry_on)
    if st.ca_pending:
        from cccd_reader.read.steps import authenticity

        authenticity.chip_auth_confirmed(st)
    if resumed:
        st.resumed.add(name)
    return data


def read_files(st: PipelineState, recovery: Recovery) -> None:
    from cccd_reader.lds import file_info

    rec = st.record
    requested = st.options.requested
    # EF.SOD first: it lists the data groups, and its hashes guard every resumed file
    sod_info = file_info("EF.SOD")
    assert sod_info is not None
    sod_raw: bytes | None
    try:
        sod_raw = read_one(st, recovery, "EF.SOD", sod_info.fid, sod_info.sfi, listed=True)
    except StepIncomplete as exc:
        cause = exc.__cause__.__class__.__name__ if exc.__cause__ is not None else "error"
        rec.warnings.append(f"EF.SOD could not be read ({cause}): nothing can be verified")
        rec.security.could_not_complete("files", f"EF.SOD could not be read ({cause})")
        sod_raw = None
    if sod_raw is not None:
        rec.files["EF.SOD"] = sod_raw
        try:
            from cccd_reader.lds.sod import SOD

            st.sod = SOD.decode(sod_raw)
            rec.decoded["EF.SOD"] = st.sod
        except ParseError as exc:
            rec.warnings.append(f"EF.SOD is malformed: {getattr(exc, 'reason', exc)}")
    listing: Collection[int] | None = st.sod.data_groups if st.sod is not None else None
    if listing is not None and 2 not in listing:
        # not a missing file: the issuer signed a card without one (children under 6 have no portrait)
        why = "no portrait: EF.SOD lists no DG2 (cards issued to children under 6 carry none)"
        rec.warnings.append(why)
        rec.security.details["portrait"] = why
    if requested is not None:
        wanted = list(requested)
    elif st.sod is not None:
        wanted = [f"DG{n}" for n in st.sod.data_groups]
    else:
        com = read_optional(st, recovery, "EF.COM")
        from_com = dgs_from_com(com)
        wanted = from_com or [f"DG{n}" for n in DEFAULT_DGS]
        if from_com:
            listing = [int(n[2:]) for n in from_com if n[2:].isdigit()]
    if "DG14" in wanted:  # Chip Authentication before the large files (see the module docstring)
        wanted = ["DG14", *(n for n in wanted if n != "DG14")]
    for name in wanted:
        if name in rec.files:
            continue
        info = file_info(name)
        if info is None:
            rec.warnings.append(f"{name}: not an LDS file name, skipped")
            continue
        eac = info.dg in EAC_PROTECTED
        if eac and requested is None:
            note = (f"{info.name} is protected by Extended Access Control (needs terminal "
                    "authentication): not read")
            rec.warnings.append(note)
            rec.security.unread_expected.append(info.name)
            st.emit("files", "skip", file=info.name)
            continue
        listed = listing is not None and info.dg in listing
        try:
            # a listed file that answers 6A82/6982 is retried (it cannot vanish); EAC-protected DG3/DG4
            # answer 6982 without terminal authentication: expected, so not retried
            rec.files[info.name] = read_one(st, recovery, info.name, info.fid, info.sfi,
                                            listed=listed and not eac)
            if info.name == "DG14":
                from cccd_reader.read.steps import authenticity

                authenticity.chip_auth_early(st, recovery)
        except SecurityStatusNotSatisfied:
            if eac:
                rec.warnings.append(f"{info.name} is protected by Extended Access Control (needs terminal "
                                    "authentication): not read")
                rec.security.unread_expected.append(info.name)
            else:
                rec.warnings.append(f"{info.name}: access denied by the card (protected): not read")
            st.emit("files", "skip", file=info.name)
        except FileNotFoundOnCard:
            rec.warnings.append(f"{info.name}: not on the card")
            st.emit("files", "skip", file=info.name)
        except StepIncomplete as exc:
            cause = exc.__cause__.__class__.__name__ if exc.__cause__ is not None else "error"
            rec.warnings.append(f"{info.name}: listed but could not be read ({cause})")
            rec.security.could_not_complete("files", f"{info.name} is listed but could not be read ({cause})")
            st.emit("files", "skip", file=info.name)
    if st.reader is not None:
        # the file reader's own retries (SFI refused, Le stepped down) count as this step's retries
        fr = st.reader.stats
        st.link.current.retries += int(getattr(fr, "retries", 0)) + len(getattr(fr, "fallbacks", []))
    check_hashes(st)


def read_optional(st: PipelineState, recovery: Recovery, name: str) -> bytes | None:
    from cccd_reader.lds import file_info

    info = file_info(name)
    if info is None:
        return None
    try:
        data = read_one(st, recovery, info.name, info.fid, info.sfi)
    except (FileNotFoundOnCard, SecurityStatusNotSatisfied, StepIncomplete):
        return None
    st.record.files[info.name] = data
    return data


def check_hashes(st: PipelineState) -> None:
    """Every data group must match its hash in the SOD; a resumed one that does not is an error."""
    record = st.record
    if st.sod is None:
        if st.resumed:
            for name in st.resumed:
                record.files.pop(name, None)
            raise ReadError("a file was resumed after a tag loss but there is no EF.SOD to check it "
                            "against", step="files", partial=record)
        return
    algo = hash_name(getattr(st.sod, "hash_algorithm", ""))
    hashes: dict[int, bytes] = dict(getattr(st.sod, "dg_hashes", {}) or {})
    ok = True
    for name, data in list(record.files.items()):
        if not (name.startswith("DG") and name[2:].isdigit()):
            continue
        expected = hashes.get(int(name[2:]))
        if expected is None:
            if name in st.resumed:
                record.files.pop(name, None)
                raise ReadError(f"{name} was read across a tag loss and EF.SOD has no hash to check it: "
                                "read the card again", step="files", partial=record)
            record.warnings.append(f"{name} is not listed in EF.SOD: it cannot be verified")
            continue
        try:
            actual = hashlib.new(algo, data).digest()
        except ValueError:
            return  # unknown hash algorithm: left to passive authentication to report
        if actual != expected:
            ok = False
            if name in st.resumed:
                record.files.pop(name, None)  # never hand out spliced bytes
                record.decoded.pop(name, None)
                raise ReadError(f"{name} read across a tag loss does not match EF.SOD: the bytes are "
                                "discarded; read the card again", step="files", partial=record)
            record.warnings.append(f"{name} does not match its hash in EF.SOD")
    record.security.hashes_ok = ok


def dgs_from_com(com: bytes | None) -> list[str]:
    if not com:
        return []
    try:
        from cccd_reader.lds import decode_file

        decoded = decode_file("EF.COM", com)
    except CCCDError:
        return []
    dgs = getattr(decoded, "data_groups", None)
    if not dgs:
        return []
    return [f"DG{n}" if isinstance(n, int) else str(n) for n in dgs]


def hash_name(name: str) -> str:
    n = (name or "").lower().replace("-", "").replace("_", "")
    return {"sha1": "sha1", "sha224": "sha224", "sha256": "sha256", "sha384": "sha384",
            "sha512": "sha512"}.get(n, n or "sha256")
