"""The sandbox marketplace as an ASGI app: the five markets' search endpoints (with their
real auth checks), product pages with schema.org data, and an admin API for tests
(markets/sandbox/admin.py)."""

import base64
import binascii
import hmac
import json
import re
import secrets
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs, unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from core.config import Settings
from core.models.enums import MarketType as M
from markets import sigv4
from markets.categories import CATEGORY_IDS
from markets.sandbox.admin import admin_routes
from markets.sandbox.images import image_route
from markets.sandbox.page import product_page_html
from markets.sandbox.state import Fault, SandboxState
from markets.sandbox.wire import RENDER
from markets.walmart import signature_input

CATEGORY_BY_ID = {m: {v: k for k, v in ids.items()} for m, ids in CATEGORY_IDS.items()}
TOO_MANY = {
    M.AMAZON: {
        "__type": "com.amazon.paapi5#TooManyRequestsException",
        "Errors": [
            {
                "Code": "TooManyRequests",
                "Message": "The request was denied due to request throttling.",
            }
        ],
    },
    M.EBAY: {
        "errors": [
            {
                "errorId": 2001,
                "domain": "ACCESS",
                "category": "REQUEST",
                "message": "Too many requests. The request limit has been reached.",
            }
        ]
    },
    M.WALMART: {"errors": [{"code": 429, "message": "Too Many Requests"}]},
    M.TARGET: {"errors": [{"message": "Too Many Requests"}]},
}
# PA-API 5.0 SearchItems resources; Offers.* is retired (OffersV2 replaces it).
AMAZON_RESOURCES = {
    f"{group}.{name}"
    for group, names in {
        "BrowseNodeInfo": ("BrowseNodes", "BrowseNodes.Ancestor", "BrowseNodes.SalesRank"),
        "Images": tuple(
            f"{kind}.{size}"
            for kind in ("Primary", "Variants")
            for size in ("Small", "Medium", "Large")
        ),
        "ItemInfo": (
            "ByLineInfo",
            "Classifications",
            "ContentInfo",
            "ContentRating",
            "ExternalIds",
            "Features",
            "ManufactureInfo",
            "ProductInfo",
            "TechnicalInfo",
            "Title",
            "TradeInInfo",
        ),
        "OffersV2.Listings": (
            "Availability",
            "Condition",
            "DealDetails",
            "IsBuyBoxWinner",
            "LoyaltyPoints",
            "MerchantInfo",
            "Price",
            "Type",
        ),
    }.items()
    for name in names
} | {"BrowseNodeInfo.WebsiteSalesRank", "ParentASIN", "SearchRefinements"}


def decimal_or_none(value: str | None) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def faulty(market: M, fault: Fault) -> Response | None:
    if fault.mode == "error":
        return JSONResponse({"error": "sandbox: told to fail"}, status_code=500)
    if fault.mode == "rate_limit" and market is M.BESTBUY:
        # Best Buy documents its call limit as 403; its gateway names the limit hit.
        return HTMLResponse(
            "<h1>Developer Over Rate</h1>",
            status_code=403,
            headers={"X-Mashery-Error-Code": "ERR_403_DEVELOPER_OVER_RATE"},
        )
    if fault.mode == "rate_limit":
        return JSONResponse(TOO_MANY[market], status_code=429, headers={"Retry-After": "60"})
    if fault.mode == "malformed":
        return Response('{"truncated": [', media_type="application/json")
    return None


