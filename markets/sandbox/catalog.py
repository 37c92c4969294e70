"""A deterministic catalog: a few thousand products across the eleven categories, each
listed on one to four markets under that market's own kind of item id."""

import random
import re
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from core.models.enums import MarketCategory as C
from core.models.enums import MarketType as M
from markets.sandbox import hostile
from markets.text import words

SEED = 20261125
SIZE = 3000

# category: (weight, brands, [(noun, low price, high price, variants)])
TEMPLATES: dict[C, tuple[int, list[str], list[tuple[str, int, int, list[str]]]]] = {
    C.ELECTRONICS: (
        30,
        ["Samsung", "LG", "Dell", "ASUS", "Acer", "Sony", "Lenovo", "HP", "BenQ", "Anker"],
        [
            ("4K Monitor", 199, 749, ['27"', '28"', '32"', 'USB-C 27"', 'HDR 32"']),
            ("Gaming Monitor", 149, 599, ['24" 165Hz', '27" 144Hz', '27" 240Hz', '32" Curved']),
            ("Laptop", 399, 1999, ['14" 16GB', '15.6" 8GB', '16" 32GB', '13" OLED']),
            ("Wireless Earbuds", 29, 249, ["Noise Cancelling", "Sport", "Compact"]),
            ("Over-Ear Headphones", 59, 399, ["Noise Cancelling", "Studio", "Wireless"]),
            ("Bluetooth Speaker", 25, 299, ["Portable", "Waterproof", "Party"]),
            ("4K Smart TV", 249, 1499, ['43"', '50"', '55"', '65"', '75"']),
            ("Tablet", 99, 899, ['10" 64GB', '11" 128GB', '12.9" 256GB']),
            ("Mechanical Keyboard", 39, 199, ["RGB", "Wireless", "Tenkeyless"]),
            ("Wireless Mouse", 15, 119, ["Ergonomic", "Gaming", "Silent"]),
            ("Webcam", 29, 199, ["1080p", "4K"]),
            ("Portable SSD", 59, 299, ["1TB", "2TB", "4TB"]),
            ("Wi-Fi 6 Router", 59, 349, ["Dual-Band", "Tri-Band", "Mesh"]),
        ],
    ),
    C.FASHION: (
        10,
        ["Levi's", "Nike", "Adidas", "Columbia", "Carhartt", "Ray-Ban", "Fossil"],
        [
            ("Denim Jacket", 39, 129, ["Men's", "Women's"]),
            ("Running Shoes", 49, 179, ["Men's", "Women's", "Trail"]),
            ("Rain Jacket", 49, 199, ["Packable", "Insulated"]),
            ("Sunglasses", 59, 229, ["Polarized", "Aviator"]),
            ("Leather Watch", 79, 249, ["Chronograph", "Minimalist"]),
        ],
    ),
    C.HOME: (
        12,
        ["Dyson", "Ninja", "KitchenAid", "Instant Pot", "iRobot", "Shark", "Cuisinart"],
        [
            ("Robot Vacuum", 149, 799, ["Self-Emptying", "Wi-Fi", "Mopping"]),
            ("Air Fryer", 49, 229, ["5 Qt", "8 Qt", "Dual Basket"]),
            ("Stand Mixer", 199, 549, ["5 Qt", "Tilt-Head"]),
            ("Pressure Cooker", 59, 199, ["6 Qt", "8 Qt"]),
            ("Cordless Vacuum", 149, 699, ["Stick", "Pet"]),
            ("Coffee Maker", 29, 299, ["12-Cup", "Single Serve", "Espresso"]),
        ],
    ),
    C.BOOKS: (
        6,
        ["Penguin", "O'Reilly", "HarperCollins", "Random House", "No Starch Press"],
        [
            ("Python Programming Guide", 19, 59, ["Paperback", "Hardcover"]),
            ("Cookbook", 15, 45, ["Paperback", "Hardcover"]),
            ("Mystery Novel", 9, 29, ["Paperback", "Hardcover"]),
            ("History of Science", 14, 39, ["Paperback", "Hardcover"]),
        ],
    ),
    C.TOYS: (
        8,
        ["LEGO", "Mattel", "Hasbro", "Melissa & Doug", "Hot Wheels"],
        [
            ("Building Set", 19, 199, ["Classic", "Technic", "City"]),
            ("Board Game", 14, 59, ["Family", "Strategy"]),
            ("Remote Control Car", 29, 149, ["Off-Road", "Racing"]),
            ("Puzzle", 9, 39, ["1000 Piece", "500 Piece"]),
        ],
    ),
    C.SPORTS: (
        8,
        ["Coleman", "Wilson", "Garmin", "Bowflex", "Yeti", "Hydro Flask"],
        [
            ("Camping Tent", 59, 399, ["2-Person", "4-Person", "6-Person"]),
            ("Adjustable Dumbbells", 99, 449, ["52 lb", "90 lb"]),
            ("GPS Running Watch", 149, 599, ["Solar", "AMOLED"]),
            ("Insulated Water Bottle", 19, 49, ["32 oz", "24 oz"]),
            ("Basketball", 19, 69, ["Indoor", "Outdoor"]),
        ],
    ),
    C.AUTOMOTIVE: (
        5,
        ["Bosch", "NOCO", "Michelin", "Garmin", "Armor All"],
        [
            ("Dash Cam", 49, 249, ["1080p", "4K", "Front and Rear"]),
            ("Jump Starter", 59, 199, ["1500A", "3000A"]),
            ("Wiper Blades", 15, 49, ['22"', '26"']),
            ("Tire Inflator", 29, 99, ["Cordless", "12V"]),
        ],
    ),
    C.HEALTH: (
        5,
        ["Omron", "Fitbit", "Withings", "Philips", "Braun"],
        [
            ("Blood Pressure Monitor", 39, 119, ["Upper Arm", "Wrist"]),
            ("Fitness Tracker", 49, 199, ["Slim", "Sport"]),
            ("Smart Scale", 29, 149, ["Wi-Fi", "Bluetooth"]),
            ("Electric Toothbrush", 29, 249, ["Sonic", "Rechargeable"]),
        ],
    ),
    C.BEAUTY: (
        5,
        ["Dyson", "Revlon", "Philips", "CeraVe", "Olay", "Remington"],
        [
            ("Hair Dryer", 29, 429, ["Ionic", "Compact"]),
            ("Electric Shaver", 39, 299, ["Wet & Dry", "Foil"]),
            ("Moisturizer Set", 15, 69, ["Daily", "Night"]),
            ("Hair Straightener", 25, 199, ["Ceramic", "Titanium"]),
        ],
    ),
    C.GROCERY: (
        5,
        ["Starbucks", "Lavazza", "KIND", "Nature Valley", "Lipton"],
        [
            ("Whole Bean Coffee", 9, 39, ["2 lb", "1 lb"]),
            ("Snack Bars Variety Pack", 9, 29, ["24 Count", "48 Count"]),
            ("Green Tea", 5, 19, ["100 Bags", "40 Bags"]),
        ],
    ),
    C.OTHER: (
        6,
        ["Amazon Basics", "Scotch", "Duracell", "Energizer", "Fellowes"],
        [
            ("AA Batteries", 9, 29, ["24 Pack", "48 Pack"]),
            ("Paper Shredder", 39, 199, ["Cross-Cut", "Micro-Cut"]),
            ("Packing Tape", 9, 29, ["6 Rolls", "12 Rolls"]),
        ],
    ),
}

