"""The whole read, and each authentication protocol, against a hostile or broken chip.

A chip under an attacker's control (or a broken one) can answer anything. The contract under attack:
``read_card`` returns a CardRecord or raises the library's own error (a CCCDError subclass), never any
other exception; it never calls a record "genuine" when a data group differs from what the real card
holds; and no error message, repr or warning reachable this way carries the sample person's personal
data or keys. Ground truth is the virtual chip's personalisation (``card.image``), not the reader's output.

The unauthenticated phases (EF.CardAccess, the PACE GENERAL AUTHENTICATE answers, the BAC answers) are
where a chip without keys can feed arbitrary bytes into parsers and group arithmetic, so they are also
attacked directly with scripted answers: points off the curve, the point at infinity, empty nonces,
Diffie-Hellman values out of range, answers whose TLV lengths lie.

Example counts here are moderate; set ``HOSTILE_EXAMPLES`` to run each property with more.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scripted_chip import ScriptedChip

from cccd_reader.asn1.oids import ID_PACE_DH_GM, ID_PACE_DH_IM, ID_PACE_ECDH_GM, ID_PACE_ECDH_IM
from cccd_reader.emulator import load_sample
from cccd_reader.emulator.card import SeededRandom
from cccd_reader.emulator.samples import sample_persona, sample_trust_anchor
from cccd_reader.errors import CCCDError
from cccd_reader.iso7816.tlv import encode_tlv
from cccd_reader.lds import decode_file
from cccd_reader.lds.security_infos import PACEInfo
from cccd_reader.protocols.active_auth import perform_active_auth
from cccd_reader.protocols.bac import perform_bac
from cccd_reader.protocols.chip_auth import perform_chip_auth
from cccd_reader.protocols.pace import perform_pace
from cccd_reader.read import read_card
from cccd_reader.transport.secure import SecureMessagingTransport

SAMPLES = ("an", "mai")
N = int(os.environ.get("HOSTILE_EXAMPLES", "0") or 0)


def _examples(default: int) -> int:
    return N or default


MAX_APDUS = 3000  # a read that needs more than this against a hostile chip is not bounded


# --- personal data that must never leak ---------------------------------------------------------------


def _date_forms(d: _dt.date) -> list[str]:
    return [d.isoformat(), d.strftime("%d/%m/%Y"), d.strftime("%d%m%Y"), d.strftime("%Y%m%d"),
            d.strftime("%y%m%d")]


def _secrets(name: str) -> list[str]:
    p = sample_persona(name)
    out = [p.id_number, p.full_name, p.can, p.document_number, *_date_forms(p.date_of_birth)]
    out += [line for line in p.mrz_lines() if line]
    out.append(p.mrz_name())
    if p.old_id_number:
        out.append(p.old_id_number)
    out.append(p.address)
    for key in (p.can_key(), p.mrz_key()):
        out.append(key.password.hex())
        for cipher in ("3DES", "AES-128"):
            out.append(key.k_pi(cipher).hex())
    k_enc, k_mac = p.mrz_key().bac_keys()
    out += [k_enc.hex(), k_mac.hex(), p.mrz_key().k_seed.hex()]
    # the given name alone is short and common; the family + middle name parts are distinctive enough
    return [s for s in out if s and len(s) >= 6]


SECRETS = {n: _secrets(n) for n in SAMPLES}


def _texts_of(exc: BaseException) -> list[str]:
    out: list[str] = []
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        out += [str(e), repr(e)]
        stack += [e.__cause__, e.__context__, getattr(e, "cause", None)]
        partial = getattr(e, "partial", None)
        if partial is not None:
            out += _record_texts(partial)
    return out


def _record_texts(rec: Any) -> list[str]:
    out = [repr(rec), str(rec.error or ""), *rec.warnings, *map(str, rec.security.details.values())]
    out += [repr(rec.security.passive_detail)] if rec.security.passive_detail is not None else []
    # the decoded structures and the identity travel with a partial record: their reprs stay clean too
    out += [repr(rec.identity), repr(rec.mrz), repr(rec.portrait), *map(repr, rec.decoded.values())]
    return out


def _assert_no_pii(name: str, texts: list[str]) -> None:
    for text in texts:
        low = text.casefold()
        for secret in SECRETS[name]:
            assert secret.casefold() not in low, f"personal data in a message: {text[:200]!r}"


# --- ground truth and the property -----------------------------------------------------------------------


def _truth(card: Any) -> dict[str, bytes]:
    real = {f"DG{n}": bytes(d) for n, d in card.image.data_groups.items()}
    real["EF.SOD"] = bytes(card.files.file("EF.SOD").data)
    return real


def _assert_honest(rec: Any, truth: dict[str, bytes]) -> None:
    """No "genuine" verdict when a data group differs. EF.SOD itself is left out on purpose: CMS does not
    sign the SignerIdentifier, and a SOD whose identifier does not name its one embedded certificate is
    still checked with that certificate (verify/passive.py), so such a byte can differ and the data
    still be the card's own."""
    differs = [k for k, v in rec.files.items() if k.startswith("DG") and k in truth and v != truth[k]]
    extra = [k for k in rec.files if k.startswith("DG") and k not in truth]
    if differs or extra:
        assert not rec.security.genuine, f"'genuine' with altered {differs + extra}"
        assert rec.security.verdict != "genuine"
    if rec.security.genuine and "EF.SOD" in rec.files:
        from cccd_reader.lds.sod import SOD

        # what the signature covers (the hash list) is the card's own
        assert SOD.decode(rec.files["EF.SOD"]).econtent == SOD.decode(truth["EF.SOD"]).econtent


