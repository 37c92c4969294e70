"""Prices and currencies as product pages write them: "26,00 €", "$1,299.99", 1299.9,
"499€\n499€", read with price-parser; the currency from an ISO code, a symbol or the
shop's domain."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from price_parser import Price

CENT = Decimal("0.01")
LARGEST = Decimal("99999999.99")  # deals.current_price is NUMERIC(10,2)

SYMBOLS = {
    "$": "USD",
    "US$": "USD",
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "円": "JPY",
    "₹": "INR",
    "C$": "CAD",
    "CA$": "CAD",
    "A$": "AUD",
    "AU$": "AUD",
    "R$": "BRL",
    "zł": "PLN",
    "₽": "RUB",
    "₩": "KRW",
    "Kč": "CZK",
    "₺": "TRY",
    "руб": "RUB",
}
# Top-level domains whose shops price in one currency (".com" says nothing).
DOMAIN_CURRENCIES = {
    "uk": "GBP",
    "jp": "JPY",
    "ca": "CAD",
    "au": "AUD",
    "in": "INR",
    "br": "BRL",
    "mx": "MXN",
    "pl": "PLN",
    "se": "SEK",
    "ch": "CHF",
    "dk": "DKK",
    "no": "NOK",
    "cz": "CZK",
    "ru": "RUB",
    "tr": "TRY",
    **dict.fromkeys(
        ("de", "fr", "es", "it", "nl", "at", "be", "ie", "fi", "pt", "gr", "sk", "si", "lu"),
        "EUR",
    ),
}
# A bare "$" means the local dollar on these domains.
DOLLAR_DOMAINS = {"ca": "CAD", "au": "AUD", "nz": "NZD", "sg": "SGD", "hk": "HKD", "mx": "MXN"}


def domain_currency(url: str) -> str | None:
    tld = (urlsplit(url).hostname or "").rsplit(".", 1)[-1]
    return DOMAIN_CURRENCIES.get(tld)


def currency_code(text: Any, url: str = "") -> str | None:
    """An ISO 4217 code from a code or a symbol ("eur", "€", "US$"); None if neither."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if len(text) == 3 and text.isalpha():
        return text.upper()
    if text == "$":
        return DOLLAR_DOMAINS.get((urlsplit(url).hostname or "").rsplit(".", 1)[-1], "USD")
    return SYMBOLS.get(text)


def amount(value: Any) -> tuple[Decimal | None, str | None]:
    """A positive price in whole cents and the currency written with it (code or symbol),
    or (None, None): placeholders such as 0, "", {} and text with no number are no price."""
    if isinstance(value, bool) or value is None:
        return None, None
    if isinstance(value, int | float):
        number, symbol = Decimal(str(value)), None
    elif isinstance(value, str):
        parsed = Price.fromstring(value[:200])
        number, symbol = parsed.amount, parsed.currency
    else:
        return None, None
    try:
        cents = None if number is None else number.quantize(CENT, ROUND_HALF_UP)
    except InvalidOperation:
        return None, None
    if cents is None or not cents.is_finite() or cents <= 0 or cents > LARGEST:
        return None, None
    return cents, symbol