# Best Buy carries only some departments; the others carry everything.
BESTBUY_DEPARTMENTS = {C.ELECTRONICS, C.HOME, C.TOYS, C.HEALTH, C.AUTOMOTIVE}


@dataclass(frozen=True)
class Product:
    pid: int
    title: str
    brand: str
    noun: str
    category: C
    list_price: Decimal
    upc: str
    mpn: str
    rating: Decimal
    description: str
    listings: dict[M, str]  # market -> that market's item id

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")


def upc_check_digit(digits: str) -> str:
    odd = sum(int(d) for d in digits[0::2])
    even = sum(int(d) for d in digits[1::2])
    return str((10 - (odd * 3 + even) % 10) % 10)


def item_id(market: M, rng: random.Random) -> str:
    if market is M.AMAZON:
        return "B0" + "".join(rng.choices("0123456789ABCDEFGHJKLMNPQRSTUVWXYZ", k=8))
    if market is M.EBAY:
        return f"v1|{rng.randint(10**11, 10**12 - 1)}|0"
    if market is M.WALMART:
        return str(rng.randint(10**8, 10**9 - 1))
    if market is M.BESTBUY:
        return str(rng.randint(10**6, 10**7 - 1))
    return str(rng.randint(10**7, 10**8 - 1))


def make_product(pid: int, rng: random.Random) -> Product:
    categories = list(TEMPLATES)
    category = rng.choices(categories, weights=[TEMPLATES[c][0] for c in categories])[0]
    _, brands, nouns = TEMPLATES[category]
    brand = rng.choice(brands)
    noun, low, high, variants = rng.choice(nouns)
    variant = rng.choice(variants)
    mpn = (
        f"{re.sub(r'[^A-Z]', '', brand.upper())[:2]}-{rng.randint(1000, 9999)}{rng.choice('ABCX')}"
    )
    base = f"0{rng.randint(10**9, 10**10 - 1)}"
    price = Decimal(rng.randint(low * 100, high * 100)) / 100
    price = price.quantize(Decimal(1)) - Decimal("0.01")  # prices end in .99
    markets = [m for m in M if m is not M.BESTBUY or category in BESTBUY_DEPARTMENTS]
    listed = rng.sample(markets, k=min(len(markets), rng.choice([1, 2, 2, 3, 3, 4])))
    return Product(
        pid=pid,
        title=f"{brand} {variant} {noun} {mpn}",
        brand=brand,
        noun=noun,
        category=category,
        list_price=max(price, Decimal("4.99")),
        upc=base + upc_check_digit(base),
        mpn=mpn,
        rating=Decimal(rng.randint(30, 50)) / 10,
        description=f"{brand} {noun.lower()}, {variant}. Model {mpn}.",
        listings={m: item_id(m, rng) for m in sorted(listed)},
    )


