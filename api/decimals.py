"""Decimals in JSON as plain decimal strings ("0.00000000", never "0E-8"), and prices in
request bodies and
query strings."""

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, WithJsonSchema

from core.plain import cents, decimal_text

PlainDecimal = Annotated[Decimal, PlainSerializer(decimal_text, return_type=str, when_used="json")]

# A price someone asks for: positive, in cents, and nothing absurd.
MAX_PRICE = Decimal(1_000_000)
Price = Annotated[PlainDecimal, Field(gt=0, le=MAX_PRICE, decimal_places=2), AfterValidator(cents)]


def query_decimal(pattern: str, what: str, example: str) -> Any:
    """A Decimal given as text (a query parameter) that must match `pattern`; the schema
    shows it as that string, so what a client may send is what the server takes."""

    def matching(value: Any) -> Any:
        if not (isinstance(value, str) and re.fullmatch(pattern, value)):
            raise ValueError(f"must be {what}, such as {example}")
        return value

    schema = {"type": "string", "pattern": pattern, "examples": [example]}
    return Annotated[Decimal, BeforeValidator(matching), WithJsonSchema(schema)]
