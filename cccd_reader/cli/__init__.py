"""The ``cccd-read`` command: thin, it parses arguments, calls the public API and prints.

Sub-commands live in sibling modules (``qr``, ``demo``, ``read``, ...), each exposing ``command``; they
are imported here so that ``cccd-read --help`` lists them all.

Exit codes (documented in docs/cli.md):

==  =========================================================
0   success
1   verification failed (chip data not genuine / mismatch)
2   bad input (QR payload, MRZ, key, file, usage; a QR backend that is not installed)
3   no reader found / PC/SC service not running
4   no card presented in time
5   access denied (wrong CAN / MRZ data)
6   card removed or link lost
7   other card or protocol error
8   reader busy
130 interrupted (Ctrl-C)
==  =========================================================
"""

from __future__ import annotations

import contextlib
import importlib
import os
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click

from cccd_reader import errors
from cccd_reader.i18n import N_, _, language, set_language
from cccd_reader.safetext import json_safe, visible

EXIT_OK = 0
EXIT_VERIFICATION_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_NO_READER = 3
EXIT_NO_CARD = 4
EXIT_ACCESS_DENIED = 5
EXIT_CARD_REMOVED = 6
EXIT_CARD_ERROR = 7
EXIT_READER_BUSY = 8
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report a command stopped by Ctrl-C

_EXIT_BY_ERROR: list[tuple[type[BaseException], int]] = [
    (errors.InputError, EXIT_BAD_INPUT),
    (errors.TrustStoreError, EXIT_BAD_INPUT),  # a --trust file that is missing or not a certificate
    (errors.QRNotFoundError, EXIT_BAD_INPUT),
    (errors.QRBackendUnavailable, EXIT_BAD_INPUT),
    (errors.ReaderNotFoundError, EXIT_NO_READER),
    (errors.NoCardError, EXIT_NO_CARD),
    (errors.AccessDenied, EXIT_ACCESS_DENIED),
    (errors.CardRemovedError, EXIT_CARD_REMOVED),
    (errors.ReaderBusyError, EXIT_READER_BUSY),
    (errors.VerificationError, EXIT_VERIFICATION_FAILED),
]

_SUBCOMMANDS = ("qr", "demo", "read", "readers", "watch", "replay", "trust", "serve", "verify")