def _run_read(name: str, transport: Any, truth: dict[str, bytes] | None, **kw: Any) -> Any:
    p = sample_persona(name)
    key = kw.pop("key", [p.can_key(), p.mrz_key()])
    try:
        rec = read_card(transport, key, random_bytes=SeededRandom(f"hostile/{name}"),
                        trust=str(sample_trust_anchor()), recovery_timeout=2.0, **kw)
    except CCCDError as exc:
        _assert_no_pii(name, _texts_of(exc))
        partial = getattr(exc, "partial", None)
        if partial is not None and truth is not None:
            _assert_honest(partial, truth)
        return exc
    # anything else propagates and fails the test with its real type
    _assert_no_pii(name, _record_texts(rec))
    if truth is not None:
        _assert_honest(rec, truth)
    return rec


# --- mutations -------------------------------------------------------------------------------------------


def _lie_in_tlv(data: bytes, length_field: bytes) -> bytes:
    """Replace the length field of the first TLV in ``data`` (the tag is kept)."""
    if not data:
        return length_field
    i = 1
    if data[0] & 0x1F == 0x1F:
        while i < len(data) and data[i] & 0x80:
            i += 1
        i += 1
    if i >= len(data):
        return data + length_field
    first = data[i]
    n = 1 + (first & 0x7F if first & 0x80 else 0)
    return data[:i] + length_field + data[i + n:]


def _apply(m: tuple[Any, ...], resp: bytes) -> bytes:
    kind = m[0]
    body, sw = (resp[:-2], resp[-2:]) if len(resp) >= 2 else (b"", resp)
    if kind == "random":
        return bytes(m[1])
    if kind == "truncate":
        return resp[: m[1] % (len(resp) + 1)]
    if kind == "empty":
        return b""
    if kind == "one":
        return bytes([m[1]])
    if kind == "flip":
        if not resp:
            return resp
        pos = m[1] % len(resp)
        return resp[:pos] + bytes([resp[pos] ^ (1 << m[2])]) + resp[pos + 1:]
    if kind == "sw":
        return body + bytes(m[1])
    if kind == "long":
        return body + bytes([m[2]]) * m[1] + sw
    if kind == "tlvlie":
        return _lie_in_tlv(body, bytes(m[1])) + sw
    if kind == "tlvlie_at":
        if not body:
            return resp
        pos = m[1] % len(body)
        return body[:pos] + bytes(m[2]) + body[pos + 1:] + sw
    raise AssertionError(kind)


_LENGTH_FIELDS = st.one_of(
    st.integers(0, 0x7F).map(lambda n: bytes([n])),
    st.sampled_from([b"\x80", b"\x81\xff", b"\x82\xff\xff", b"\x83\xff\xff\xff", b"\x84\xff\xff\xff\xff",
                     b"\x85\x01\x00\x00\x00\x00", b"\x88" + b"\xff" * 8, b"\xff", b"\x81\x00",
                     b"\x82\x00\x01"]),
    st.integers(0, 0xFFFF).map(lambda n: b"\x82" + n.to_bytes(2, "big")),
)

