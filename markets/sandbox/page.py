"""A sandbox product page: a little HTML with the schema.org Product/Offer JSON-LD that
real retail pages embed."""

import html
import json

from core.models.enums import MarketType
from markets.sandbox.state import Hit
from markets.sandbox.wire import image, page_path

SELLERS = {
    MarketType.AMAZON: "Amazon.com",
    MarketType.WALMART: "Walmart.com",
    MarketType.EBAY: "eBay seller",
    MarketType.TARGET: "Target",
    MarketType.BESTBUY: "Best Buy",
}


def product_page_html(market: MarketType, hit: Hit, base: str) -> str:
    p, q = hit.product, hit.quote
    url = base + page_path(market, p)
    offer = {
        "@type": "Offer",
        "url": url,
        "price": str(q.price),
        "priceCurrency": "USD",
        "availability": "https://schema.org/" + ("InStock" if q.in_stock else "OutOfStock"),
        "itemCondition": "https://schema.org/NewCondition",
        "seller": {"@type": "Organization", "name": SELLERS[market]},
    }
    if q.on_sale:
        offer["priceSpecification"] = {
            "@type": "UnitPriceSpecification",
            "priceType": "https://schema.org/ListPrice",
            "price": str(q.list_price),
            "priceCurrency": "USD",
        }
    product = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": p.title,
        "description": p.description,
        "image": image(p, base),
        "sku": p.listings[market],
        "gtin12": p.upc,
        "mpn": p.mpn,
        "brand": {"@type": "Brand", "name": p.brand},
        "category": p.category.value,
        "aggregateRating": {"@type": "AggregateRating", "ratingValue": str(p.rating)},
        "offers": offer,
    }
    data = json.dumps(product).replace("</", "<\\/")
    title = html.escape(p.title)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<script type="application/ld+json">{data}</script></head>
<body><h1>{title}</h1><p class="price">${q.price}</p>
<p>{html.escape(p.description)}</p></body></html>
"""
