"""The sandbox's admin API, for tests and demos: the faults it acts out, its clock, the
prices it holds, and its state."""

import json
from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import wraps
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.models.enums import MarketType as M
from markets.sandbox.pricing import CENT
from markets.sandbox.state import Fault, SandboxState

Handler = Callable[[Request], Awaitable[Response]]


class Refused(Exception):
    """An admin request the sandbox will not carry out; answered as {"error": message}."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def answering_refusals(handler: Handler) -> Handler:
    @wraps(handler)
    async def handle(request: Request) -> Response:
        try:
            return await handler(request)
        except Refused as refusal:
            return JSONResponse({"error": str(refusal)}, status_code=refusal.status)

    return handle


def positive_cents(value: object) -> Decimal:
    """A price as a test writes it ("199.99" or 199.99): more than 0, whole cents."""
    problem = Refused(422, f"price must be an amount above 0 in whole cents, not {value!r}")
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise problem
    try:
        price = Decimal(value)
        cents = price.quantize(CENT)  # raises for infinities and huge exponents
    except InvalidOperation:
        raise problem from None
    if not price.is_finite() or price <= 0 or price != cents:
        raise problem
    return cents


class Admin:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def set_fault(self, request: Request) -> Response:
        body = await request.json()
        market = M(body["market"])
        mode = body.get("mode", "ok")
        delay = float(body.get("delay_s", 0))
        if mode not in ("ok", "slow", "error", "rate_limit", "malformed"):
            return JSONResponse({"error": f"unknown mode {mode!r}"}, status_code=400)
        self.state.faults[market] = Fault(mode, delay)
        return JSONResponse(self.snapshot())

    async def clear_faults(self, request: Request) -> Response:
        self.state.faults.clear()
        return JSONResponse(self.snapshot())

    async def set_clock(self, request: Request) -> Response:
        body = await request.json()
        self.state.today = date.fromisoformat(body["date"]) if body.get("date") else None
        return JSONResponse(self.snapshot())

    def listing_key(self, market: object, item_id: object) -> tuple[M, str]:
        """The (market, item id) of a listing in the catalog."""
        if not isinstance(market, str) or not isinstance(item_id, str):
            raise Refused(422, "market and item_id are required, as strings")
        try:
            key = (M(market), item_id)
        except ValueError:
            raise Refused(404, f"unknown market {market!r}") from None
        if key not in self.state.catalog.by_item:
            raise Refused(404, f"{market} lists no item {item_id!r}")
        return key

    async def pin_price(self, request: Request) -> Response:
        try:  # floats as Decimal, so 199.99 stays 199.99
            body = json.loads(await request.body(), parse_float=Decimal)
        except ValueError:
            raise Refused(422, "the body is not JSON") from None
        if not isinstance(body, dict):
            raise Refused(422, 'send {"market", "item_id", "price"}')
        key = self.listing_key(body.get("market"), body.get("item_id"))
        self.state.pins[key] = positive_cents(body.get("price"))
        return JSONResponse(self.snapshot())

    async def unpin_prices(self, request: Request) -> Response:
        """All pins, or with ?market=&item_id= that one listing's."""
        params = request.query_params
        if "market" in params or "item_id" in params:
            self.state.pins.pop(self.listing_key(params.get("market"), params.get("item_id")), None)
        else:
            self.state.pins.clear()
        return JSONResponse(self.snapshot())

    async def show_state(self, request: Request) -> Response:
        return JSONResponse(self.snapshot())

    def snapshot(self) -> dict[str, Any]:
        return {
            "today": self.state.day().isoformat(),
            "faults": {m.value: vars(f) for m, f in self.state.faults.items()},
            "prices": [
                {"market": m.value, "item_id": item, "price": str(price)}
                for (m, item), price in sorted(self.state.pins.items())
            ],
            "requests": dict(self.state.requests),
            "tokens_issued": self.state.tokens_issued,
        }


def admin_routes(state: SandboxState) -> list[Route]:
    admin = Admin(state)
    return [
        Route("/_sandbox/faults", admin.set_fault, methods=["POST"]),
        Route("/_sandbox/faults", admin.clear_faults, methods=["DELETE"]),
        Route("/_sandbox/clock", admin.set_clock, methods=["POST"]),
        Route("/_sandbox/prices", answering_refusals(admin.pin_price), methods=["POST"]),
        Route("/_sandbox/prices", answering_refusals(admin.unpin_prices), methods=["DELETE"]),
        Route("/_sandbox/state", admin.show_state),
    ]