def hostile_product(pid: int) -> Product:
    return Product(
        pid=pid,
        title=hostile.TITLE,
        brand=hostile.BRAND,
        noun="Hostile Gadget",
        category=C.OTHER,
        list_price=Decimal("49.99"),
        upc="000000000000",
        mpn="XSS-0001",
        rating=Decimal("4.5"),
        description=hostile.DESCRIPTION,
        listings={M.AMAZON: "B0HOSTILE1", M.EBAY: "v1|100000000001|0"},
    )


class Catalog:
    def __init__(self, seed: int = SEED, size: int = SIZE) -> None:
        rng = random.Random(seed)
        self.products = [make_product(pid, rng) for pid in range(size)]
        self.products.append(hostile_product(size))  # proves pages render no markup
        self.by_item = {
            (market, iid): p for p in self.products for market, iid in p.listings.items()
        }
        self.index: dict[str, set[int]] = {}
        for p in self.products:
            for word in words(f"{p.title} {p.category.value}"):
                self.index.setdefault(word, set()).add(p.pid)

    def matching(self, query: str) -> list[Product]:
        """Products whose title has every query word, best match (fewest extra words) first."""
        terms = words(query)
        if not terms:
            return []
        found = set.intersection(*(self.index.get(t, set()) for t in terms))
        return sorted((self.products[pid] for pid in found), key=lambda p: p.pid)


@cache
def default_catalog() -> Catalog:
    return Catalog()
