"""Each marketplace's own id for our eleven categories (what its search takes and returns),
and the department names its answers use where they carry a name rather than one of those
ids (Amazon's ProductGroup and browse-node names, Walmart's categoryPath)."""

from collections.abc import Iterable

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


# Lower-cased names, matched whole (so Walmart's "Home Page" crumb is not "home").
CATEGORY_NAMES: dict[M, dict[C, tuple[str, ...]]] = {
    # PA-API 5 / Creators API ItemInfo.Classifications.ProductGroup values, and the names
    # of the root browse nodes (the search indexes' display names).
    M.AMAZON: {
        C.ELECTRONICS: (
            "electronics",
            "wireless",
            "personal computer",
            "pc accessory",
            "camera",
            "video games",
            "video game",
            "home theater",
            "cell phones & accessories",
            "computers",
            "computers & accessories",
            "amazon devices",
        ),
        C.BOOKS: ("book", "books", "ebooks", "kindle store", "abis_book"),
        C.FASHION: (
            "apparel",
            "shoes",
            "jewelry",
            "watch",
            "watches",
            "luggage",
            "fashion",
            "clothing, shoes & jewelry",
        ),
        C.HOME: (
            "home",
            "kitchen",
            "home improvement",
            "furniture",
            "lawn & patio",
            "appliances",
            "home & kitchen",
            "tools & home improvement",
            "patio, lawn & garden",
            "major appliances",
        ),
        C.TOYS: ("toy", "toys", "toys & games", "baby product", "baby"),
        C.SPORTS: ("sports", "sporting goods", "sports & outdoors"),
        C.AUTOMOTIVE: ("automotive parts and accessories", "automotive"),
        C.HEALTH: (
            "health and beauty",
            "health & household",
            "health & personal care",
            "drugstore",
        ),
        C.BEAUTY: ("beauty", "luxury beauty", "beauty & personal care"),
        C.GROCERY: ("grocery", "grocery & gourmet food"),
    },
    # eBay US top-level category names (item summaries name every level of the item's path).
    M.EBAY: {
        C.ELECTRONICS: (
            "consumer electronics",
            "computers/tablets & networking",
            "cell phones & accessories",
            "video games & consoles",
            "cameras & photo",
        ),
        C.FASHION: ("clothing, shoes & accessories", "jewelry & watches"),
        C.HOME: ("home & garden",),
        C.BOOKS: ("books & magazines", "books"),
        C.TOYS: ("toys & hobbies",),
        C.SPORTS: ("sporting goods",),
        C.AUTOMOTIVE: ("ebay motors",),
        C.BEAUTY: ("health & beauty",),
    },
    # Walmart categoryPath crumbs (departments of walmart.com).
    M.WALMART: {
        C.ELECTRONICS: ("electronics", "cell phones", "video games", "computers"),
        C.FASHION: ("clothing", "shoes", "jewelry", "fashion", "clothing, shoes & accessories"),
        C.HOME: ("home", "home improvement", "patio & garden", "appliances", "furniture"),
        C.BOOKS: ("books",),
        C.TOYS: ("toys", "baby"),
        C.SPORTS: ("sports & outdoors", "sports and outdoors"),
        C.AUTOMOTIVE: ("auto & tires", "auto and tires"),
        C.HEALTH: ("health", "health and medicine", "personal care"),
        C.BEAUTY: ("beauty", "premium beauty"),
        C.GROCERY: ("food", "grocery"),
    },
}


def category_id(market: M, category: C | None) -> str | None:
    return None if category is None else CATEGORY_IDS[market][category]


def category_of(market: M, *market_ids: object, names: Iterable[str] = ()) -> C:
    """Our category for the first of a market's category ids we map to a department, else
    for the first of its department `names` we know; else other."""
    ours = {known: category for category, known in CATEGORY_IDS[market].items()}
    found = (ours[str(i)] for i in market_ids if ours.get(str(i), C.OTHER) is not C.OTHER)
    named = {n: category for category, all_ in CATEGORY_NAMES.get(market, {}).items() for n in all_}
    found_by_name = (named[key] for name in names if (key := name.strip().lower()) in named)
    return next(found, None) or next(found_by_name, C.OTHER)