MUTATION = st.one_of(
    st.tuples(st.just("random"), st.binary(max_size=300)),
    st.tuples(st.just("truncate"), st.integers(0, 400)),
    st.tuples(st.just("empty")),
    st.tuples(st.just("one"), st.integers(0, 255)),
    st.tuples(st.just("flip"), st.integers(0, 4000), st.integers(0, 7)),
    st.tuples(st.just("sw"), st.one_of(
        st.sampled_from([b"\x90\x00", b"\x63\x00", b"\x69\x82", b"\x69\x85", b"\x6a\x82", b"\x67\x00",
                         b"\x6c\x00", b"\x6c\x01", b"\x61\x00", b"\x61\x10", b"\x62\x82", b"\x69\x87",
                         b"\x69\x88", b"\x6b\x00", b"\x6d\x00", b"\x6a\x80", b"\x00\x00", b"\xff\xff"]),
        st.binary(min_size=2, max_size=2))),
    st.tuples(st.just("long"), st.integers(250, 70000), st.integers(0, 255)),
    st.tuples(st.just("tlvlie"), _LENGTH_FIELDS),
    st.tuples(st.just("tlvlie_at"), st.integers(0, 4000), _LENGTH_FIELDS),
)


class Hostile:
    """Forwards every command to the real (virtual) chip and replaces chosen answers."""

    def __init__(self, inner: Any, mutations: dict[int, tuple[Any, ...]], *, only_ins: int | None = None
                 ) -> None:
        self.inner = inner
        self.mutations = mutations
        self.only_ins = only_ins  # count only commands with this INS (e.g. 0x86: GENERAL AUTHENTICATE)
        self.index = 0
        self.sent = 0

    @property
    def atr(self) -> bytes:
        return bytes(self.inner.atr)

    def transmit(self, apdu: bytes) -> bytes:
        self.sent += 1
        assert self.sent < MAX_APDUS, "unbounded exchange with a hostile chip"
        resp = self.inner.transmit(apdu)
        if self.only_ins is not None and (len(apdu) < 2 or apdu[1] != self.only_ins):
            return resp
        m = self.mutations.get(self.index)
        self.index += 1
        return _apply(m, resp) if m is not None else resp


class HostileReconnecting(Hostile):
    """The same, on a link that can come back (exercises re-authentication and resumed reads)."""

    def reconnect(self) -> None:
        self.inner.reconnect()


MUTATIONS = st.dictionaries(st.integers(0, 80), MUTATION, min_size=1, max_size=3)
PLAIN_MUTATIONS = st.dictionaries(st.integers(0, 8), MUTATION, min_size=1, max_size=2)


def _hostile(name: str, mutations: dict[int, tuple[Any, ...]], reconnecting: bool, **kw: Any
             ) -> tuple[Hostile, dict[str, bytes]]:
    card = load_sample(name)
    cls = HostileReconnecting if reconnecting else Hostile
    return cls(card, mutations, **kw), _truth(card)


# --- the whole read --------------------------------------------------------------------------------------


@settings(deadline=None, max_examples=_examples(60), suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(SAMPLES), mutations=MUTATIONS, reconnecting=st.booleans())
def test_read_with_a_mutated_answer_anywhere(name: str, mutations: dict[int, tuple[Any, ...]],
                                             reconnecting: bool) -> None:
    t, truth = _hostile(name, mutations, reconnecting)
    _run_read(name, t, truth)


@settings(deadline=None, max_examples=_examples(60), suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(SAMPLES), mutations=PLAIN_MUTATIONS, reconnecting=st.booleans(),
       access=st.sampled_from(["auto", "bac"]))
def test_read_with_a_mutated_answer_before_secure_messaging(
        name: str, mutations: dict[int, tuple[Any, ...]], reconnecting: bool, access: str) -> None:
    """The first APDUs: EF.CardAccess, MSE:Set AT, the PACE / BAC answers (nothing protects them)."""
    t, truth = _hostile(name, mutations, reconnecting)
    key = sample_persona(name).mrz_key() if access == "bac" else None
    kw: dict[str, Any] = {"access": access}
    if key is not None:
        kw["key"] = key
    _run_read(name, t, truth, **kw)


@settings(deadline=None, max_examples=_examples(60), suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(SAMPLES), mutations=st.dictionaries(st.integers(0, 3), MUTATION, min_size=1,
                                                                  max_size=2))
def test_read_with_mutated_pace_general_authenticate_answers(name: str,
                                                             mutations: dict[int, tuple[Any, ...]]) -> None:
    t, truth = _hostile(name, mutations, False, only_ins=0x86)
    _run_read(name, t, truth, key=sample_persona(name).can_key())


