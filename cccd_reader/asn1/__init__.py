"""ASN.1 facts shared by every layer that parses or builds card files: object identifiers and DER helpers."""
