"""Names that moved keep working from their old place for a release, with a DeprecationWarning that
points at the new one (and the new place is the same object)."""

import importlib

import pytest

MOVED = [
    # (old module, name, new module)
    ("cccd_reader.verify.signing", "build_sod", "cccd_reader.issue.signing"),
    ("cccd_reader.verify.signing", "build_signed_data", "cccd_reader.issue.signing"),
    ("cccd_reader.verify.signing", "build_master_list", "cccd_reader.issue.signing"),
    ("cccd_reader.verify.signing", "SIGNATURE_ALGORITHMS", "cccd_reader.issue.signing"),
    ("cccd_reader.verify", "build_sod", "cccd_reader.issue.signing"),
    ("cccd_reader.verify", "build_master_list", "cccd_reader.issue.signing"),
    ("cccd_reader.keys", "validate_id_number", "cccd_reader.idnumber"),
    ("cccd_reader.keys", "id_number_century", "cccd_reader.idnumber"),
    ("cccd_reader.keys", "id_number_sex", "cccd_reader.idnumber"),
    ("cccd_reader.keys", "id_number_birth_year", "cccd_reader.idnumber"),
    ("cccd_reader.crypto.sm", "SecureMessagingTransport", "cccd_reader.transport.secure"),
]


@pytest.mark.parametrize(("old", "name", "new"), MOVED, ids=[f"{o}.{n}" for o, n, _ in MOVED])
def test_moved_name_warns_and_is_the_same_object(old, name, new):
    module = importlib.import_module(old)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        value = getattr(module, name)
    assert value is getattr(importlib.import_module(new), name)


def test_unknown_names_still_raise_attribute_error():
    import cccd_reader
    import cccd_reader.verify.signing as signing

    with pytest.raises(AttributeError):
        signing.no_such_name
    with pytest.raises(AttributeError):
        cccd_reader.no_such_name


def test_top_level_names_resolve_from_their_new_homes():
    import cccd_reader
    from cccd_reader.issue.signing import build_sod

    assert cccd_reader.build_sod is build_sod


def test_the_oid_module_moved_with_every_name():
    import cccd_reader.asn1.oids as new
    import cccd_reader.protocols.oids as old

    with pytest.warns(DeprecationWarning):
        assert old.ID_PACE_ECDH_GM == new.ID_PACE_ECDH_GM
    with pytest.warns(DeprecationWarning):
        assert old.decode_oid_value is new.decode_oid_value