class RandomChip:
    """Answers every command with bytes hypothesis chooses (a chip with no card behind it)."""

    _SWS = (b"\x90\x00", b"\x90\x00", b"\x90\x00", b"\x61\x10", b"\x6c\x05", b"\x62\x82", b"\x69\x82",
            b"\x6a\x82", b"\x63\x00", b"\x67\x00", b"\x69\x87", b"\x6b\x00")

    def __init__(self, data: Any) -> None:
        self.data = data
        self.sent = 0
        self.atr = b"\x3b\x88\x80\x01\x00\x00\x00\x00\x00\x00\x00\x00\x09"

    def transmit(self, apdu: bytes) -> bytes:
        self.sent += 1
        assert self.sent < MAX_APDUS, "unbounded exchange with a random chip"
        body = self.data.draw(st.one_of(st.binary(max_size=40), st.binary(min_size=200, max_size=300)))
        sw = self.data.draw(st.one_of(st.sampled_from(self._SWS), st.binary(max_size=2)))
        return body + sw


@settings(deadline=None, max_examples=_examples(60), suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(SAMPLES), data=st.data(), access=st.sampled_from(["auto", "pace", "bac"]))
def test_read_from_a_chip_that_answers_random_bytes(name: str, data: Any, access: str) -> None:
    chip = RandomChip(data)
    out = _run_read(name, chip, None, access=access,
                    key=sample_persona(name).mrz_key() if access == "bac" else None)
    # a chip without the keys cannot get through PACE / BAC mutual authentication
    assert isinstance(out, CCCDError)


def _run_read_random_key(name: str, chip: Any, access: str) -> Any:
    return _run_read(name, chip, None, access=access)


# --- scripted answers for the protocols --------------------------------------------------------------------


def _dyn(tag: int, value: bytes) -> bytes:
    return encode_tlv(0x7C, encode_tlv(tag, value)) + b"\x90\x00"


_P256 = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
_MODP1024 = int("B10B8F96A080E01DDE92DE5EAE5D54EC52C99FBCFB06A3C69A6A9DCA52D23B616073E28675A23D18"
                "9838EF1E2EE652C013ECB4AEA906112324975C3CD49B83BFACCBDD7D90C4BD7098488E9C219A7372"
                "4EFFD6FAE5644738FAA31A4FF55BCCC0A151AF5F0DC8B4BD45BF37DF365C1A65E68CFDA76D4DA708"
                "DF1FB2BC2E4A4371", 16)


def _ec_point_bytes() -> st.SearchStrategy[bytes]:
    coord = st.one_of(st.integers(0, 3), st.integers(_P256 - 3, _P256 + 3), st.integers(0, 2**256 - 1))
    return st.one_of(
        st.just(b""), st.just(b"\x00"), st.just(b"\x04"),
        st.tuples(coord, coord).map(lambda xy: b"\x04" + b"".join(
            (v % 2**256).to_bytes(32, "big") for v in xy)),
        st.tuples(st.sampled_from([2, 3]), coord).map(lambda t: bytes([t[0]]) + (t[1] % 2**256).to_bytes(32,
                                                                                                       "big")),
        st.binary(max_size=70),
    )


