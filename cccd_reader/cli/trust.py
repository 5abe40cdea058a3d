"""``cccd-read trust``: the user's own trust store (CSCA certificates, master lists, CRLs).

``read``, ``watch``, ``serve`` and ``verify`` use it when no ``--trust`` is given. Adding shows each
item's SHA-256 fingerprint and asks the user to compare it with the one the issuer publishes: that
comparison, not the download, is what makes an anchor trustworthy. ``fetch`` is the only network access
of the command, and only when asked.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from cccd_reader.cli import handle_errors
from cccd_reader.cli.read import key_options, open_transport, reader_options, resolve_key
from cccd_reader.errors import InputError, ParseError, TrustStoreError


def _store(ctx: click.Context) -> Any:
    from cccd_reader.verify.userstore import UserTrustStore

    obj = ctx.find_object(dict)
    folder = obj.get("data_dir") if obj else None
    return UserTrustStore(Path(folder) / "trust" if folder else None)


def _describe(item: Any) -> list[str]:
    """Lines about one item, for ``add`` (before confirming), ``show`` and ``fetch``."""
    lines = [f"{item.kind}: {item.name}"]
    cert = item.certificate
    if cert is not None:
        from cccd_reader.verify.issuer import key_id_text

        lines.append(f"  issuer: {cert.issuer}")
        lines.append(f"  serial: {format(cert.serial_number, 'X')}")
        lines.append(f"  valid: {cert.not_before.date().isoformat()} .. {cert.not_after.date().isoformat()}")
        if cert.subject_key_identifier:
            lines.append(f"  key identifier: {key_id_text(cert.subject_key_identifier)}")
    if item.crl is not None:
        nxt = item.crl.next_update.date().isoformat() if item.crl.next_update else "?"
        lines.append(f"  this update {item.crl.this_update.date().isoformat()}, next update {nxt}, "
                     f"{len(item.crl.revoked)} revoked")
    if item.master_list is not None:
        ml = item.master_list
        lines.append(f"  signed by: {ml.signer or 'no signer certificate'}; signature "
                     f"{'valid' if ml.signature_valid else 'not checked'}")
    lines.append(f"  SHA-256 fingerprint: {item.fingerprint_text}")
    return lines


def _confirm_and_add(store: Any, items: list[Any], yes: bool) -> None:
    for item in items:
        for line in _describe(item):
            click.echo(line)
    click.echo("Compare the fingerprint(s) above with the one the issuer publishes (for the Vietnam eID "
               "CSCA: the issuer's own site, not a copy from elsewhere).")
    if not yes and not click.confirm("Do they match, and do you want to trust this?", default=False):
        raise click.ClickException("nothing was added")
    for item in store.add(items):
        click.echo(f"added {item.id} ({item.kind}) to {store.folder}")


TRUST_EXAMPLES = """
Examples:

