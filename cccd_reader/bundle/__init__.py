"""Verification bundles re-checked: :func:`verify_bundle` -> :class:`BundleVerdict` (docs/bundle.md).

The format itself (writing, parsing) is :mod:`cccd_reader.read.evidence`: the record writes it, and
these checks sit above the read package.
"""

from __future__ import annotations

from cccd_reader.bundle.check import BundleVerdict, sod_envelope_problems, verify_bundle
from cccd_reader.read.evidence import BUNDLE_FORMAT, BUNDLE_VERSION, Bundle, load_bundle, make_bundle

__all__ = ["BUNDLE_FORMAT", "BUNDLE_VERSION", "Bundle", "BundleVerdict", "load_bundle", "make_bundle",
           "sod_envelope_problems", "verify_bundle"]