def _dh_value_bytes() -> st.SearchStrategy[bytes]:
    v = st.one_of(st.sampled_from([0, 1, 2, _MODP1024 - 1, _MODP1024, _MODP1024 + 1, 2**1024 - 1]),
                  st.integers(0, 2**1024 - 1))
    return st.one_of(v.map(lambda n: n.to_bytes(128, "big")), v.map(lambda n: n.to_bytes((n.bit_length() + 7)
                                                                                           // 8, "big")),
                     st.binary(max_size=140), st.just(b""))


_PACE_INFOS = {
    "ecdh-gm": PACEInfo(ID_PACE_ECDH_GM + ".2", 2, 12),
    "ecdh-gm-bp": PACEInfo(ID_PACE_ECDH_GM + ".2", 2, 13),
    "ecdh-im": PACEInfo(ID_PACE_ECDH_IM + ".2", 2, 12),
    "dh-gm": PACEInfo(ID_PACE_DH_GM + ".1", 2, 0),
    "dh-im": PACEInfo(ID_PACE_DH_IM + ".2", 2, 0),
}


def _expect_cccd_error(name: str, fn: Callable[[], Any]) -> None:
    try:
        fn()
    except CCCDError as exc:
        _assert_no_pii(name, _texts_of(exc))
        return


def _hostile_value(kind: str) -> st.SearchStrategy[bytes]:
    return _dh_value_bytes() if kind.startswith("dh") else _ec_point_bytes()


@settings(deadline=None, max_examples=_examples(150), suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(sorted(_PACE_INFOS)), data=st.data())
def test_pace_with_hostile_scripted_answers(kind: str, data: Any) -> None:
    """Step by step: the encrypted nonce, the mapping key, the ephemeral key, the token; each hostile."""
    name = data.draw(st.sampled_from(SAMPLES))
    key = sample_persona(name).can_key()
    value = _hostile_value(kind)
    nonce = st.one_of(st.just(b""), st.binary(max_size=40), st.binary(min_size=16, max_size=16))
    answers = [
        data.draw(st.one_of(st.just(b"\x90\x00"), st.binary(max_size=4)), "MSE"),
        data.draw(st.one_of(nonce.map(lambda z: _dyn(0x80, z)), st.binary(max_size=50)), "GA1"),
        data.draw(st.one_of(value.map(lambda v: _dyn(0x82, v)), st.binary(max_size=80)), "GA2"),
        data.draw(st.one_of(value.map(lambda v: _dyn(0x84, v)), st.binary(max_size=80)), "GA3"),
        data.draw(st.one_of(st.binary(max_size=20).map(lambda t: _dyn(0x86, t)), st.binary(max_size=40)),
                  "GA4"),
    ]
    t = ScriptedChip(answers=answers)
    _expect_cccd_error(name, lambda: perform_pace(t, key, pace_info=_PACE_INFOS[kind],
                                                  random_bytes=SeededRandom("pace/terminal")))


@settings(deadline=None, max_examples=_examples(100), suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(SAMPLES), data=st.data())
def test_pace_against_the_real_chip_with_one_hostile_point(name: str, data: Any) -> None:
    """The honest chip's answers up to one step, then a hostile mapping or ephemeral key."""
    key = sample_persona(name).can_key()
    card = load_sample(name)
    ga_index = data.draw(st.integers(1, 2), "which GA")
    tag = 0x82 if ga_index == 1 else 0x84
    point = data.draw(_ec_point_bytes(), "point")
    t = Hostile(card, {ga_index: ("random", encode_tlv(0x7C, encode_tlv(tag, point)) + b"\x90\x00")},
                only_ins=0x86)
    card_access = bytes(card.files.file("EF.CardAccess").data)
    _expect_cccd_error(name, lambda: perform_pace(t, key, card_access=card_access,
                                                  random_bytes=SeededRandom("pace/terminal")))


@settings(deadline=None, max_examples=_examples(150), suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(SAMPLES), challenge=st.binary(max_size=20), sw1=st.binary(min_size=0, max_size=2),
       answer=st.one_of(st.binary(max_size=60), st.binary(min_size=40, max_size=40)),
       sw2=st.one_of(st.just(b"\x90\x00"), st.binary(max_size=2)))
def test_bac_with_hostile_scripted_answers(name: str, challenge: bytes, sw1: bytes, answer: bytes,
                                           sw2: bytes) -> None:
    key = sample_persona(name).mrz_key()
    t = ScriptedChip(answers=[challenge + sw1, answer + sw2])
    _expect_cccd_error(name, lambda: perform_bac(t, key, random_bytes=SeededRandom("bac/terminal")))


class AboveSM:
    """A hostile chip that holds the session keys: it replaces the plain answers inside secure messaging."""

    def __init__(self, sm: Any, mutations: dict[int, tuple[Any, ...]]) -> None:
        self.sm = sm
        self.mutations = mutations
        self.n = 0

    def transmit(self, apdu: bytes) -> bytes:
        resp = self.sm.transmit(apdu)
        m = self.mutations.get(self.n)
        self.n += 1
        return _apply(m, resp) if m is not None else resp


def _opened(name: str) -> tuple[Any, Any, Any]:
    """A PACE session with the sample chip, its application selected; returns (card, sm, image)."""
    from cccd_reader.protocols.files import FileReader

    card = load_sample(name)
    p = sample_persona(name)
    pace = perform_pace(card, p.can_key(), card_access=bytes(card.files.file("EF.CardAccess").data),
                        random_bytes=SeededRandom("open"))
    sm = SecureMessagingTransport(card, pace.session)
    FileReader(sm).select_application()
    return card, sm, card.image


@settings(deadline=None, max_examples=_examples(100), suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(SAMPLES), mutations=st.dictionaries(st.integers(0, 3), MUTATION, min_size=1,
                                                                  max_size=2))
def test_chip_auth_with_hostile_answers_inside_secure_messaging(
        name: str, mutations: dict[int, tuple[Any, ...]]) -> None:
    _card, sm, image = _opened(name)
    dg14 = decode_file("DG14", bytes(image.data_groups[14]))
    t = AboveSM(sm, mutations)
    _expect_cccd_error(name, lambda: perform_chip_auth(t, dg14, random_bytes=SeededRandom("ca")))


@settings(deadline=None, max_examples=_examples(150), suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(SAMPLES), answers=st.lists(
    st.one_of(st.binary(max_size=300).map(lambda b: b + b"\x90\x00"), st.binary(max_size=300)), max_size=4))
def test_chip_auth_with_scripted_answers(name: str, answers: list[bytes]) -> None:
    image = load_sample(name).image
    dg14 = decode_file("DG14", bytes(image.data_groups[14]))
    _expect_cccd_error(name, lambda: perform_chip_auth(ScriptedChip(answers=answers), dg14,
                                                       random_bytes=SeededRandom("ca")))


def _signature_values(dg15: Any) -> st.SearchStrategy[bytes]:
    n = getattr(getattr(dg15, "public_key", dg15), "rsa_modulus", None)
    ints = [0, 1, 2]
    if isinstance(n, int):
        ints += [n - 1, n, n + 1, n // 2]
    size = (n.bit_length() + 7) // 8 if isinstance(n, int) else 64
    fixed = st.sampled_from(ints).map(lambda v: (v % 2**(8 * size)).to_bytes(size, "big"))
    return st.one_of(fixed, st.binary(max_size=2 * size + 4), st.binary(min_size=size, max_size=size))


@settings(deadline=None, max_examples=_examples(150), suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(SAMPLES), data=st.data())
def test_active_auth_with_hostile_signatures(name: str, data: Any) -> None:
    image = load_sample(name).image
    dg15 = decode_file("DG15", bytes(image.data_groups[15]))
    dg14 = decode_file("DG14", bytes(image.data_groups[14]))
    sig = data.draw(_signature_values(dg15), "signature")
    sw = data.draw(st.one_of(st.just(b"\x90\x00"), st.binary(max_size=2)), "sw")
    with_dg14 = data.draw(st.booleans(), "dg14")

    def run() -> None:
        result = perform_active_auth(ScriptedChip(answers=[sig + sw]), dg15, challenge=b"\x01" * 8,
                                     dg14=dg14 if with_dg14 else None)
        assert not getattr(result, "passed", False), "a random signature verified"

    _expect_cccd_error(name, run)


FILE_MUTATION = st.one_of(
    st.tuples(st.just("random"), st.binary(max_size=300)),
    st.tuples(st.just("truncate"), st.integers(0, 12000)),
    st.tuples(st.just("flip"), st.integers(0, 12000), st.integers(0, 7)),
    st.tuples(st.just("long"), st.integers(1, 3000), st.integers(0, 255)),
    st.tuples(st.just("tlvlie"), _LENGTH_FIELDS),
    st.tuples(st.just("tlvlie_at"), st.integers(0, 12000), _LENGTH_FIELDS),
)
FORGEABLE = ("EF.CardAccess", "EF.COM", "EF.SOD", "DG1", "DG2", "DG13", "DG14", "DG15")


@settings(deadline=None, max_examples=_examples(60), suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(SAMPLES),
       forged=st.dictionaries(st.sampled_from(FORGEABLE), FILE_MUTATION, min_size=1, max_size=2))
def test_read_from_a_chip_with_forged_files(name: str, forged: dict[str, tuple[Any, ...]]) -> None:
    """A hostile chip that holds the keys: secure messaging is fine, the files it serves are not. Every
    LDS parser, passive authentication and CA / AA then run on attacker-chosen bytes."""
    import dataclasses

    card = load_sample(name)
    truth = _truth(card)
    for file_name, m in forged.items():
        ef = card.files.file(file_name)
        assert ef is not None
        new = _apply(m, bytes(ef.data) + b"\x90\x00")[:-2]
        directory = card.files.mf if file_name == "EF.CardAccess" else card.files.app
        directory.replace(dataclasses.replace(ef, data=new))
    _run_read(name, Hostile(card, {}), truth)


# --- structured forgeries: explicit domain parameters chosen by the chip ----------------------------------


_SMALL_PRIMES = [1009, 65521, 2**61 - 1, 2**127 - 1]
_P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@st.composite
def explicit_ec(draw: Any) -> tuple[bytes, bytes]:
    """(AlgorithmIdentifier, a point on that "curve") for explicit EC parameters a chip may send: a
    composite or prime field, any order and cofactor, the base point made to lie on the curve."""
    from cccd_reader.asn1 import oids
    from cccd_reader.lds.security_infos import _int, _oid, _seq

    p = draw(st.one_of(st.sampled_from([_P256, *_SMALL_PRIMES, 205, 201, 2**128 + 1, _P256 * 3]),
                       st.integers(5, 2**256).map(lambda v: v | 1)))
    a, gx, gy = (draw(st.integers(0, p - 1)) for _ in range(3))
    b = (gy * gy - gx ** 3 - a * gx) % p
    n = draw(st.one_of(st.sampled_from([3, 4, 6, p + 1, p - 1, _P256_N, 2 * _P256_N, 2**255 - 19]),
                       st.integers(3, 2**260)))
    h = draw(st.integers(1, 8))
    size = (p.bit_length() + 7) // 8

    def octets(v: int) -> bytes:
        return v.to_bytes(size, "big")

    point = b"\x04" + octets(gx) + octets(gy)
    params = _seq(_int(1), _seq(_oid(oids.ID_PRIME_FIELD), _int(p)),
                  _seq(encode_tlv(0x04, octets(a)), encode_tlv(0x04, octets(b))), encode_tlv(0x04, point),
                  _int(n), _int(h))
    return _seq(_oid(oids.ID_EC_PUBLIC_KEY), params), point


def _spki(alg: bytes, point: bytes) -> bytes:
    from cccd_reader.lds.security_infos import _seq

    return _seq(alg, encode_tlv(0x03, b"\x00" + point))


def _forge(card: Any, name: str, data: bytes) -> None:
    import dataclasses

    ef = card.files.file(name)
    assert ef is not None
    directory = card.files.mf if name == "EF.CardAccess" else card.files.app
    directory.replace(dataclasses.replace(ef, data=data))


@settings(deadline=None, max_examples=_examples(60), suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(SAMPLES), ec=explicit_ec(),
       where=st.sampled_from(["EF.CardAccess", "DG14", "DG15"]))
def test_read_from_a_chip_with_forged_explicit_parameters(name: str, ec: tuple[bytes, bytes],
                                                          where: str) -> None:
    """EF.CardAccess (read before any authentication), DG14 and DG15 naming their own curve."""
    from cccd_reader.asn1 import oids
    from cccd_reader.lds.security_infos import _int, _oid, _seq

    alg, point = ec
    card = load_sample(name)
    truth = _truth(card)
    if where == "EF.CardAccess":
        data = encode_tlv(0x31, _seq(_oid(oids.ID_PACE_ECDH_GM + ".2"), _int(2), _int(32))
                          + _seq(_oid(oids.ID_PACE_ECDH_GM), alg, _int(32)))
    elif where == "DG14":
        data = encode_tlv(0x6E, encode_tlv(0x31, _seq(_oid(oids.ID_CA_ECDH + ".2"), _int(1))
                                           + _seq(_oid(oids.ID_PK_ECDH), _spki(alg, point))))
    else:
        data = encode_tlv(0x6F, _spki(alg, point))
    _forge(card, where, data)
    _run_read(name, Hostile(card, {}), truth)


@settings(deadline=None, max_examples=_examples(100), suppress_health_check=[HealthCheck.too_slow])
@given(ec=explicit_ec(), data=st.data())
def test_pace_on_explicit_parameters_with_hostile_answers(ec: tuple[bytes, bytes], data: Any) -> None:
    from cccd_reader.asn1 import oids
    from cccd_reader.lds.security_infos import _int, _oid, _seq

    alg, point = ec
    mapping = data.draw(st.sampled_from(["GM", "IM"]))
    base = oids.ID_PACE_ECDH_GM if mapping == "GM" else oids.ID_PACE_ECDH_IM
    card_access = encode_tlv(0x31, _seq(_oid(base + ".2"), _int(2), _int(32))
                             + _seq(_oid(base), alg, _int(32)))
    pt = st.one_of(st.just(point), _ec_point_bytes())
    answers = [b"\x90\x00", _dyn(0x80, data.draw(st.binary(min_size=16, max_size=16))),
               _dyn(0x82, data.draw(pt)), _dyn(0x84, data.draw(pt)), _dyn(0x86, bytes(8))]
    if mapping == "IM":
        answers[2] = _dyn(0x82, b"")
    chip = ScriptedChip(answers=answers)
    _expect_cccd_error("an", lambda: perform_pace(chip, sample_persona("an").can_key(),
                                                  card_access=card_access, random_bytes=SeededRandom("t")))


@settings(deadline=None, max_examples=_examples(100), suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), mapping=st.sampled_from(["GM", "IM"]))
def test_pace_on_explicit_dh_parameters_with_hostile_answers(data: Any, mapping: str) -> None:
    """EF.CardAccess naming its own Diffie-Hellman group: any p, g, q (q = 0 once made the key draw
    loop forever), then hostile public values."""
    from cccd_reader.asn1 import oids
    from cccd_reader.lds.security_infos import _int, _oid, _seq

    p = data.draw(st.one_of(st.sampled_from([_MODP1024, 2**127 - 1, _MODP1024 * 3, 5, 7]),
                            st.integers(4, 2**1100)), "p")
    g = data.draw(st.one_of(st.sampled_from([0, 1, 2, 3, p - 1, p]), st.integers(0, p)), "g")
    q = data.draw(st.one_of(st.none(), st.sampled_from([0, 1, 2, 3, p - 1, (p - 1) // 2]),
                            st.integers(0, p)), "q")
    fields = _int(p) + _int(g) + (b"" if q is None else _int(q))
    base = oids.ID_PACE_DH_GM if mapping == "GM" else oids.ID_PACE_DH_IM
    card_access = encode_tlv(0x31, _seq(_oid(base + ".2"), _int(2), _int(32))
                             + _seq(_oid(base), _seq(_oid(oids.DH_PUBLIC_NUMBER), _seq(fields)), _int(32)))
    answers = [b"\x90\x00", _dyn(0x80, data.draw(st.binary(min_size=16, max_size=16))),
               _dyn(0x82, data.draw(_dh_value_bytes())), _dyn(0x84, data.draw(_dh_value_bytes())),
               _dyn(0x86, bytes(8))]
    chip = ScriptedChip(answers=answers)
    _expect_cccd_error("an", lambda: perform_pace(chip, sample_persona("an").can_key(),
                                                  card_access=card_access, random_bytes=SeededRandom("t")))


@settings(deadline=None, max_examples=_examples(100), suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), extended=st.sampled_from([None, True, False]), first_read=st.sampled_from([None, 4]))
def test_file_reader_against_a_chip_that_answers_random_bytes(data: Any, extended: bool | None,
                                                              first_read: int | None) -> None:
    """The layer a key-holding hostile chip reaches directly (secure messaging verifies, the plain answers
    inside are its own): SELECT / READ BINARY answers of any length and status."""
    from cccd_reader.protocols.files import FileReader

    chip = RandomChip(data)
    reader = FileReader(chip, extended=extended, first_read=first_read)
    try:
        out = reader.read_file(0x011D, sfi=0x1D, name="EF.SOD")
    except CCCDError:
        return
    assert isinstance(out, bytes | bytearray)


@settings(deadline=None, max_examples=_examples(300))
@given(atr=st.one_of(st.binary(max_size=40),
                     st.binary(min_size=2, max_size=40).map(lambda b: b"\x3b" + b[1:])))
def test_any_atr_is_read_without_error(atr: bytes) -> None:
    """The ATR comes from the card too: its historical bytes decide extended-length reads."""
    from cccd_reader.read import _atr_extended_length

    assert _atr_extended_length(atr) in (True, False, None)


def test_hostile_wrapper_is_transparent_without_mutations() -> None:
    """The harness itself: with no mutation the read is complete and genuine (so failures are real)."""
    for name in SAMPLES:
        t, truth = _hostile(name, {}, False)
        rec = _run_read(name, t, truth)
        assert not isinstance(rec, BaseException)
        assert rec.security.verdict == "genuine"
        assert all(rec.files[k] == v for k, v in truth.items() if k in rec.files)


@pytest.mark.parametrize("name", SAMPLES)
def test_secrets_list_is_not_empty(name: str) -> None:
    assert sample_persona(name).id_number in SECRETS[name]
