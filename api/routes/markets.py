"""GET /markets: each market's status, rate limit, last error and unreadable items skipped,
for the chat to show."""

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from api.deps import CurrentPrincipal, SessionDep
from api.problems import ANY_SCOPE, declared
from core.models import Market
from core.models.enums import MarketStatus, MarketType

router = APIRouter(tags=["markets"])


class SkippedItems(BaseModel):
    """Items the market sent that could not be read (each left out, the rest kept)."""

    total: int
    last_count: int
    last_reason: str
    last_at: datetime


class MarketOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    type: MarketType
    status: MarketStatus
    rate_limit: int | None
    rate_limit_window: int | None
    current_rate: int
    last_rate_reset: datetime | None
    error_count: int
    last_error: str | None
    last_error_at: datetime | None
    sandbox: bool = False
    skipped_items: SkippedItems | None = None


class MarketList(BaseModel):
    markets: list[MarketOut]


@router.get("/markets", response_model=MarketList, **declared(scopes=ANY_SCOPE))
async def list_markets(session: SessionDep, principal: CurrentPrincipal) -> MarketList:
    rows = await session.scalars(select(Market).order_by(Market.name))
    out = []
    for row in rows:
        market = MarketOut.model_validate(row)
        market.sandbox = bool(row.meta_data.get("sandbox"))
        if skipped := row.meta_data.get("skipped_items"):
            market.skipped_items = SkippedItems.model_validate(skipped)
        out.append(market)
    return MarketList(markets=out)
