"""The top-level API: every name listed resolves, and every status enum a result can carry is there."""

import enum
import importlib

import cccd_reader


def test_every_public_name_resolves():
    for name in cccd_reader.__all__:
        assert getattr(cccd_reader, name) is not None, name


def test_every_status_enum_of_a_result_is_exported():
    passive = importlib.import_module("cccd_reader.verify.passive")
    enums = {n for n, v in vars(passive).items() if isinstance(v, type) and issubclass(v, enum.Enum)
             and v.__module__ == passive.__name__}
    assert {"PAStatus", "DGStatus", "SignatureStatus", "ChainStatus"} <= enums
    for name in enums:
        assert getattr(cccd_reader, name) is getattr(passive, name)
