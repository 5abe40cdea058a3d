"""Moved: the OIDs and their DER helpers live in :mod:`cccd_reader.asn1.oids` (below both the LDS parsers
and the protocols, which both need them). The old names still resolve here, with a DeprecationWarning."""

from __future__ import annotations

from cccd_reader._lazy import moved_names

__getattr__ = moved_names(__name__, {name: "cccd_reader.asn1.oids" for name in (
    "BSI_DE",
    "ID_PK",
    "ID_PK_DH",
    "ID_PK_ECDH",
    "ID_TA",
    "ID_CA",
    "ID_CA_DH",
    "ID_CA_ECDH",
    "ID_PACE",
    "ID_PACE_DH_GM",
    "ID_PACE_ECDH_GM",
    "ID_PACE_DH_IM",
    "ID_PACE_ECDH_IM",
    "ID_PACE_ECDH_CAM",
    "ID_AA",
    "ID_DOCUMENT_TYPE_LIST",
    "ID_SECURITY_OBJECT",
    "STANDARDIZED_DOMAIN_PARAMETERS",
    "ID_EC_PUBLIC_KEY",
    "ID_PRIME_FIELD",
    "DH_PUBLIC_NUMBER",
    "DH_KEY_AGREEMENT",
    "RSA_ENCRYPTION",
    "PACEAlgorithm",
    "CAAlgorithm",
    "PACE_ALGORITHMS",
    "CA_ALGORITHMS",
    "PACE_DOMAIN_PARAMETER_OIDS",
    "ECDSA_HASHES",
    "encode_oid_value",
    "decode_oid_value",
    "encode_uint_value",
    "decode_int_value",
)})
