"""Finite-field Diffie-Hellman groups for PACE and Chip Authentication.

Standardized domain parameter IDs 0-2 are the RFC 5114 MODP groups with prime-order subgroups
(ICAO 9303-11 §9.5.1). Public values travel as unsigned big-endian integers of the length of p, and
shared secrets are left-padded to that length (9303-11 §9.6 / BSI TR-03111 "FE2OS").
"""

from __future__ import annotations

from dataclasses import dataclass, field


class DHError(ValueError):
    """A public value or parameter is invalid (callers turn this into the library's own errors)."""


@dataclass(frozen=True)
class DHDomain:
    name: str
    p: int = field(repr=False)
    g: int = field(repr=False)
    q: int | None = field(default=None, repr=False)
    parameter_id: int | None = None

    @property
    def size(self) -> int:
        return (self.p.bit_length() + 7) // 8

    @property
    def private_bound(self) -> int:
        """Private keys are drawn below q (or p-1 when the subgroup order is unknown)."""
        return self.q if self.q is not None else self.p - 1

    def encode(self, value: int) -> bytes:
        return value.to_bytes(self.size, "big")

    def decode(self, data: bytes) -> int:
        if not data or len(data) > self.size:
            raise DHError(f"a public value in this group is at most {self.size} bytes, got {len(data)}")
        return self.validate(int.from_bytes(data, "big"))

    def validate(self, y: int) -> int:
        """RFC 2631 public-value check: 1 < y < p-1 and y^q = 1 (small-subgroup attacks)."""
        if not 1 < y < self.p - 1:
            raise DHError("the public value is out of range")
        if self.q is not None and pow(y, self.q, self.p) != 1:
            raise DHError("the public value is not in the prime-order subgroup")
        return y

    def public_key(self, private: int, generator: int | None = None) -> int:
        if not private > 0:
            raise DHError("private key out of range")
        return pow(self.g if generator is None else generator, private, self.p)

    def shared_value(self, private: int, peer: int) -> int:
        self.validate(peer)
        return pow(peer, private, self.p)

    def shared_secret(self, private: int, peer: int) -> bytes:
        return self.encode(self.shared_value(private, peer))

    def generic_map(self, s: int, h: int) -> int:
        """PACE Generic Mapping: g' = g^s * h mod p."""
        if h == 1:
            raise DHError("the mapping secret is 1")
        g2 = (pow(self.g, s, self.p) * h) % self.p
        if g2 in (0, 1):
            raise DHError("the mapped generator is degenerate")
        return g2

    def integrated_map(self, rp: int) -> int:
        """PACE Integrated Mapping f_g(x) = x^((p-1)/q) mod p; needs q."""
        if self.q is None:
            raise DHError("the Integrated Mapping needs the subgroup order q")
        g2 = pow(rp, (self.p - 1) // self.q, self.p)
        if g2 in (0, 1):
            raise DHError("the mapped generator is 1")
        return g2


def _h(s: str) -> int:
    return int("".join(s.split()), 16)


MODP_1024_160 = DHDomain(
    name="MODP-1024-160",
    p=_h("""B10B8F96A080E01DDE92DE5EAE5D54EC52C99FBCFB06A3C69A6A9DCA52D23B616073E28675A23D189838EF1E2EE652C0
         13ECB4AEA906112324975C3CD49B83BFACCBDD7D90C4BD7098488E9C219A73724EFFD6FAE5644738FAA31A4FF55BCCC0
         A151AF5F0DC8B4BD45BF37DF365C1A65E68CFDA76D4DA708DF1FB2BC2E4A4371"""),
    g=_h("""A4D1CBD5C3FD34126765A442EFB99905F8104DD258AC507FD6406CFF14266D31266FEA1E5C41564B777E690F5504F213
         160217B4B01B886A5E91547F9E2749F4D7FBD7D3B9A92EE1909D0D2263F80A76A6A24C087A091F531DBF0A0169B6A28A
         D662A4D18E73AFA32D779D5918D08BC8858F4DCEF97C2A24855E6EEB22B3B2E5"""),
    q=_h("F518AA8781A8DF278ABA4E7D64B7CB9D49462353"),
    parameter_id=0,
)

MODP_2048_224 = DHDomain(
    name="MODP-2048-224",
    p=_h("""AD107E1E9123A9D0D660FAA79559C51FA20D64E5683B9FD1B54B1597B61D0A75E6FA141DF95A56DBAF9A3C407BA1DF15
         EB3D688A309C180E1DE6B85A1274A0A66D3F8152AD6AC2129037C9EDEFDA4DF8D91E8FEF55B7394B7AD5B7D0B6C12207
         C9F98D11ED34DBF6C6BA0B2C8BBC27BE6A00E0A0B9C49708B3BF8A317091883681286130BC8985DB1602E714415D9330
         278273C7DE31EFDC7310F7121FD5A07415987D9ADC0A486DCDF93ACC44328387315D75E198C641A480CD86A1B9E587E8
         BE60E69CC928B2B9C52172E413042E9B23F10B0E16E79763C9B53DCF4BA80A29E3FB73C16B8E75B97EF363E2FFA31F71
         CF9DE5384E71B81C0AC4DFFE0C10E64F"""),
    g=_h("""AC4032EF4F2D9AE39DF30B5C8FFDAC506CDEBE7B89998CAF74866A08CFE4FFE3A6824A4E10B9A6F0DD921F01A70C4AFA
         AB739D7700C29F52C57DB17C620A8652BE5E9001A8D66AD7C17669101999024AF4D027275AC1348BB8A762D0521BC98A
         E247150422EA1ED409939D54DA7460CDB5F6C6B250717CBEF180EB34118E98D119529A45D6F834566E3025E316A330EF
         BB77A86F0C1AB15B051AE3D428C8F8ACB70A8137150B8EEB10E183EDD19963DDD9E263E4770589EF6AA21E7F5F2FF381
         B539CCE3409D13CD566AFBB48D6C019181E1BCFE94B30269EDFE72FE9B6AA4BD7B5A0F1C71CFFF4C19C418E1F6EC0179
         81BC087F2A7065B384B890D3191F2BFA"""),
    q=_h("801C0D34C58D93FE997177101F80535A4738CEBCBF389A99B36371EB"),
    parameter_id=1,
)

MODP_2048_256 = DHDomain(
    name="MODP-2048-256",
    p=_h("""87A8E61DB4B6663CFFBBD19C651959998CEEF608660DD0F25D2CEED4435E3B00E00DF8F1D61957D4FAF7DF4561B2AA30
         16C3D91134096FAA3BF4296D830E9A7C209E0C6497517ABD5A8A9D306BCF67ED91F9E6725B4758C022E0B1EF4275BF7B
         6C5BFC11D45F9088B941F54EB1E59BB8BC39A0BF12307F5C4FDB70C581B23F76B63ACAE1CAA6B7902D52526735488A0E
         F13C6D9A51BFA4AB3AD8347796524D8EF6A167B5A41825D967E144E5140564251CCACB83E6B486F6B3CA3F7971506026
         C0B857F689962856DED4010ABD0BE621C3A3960A54E710C375F26375D7014103A4B54330C198AF126116D2276E11715F
         693877FAD7EF09CADB094AE91E1A1597"""),
    g=_h("""3FB32C9B73134D0B2E77506660EDBD484CA7B18F21EF205407F4793A1A0BA12510DBC15077BE463FFF4FED4AAC0BB555
         BE3A6C1B0C6B47B1BC3773BF7E8C6F62901228F8C28CBB18A55AE31341000A650196F931C77A57F2DDF463E5E9EC144B
         777DE62AAAB8A8628AC376D282D6ED3864E67982428EBC831D14348F6F2F9193B5045AF2767164E1DFC967C1FB3F2E55
         A4BD1BFFE83B9C80D052B985D182EA0ADB2A3B7313D3FE14C8484B1E052588B9B7D2BBD2DF016199ECD06E1557CD0915
         B3353BBB64E0EC377FD028370DF92B52C7891428CDC67EB6184B523D1DB246C32F63078490F00EF8D647D148D4795451
         5E2327CFEF98C582664B4C0F6CC41659"""),
    q=_h("8CF83642A709A097B447997640129DA299B1A47D1EB3750BA308B0FE64F5FBD3"),
    parameter_id=2,
)

STANDARD_DH_DOMAINS: dict[int, DHDomain] = {0: MODP_1024_160, 1: MODP_2048_224, 2: MODP_2048_256}
"""Standardized domain parameter IDs 0-2 (RFC 5114 §2.1-2.3)."""


def domain_from_parameters(p: int, g: int, q: int | None = None) -> DHDomain:
    """Explicit (p, g[, q]) -> the standardized group it equals, else a custom group."""
    for dom in STANDARD_DH_DOMAINS.values():
        if dom.p == p and dom.g == g and (q is None or q == dom.q):
            return dom
    if not (p > 3 and 1 < g < p - 1):
        raise DHError("explicit DH parameters are out of range")
    _check_group(p, g, q)
    return DHDomain(name="explicit", p=p, g=g, q=q)


MIN_EXPLICIT_P_BITS = 1024
"""Smallest modulus accepted in explicit parameters (the smallest standardized group, RFC 5114 §2.1)."""
MAX_EXPLICIT_P_BITS = 4096
MIN_EXPLICIT_Q_BITS = 160


def _check_group(p: int, g: int, q: int | None) -> None:
    """Explicit parameters must describe a real group before any protocol runs on them.

    They reach the terminal unauthenticated (EF.CardAccess) or from a chip's own files. A subgroup
    order q of 0 or 1 left no private key to draw (the draw looped forever) and q = 0 divided by zero
    in the Integrated Mapping; a small or composite group would let an impostor chip test PACE
    password guesses offline.
    """
    from ecdsa import numbertheory as _nt

    # cheap checks first: a hostile EF.CardAccess may list many parameter sets
    if not MIN_EXPLICIT_P_BITS <= p.bit_length() <= MAX_EXPLICIT_P_BITS or pow(2, p - 1, p) != 1:
        raise DHError(f"explicit DH parameters: p is not a prime of {MIN_EXPLICIT_P_BITS} to "
                      f"{MAX_EXPLICIT_P_BITS} bits")
    if q is not None:
        if q.bit_length() < MIN_EXPLICIT_Q_BITS or (p - 1) % q or not _nt.is_prime(q):
            raise DHError(f"explicit DH parameters: q is not a prime of at least {MIN_EXPLICIT_Q_BITS} "
                          "bits dividing p - 1")
        if pow(g, q, p) != 1:
            raise DHError("explicit DH parameters: g does not generate the subgroup of order q")
    if not _nt.is_prime(p):
        raise DHError("explicit DH parameters: p is not prime")
