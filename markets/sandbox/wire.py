"""Each market's item, as its real API writes it, for a sandbox product on a given day."""

from decimal import Decimal
from typing import Any

from core.models.enums import MarketCategory as C
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


# Real ItemInfo.Classifications.ProductGroup values (not search-index names).
PRODUCT_GROUP = {
    C.ELECTRONICS: "Electronics",
    C.FASHION: "Apparel",
    C.HOME: "Kitchen",
    C.BOOKS: "Book",
    C.TOYS: "Toy",
    C.SPORTS: "Sports",
    C.AUTOMOTIVE: "Automotive Parts and Accessories",
    C.HEALTH: "Health and Beauty",
    C.BEAUTY: "Beauty",
    C.GROCERY: "Grocery",
    C.OTHER: "Office Product",
}


def amazon_money(amount: Decimal) -> dict[str, Any]:
    return {"Amount": float(amount), "Currency": "USD", "DisplayAmount": f"${amount:,}"}


def amazon_item(p: Product, q: Quote, base: str) -> dict[str, Any]:
    """A PA-API 5.0 SearchItems item with OffersV2 (the retired Offers is not served)."""
    price: dict[str, Any] = {"Money": amazon_money(q.price)}
    if q.on_sale:
        price["SavingBasis"] = {
            "Money": amazon_money(q.list_price),
            "SavingBasisType": "LIST_PRICE",
            "SavingBasisTypeLabel": "List Price",
        }
        price["Savings"] = {
            "Money": amazon_money(q.list_price - q.price),
            "Percentage": int(q.percent_off),
        }
    listing = {
        "Availability": {
            "Type": "IN_STOCK" if q.in_stock else "OUT_OF_STOCK",
            "Message": "In Stock" if q.in_stock else "Currently unavailable.",
            "MinOrderQuantity": 1,
            "MaxOrderQuantity": 10,
        },
        "Condition": {"Value": "New", "SubCondition": "Unknown", "ConditionNote": ""},
        "IsBuyBoxWinner": True,
        "MerchantInfo": {"Name": "Amazon.com", "Id": "ATVPDKIKX0DER"},
        "Price": price,
        "Type": "LIGHTNING_DEAL" if q.on_sale and p.pid % 7 == 0 else None,
        "ViolatesMAP": False,
    }
    return {
        "ASIN": p.listings[M.AMAZON],
        "DetailPageURL": base + page_path(M.AMAZON, p) + "?tag=dealagent-20&linkCode=osi",
        "Images": {"Primary": {"Large": {"URL": image(p, base), "Height": 500, "Width": 500}}},
        "ItemInfo": {
            "Title": {"DisplayValue": p.title, "Label": "Title", "Locale": "en_US"},
            "ByLineInfo": {"Brand": {"DisplayValue": p.brand, "Label": "Brand"}},
            "Features": {"DisplayValues": [p.description], "Label": "Features"},
            "ExternalIds": {"UPCs": {"DisplayValues": [p.upc], "Label": "UPC"}},
            "ManufactureInfo": {"Model": {"DisplayValue": p.mpn, "Label": "Model"}},
            "Classifications": {
                "Binding": {"DisplayValue": p.noun.title(), "Label": "Binding"},
                "ProductGroup": {
                    "DisplayValue": PRODUCT_GROUP[p.category],
                    "Label": "ProductGroup",
                },
            },
        },
        "OffersV2": {"Listings": [{k: v for k, v in listing.items() if v is not None}]},
    }


WALMART_DEPARTMENT = {
    C.ELECTRONICS: "Electronics",
    C.FASHION: "Clothing",
    C.HOME: "Home",
    C.BOOKS: "Books",
    C.TOYS: "Toys",
    C.SPORTS: "Sports & Outdoors",
    C.AUTOMOTIVE: "Auto & Tires",
    C.HEALTH: "Health",
    C.BEAUTY: "Beauty",
    C.GROCERY: "Food",
    C.OTHER: "Office Supplies",
}
AUCTION_EVERY = 9  # one eBay listing in nine is an auction


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
    if p.pid % AUCTION_EVERY == 0 and not q.pinned:
        # An auction-only listing carries its current bid, and no price (as eBay's do).
        del item["price"]
        item |= {
            "buyingOptions": ["AUCTION"],
            "currentBidPrice": {"value": str(q.price), "currency": "USD"},
            "bidCount": p.pid % 13,
            "itemEndDate": f"2030-01-{1 + p.pid % 28:02d}T18:00:00.000Z",
        }
    elif q.on_sale:
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
        "categoryPath": f"Home Page/{WALMART_DEPARTMENT[p.category]}",
        "categoryNode": f"{department}_1234",
        "shortDescription": p.description,
        "brandName": p.brand,
        "thumbnailImage": image(p, base),
        "mediumImage": image(p, base),
        "largeImage": image(p, base),
        # v2 documents only the tracking link (|PUBID| stands for the publisher's id).
        "productTrackingUrl": base + page_path(M.WALMART, p) + "?veh=aff&sourceid=imp_|PUBID|",
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
        "shippingCost": "" if q.price >= 35 else 5.99,  # Best Buy writes "" for none
        "categoryPath": [
            {"id": "cat00000", "name": "Best Buy"},
            {"id": CATEGORY_IDS[M.BESTBUY][p.category], "name": p.category.value.title()},
        ],
        "shortDescription": p.description,
    }


def target_product(p: Product, q: Quote, base: str) -> dict[str, Any]:
    """A plp_search_v2 product; some sale items carry only the display strings of their
    prices, as Target's do."""
    price: dict[str, Any] = {
        "current_retail": float(q.price),
        "reg_retail": float(q.list_price),
        "formatted_current_price": f"${q.price:,}",
        "formatted_current_price_type": "sale" if q.on_sale else "reg",
        "location_id": 3991,
    }
    if q.on_sale:
        price |= {
            "formatted_comparison_price": f"${q.list_price:,}",
            "formatted_comparison_price_type": "reg",
        }
        if p.pid % 5 == 0:
            del price["current_retail"], price["reg_retail"]
    node = CATEGORY_IDS[M.TARGET][p.category]
    return {
        "__typename": "ProductSummary",
        "tcin": p.listings[M.TARGET],
        "original_tcin": p.listings[M.TARGET],
        "category": {"category_id": node, "parent_category_id": node, "name": p.category.title()},
        "item": {
            # Entities in titles and these paths as in a captured answer (tests/samples/target).
            "product_description": {
                "title": p.title.replace("&", "&#38;").replace("'", "&#39;"),
                "bullet_descriptions": [p.description],
            },
            "enrichment": {
                "buy_url": page_path(M.TARGET, p),
                "images": {"primary_image_url": image(p, base)},
            },
            "primary_brand": {"name": p.brand},
            "primary_barcode": p.upc,
            "product_classification": {"item_type": {"name": p.noun.title()}},
            "relationship_type_code": "SA",
        },
        "price": price,
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
