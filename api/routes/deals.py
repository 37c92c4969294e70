"""GET /deals (filters as query_deals), /deals/{id}, /deals/{id}/prices: the signed-in
user's deals only."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.decimals import query_decimal
from api.deps import CurrentPrincipal, SessionDep
from api.errors import error
from api.problems import ANY_SCOPE, declared
from core import deals
from core.models import Deal, PriceTracking
from core.models.enums import DealSource, DealStatus, MarketCategory, MarketType

router = APIRouter(tags=["deals"])


# Decimals as text, in cents: what the query string carries (the schema gives the pattern).
QueryPrice = query_decimal(r"^[0-9]{1,8}(\.[0-9]{1,2})?$", "a price in dollars", "249.99")
QueryPercent = query_decimal(
    r"^(100(\.0{1,2})?|[0-9]{1,2}(\.[0-9]{1,2})?)$", "a percentage from 0 to 100", "15"
)


class DealQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    goal_id: uuid.UUID | None = None
    status: DealStatus | None = None
    min_price: QueryPrice | None = None
    max_price: QueryPrice | None = None
    min_discount: QueryPercent | None = None
    market: MarketType | None = None
    category: MarketCategory | None = None
    text: str | None = Field(default=None, max_length=200)
    sort: Literal["price", "discount", "newest"] = "newest"
    limit: int = Field(default=20, ge=1, le=100)


class DealOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    goal_id: uuid.UUID
    title: str
    description: str | None
    url: str
    image_url: str | None
    current_price: Decimal
    original_price: Decimal | None
    currency: str
    discount_percent: Decimal | None
    category: MarketCategory
    source: DealSource
    status: DealStatus
    seller_name: str | None
    seller_rating: Decimal | None
    availability_status: str | None
    shipping_info: dict[str, Any] | None
    product_specs: dict[str, Any] | None
    found_at: datetime
    last_checked_at: datetime | None
    market: str | None = None

    @classmethod
    def of(cls, deal: Deal) -> "DealOut":
        out = cls.model_validate(deal)
        out.market = deal.meta_data.get("market")
        return out


class PriceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    price: Decimal
    currency: str
    source: DealSource
    tracked_at: datetime
    meta_data: dict[str, Any]


class DealList(BaseModel):
    deals: list[DealOut]


class PriceHistory(BaseModel):
    deal_id: uuid.UUID
    prices: list[PriceOut]


def not_yours(deal_id: uuid.UUID) -> JSONResponse:
    return error(404, "deal_not_found", f"no deal {deal_id} among your deals")


@router.get("/deals", response_model=DealList, **declared(scopes=ANY_SCOPE))
async def list_deals(
    session: SessionDep, principal: CurrentPrincipal, query: Annotated[DealQuery, Query()]
) -> DealList:
    found = await deals.query_deals(
        session, principal.user_id, deals.DealFilters(**query.model_dump())
    )
    return DealList(deals=[DealOut.of(d) for d in found])


@router.get(
    "/deals/{deal_id}", response_model=DealOut, **declared("deal_not_found", scopes=ANY_SCOPE)
)
async def get_deal(
    deal_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> DealOut | JSONResponse:
    deal = await deals.get_deal(session, principal.user_id, deal_id)
    return not_yours(deal_id) if deal is None else DealOut.of(deal)


@router.get(
    "/deals/{deal_id}/prices",
    response_model=PriceHistory,
    **declared("deal_not_found", scopes=ANY_SCOPE),
)
async def deal_prices(
    deal_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> PriceHistory | JSONResponse:
    history: list[PriceTracking] | None = await deals.price_history(
        session, principal.user_id, deal_id
    )
    if history is None:
        return not_yours(deal_id)
    return PriceHistory(deal_id=deal_id, prices=[PriceOut.model_validate(p) for p in history])
