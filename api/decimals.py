"""Decimals in JSON as plain decimal strings ("0.00000000", never "0E-8")."""

from decimal import Decimal
from typing import Annotated

from pydantic import PlainSerializer

from core.plain import decimal_text

PlainDecimal = Annotated[Decimal, PlainSerializer(decimal_text, return_type=str, when_used="json")]
