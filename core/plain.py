"""Values as plain JSON: Decimals as plain decimal strings ("0.00000000", never "0E-8"),
UUIDs as strings, times ISO 8601, enums by value."""

from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID


def cents(value: Decimal) -> Decimal:
    """300 and 300.0 are both stored as 300.00 (NUMERIC(10, 2)): answer with what is stored."""
    return value.quantize(Decimal("0.01"))


def decimal_text(value: Decimal) -> str:
    return format(value, "f")


def amount_text(value: Decimal) -> str:
    """An amount for people to read: no trailing zeros ("0.75", "1", "10")."""
    return decimal_text(value.normalize())


def tokens_text(value: Decimal) -> str:
    """A token amount in a sentence: "0 tokens", "1 token", "0.1 tokens"."""
    return f"{amount_text(value)} token{'' if value == 1 else 's'}"


def plain_scalar(value: Any) -> Any:
    """json.dumps' `default`: the JSON form of a value it cannot write itself."""
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def jsonable(value: Any) -> Any:
    """`value` with every nested Decimal, UUID, datetime and enum in its JSON form."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return plain_scalar(value)
