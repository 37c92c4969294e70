"""Each marketplace's own id for our eleven categories (what its search takes and returns)."""

from core.models.enums import MarketCategory as C
from core.models.enums import MarketType as M

CATEGORY_IDS: dict[M, dict[C, str]] = {
    # PA-API 5.0 search indexes (US locale).
    M.AMAZON: {
        C.ELECTRONICS: "Electronics",
        C.FASHION: "Fashion",
        C.HOME: "HomeAndKitchen",
        C.BOOKS: "Books",
        C.TOYS: "ToysAndGames",
        C.SPORTS: "SportsAndOutdoors",
        C.AUTOMOTIVE: "Automotive",
        C.HEALTH: "HealthPersonalCare",
        C.BEAUTY: "Beauty",
        C.GROCERY: "GroceryAndGourmetFood",
        C.OTHER: "All",
    },
    # eBay US top-level category ids.
    M.EBAY: {
        C.ELECTRONICS: "293",
        C.FASHION: "11450",
        C.HOME: "11700",
        C.BOOKS: "267",
        C.TOYS: "220",
        C.SPORTS: "888",
        C.AUTOMOTIVE: "6000",
        C.HEALTH: "67588",
        C.BEAUTY: "26395",
        C.GROCERY: "14308",
        C.OTHER: "99",
    },
    # Walmart taxonomy department ids.
    M.WALMART: {
        C.ELECTRONICS: "3944",
        C.FASHION: "5438",
        C.HOME: "4044",
        C.BOOKS: "3920",
        C.TOYS: "4171",
        C.SPORTS: "4125",
        C.AUTOMOTIVE: "91083",
        C.HEALTH: "976760",
        C.BEAUTY: "1085666",
        C.GROCERY: "976759",
        C.OTHER: "0",
    },
    # Best Buy categoryPath ids.
    M.BESTBUY: {
        C.ELECTRONICS: "abcat0100000",
        C.FASHION: "pcmcat1496260600109",
        C.HOME: "pcmcat312300050015",
        C.BOOKS: "abcat0600000",
        C.TOYS: "pcmcat252700050006",
        C.SPORTS: "pcmcat179100050006",
        C.AUTOMOTIVE: "abcat0300000",
        C.HEALTH: "pcmcat242800050021",
        C.BEAUTY: "pcmcat748300666044",
        C.GROCERY: "pcmcat1495046592939",
        C.OTHER: "cat00000",
    },
    # Target category node ids.
    M.TARGET: {
        C.ELECTRONICS: "5xtg6",
        C.FASHION: "rdihz",
        C.HOME: "5xtvd",
        C.BOOKS: "4m8xx",
        C.TOYS: "5xtb0",
        C.SPORTS: "5xt85",
        C.AUTOMOTIVE: "55kux",
        C.HEALTH: "5xu1n",
        C.BEAUTY: "55r1x",
        C.GROCERY: "5xt1a",
        C.OTHER: "0",
    },
}


def category_id(market: M, category: C | None) -> str | None:
    return None if category is None else CATEGORY_IDS[market][category]


def category_of(market: M, *market_ids: object) -> C:
    """Our category for the first of a market's category ids we map to a department."""
    ours = {known: category for category, known in CATEGORY_IDS[market].items()}
    found = (ours[str(i)] for i in market_ids if ours.get(str(i), C.OTHER) is not C.OTHER)
    return next(found, C.OTHER)
