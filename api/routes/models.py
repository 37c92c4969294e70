"""GET /models/metrics: the stored model evaluations (`dealagent eval`), newest first. Any
signed-in user may read them: they describe the service's models, not anyone's data."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from api.decimals import PlainDecimal
from api.deps import CurrentPrincipal, SessionDep
from api.paging import Page, PageQuery
from api.problems import ANY_SCOPE, declared
from core import model_metrics

router = APIRouter(prefix="/models", tags=["models"])


class MetricsQuery(PageQuery):
    model_name: str | None = Field(default=None, max_length=50)


class MetricsOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, protected_namespaces=())

    id: uuid.UUID
    model_name: str
    model_version: str
    accuracy: PlainDecimal
    precision: PlainDecimal
    recall: PlainDecimal
    f1_score: PlainDecimal
    training_duration: int
    training_samples: int
    validation_samples: int
    hyperparameters: dict[str, Any]
    feature_importance: dict[str, Any]
    created_at: datetime
    meta_data: dict[str, Any]


@router.get("/metrics", **declared(scopes=ANY_SCOPE))
async def list_metrics(
    session: SessionDep, _: CurrentPrincipal, query: Annotated[MetricsQuery, Query()]
) -> Page[MetricsOut]:
    rows, total = await model_metrics.page(
        session, model_name=query.model_name, limit=query.limit, offset=query.offset
    )
    items = [MetricsOut.model_validate(row) for row in rows]
    return Page(items=items, total=total, limit=query.limit, offset=query.offset)
