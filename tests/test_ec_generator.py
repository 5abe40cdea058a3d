"""Multiples of the standard generator through OpenSSL agree with the pure-Python arithmetic.

The ICAO worked examples (tests/test_pace.py) pin the results on brainpoolP256r1; this checks every
named curve, the edge scalars, and that curves OpenSSL does not know still take the pure-Python path.
"""

from __future__ import annotations

import pytest
from ecdsa import ellipticcurve as ell

from cccd_reader.crypto.ec import STANDARD_EC_DOMAINS, ECError, named_curve


@pytest.mark.parametrize("parameter_id", sorted(STANDARD_EC_DOMAINS))
def test_generator_multiples_match_the_reference(parameter_id: int) -> None:
    dom = STANDARD_EC_DOMAINS[parameter_id]
    g = ell.PointJacobi(ell.CurveFp(dom.p, dom.a, dom.b, 1), dom.gx, dom.gy, 1, dom.n)
    for k in (1, 2, 3, dom.n // 3, dom.n - 2, dom.n - 1, 0xC0FFEE):
        ref = g * k
        assert dom.mul(k) == (ref.x(), ref.y()), (dom.name, k)
        assert dom.public_key(k) == dom.mul(k)
    assert dom.mul(dom.n + 5) == dom.mul(5)  # out-of-range scalars reduce as before
    with pytest.raises(ECError):
        dom.mul(dom.n)


def test_which_curves_openssl_computes() -> None:
    for name in ("secp256r1", "brainpoolP256r1", "brainpoolP384r1", "secp521r1"):
        dom = named_curve(name)
        assert dom is not None and dom.cryptography_curve() is not None
    for name in ("brainpoolP224r1", "brainpoolP320r1"):
        dom = named_curve(name)
        assert dom is not None and dom.cryptography_curve() is None  # pure Python, still right
