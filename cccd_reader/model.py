"""Typed, frozen records returned by the library, with ``to_dict()`` giving JSON-ready values.

Conventions: dates as ISO strings, images as base64 (or a file path when saved), never raw bytes;
``repr`` of records holding personal data shows no personal values.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import enum
from typing import Any


def to_jsonable(value: Any) -> Any:
    """Convert record values to JSON-ready ones (dates -> ISO, bytes -> base64, records -> dicts)."""
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return value.to_dict()
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, enum.Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return value
