"""Decimals in JSON as plain decimal strings ("0.00000000", never "0E-8")."""

from decimal import Decimal
from typing import Annotated

from pydantic import PlainSerializer

PlainDecimal = Annotated[
    Decimal, PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json")
]