class Sandbox:
    def __init__(self, settings: Settings, state: SandboxState) -> None:
        self.creds = settings
        self.state = state
        key = serialization.load_pem_private_key(
            (settings.walmart_private_key or "").encode(), None
        )
        assert isinstance(key, rsa.RSAPrivateKey)
        self.walmart_public_key = key.public_key()

    def base(self, request: Request) -> str:
        return str(request.base_url).rstrip("/")

    async def enter(self, market: M) -> Response | None:
        return faulty(market, await self.state.delay(market))

    # Amazon PA-API 5.0 ------------------------------------------------------------------
    def amazon_signature_ok(self, request: Request, body: bytes) -> bool:
        match = re.fullmatch(
            r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
            r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})",
            request.headers.get("authorization", ""),
        )
        if not match or match[1] != self.creds.amazon_access_key:
            return False
        names = match[5].split(";")
        if not {"host", "x-amz-date", "x-amz-target"} <= set(names):
            return False
        expected = sigv4.authorization(
            method=request.method,
            path=request.url.path,
            headers={n: request.headers.get(n, "") for n in names},
            payload=body,
            access_key=match[1],
            secret_key=self.creds.amazon_secret_key or "",
            region=match[3],
            service=match[4],
            amz_date=request.headers.get("x-amz-date", ""),
        )
        return hmac.compare_digest(expected, request.headers["authorization"])

    async def amazon(self, request: Request) -> Response:
        if refusal := await self.enter(M.AMAZON):
            return refusal
        body = await request.body()
        if not self.amazon_signature_ok(request, body):
            return JSONResponse(
                {
                    "__type": "com.amazon.paapi5#InvalidSignatureException",
                    "Errors": [
                        {
                            "Code": "InvalidSignature",
                            "Message": "The request has not been correctly signed.",
                        }
                    ],
                },
                status_code=401,
            )
        try:
            params = json.loads(body)
            keywords = str(params["Keywords"])
            count = int(params.get("ItemCount", 10))
            unknown = [r for r in params.get("Resources", []) if r not in AMAZON_RESOURCES]
        except (ValueError, KeyError, TypeError):
            return JSONResponse(
                {"Errors": [{"Code": "InvalidParameterValue", "Message": "Keywords required."}]},
                status_code=400,
            )
        if unknown:
            message = f"The value [{unknown[0]}] provided in the request for Resources is invalid."
            return JSONResponse(
                {"Errors": [{"Code": "InvalidParameterValue", "Message": message}]},
                status_code=400,
            )
        max_price = params.get("MaxPrice")
        hits = self.state.search(
            M.AMAZON,
            keywords,
            category=CATEGORY_BY_ID[M.AMAZON].get(params.get("SearchIndex", "All"))
            if params.get("SearchIndex", "All") != "All"
            else None,
            max_price=None if max_price is None else Decimal(max_price) / 100,
            min_discount=decimal_or_none(str(params.get("MinSavingPercent", ""))),
        )
        if not hits:
            return JSONResponse(
                {
                    "Errors": [
                        {"Code": "NoResults", "Message": "No results found for your request."}
                    ]
                },
                status_code=404,
            )
        base = self.base(request)
        items = [RENDER[M.AMAZON](h.product, h.quote, base) for h in hits[: min(count, 10)]]
        return JSONResponse(
            {
                "SearchResult": {
                    "Items": items,
                    "SearchURL": f"{base}/amazon/s?k={keywords}",
                    "TotalResultCount": len(hits),
                }
            }
        )

    # eBay Browse API + OAuth ----------------------------------------------------------------
    async def ebay_token(self, request: Request) -> Response:
        if refusal := await self.enter(M.EBAY):
            return refusal
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        expected = f"{self.creds.ebay_client_id}:{self.creds.ebay_client_secret}"
        try:
            given = base64.b64decode(request.headers.get("authorization", "")[6:]).decode()
        except (binascii.Error, UnicodeDecodeError):
            given = ""
        if not hmac.compare_digest(given, expected):
            return JSONResponse(
                {"error": "invalid_client", "error_description": "client authentication failed"},
                status_code=401,
            )
        if form.get("grant_type") != "client_credentials":
            return JSONResponse(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant type not supported",
                },
                status_code=400,
            )
        token = "v^1.1#i^1#sandbox#" + secrets.token_urlsafe(24)
        self.state.tokens.add(token)
        self.state.tokens_issued += 1
        return JSONResponse(
            {"access_token": token, "expires_in": 7200, "token_type": "Application Access Token"}
        )

    async def ebay_search(self, request: Request) -> Response:
        if refusal := await self.enter(M.EBAY):
            return refusal
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.state.tokens:
            return JSONResponse(
                {
                    "errors": [
                        {
                            "errorId": 1001,
                            "domain": "OAuth",
                            "category": "REQUEST",
                            "message": "Invalid access token",
                        }
                    ]
                },
                status_code=401,
            )
        q = request.query_params.get("q")
        if not q:
            return JSONResponse(
                {
                    "errors": [
                        {
                            "errorId": 12001,
                            "domain": "API_BROWSE",
                            "category": "REQUEST",
                            "message": "q is required",
                        }
                    ]
                },
                status_code=400,
            )
        price = re.search(r"price:\[([\d.]*)\.\.([\d.]*)\]", request.query_params.get("filter", ""))
        category = CATEGORY_BY_ID[M.EBAY].get(request.query_params.get("category_ids", ""))
        hits = self.state.search(
            M.EBAY,
            q,
            category=category,
            min_price=decimal_or_none(price[1]) if price else None,
            max_price=decimal_or_none(price[2]) if price else None,
        )
        limit = min(int(request.query_params.get("limit", "50")), 200)
        offset = int(request.query_params.get("offset", "0"))
        base = self.base(request)
        page = hits[offset : offset + limit]
        body: dict[str, Any] = {
            "href": str(request.url),
            "total": len(hits),
            "limit": limit,
            "offset": offset,
        }
        if page:
            items = [RENDER[M.EBAY](h.product, h.quote, base) for h in page]
            context = request.headers.get("x-ebay-c-enduserctx", "")
            if campaign := re.search(r"affiliateCampaignId=([^,]+)", context):
                reference = re.search(r"affiliateReferenceId=([^,]+)", context)
                tracking = f"mkcid=1&mkrid=711-53200-19255-0&campid={campaign[1]}&toolid=10049"
                if reference:
                    tracking += f"&customid={reference[1]}"
                for item in items:
                    item["itemAffiliateWebUrl"] = f"{item['itemWebUrl']}?{tracking}"
            body["itemSummaries"] = items
        return JSONResponse(body)

    # Walmart affiliate Product Search v2 -------------------------------------------------
    def walmart_signature_ok(self, request: Request) -> bool:
        h = request.headers
        if h.get("wm_consumer.id") != self.creds.walmart_consumer_id:
            return False
        try:
            self.walmart_public_key.verify(
                base64.b64decode(h.get("wm_sec.auth_signature", "")),
                signature_input(
                    h["wm_consumer.id"],
                    h.get("wm_consumer.intimestamp", ""),
                    h.get("wm_sec.key_version", ""),
                ),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True

    async def walmart(self, request: Request) -> Response:
        if refusal := await self.enter(M.WALMART):
            return refusal
        if not self.walmart_signature_ok(request):
            return JSONResponse(
                {
                    "errors": [
                        {"code": 401, "message": "Unauthorized: invalid WM_SEC.AUTH_SIGNATURE"}
                    ]
                },
                status_code=401,
            )
        params = request.query_params
        if not params.get("query"):
            return JSONResponse(
                {"errors": [{"code": 4000, "message": "query is required"}]}, status_code=400
            )
        price = re.search(r"price:\[([\d.]+) TO ([\d.]+)\]", params.get("facet.range", ""))
        hits = self.state.search(
            M.WALMART,
            params["query"],
            category=CATEGORY_BY_ID[M.WALMART].get(params.get("categoryId", "")),
            min_price=decimal_or_none(price[1]) if price else None,
            max_price=decimal_or_none(price[2]) if price else None,
        )
        count = min(int(params.get("numItems", "10")), 25)
        start = max(int(params.get("start", "1")), 1)
        page = hits[start - 1 : start - 1 + count]
        base = self.base(request)
        return JSONResponse(
            {
                "query": params["query"],
                "sort": "relevance",
                "responseGroup": "base",
                "totalResults": len(hits),
                "start": start,
                "numItems": len(page),
                "items": [RENDER[M.WALMART](h.product, h.quote, base) for h in page],
                "facets": [],
            }
        )

    # Best Buy Products API --------------------------------------------------------------------
    async def bestbuy(self, request: Request) -> Response:
        if refusal := await self.enter(M.BESTBUY):
            return refusal
        params = request.query_params
        if params.get("apiKey") != self.creds.bestbuy_api_key:
            return JSONResponse(
                {
                    "error": {
                        "code": 403,
                        "status": "403 Forbidden",
                        "message": "The provided API Key is invalid.",
                    }
                },
                status_code=403,
            )
        spec = unquote(request.path_params["spec"]).strip()
        if not (spec.startswith("(") and spec.endswith(")")):
            return JSONResponse(
                {
                    "error": {
                        "code": 400,
                        "status": "400 Bad Request",
                        "message": "Couldn't understand " + spec,
                    }
                },
                status_code=400,
            )
        terms, filters = [], {}
        for part in filter(None, spec[1:-1].split("&")):
            match = re.fullmatch(r"([\w.]+)(<=|>=|=)(.*)", part)
            if not match:
                return JSONResponse(
                    {
                        "error": {
                            "code": 400,
                            "status": "400 Bad Request",
                            "message": f"Couldn't understand '{part}'",
                        }
                    },
                    status_code=400,
                )
            if match[1] == "search":
                terms.append(match[3])
            else:
                filters[match[1] + match[2]] = match[3]
        hits = self.state.search(
            M.BESTBUY,
            " ".join(t for t in terms if t != "*") or "",
            category=CATEGORY_BY_ID[M.BESTBUY].get(filters.get("categoryPath.id=", "")),
            max_price=decimal_or_none(filters.get("salePrice<=")),
            min_discount=decimal_or_none(filters.get("percentSavings>=")),
        )
        size = min(int(params.get("pageSize", "10")), 100)
        page_no = max(int(params.get("page", "1")), 1)
        page = hits[(page_no - 1) * size : page_no * size]
        show = {f.split(".")[0] for f in params.get("show", "").split(",") if f}
        base = self.base(request)
        products = [RENDER[M.BESTBUY](h.product, h.quote, base) for h in page]
        if show:
            products = [{k: v for k, v in p.items() if k in show} for p in products]
        return JSONResponse(
            {
                "from": (page_no - 1) * size + 1 if page else 0,
                "to": (page_no - 1) * size + len(page),
                "currentPage": page_no,
                "total": len(hits),
                "totalPages": -(-len(hits) // size),
                "queryTime": "0.004",
                "totalTime": "0.011",
                "partial": False,
                "canonicalUrl": f"/v1/products{spec}?show={params.get('show', '')}&format=json",
                "products": products,
            }
        )

    # Target RedSky plp_search_v2 -------------------------------------------------------------
    async def target(self, request: Request) -> Response:
        if refusal := await self.enter(M.TARGET):
            return refusal
        params = request.query_params
        if params.get("key") != self.creds.target_api_key:
            return JSONResponse(
                {"errors": [{"message": "Unauthorized: invalid key"}]}, status_code=401
            )
        if not params.get("keyword"):
            return JSONResponse({"errors": [{"message": "keyword is required"}]}, status_code=400)
        hits = self.state.search(
            M.TARGET,
            params["keyword"],
            category=CATEGORY_BY_ID[M.TARGET].get(params.get("category", "")),
        )
        count = min(int(params.get("count", "24")), 24)
        offset = int(params.get("offset", "0"))
        base = self.base(request)
        page = hits[offset : offset + count]
        return JSONResponse(
            {
                "data": {
                    "search": {
                        "search_response": {
                            "typed_metadata": {
                                "total_results": len(hits),
                                "count": len(page),
                                "offset": offset,
                            }
                        },
                        "products": [RENDER[M.TARGET](h.product, h.quote, base) for h in page],
                    }
                }
            }
        )

    # Product pages ---------------------------------------------------------------------------
    def page(self, market: M) -> Callable[[Request], Awaitable[Response]]:
        async def serve(request: Request) -> Response:
            if refusal := await self.enter(market):
                return refusal
            item = request.path_params["item"]
            if market is M.EBAY:
                item = f"v1|{item}|0"
            hit = self.state.listing(market, item)
            if hit is None:
                return HTMLResponse("<h1>This item is no longer available</h1>", status_code=404)
            return HTMLResponse(product_page_html(market, hit, self.base(request)))

        return serve


def create_sandbox_app(settings: Settings, state: SandboxState | None = None) -> Starlette:
    """The sandbox; `settings` must carry the sandbox credentials (sandbox_settings())."""
    sandbox = Sandbox(settings, state or SandboxState())
    app = Starlette(
        routes=[
            Route("/paapi5/searchitems", sandbox.amazon, methods=["POST"]),
            Route("/identity/v1/oauth2/token", sandbox.ebay_token, methods=["POST"]),
            Route("/buy/browse/v1/item_summary/search", sandbox.ebay_search),
            Route("/api-proxy/service/affil/product/v2/search", sandbox.walmart),
            Route("/v1/products{spec:path}", sandbox.bestbuy),
            Route("/redsky_aggregations/v1/web/plp_search_v2", sandbox.target),
            Route("/amazon/dp/{item}", sandbox.page(M.AMAZON)),
            Route("/walmart/ip/{slug}/{item}", sandbox.page(M.WALMART)),
            Route("/ebay/itm/{item}", sandbox.page(M.EBAY)),
            Route("/target/p/{slug}/-/A-{item}", sandbox.page(M.TARGET)),
            Route("/bestbuy/site/{slug}/{item}.p", sandbox.page(M.BESTBUY)),
            Route("/images/{name}.jpg", image_route(sandbox.state)),
            *admin_routes(sandbox.state),
        ]
    )
    app.state.sandbox = sandbox
    return app
