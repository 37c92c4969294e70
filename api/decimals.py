"""Decimals in JSON as plain decimal strings ("0.00000000", never "0E-8"), and prices in
request bodies."""

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, PlainSerializer

from core.plain import cents, decimal_text

PlainDecimal = Annotated[Decimal, PlainSerializer(decimal_text, return_type=str, when_used="json")]

# A price someone asks for: positive, in cents, and nothing absurd.
MAX_PRICE = Decimal(1_000_000)
Price = Annotated[PlainDecimal, Field(gt=0, le=MAX_PRICE, decimal_places=2), AfterValidator(cents)]
