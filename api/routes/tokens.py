"""The token balance, the transactions that made it, and the price list."""

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel

from api.decimals import PlainDecimal
from api.deps import CurrentPrincipal, CurrentUser, SessionDep
from api.paging import Page, PageQuery
from api.problems import ANY_SCOPE, declared
from core import ledger

router = APIRouter(prefix="/tokens", tags=["tokens"])


class Balance(BaseModel):
    token_balance: PlainDecimal
    total_tokens_spent: PlainDecimal
    total_rewards_earned: PlainDecimal


class Transaction(BaseModel):
    id: uuid.UUID
    type: str
    amount: PlainDecimal
    status: str
    description: str | None = None
    goal_id: uuid.UUID | None
    created_at: datetime


class Price(BaseModel):
    service_type: str
    token_cost: PlainDecimal
    min_tokens: int
    max_tokens: int | None
    valid_from: datetime
    valid_to: datetime | None
    description: str | None = None


@router.get("/balance", **declared(scopes=ANY_SCOPE))
async def balance(user: CurrentUser) -> Balance:
    return Balance.model_validate(user, from_attributes=True)


@router.get("/transactions", **declared(scopes=ANY_SCOPE))
async def transactions(
    principal: CurrentPrincipal, session: SessionDep, query: Annotated[PageQuery, Query()]
) -> Page[Transaction]:
    rows, total = await ledger.transactions_page(
        session, principal.user_id, limit=query.limit, offset=query.offset
    )
    items = [Transaction.model_validate(row, from_attributes=True) for row in rows]
    return Page(items=items, total=total, limit=query.limit, offset=query.offset)


@router.get("/pricing", **declared())
async def pricing(session: SessionDep) -> list[Price]:
    rows = await ledger.current_prices(session)
    return [
        Price.model_validate(row, from_attributes=True).model_copy(
            update={"description": row.meta_data.get("description")}
        )
        for row in rows
    ]
