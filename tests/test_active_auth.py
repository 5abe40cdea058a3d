"""Active Authentication: ISO/IEC 9796-2 recovery pinned to the ICAO 9303-11 AA worked example block, to
AA signatures recorded from a real passport and to a Bouncy Castle ISO 9796 test case (both as quoted in
ZeroPass/pymrtd tests/pki/iso9796e2_test.py); ECDSA cross-checked with ``cryptography``; then runs
against ActiveAuthChip, including chips that answer differently to short and extended Le."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from cccd_reader.crypto.ec import STANDARD_EC_DOMAINS
from cccd_reader.crypto.sm import SMSession
from cccd_reader.errors import ActiveAuthenticationError, InputError, SecureMessagingError, TransientError
from cccd_reader.iso7816.apdu import CommandAPDU, ResponseAPDU
from cccd_reader.lds.dg15 import DG15
from cccd_reader.lds.security_infos import ActiveAuthenticationInfo, SecurityInfos
from cccd_reader.protocols import active_auth as AA
from cccd_reader.transport.secure import SecureMessagingTransport

# ICAO 9303-11 AA worked example: the recovered message representative F and the challenge.
ICAO_F = bytes.fromhex(
    "6A9D2784A67F8E7C659973EA1AEA25D95B6C8F91E5002F369F0FBDCE8A3CEC1991B543F1696546C5524CF23A5303CD6C98599F40"
    "B79F377B5F3A1406B3B4D8F96784D23AA88DB7E1032A405E69325FA91A6E86F5C71AEA978264C4A207446DAD4E7292E2DCDA3024"
    "B47DA8C063AA1E6D22FBD976AB0FE73D94D2D9C6D88127BC")
ICAO_CHALLENGE = bytes.fromhex("F173589974BF40C6")

# A real passport's DG15 and AA exchanges (quoted in ZeroPass/pymrtd tests/pki/iso9796e2_test.py).
PASSPORT_DG15 = bytes.fromhex(
    "6F81A230819F300D06092A864886F70D010101050003818D0030818902818100BD8620D45693E1CD8678639F22E9553F09E3AFD8"
    "7BD26000113CE2798B7A02A2E0AB6B7525D09072109D938D6708167E8FAFAF83F17BFBA36CECCE26058C7ED9AE29516755B19F78"
    "CE0E73DA02340B117B8AB2ECA007F1390E93E896016335EB5C1E330B961C03E253D17874F7ABEE8D4962C49FFE578D46954FF23B"
    "26F5E5550203010001")
PASSPORT_CASES = [
    ("47E4EE7F211F7326",
     "8AECE4E0AB1A6B9E06B31ACBA51AE316D0B7B48E2F5FE13E575060F6B9DC27A2F9D03DCF67A141F466EEC753879106BE0992F46F"
     "5EAAD075EB1886D2ACE90D60C2EDA69880780CE4FA36EF27AB01C47527BD23B178EC8F213307281572C219487FC11B2C3D9C144D"
     "C98D96D1A79A7478449D692D3D14E8C044F81B3ADF0047E0",
     "60735d54c4fc7759a2093c4b6f6f09dac2ddb103bd14b512e5683aed8ed7eb8fd3dd6bf122dadf8c2c43d359f8f6e6537dadec03"
     "d21b385a9b3bf6111751558f860ce3701574d742962110ad81d08f13e5e9439d912ac2b3f61d60cc48700f5260a82ca06362dd07"
     "7e75"),
    ("5DD17658F6E21C13",
     "97251259E9EB453A8DC2D9CD85D5A49D2E83F31D6465CB1FBD09C5E7800D4F0FB9FF7312343CD3955CA3BE6768AD7938F3D36B0C"
     "9E2205923786949B5F48FBF1C94D01B5BC9DA88C8293E118F87E14E4CC409D52AA7ED266E20248AB3C04949838540DEB24588436"
     "607EA620B4825D002C5FAB4F07B618D72C0A9EC247653FE7",
     "51d3acac47e1f3b2f438218d4deb5386f6a53d74271c4c2498c86c721f485f0332ff4d1ab94b559fbf4c6c73917647eaa09ff5d1"
     "79fb7a5e84327b6ded162a967ef0fd78d8f3f05cb360a4aa78651f4464c830a62575d4fbea6fe56f6021e50970925c7447b7d027"
     "4f68"),
]
# Bouncy Castle ISO9796Test (as quoted by pymrtd): SPKI, an all-zero challenge, signature, M1.
BC_SPKI = bytes.fromhex(
    "30819f300d06092a864886f70d010101050003818d0030818902818100CDCBDABBF93BE8E8294E32B055256BBD0397735189BF75"
    "816341BB0D488D05D627991221DF7D59835C76A4BB4808ADEEB779E7794504E956ADC2A661B46904CDC71337DD29DDDD454124EF"
    "79CFDD7BC2C21952573CEFBA485CC38C6BD2428809B5A31A898A6B5648CAA4ED678D9743B589134B7187478996300EDBA16271A8"
    "610203010001")
BC_SIG = bytes.fromhex(
    "482E20D1EDDED34359C38F5E7C01203F9D6B2641CDCA5C404D49ADAEDE034C7481D781D043722587761C90468DE69C6585A1E8B9"
    "C322F90E1B580EEDAB3F6007D0C366CF92B4DB8B41C8314929DCE2BE889C0129123484D2FD3D12763D2EBFD12AC8E51D7061AFCA"
    "1A53DEDEC7B9A617472A78C952CCC72467AE008E5F132994")


class Plain:
    def __init__(self, chip) -> None:
        self.chip = chip
        self.les: list[int | None] = []

    def transmit(self, apdu: bytes) -> bytes:
        cmd = CommandAPDU.decode(apdu)
        self.les.append(cmd.le)
        return self.chip.process(cmd).encode()


def counter(seed: int = 7):
    state = [seed]

    def rb(n: int) -> bytes:
        out = hashlib.sha256(state[0].to_bytes(8, "big")).digest() * (n // 32 + 1)
        state[0] += 1
        return out[:n]

    return rb


_RSA_KEYS: dict[int, rsa.RSAPrivateKey] = {}


def rsa_key(bits: int) -> rsa.RSAPrivateKey:
    if bits not in _RSA_KEYS:
        _RSA_KEYS[bits] = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return _RSA_KEYS[bits]


# --- pinned to external examples ---------------------------------------------------------------------


def test_icao_aa_block():
    rec = AA.open_9796_2_block(ICAO_F)
    assert rec.partial and rec.hash_name == "SHA-1"
    assert rec.digest == bytes.fromhex("C063AA1E6D22FBD976AB0FE73D94D2D9C6D88127")
    assert rec.m1 == ICAO_F[1:-21]
    assert hashlib.sha1(rec.m1 + ICAO_CHALLENGE).digest() == rec.digest


@pytest.mark.parametrize(("challenge", "signature", "m1"), PASSPORT_CASES)
def test_real_passport_signatures(challenge, signature, m1):
    dg15 = DG15.decode(PASSPORT_DG15)
    res = AA.verify_active_auth(dg15, bytes.fromhex(challenge), bytes.fromhex(signature))
    assert res.passed and res.hash_name == "SHA-1" and res.key_bits == 1024
    key = dg15.public_key
    recovered = AA.iso9796_2_recover(key.rsa_modulus, key.rsa_exponent, bytes.fromhex(signature))
    assert recovered.m1 == bytes.fromhex(m1)
    # another challenge, or a flipped signature bit: fails (a clone signal), never raises
    other = AA.verify_active_auth(dg15, b"\x00" * 8, bytes.fromhex(signature))
    assert not other.passed and other.reason
    broken = bytearray(bytes.fromhex(signature))
    broken[len(broken) // 2] ^= 1
    assert not AA.verify_active_auth(dg15, bytes.fromhex(challenge), bytes(broken)).passed


def test_bouncy_castle_case():
    from cccd_reader.lds.security_infos import decode_public_key_info

    res = AA.verify_active_auth(decode_public_key_info(BC_SPKI), b"\x00" * 8, BC_SIG)
    assert res.passed


# --- RSA and ECDSA chips ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("bits", "hash_name"), [(1024, "SHA-1"), (2048, "SHA-256"), (1536, "SHA-512"),
                                                 (2048, "SHA-224"), (1024, "SHA-384")])
def test_rsa_chip_round_trip(bits, hash_name):
    chip = AA.ActiveAuthChip.rsa(rsa_key(bits), hash_name=hash_name, random_bytes=counter())
    dg15 = DG15.from_public_key(chip.public_key)
    assert DG15.decode(dg15.encode()).public_key.rsa_modulus == rsa_key(bits).public_key().public_numbers().n
    link = Plain(chip)
    res = AA.perform_active_auth(link, dg15, challenge=b"12345678")
    assert res.passed and res.hash_name == hash_name and res.le == 256 and link.les == [256]
    # the trailer is what 9796-2 prescribes for the hash
    key = chip.public_key
    opened = pow(int.from_bytes(res.signature, "big"), key.rsa_exponent, key.rsa_modulus)
    block = opened.to_bytes(bits // 8, "big")
    assert block[0] == 0x6A
    assert block.endswith({"SHA-1": b"\xbc", "SHA-224": b"\x38\xcc", "SHA-256": b"\x34\xcc",
                           "SHA-384": b"\x36\xcc", "SHA-512": b"\x35\xcc"}[hash_name])
    # offline re-check of the kept evidence
    assert AA.verify_active_auth(dg15, res.challenge, res.signature).passed


def test_rsa_wrong_key_is_a_failed_result():
    chip = AA.ActiveAuthChip.rsa(rsa_key(1024), random_bytes=counter())
    other = AA.ActiveAuthChip.rsa(rsa_key(1536), random_bytes=counter()).public_key
    res = AA.perform_active_auth(Plain(chip), other, challenge=b"\x00" * 8)
    assert not res.passed and res.reason


@pytest.mark.parametrize(("pid", "hash_name"), [
    (13, "SHA-256"), (12, "SHA-256"), (16, "SHA-384"), (17, "SHA-512"), (11, "SHA-224")])
def test_ecdsa_chip_round_trip(pid, hash_name):
    dom = STANDARD_EC_DOMAINS[pid]
    sk = 0x5EC12E7 % dom.n
    chip = AA.ActiveAuthChip.ec(dom, sk, hash_name=hash_name, form="explicit", random_bytes=counter())
    dg15 = DG15.decode(DG15.from_public_key(chip.public_key).encode())
    assert dg15.public_key.ec_domain == dom  # explicit parameters mapped back to the named curve
    res = AA.perform_active_auth(Plain(chip), dg15, random_bytes=counter(99))
    assert res.passed and res.hash_name == hash_name and len(res.signature) == 2 * dom.order_size
    # without AAInfo the hash is found by trying; with one, only that hash is accepted
    aainfo = ActiveAuthenticationInfo("2.23.136.1.1.5", 1, {
        "SHA-224": "0.4.0.127.0.7.1.1.4.1.2", "SHA-256": "0.4.0.127.0.7.1.1.4.1.3",
        "SHA-384": "0.4.0.127.0.7.1.1.4.1.4", "SHA-512": "0.4.0.127.0.7.1.1.4.1.5"}[hash_name])
    assert AA.verify_active_auth(dg15, res.challenge, res.signature, dg14=SecurityInfos((aainfo,))).passed
    wrong = ActiveAuthenticationInfo("2.23.136.1.1.5", 1, "0.4.0.127.0.7.1.1.4.1.1")
    assert not AA.verify_active_auth(dg15, res.challenge, res.signature, dg14=SecurityInfos((wrong,))).passed
    # an independent check with cryptography where it knows the curve
    curve = dom.cryptography_curve()
    if curve is not None:
        x, y = dg15.public_key.ec_public_point()
        pub = ec.EllipticCurvePublicNumbers(x, y, curve).public_key()
        size = dom.order_size
        r, s = int.from_bytes(res.signature[:size], "big"), int.from_bytes(res.signature[size:], "big")
        pub.verify(encode_dss_signature(r, s), res.challenge,
                   ec.ECDSA({"SHA-256": hashes.SHA256(), "SHA-384": hashes.SHA384(),
                             "SHA-512": hashes.SHA512(), "SHA-224": hashes.SHA224()}[hash_name]))


def test_ecdsa_der_signature_and_cryptography_signer():
    dom = STANDARD_EC_DOMAINS[12]
    priv = ec.generate_private_key(ec.SECP256R1())
    der = priv.sign(b"chall123", ec.ECDSA(hashes.SHA256()))
    from cccd_reader.lds.security_infos import PublicKeyInfo

    nums = priv.public_key().public_numbers()
    key = PublicKeyInfo.from_ec(dom, (nums.x, nums.y))
    assert AA.verify_active_auth(key, b"chall123", der).passed
    assert not AA.verify_active_auth(key, b"chall124", der).passed
    assert not AA.verify_active_auth(key, b"chall123", b"\x30\x01").passed


# --- Le handling and refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(("bits", "quirk", "les"), [
    (1024, "6700_on_short", [256, 65536]),
    (1024, "empty_on_short", [256, 65536]),
    (1024, "6700_on_extended", [256]),
    (3072, "6700_on_extended", [65536, 256, 128]),  # 6C80 then: the short form cannot carry 384 bytes
    (3072, None, [65536]),
])
def test_le_fallback(bits, quirk, les):
    chip = AA.ActiveAuthChip.rsa(rsa_key(bits), quirk=quirk, random_bytes=counter())
    link = Plain(chip)
    if bits == 3072 and quirk:
        with pytest.raises(ActiveAuthenticationError, match="6C80"):
            AA.perform_active_auth(link, chip.public_key, challenge=b"abcdefgh")
    else:
        res = AA.perform_active_auth(link, chip.public_key, challenge=b"abcdefgh")
        assert res.passed and res.le == les[-1]
    assert link.les == les


def test_refusal_is_an_error_and_challenge_rules():
    class Refuses:
        def transmit(self, apdu: bytes) -> bytes:
            return b"\x6d\x00"

    chip = AA.ActiveAuthChip.rsa(rsa_key(1024), random_bytes=counter())
    with pytest.raises(ActiveAuthenticationError, match="6D00"):
        AA.perform_active_auth(Refuses(), chip.public_key, challenge=b"\x01" * 8)
    with pytest.raises(InputError):
        AA.perform_active_auth(Plain(chip), chip.public_key, challenge=b"short")
    seen: list[int] = []

    def rb(n: int) -> bytes:
        seen.append(n)
        return b"\x07" * n

    res = AA.perform_active_auth(Plain(chip), chip.public_key, random_bytes=rb)
    assert res.challenge == b"\x07" * 8 and seen[0] == 8


class SMCard:
    """AA behind secure messaging; ``naked`` makes the chip answer extended Le with a bare 6700."""

    def __init__(self, chip, naked: bool) -> None:
        self.session = SMSession(b"\x33" * 16, b"\x44" * 16, "AES-128")
        self.chip, self.naked = chip, naked

    def transmit(self, apdu: bytes) -> bytes:
        cmd = self.session.unprotect_command(apdu)
        if self.naked and cmd.extended:
            return b"\x67\x00"
        resp: ResponseAPDU = self.chip.process(cmd)
        return self.session.protect_response(resp.data, resp.sw)


def test_over_secure_messaging_with_a_naked_6700():
    chip = AA.ActiveAuthChip.rsa(rsa_key(3072), random_bytes=counter())
    card = SMCard(chip, naked=True)
    term = SecureMessagingTransport(card, SMSession(b"\x33" * 16, b"\x44" * 16, "AES-128"))
    # this chip counted the command it answered bare, so the next command's MAC fails on its side: the
    # session is out of step, which says nothing about the chip's key (re-authenticate and retry)
    with pytest.raises(SecureMessagingError):
        AA.perform_active_auth(term, chip.public_key, challenge=b"abcdefgh")
    chip2 = AA.ActiveAuthChip.rsa(rsa_key(1024), quirk="empty_on_short", random_bytes=counter())
    card2 = SMCard(chip2, naked=False)
    term2 = SecureMessagingTransport(card2, SMSession(b"\x33" * 16, b"\x44" * 16, "AES-128"))
    assert AA.perform_active_auth(term2, chip2.public_key, challenge=b"abcdefgh").passed


def test_garbage_signatures_never_raise():
    dg15 = DG15.decode(PASSPORT_DG15)
    for sig in (b"", b"\x00", b"\xff" * 128, b"\xff" * 129, b"\x01" * 64):
        assert not AA.verify_active_auth(dg15, b"\x00" * 8, sig).passed


# --- ISO/IEC 9796-2 full recovery: the whole message comes back and must end with this read's challenge ---


FULL_HEADERS = {"no padding": b"\x4a", "padded": b"\x4b\xbb\xbb\xba"}


def _sign_full_recovery(key: rsa.RSAPrivateKey, m: bytes, *, head: bytes = b"\x4a") -> bytes:
    """A scheme-1 signature with *full* message recovery (header 01, bit 0x20 clear), SHA-1 trailer:
    F = head || M || SHA-1(M) || BC, head 4A, or 4B BB..BB BA when M is shorter."""
    numbers = key.private_numbers()
    n, d = numbers.public_numbers.n, numbers.d
    size = (n.bit_length() + 7) // 8
    block = head + m + hashlib.sha1(m).digest() + b"\xbc"
    assert len(block) == size, (len(block), size)
    return pow(int.from_bytes(block, "big"), d, n).to_bytes(size, "big")


class ReplayingChip:
    """Answers every INTERNAL AUTHENTICATE with one signature recorded earlier (a clone's trick)."""

    def __init__(self, signature: bytes) -> None:
        self.signature = signature

    def process(self, cmd: CommandAPDU) -> ResponseAPDU:
        return ResponseAPDU(self.signature, 0x9000)


@pytest.mark.parametrize("head", FULL_HEADERS.values(), ids=FULL_HEADERS.keys())
def test_full_recovery_answer_must_end_with_this_challenge(head):
    key = rsa_key(1024)
    dg15 = DG15.from_public_key(rsa_public_info(key))
    challenge = bytes.fromhex("0123456789ABCDEF")
    room = 128 - len(head) - 20 - 1  # bytes left for M in a 1024-bit block
    m = counter(11)(room - 8) + challenge
    signature = _sign_full_recovery(key, m, head=head)
    opened = AA.iso9796_2_recover(key.public_key().public_numbers().n, 65537, signature)
    assert not opened.partial and opened.m1 == m  # really a full-recovery block
    good = AA.verify_active_auth(dg15, challenge, signature)
    assert good.passed and good.reason is None
    # the same answer replayed to a later read (a new challenge): the hash still matches M, but M does
    # not end with the new challenge, so it proves nothing about this chip now
    later = bytes.fromhex("FEDCBA9876543210")
    replay = AA.verify_active_auth(dg15, later, signature)
    assert not replay.passed and replay.reason
    res = AA.perform_active_auth(Plain(ReplayingChip(signature)), dg15, challenge=later)
    assert not res.passed and res.challenge == later


def test_full_recovery_challenge_elsewhere_in_the_message_is_not_enough():
    key = rsa_key(1024)
    dg15 = DG15.from_public_key(rsa_public_info(key))
    challenge = bytes.fromhex("1122334455667788")
    room = 128 - 1 - 20 - 1
    # the challenge is inside M, but M ends with other bytes
    m = challenge + counter(12)(room - 8)
    assert not AA.verify_active_auth(dg15, challenge, _sign_full_recovery(key, m)).passed
    # and a full-recovery block whose hash is wrong fails even when M ends with the challenge
    m = counter(13)(room - 8) + challenge
    signature = bytearray(_sign_full_recovery(key, m))
    numbers = key.private_numbers()
    n, d = numbers.public_numbers.n, numbers.d
    block = bytearray(pow(int.from_bytes(signature, "big"), 65537, n).to_bytes(128, "big"))
    block[-2] ^= 0x01  # a bit of the hash
    forged = pow(int.from_bytes(block, "big"), d, n).to_bytes(128, "big")
    assert not AA.verify_active_auth(dg15, challenge, forged).passed


def rsa_public_info(key: rsa.RSAPrivateKey):
    from cccd_reader.lds.security_infos import PublicKeyInfo

    numbers = key.public_key().public_numbers()
    return PublicKeyInfo.from_rsa(numbers.n, numbers.e)


# --- a link glitch is "could not complete", an intact wrong answer is a failed AA ---------------------


class GlitchyCard(SMCard):
    """AA behind secure messaging; the first command is answered bare with ``sw`` (never reaching the
    chip), or (``sw`` None) its protected answer has one bit flipped."""

    def __init__(self, chip, sw: int | None) -> None:
        super().__init__(chip, naked=False)
        self.sw, self.n = sw, 0

    def transmit(self, apdu: bytes) -> bytes:
        self.n += 1
        if self.n == 1 and self.sw is not None:
            return self.sw.to_bytes(2, "big")
        raw = super().transmit(apdu)
        if self.n == 1:
            raw = raw[:-3] + bytes([raw[-3] ^ 1]) + raw[-2:]
        return raw


def _terminal(card) -> SecureMessagingTransport:
    return SecureMessagingTransport(card, SMSession(b"\x33" * 16, b"\x44" * 16, "AES-128"))


@pytest.mark.parametrize("sw", [0x6A82, 0x6982, 0x6D00, 0x6985])
def test_bare_status_word_is_transient_not_a_failed_aa(sw):
    chip = AA.ActiveAuthChip.rsa(rsa_key(1024), random_bytes=counter())
    with pytest.raises(TransientError) as info:
        AA.perform_active_auth(_terminal(GlitchyCard(chip, sw)), chip.public_key, challenge=b"abcdefgh")
    assert not isinstance(info.value, ActiveAuthenticationError)
    assert info.value.step == "active_auth"


def test_damaged_answer_is_a_secure_messaging_error_not_a_failed_aa():
    chip = AA.ActiveAuthChip.rsa(rsa_key(1024), random_bytes=counter())
    with pytest.raises(SecureMessagingError):
        AA.perform_active_auth(_terminal(GlitchyCard(chip, None)), chip.public_key, challenge=b"abcdefgh")


def test_intact_answers_still_decide():
    chip = AA.ActiveAuthChip.rsa(rsa_key(1024), random_bytes=counter())
    # an intact refusal under secure messaging is a failed AA (a genuine chip with DG15 signs)
    refusing = AA.ActiveAuthChip.rsa(rsa_key(1024), random_bytes=counter())
    refusing.process = lambda cmd: ResponseAPDU(b"", 0x6985)  # type: ignore[method-assign]
    with pytest.raises(ActiveAuthenticationError) as info:
        AA.perform_active_auth(_terminal(SMCard(refusing, naked=False)), chip.public_key,
                               challenge=b"abcdefgh")
    assert not isinstance(info.value, TransientError)
    # an intact signature by another key is a failed result (a clone signal), not an error
    other = AA.ActiveAuthChip.rsa(rsa_key(1536), random_bytes=counter())
    res = AA.perform_active_auth(_terminal(SMCard(other, naked=False)), chip.public_key,
                                 challenge=b"abcdefgh")
    assert not res.passed


def test_answer_without_status_word_is_transient():
    class Mute:
        def transmit(self, apdu: bytes) -> bytes:
            return b"\x90"

    chip = AA.ActiveAuthChip.rsa(rsa_key(1024), random_bytes=counter())
    with pytest.raises(TransientError):
        AA.perform_active_auth(Mute(), chip.public_key, challenge=b"abcdefgh")
