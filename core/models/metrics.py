"""model_metrics: evaluation figures of a trained model version."""

from typing import Any

from sqlalchemy import Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, MetaData, Ratio, Timestamp, UUIDPk


class ModelMetrics(Base):
    __tablename__ = "model_metrics"
    __table_args__ = (
        Index("ix_model_metrics_name_version", "model_name", "model_version"),
        Index("ix_model_metrics_created", "created_at"),
    )

    id: Mapped[UUIDPk]
    model_name: Mapped[str] = mapped_column(String(50))
    model_version: Mapped[str] = mapped_column(String(50))
    accuracy: Mapped[Ratio]
    precision: Mapped[Ratio]
    recall: Mapped[Ratio]
    f1_score: Mapped[Ratio]
    training_duration: Mapped[int]
    training_samples: Mapped[int]
    validation_samples: Mapped[int]
    hyperparameters: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    feature_importance: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    created_at: Mapped[Timestamp]
    meta_data: Mapped[MetaData]
