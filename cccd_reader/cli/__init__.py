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
==  =========================================================
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any, NoReturn

import click

from cccd_reader import errors

EXIT_OK = 0
EXIT_VERIFICATION_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_NO_READER = 3
EXIT_NO_CARD = 4
EXIT_ACCESS_DENIED = 5
EXIT_CARD_REMOVED = 6
EXIT_CARD_ERROR = 7
EXIT_READER_BUSY = 8

_EXIT_BY_ERROR: list[tuple[type[BaseException], int]] = [
    (errors.InputError, EXIT_BAD_INPUT),
    (errors.QRNotFoundError, EXIT_BAD_INPUT),
    (errors.QRBackendUnavailable, EXIT_BAD_INPUT),
    (errors.ReaderNotFoundError, EXIT_NO_READER),
    (errors.NoCardError, EXIT_NO_CARD),
    (errors.AccessDenied, EXIT_ACCESS_DENIED),
    (errors.CardRemovedError, EXIT_CARD_REMOVED),
    (errors.ReaderBusyError, EXIT_READER_BUSY),
    (errors.VerificationError, EXIT_VERIFICATION_FAILED),
]

_SUBCOMMANDS = ("qr", "demo", "read", "readers", "watch", "replay", "trust", "serve")


def exit_code_for(exc: BaseException) -> int:
    for cls, code in _EXIT_BY_ERROR:
        if isinstance(exc, cls):
            return code
    return EXIT_CARD_ERROR


def fail(exc: BaseException, *, debug: bool = False) -> NoReturn:
    """Print one readable line for a library error (no personal data) and exit with its code."""
    click.echo(f"cccd-read: error: {exc}", err=True)
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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show error details (never personal data).")
@click.version_option(package_name="cccd-reader")
def main(debug: bool) -> None:
    """Read Vietnam's chip ID card (CCCD / Căn cước): QR code, chip, authenticity."""


for _name in _SUBCOMMANDS:
    main.add_command(importlib.import_module(f"cccd_reader.cli.{_name}").command)