\b
  cccd-read trust add eid-csca-vietnam.crt     (shows the fingerprint, asks before adding)
  cccd-read trust list
  cccd-read trust remove D5A1EAED
  cccd-read trust fetch --qr card-front.jpg    (download the CSCA named by the card's signer)
  cccd-read trust --data-dir ./ci-data add -y csca.pem
"""


@click.group("trust", epilog=TRUST_EXAMPLES)
@click.option("--data-dir", envvar="CCCD_READER_DATA_DIR", metavar="DIR",
              help="The data folder (default: the user data directory; env CCCD_READER_DATA_DIR).")
@click.pass_context
def command(ctx: click.Context, data_dir: str | None) -> None:
    """Your trust store: the CSCAs that make a card's verdict 'genuine'."""
    ctx.ensure_object(dict)
    ctx.obj["data_dir"] = data_dir


@command.command("add", epilog="Example: cccd-read trust add eid-csca-vietnam.crt")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--yes", "-y", is_flag=True, help="Do not ask (you compared the fingerprint already).")
@click.pass_context
@handle_errors
def add(ctx: click.Context, files: tuple[str, ...], yes: bool) -> None:
    """Add CSCA certificates (PEM, DER .crt/.cer/.der), ICAO master lists (.ml) or CRLs."""
    from cccd_reader.verify.userstore import read_trust_file

    items = [item for path in files for item in read_trust_file(path)]
    _confirm_and_add(_store(ctx), items, yes)


@command.command("list")
@click.option("--json", "as_json", is_flag=True, help="As JSON.")
@click.pass_context
@handle_errors
def list_(ctx: click.Context, as_json: bool) -> None:
    """What the trust store holds."""
    store = _store(ctx)
    items = store.items()
    if as_json:
        click.echo(json.dumps([{"id": i.id, "kind": i.kind, "name": i.name, "fingerprint": i.fingerprint_text,
                                "file": str(i.path)} for i in items], ensure_ascii=False, indent=2))
        return
    problems = store.problems()
    if not items and not problems:
        click.echo(f"the trust store is empty ({store.folder}); add a CSCA with `cccd-read trust add FILE`")
        return
    for i in items:
        click.echo(f"{i.id}  {i.kind:<11}  {i.name}")
    for path, why in problems:
        click.echo(f"unreadable: {path.name} ({why}); remove it with `cccd-read trust remove {path.name}`",
                   err=True)


@command.command("show")
@click.argument("ident")
@click.pass_context
@handle_errors
def show(ctx: click.Context, ident: str) -> None:
    """Details of one item (IDENT: the start of its fingerprint, as `list` shows it)."""
    item = _store(ctx).find(ident)
    for line in _describe(item):
        click.echo(line)
    click.echo(f"  file: {item.path}")


@command.command("remove")
@click.argument("ident")
@click.pass_context
@handle_errors
def remove(ctx: click.Context, ident: str) -> None:
    """Remove one item (IDENT: the start of its fingerprint)."""
    item = _store(ctx).remove(ident)
    click.echo(f"removed {item.id} ({item.kind}: {item.name})")


@command.command("path")
@click.pass_context
def path(ctx: click.Context) -> None:
    """Print the trust store's folder."""
    click.echo(str(_store(ctx).folder))


def _signer_from_file(source: str) -> bytes:
    """The document signer certificate from a certificate file or a saved EF.SOD."""
    from asn1crypto import pem

    try:
        data = Path(source).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {source}: {exc.strerror}") from None
    if pem.detect(data):
        try:
            return bytes(pem.unarmor(data)[2])
        except Exception:
            raise InputError(f"{source}: malformed PEM") from None
    from cccd_reader.lds.sod import decode_sod
    from cccd_reader.verify.trust import CertificateInfo

    try:
        CertificateInfo.from_der(data)
        return data
    except ParseError:
        pass
    try:
        sod = decode_sod(data)
    except ParseError:
        raise InputError(f"{source} is neither a certificate nor an EF.SOD") from None
    if not sod.signer_certificates:
        raise InputError(f"{source}: the EF.SOD carries no document signer certificate")
    return bytes(sod.signer_certificates[0])


def _signer_from_card(**options: Any) -> bytes:
    from cccd_reader.lds.sod import decode_sod
    from cccd_reader.read import read_card

    card = {k: options.pop(k) for k in ("reader", "nfc", "emulator", "wait")}
    key = None
    if any(options.values()) or card["emulator"] is None:
        key = resolve_key(**options, interactive=sys.stdin.isatty() and card["emulator"] is None)
    with open_transport(**card) as (transport, sample):
        if key is None and sample is not None:
            key = sample.key
        record = read_card(transport, key, files=["DG1"])
    raw = record.files.get("EF.SOD")
    if raw is None:
        raise InputError("the card gave no EF.SOD")
    sod = decode_sod(raw)
    if not sod.signer_certificates:
        raise InputError("the card's EF.SOD carries no document signer certificate")
    return bytes(sod.signer_certificates[0])


@command.command("fetch", epilog="Examples: cccd-read trust fetch EF.SOD.bin   |   "
                 "cccd-read trust fetch --can 012345")
@click.argument("source", required=False, metavar="[SOD_OR_CERT]")
@reader_options
@key_options
@click.option("--yes", "-y", is_flag=True, help="Do not ask (you compared the fingerprint already).")
@click.option("--timeout", type=float, default=15.0, show_default=True, help="Per download, seconds.")
@click.pass_context
@handle_errors
def fetch(ctx: click.Context, source: str | None, yes: bool, timeout: float, **options: Any) -> None:
    """Download the CSCA (and CRL) named in a document signer certificate, check, and add it.

    The signer comes from SOD_OR_CERT (a saved EF.SOD or the signer's certificate), else from the card
    (same options as `cccd-read read`). Only the addresses in that certificate are contacted.
    """
    from cccd_reader.verify.fetch import fetch_issuer
    from cccd_reader.verify.issuer import signer_extensions
    from cccd_reader.verify.userstore import inspect_trust_data

    signer = _signer_from_file(source) if source else _signer_from_card(**options)
    ext = signer_extensions(signer)
    if not ext.ca_issuer_urls:
        raise TrustStoreError("the document signer certificate names no address for its CSCA")
    click.echo("Downloading the signer's CSCA from the addresses in its certificate:")
    for url in (*ext.ca_issuer_urls, *ext.crl_urls):
        click.echo(f"  {url}")
    fetched = fetch_issuer(signer, timeout=timeout)
    for line in fetched.attempts:
        click.echo(f"  {line}")
    items = inspect_trust_data(fetched.certificate.der, source=fetched.certificate_url)
    if fetched.crl_der is not None:
        items += inspect_trust_data(fetched.crl_der, source=fetched.crl_url)
    _confirm_and_add(_store(ctx), items, yes)
