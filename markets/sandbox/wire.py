"""Each market's item, as its real API writes it, for a sandbox product on a given day."""

from typing import Any

from core.models.enums import MarketType as M
from markets.categories import CATEGORY_IDS
from markets.sandbox.catalog import Product
from markets.sandbox.pricing import Quote


def page_path(market: M, product: Product) -> str:
    """The product page's path on the market's website (served by the sandbox too)."""
    iid = product.listings[market]
    if market is M.AMAZON:
        return f"/amazon/dp/{iid}"
    if market is M.WALMART:
        return f"/walmart/ip/{product.slug}/{iid}"
    if market is M.EBAY:
        return f"/ebay/itm/{iid.split('|')[1]}"
    if market is M.TARGET:
        return f"/target/p/{product.slug}/-/A-{iid}"
    return f"/bestbuy/site/{product.slug}/{iid}.p"


def image(product: Product, base: str) -> str:
    return f"{base}/images/{product.pid}.jpg"


def amazon_item(p: Product, q: Quote, base: str) -> dict[str, Any]:
    listing: dict[str, Any] = {
        "Availability": {
            "Message": "In Stock." if q.in_stock else "Currently unavailable.",
            "Type": "Now" if q.in_stock else "OutOfStock",
        },
        "MerchantInfo": {"Name": "Amazon.com", "FeedbackRating": 4.7},
        "Price": {
            "Amount": float(q.price),
            "Currency": "USD",
            "DisplayAmount": f"${q.price:,}",
        },
        "DeliveryInfo": {"IsFreeShippingEligible": q.price >= 35, "IsPrimeEligible": True},
    }
    if q.on_sale:
        listing["SavingBasis"] = {
            "Amount": float(q.list_price),
            "Currency": "USD",
            "DisplayAmount": f"${q.list_price:,}",
            "PriceType": "LIST_PRICE",
        }
        listing["Price"]["Savings"] = {
            "Amount": float(q.list_price - q.price),
            "Currency": "USD",
            "Percentage": int(q.percent_off),
        }
    return {
        "ASIN": p.listings[M.AMAZON],
        "DetailPageURL": base + page_path(M.AMAZON, p),
        "Images": {"Primary": {"Large": {"URL": image(p, base), "Height": 500, "Width": 500}}},
        "ItemInfo": {
            "Title": {"DisplayValue": p.title, "Label": "Title", "Locale": "en_US"},
            "ByLineInfo": {"Brand": {"DisplayValue": p.brand, "Label": "Brand"}},
            "Features": {"DisplayValues": [p.description], "Label": "Features"},
            "ExternalIds": {"UPCs": {"DisplayValues": [p.upc], "Label": "UPC"}},
            "ManufactureInfo": {"Model": {"DisplayValue": p.mpn, "Label": "Model"}},
            "Classifications": {
                "ProductGroup": {"DisplayValue": CATEGORY_IDS[M.AMAZON][p.category]}
            },
        },
        "CustomerReviews": {"StarRating": {"Value": float(p.rating)}},
        "Offers": {"Listings": [listing]},
    }


def ebay_item(p: Product, q: Quote, base: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "itemId": p.listings[M.EBAY],
        "legacyItemId": p.listings[M.EBAY].split("|")[1],
        "title": p.title,
        "shortDescription": p.description,
        "itemWebUrl": base + page_path(M.EBAY, p),
        "image": {"imageUrl": image(p, base)},
        "price": {"value": str(q.price), "currency": "USD"},
        "condition": "New",
        "conditionId": "1000",
        "buyingOptions": ["FIXED_PRICE"],
        "seller": {
            "username": f"{p.brand.lower().replace(' ', '_')}_outlet",
            "feedbackPercentage": "99.2",
            "feedbackScore": 10000 + p.pid,
        },
        "shippingOptions": [
            {"shippingCostType": "FIXED", "shippingCost": {"value": "0.00", "currency": "USD"}}
        ],
        "categories": [{"categoryId": CATEGORY_IDS[M.EBAY][p.category], "categoryName": "x"}],
        "itemLocation": {"postalCode": "950**", "country": "US"},
    }
    if q.on_sale:
        item["marketingPrice"] = {
            "originalPrice": {"value": str(q.list_price), "currency": "USD"},
            "discountPercentage": str(int(q.percent_off)),
            "discountAmount": {"value": str(q.list_price - q.price), "currency": "USD"},
            "priceTreatment": "LIST_PRICE",
        }
    return item


