"""Stock as a page states it: schema.org ItemAvailability values, or the usual words in
English, German, French, Spanish, Italian, Dutch and Portuguese. Nothing else is read as
stock: an unknown string is unknown (None), never out of stock."""

import re

IN_STOCK = "InStock"
OUT_OF_STOCK = "OutOfStock"

SCHEMA_VALUES = {
    "instock": IN_STOCK,
    "limitedavailability": IN_STOCK,
    "onlineonly": IN_STOCK,
    "instoreonly": IN_STOCK,
    "preorder": IN_STOCK,
    "presale": IN_STOCK,
    "backorder": IN_STOCK,
    "madetoorder": IN_STOCK,
    "outofstock": OUT_OF_STOCK,
    "soldout": OUT_OF_STOCK,
    "discontinued": OUT_OF_STOCK,
}

# Out-of-stock phrases are tried first: "not in stock" holds "in stock".
OUT_WORDS = re.compile(
    r"out of stock|sold out|currently unavailable|no longer available|not available|"
    r"unavailable|discontinued|nicht (?:auf lager|lieferbar|verfügbar|vorrätig)|ausverkauft|"
    r"vergriffen|rupture de stock|épuisé|indisponible|agotado|sin stock|no disponible|"
    r"esaurito|non disponibile|uitverkocht|niet (?:leverbaar|op voorraad)|esgotado|indisponível",
    re.IGNORECASE,
)
IN_WORDS = re.compile(
    r"in stock|available|add to (?:cart|bag|basket)|auf lager|lieferbar|vorrätig|verfügbar|"
    r"en stock|disponible|disponibile|op voorraad|leverbaar|em estoque|in magazzino",
    re.IGNORECASE,
)


def from_schema(value: object) -> str | None:
    """InStock/OutOfStock for a schema.org ItemAvailability (URL, name or lower case)."""
    if not isinstance(value, str):
        return None
    name = value.strip().rsplit("/", 1)[-1].replace("_", "").replace(" ", "").lower()
    return SCHEMA_VALUES.get(name) or from_words(value)


def from_words(text: str) -> str | None:
    text = text[:300]
    if OUT_WORDS.search(text):
        return OUT_OF_STOCK
    if IN_WORDS.search(text):
        return IN_STOCK
    return None
