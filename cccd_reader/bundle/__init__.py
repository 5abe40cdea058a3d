"""Verification bundles: the evidence of one read, for a server to re-check (docs/bundle.md).

``format`` writes and reads the bundle (JSON, base64 for bytes); ``check`` re-runs the checks
(:func:`~cccd_reader.bundle.check.verify_bundle`). Only the format is imported here: the record module
uses it, and the checks sit above the read package.
"""

from __future__ import annotations

from cccd_reader.bundle.format import BUNDLE_FORMAT, BUNDLE_VERSION, Bundle, load_bundle, make_bundle

__all__ = ["BUNDLE_FORMAT", "BUNDLE_VERSION", "Bundle", "load_bundle", "make_bundle"]