def root_cause(exc: BaseException) -> BaseException:
    """The error a failed read (ReadError) stands for: what the card or the input really did."""
    seen = 0
    while isinstance(exc, errors.ReadError) and seen < 8:
        cause = getattr(exc, "cause", None) or exc.__cause__
        if not isinstance(cause, BaseException):
            break
        exc, seen = cause, seen + 1
    return exc


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code for an error; a failed read gets the code of what made it fail."""
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    exc = root_cause(exc)
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    for cls, code in _EXIT_BY_ERROR:
        if isinstance(exc, cls):
            return code
    return EXIT_CARD_ERROR


# What each exit code means, for error lines in languages other than English (whose detail, from the
# library, stays in English): "cccd-read: lỗi: thẻ từ chối khóa truy cập ... (access: ...)"
EXIT_MEANINGS = {
    EXIT_VERIFICATION_FAILED: N_("verification failed"),
    EXIT_BAD_INPUT: N_("bad input"),
    EXIT_NO_READER: N_("no reader found, or the PC/SC service is not running"),
    EXIT_NO_CARD: N_("no card on the reader"),
    EXIT_ACCESS_DENIED: N_("the card refused the key: check the CAN (the last 6 digits of the ID number) "
                           "or the MRZ data"),
    EXIT_CARD_REMOVED: N_("the card was removed or the link was lost: hold the card still on the reader"),
    EXIT_CARD_ERROR: N_("card or protocol error"),
    EXIT_READER_BUSY: N_("the reader is in use by another application"),
    EXIT_INTERRUPTED: N_("interrupted"),
}
_PREFIXES = {"error": N_("error"), "card not read": N_("card not read"),
             "portrait not saved": N_("portrait not saved")}


def error_line(exc: BaseException | str, prefix: str = "error") -> str:
    """``cccd-read: error: ...`` with any control or bidi character in the message made visible.

    In another language than English the prefix is translated and the meaning of the exit code comes
    first, in that language; the detail (the library's message) follows in brackets.
    """
    detail = visible(exc)
    if language() == "en":
        return f"cccd-read: {prefix}: {detail}"
    word = _(_PREFIXES.get(prefix, prefix))
    if isinstance(exc, BaseException):
        meaning = EXIT_MEANINGS.get(exit_code_for(exc))
        if meaning:
            return f"cccd-read: {word}: {_(meaning)} ({detail})"
    return f"cccd-read: {word}: {detail}"


def json_text(data: Any, *, lines: bool = False) -> str:
    """JSON for stdout: UTF-8 text (Vietnamese readable), every control/bidi character escaped.

    ``lines``: one compact line (``watch``'s JSON Lines), else indented.
    """
    import json

    if lines:
        return json_safe(json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return json_safe(json.dumps(data, ensure_ascii=False, indent=2))


def fail(exc: BaseException, *, debug: bool = False) -> NoReturn:
    """Print one readable line for a library error (no personal data) and exit with its code."""
    click.echo(error_line(exc), err=True)
    if debug:
        import traceback

        traceback.print_exception(exc, file=sys.stderr)
    sys.exit(exit_code_for(exc))


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator for sub-commands: library errors become one line on stderr and a documented exit code."""
    import functools

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except errors.CCCDError as exc:
            ctx = click.get_current_context(silent=True)
            debug = bool(ctx and ctx.find_root().params.get("debug"))
            fail(exc, debug=debug)

    return wrapper


# --- output files ---------------------------------------------------------------------------------------


def check_output_file(path: str | os.PathLike[str], option: str) -> Path:
    """Refuse an output path that cannot be written, before any card is touched (InputError, exit 2).

    A missing folder, a folder given as the file, and a folder we may not create files in are caught
    by creating (and removing) a scratch file next to the target, which also works on read-only mounts.
    """
    target = Path(path)
    shown = os.fspath(path)  # made visible where the error line is printed
    if not os.fspath(path):
        raise errors.InputError(f"{option}: empty file name")
    if target.is_dir():
        raise errors.InputError(f"{option} {shown}: is a folder; give a file name")
    folder = target.parent
    if not folder.is_dir():
        raise errors.InputError(f"{option} {shown}: the folder {folder} does not exist")
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".cccd-write-check-"):
            pass
    except OSError as exc:
        raise errors.InputError(f"{option} {shown}: cannot write in {folder} "
                                f"({exc.strerror or type(exc).__name__})") from None
    if target.exists() and not os.access(target, os.W_OK):
        raise errors.InputError(f"{option} {shown}: the file is not writable")
    return target


def open_private(path: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> Any:
    """Open an output file readable by its owner only (0600): it holds personal data.

    A file that already exists is truncated (``"w"``) or appended to (``"a"``) and tightened to 0600.
    """
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if mode.startswith("a") else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    with contextlib.suppress(OSError):  # a file system without permissions (some mounts)
        os.fchmod(fd, 0o600)
    return os.fdopen(fd, mode, **kwargs)


def tighten_stdout() -> None:
    """When stdout was redirected to a new (empty) regular file of ours, make that file 0600.

    ``cccd-read read --json > card.json`` creates card.json with the shell's umask (usually readable by
    every local user); the record in it is personal data. A file being appended to is left as it is.
    """
    try:
        fd = sys.stdout.fileno()
        st = os.fstat(fd)
    except (AttributeError, OSError, ValueError):  # not a real file (a test runner's buffer, a pipe)
        return
    if stat.S_ISREG(st.st_mode) and st.st_size == 0 and st.st_uid == os.geteuid() \
            and st.st_mode & 0o077:
        with contextlib.suppress(OSError):
            os.fchmod(fd, 0o600)


class _Main(click.Group):
    """The root command: Ctrl-C anywhere is one line and exit 130, never a traceback or "Aborted!"."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (KeyboardInterrupt, click.exceptions.Abort):
            click.echo("\ncccd-read: " + _("interrupted"), err=True)
            sys.exit(EXIT_INTERRUPTED)


def _choose_language(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """``--lang`` of the root command: the language given, else the locale's."""
    try:
        set_language(value)
    except errors.InputError as exc:
        raise click.BadParameter(str(exc)) from None


def _override_language(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """``--lang`` of a sub-command: only when given (else the root's choice stands)."""
    if value:
        _choose_language(ctx, param, value)


LANG_HELP = "Language of the output for people: vi (Tiếng Việt) or en. Default: from the locale (LANG)."


def lang_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--lang vi|en`` on a sub-command (``cccd-read read --lang vi``); JSON is not translated."""
    return click.option("--lang", metavar="LANG", expose_value=False, is_eager=True,
                        callback=_override_language, help=LANG_HELP)(func)


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show error details (never personal data).")
@click.option("--lang", metavar="LANG", expose_value=False, is_eager=True, callback=_choose_language,
              help=LANG_HELP)
@click.version_option(package_name="cccd-reader")
def main(debug: bool) -> None:
    """Read Vietnam's chip ID card (CCCD / Căn cước): QR code, chip, authenticity."""


for _name in _SUBCOMMANDS:
    _command = importlib.import_module(f"cccd_reader.cli.{_name}").command
    if not any(p.name == "lang" for p in _command.params):
        lang_option(_command)
    main.add_command(_command)
