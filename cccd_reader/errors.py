"""The library's one exception tree.

Every error the library raises on purpose is a :class:`CCCDError`. Messages say what was wrong and what
the caller can do about it; they never contain personal data (ID numbers, names, dates of birth, CAN,
MRZ) or key material. Where an error carries structured context (a file name, an offset, a status word)
it is kept in attributes, not interpolated from untrusted values.
"""

from __future__ import annotations


class CCCDError(Exception):
    """Root of every error raised by :mod:`cccd_reader`."""


# --- input given by the user or printed on the card -------------------------------------------------


class InputError(CCCDError, ValueError):
    """Data given to the library (typed in, scanned, loaded from a file) is not valid."""


class QRPayloadError(InputError):
    """The QR text is not a CCCD / Căn cước payload. ``field`` names the offending field, if any."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class QRImageError(InputError):
    """An image could not be read (not an image, truncated, unsupported format)."""


class QRNotFoundError(CCCDError, LookupError):
    """No QR code (or no CCCD payload) was found in the image or frames given."""


class QRBackendUnavailable(CCCDError, ImportError):
    """A QR decoding backend was asked for but its package is not installed."""


class MRZError(InputError):
    """An MRZ is malformed or a check digit does not match. ``field`` names the part."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class KeyInputError(InputError):
    """An access key (CAN, document number, dates) is malformed."""


class IDNumberError(InputError):
    """A 12-digit personal ID number is malformed or inconsistent (strict mode)."""


# --- bytes from the card or from files -------------------------------------------------------------


class ParseError(CCCDError, ValueError):
    """Bytes from the chip, a file or a trace could not be decoded.

    ``file`` names the structure being decoded (e.g. ``"DG13"``), ``offset`` is the byte offset where
    decoding failed when it is known.
    """

    def __init__(self, message: str, *, file: str | None = None, offset: int | None = None) -> None:
        where = []
        if file:
            where.append(file)
        if offset is not None:
            where.append(f"offset {offset}")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)
        self.file = file
        self.offset = offset
        self.reason = message


class TLVError(ParseError):
    """A BER-TLV structure is malformed, too deep or too long."""


# --- talking to the card ----------------------------------------------------------------------------


class TransportError(CCCDError):
    """The link to the card failed (reader error, card removed, tag lost)."""


class TransientError(TransportError):
    """A step could not complete because of the link, and nothing was proven wrong.

    A damaged or lost answer, an answer that arrived without secure messaging (a bare status word anyone
    on the link could send), or a status word that does not fit the step. Authenticate again and retry
    the step: a genuine card answers correctly the next time. ``step`` names the protocol step.
    Proof of forgery (an answer intact under secure messaging yet wrong) is never a TransientError.
    """

    def __init__(self, message: str, *, step: str | None = None) -> None:
        super().__init__(message)
        self.step = step


class ReaderNotFoundError(TransportError):
    """No (matching) reader is connected, or the PC/SC service is not running."""


class NoCardError(TransportError):
    """A reader is there but no card was presented in time."""


class CardRemovedError(TransientError):
    """The card left the field or the link dropped during an exchange (tag loss)."""


class ReaderBusyError(TransportError):
    """The reader is in use by another application."""


class TraceMismatchError(TransportError):
    """A replayed trace received a command different from the recorded one."""


class CardError(CCCDError):
    """The card answered with an error status word. ``sw`` is the status word as an int."""

    def __init__(self, message: str, *, sw: int | None = None) -> None:
        super().__init__(message if sw is None else f"{message} (SW {sw:04X})")
        self.sw = sw


class SecurityStatusNotSatisfied(CardError):
    """6982: the file or command needs access rights this session does not have."""


class FileNotFoundOnCard(CardError):
    """6A82: the card has no such file or application."""


class WrongLength(CardError):
    """6700 / 6Cxx: the card rejected the expected length. ``correct_le`` is set for 6Cxx."""

    def __init__(self, message: str, *, sw: int | None = None, correct_le: int | None = None) -> None:
        super().__init__(message, sw=sw)
        self.correct_le = correct_le


class EndOfFile(CardError):
    """6282 / 6B00: read past the end of the file."""


class ConditionsNotSatisfied(CardError):
    """6985: conditions of use not satisfied (often: wrong step order)."""


class InstructionNotSupported(CardError):
    """6D00 / 6E00: the card does not support this instruction or class."""


class WrongParameters(CardError):
    """6A80 / 6A86 / 6A87 / 6B00: wrong data or parameters in the command."""


class SecureMessagingError(CardError):
    """Secure messaging failed: 6987/6988 from the card, or a response whose MAC, DO99 or layout is wrong.

    After this error the session keys are no longer usable: re-authenticate.
    """


class AuthenticationError(CCCDError):
    """An access-control or authentication protocol failed."""


class AccessDenied(AuthenticationError):
    """The card refused the access key (BAC / PACE mutual authentication failed, 6300 / 6985 / 6982).

    The message says which inputs to check (CAN, document number, date of birth, date of expiry).
    """


class UnsupportedProtocol(AuthenticationError):
    """The card asks for a protocol, mapping, cipher or domain parameter this library does not support."""


class PasswordTypeNotSupported(AuthenticationError):
    """PIN / PUK PACE passwords are refused: the CCCD is read with CAN or MRZ."""


class ChipAuthenticationError(AuthenticationError):
    """Chip Authentication failed: the chip may be a clone."""


class ActiveAuthenticationError(AuthenticationError):
    """Active Authentication failed: the chip may be a clone."""


# --- verification -----------------------------------------------------------------------------------


class VerificationError(CCCDError):
    """Passive authentication could not be carried out (as opposed to a failed verdict)."""


class BundleError(InputError):
    """A verification bundle cannot be read: not a bundle, malformed, or a field of the wrong type."""


class BundleVersionError(BundleError):
    """A verification bundle of a format version this library does not know (newer: update the library)."""

    def __init__(self, message: str, *, version: object = None) -> None:
        super().__init__(message)
        self.version = version


class TrustStoreError(VerificationError):
    """A trust anchor, master list or CRL could not be loaded."""


class ReadError(CCCDError):
    """The read pipeline failed at ``step``; ``partial`` holds what was read before the failure."""

    def __init__(self, message: str, *, step: str, partial: object | None = None) -> None:
        super().__init__(f"{step}: {message}")
        self.step = step
        self.partial = partial


class ReadLinkError(ReadError, TransportError):
    """A read that stopped because the link failed: a :class:`ReadError` (``step``, ``partial``, and
    ``cause``, the link's own error) that is also a :class:`TransportError`, so either ``except`` sees it."""


__all__ = [
    name for name, obj in list(globals().items()) if isinstance(obj, type) and issubclass(obj, CCCDError)
]
