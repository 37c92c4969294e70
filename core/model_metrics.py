"""Stored model evaluations (the seed's model_metrics table): one row per `dealagent eval`
run, listed newest first, and the latest row of each model for comparing them."""

from dataclasses import asdict, dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from core import paging
from core.models import ModelMetrics

RATIO_PLACES = Decimal("0.0001")  # NUMERIC(5,4)


def ratio(value: float) -> Decimal:
    """A score in [0, 1] as the column stores it (four places)."""
    if not 0 <= value <= 1:
        raise ValueError(f"a ratio is between 0 and 1, not {value}")
    return Decimal(str(value)).quantize(RATIO_PLACES, ROUND_HALF_EVEN)


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation run measured, in the table's terms."""

    model_name: str
    model_version: str
    accuracy: float
    precision: float
    recall: float
    f1_score: float
    training_duration: int  # the run's seconds
    training_samples: int
    validation_samples: int
    hyperparameters: dict[str, Any]
    feature_importance: dict[str, Any]
    meta_data: dict[str, Any]


async def record(session: AsyncSession, evaluation: Evaluation) -> ModelMetrics:
    values = asdict(evaluation)
    for score in ("accuracy", "precision", "recall", "f1_score"):
        values[score] = ratio(values[score])
    names = {
        "model_name": evaluation.model_name[:50],
        "model_version": evaluation.model_version[:50],
    }
    row = ModelMetrics(**values | names)
    session.add(row)
    await session.flush()
    await session.refresh(row)  # created_at, from the database
    return row


async def page(
    session: AsyncSession, *, model_name: str | None = None, limit: int, offset: int
) -> tuple[list[ModelMetrics], int]:
    """Stored evaluations, newest first (of one model when named)."""
    query = select(ModelMetrics)
    if model_name is not None:
        query = query.where(ModelMetrics.model_name == model_name)
    query = query.order_by(ModelMetrics.created_at.desc(), ModelMetrics.id.desc())
    return await paging.page(session, query, limit=limit, offset=offset)


async def latest_per_model(session: AsyncSession) -> list[ModelMetrics]:
    """The newest evaluation of each model name, best F1 first."""
    newest = (
        select(ModelMetrics)
        .ext(distinct_on(ModelMetrics.model_name))
        .order_by(ModelMetrics.model_name, ModelMetrics.created_at.desc(), ModelMetrics.id.desc())
        .subquery()
    )
    latest = select(ModelMetrics).join(newest, ModelMetrics.id == newest.c.id)
    rows = await session.scalars(
        latest.order_by(ModelMetrics.f1_score.desc(), ModelMetrics.model_name)
    )
    return list(rows)