def walmart_item(p: Product, q: Quote, base: str) -> dict[str, Any]:
    department = CATEGORY_IDS[M.WALMART][p.category]
    return {
        "itemId": int(p.listings[M.WALMART]),
        "parentItemId": int(p.listings[M.WALMART]),
        "name": p.title,
        "msrp": float(q.list_price),
        "salePrice": float(q.price),
        "upc": p.upc,
        "categoryPath": p.category.value.title(),
        "categoryNode": f"{department}_1234",
        "shortDescription": p.description,
        "brandName": p.brand,
        "thumbnailImage": image(p, base),
        "mediumImage": image(p, base),
        "largeImage": image(p, base),
        "productTrackingUrl": base + page_path(M.WALMART, p) + "?affp1=sandbox",
        "productUrl": base + page_path(M.WALMART, p),
        "standardShipRate": 0.0,
        "modelNumber": p.mpn,
        "customerRating": str(p.rating),
        "numReviews": 10 + p.pid % 500,
        "stock": "Available" if q.in_stock else "Not available",
        "availableOnline": q.in_stock,
        "offerType": "ONLINE_AND_STORE",
        "isTwoDayShippingEligible": True,
    }


def bestbuy_product(p: Product, q: Quote, base: str) -> dict[str, Any]:
    return {
        "sku": int(p.listings[M.BESTBUY]),
        "name": p.title,
        "salePrice": float(q.price),
        "regularPrice": float(q.list_price),
        "onSale": q.on_sale,
        "percentSavings": str(q.percent_off),
        "url": base + page_path(M.BESTBUY, p),
        "image": image(p, base),
        "upc": p.upc,
        "modelNumber": p.mpn,
        "manufacturer": p.brand,
        "customerReviewAverage": float(p.rating),
        "onlineAvailability": q.in_stock,
        "freeShipping": q.price >= 35,
        "shippingCost": 0 if q.price >= 35 else 5.99,
        "categoryPath": [
            {"id": "cat00000", "name": "Best Buy"},
            {"id": CATEGORY_IDS[M.BESTBUY][p.category], "name": p.category.value.title()},
        ],
        "shortDescription": p.description,
    }


def target_product(p: Product, q: Quote, base: str) -> dict[str, Any]:
    return {
        "__typename": "ProductSummary",
        "tcin": p.listings[M.TARGET],
        "category_id": CATEGORY_IDS[M.TARGET][p.category],
        "item": {
            "product_description": {"title": p.title, "bullet_descriptions": [p.description]},
            "enrichment": {
                "buy_url": page_path(M.TARGET, p),
                "images": {"primary_image_url": image(p, base)},
            },
            "primary_brand": {"name": p.brand},
            "primary_barcode": p.upc,
            "product_classification": {"product_type_name": p.noun.upper()},
        },
        "price": {
            "current_retail": float(q.price),
            "reg_retail": float(q.list_price),
            "formatted_current_price": f"${q.price:,}",
            "formatted_current_price_type": "sale" if q.on_sale else "reg",
        },
        "ratings_and_reviews": {"statistics": {"rating": {"average": float(p.rating)}}},
        "fulfillment": {
            "is_out_of_stock_in_all_store_locations": not q.in_stock,
            "sold_out": not q.in_stock,
            "shipping_minimum": 35,
        },
    }


RENDER = {
    M.AMAZON: amazon_item,
    M.EBAY: ebay_item,
    M.WALMART: walmart_item,
    M.BESTBUY: bestbuy_product,
    M.TARGET: target_product,
}
