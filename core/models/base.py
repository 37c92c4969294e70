"""Declarative base and the column shapes the seed's tables share."""

import enum
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from sqlalchemy import DateTime, FetchedValue, Numeric, String, text
from sqlalchemy import Enum as SAEnum
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, mapped_column

from core.models import enums


def pg_enum(enum_cls: type[enum.Enum]) -> SAEnum:
    """A PostgreSQL enum type named as in the seed (the class name, lowercased)."""
    return SAEnum(
        enum_cls,
        name=enum_cls.__name__.lower(),
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


ENUM_TYPES: dict[Any, Any] = {
    cls: pg_enum(cls)
    for cls in vars(enums).values()
    if isinstance(cls, type) and issubclass(cls, enum.Enum) and cls.__module__ == enums.__name__
}


class Base(DeclarativeBase):
    type_annotation_map = {
        **ENUM_TYPES,
        dict[str, Any]: JSONB,
        list[str]: JSONB,
        datetime: DateTime(timezone=True),
        str: String,
    }


UUIDPk = Annotated[
    uuid.UUID, mapped_column(primary_key=True, server_default=text("gen_random_uuid()"))
]
Timestamp = Annotated[datetime, mapped_column(server_default=text("CURRENT_TIMESTAMP"))]
# The updated_at trigger (see the initial migration) sets it on every UPDATE, ORM or not.
UpdatedAt = Annotated[
    datetime,
    mapped_column(server_default=text("CURRENT_TIMESTAMP"), server_onupdate=FetchedValue()),
]
MetaData = Annotated[dict[str, Any], mapped_column(server_default=text("'{}'::jsonb"))]
TokenAmount = Annotated[Decimal, mapped_column(Numeric(18, 8))]
Money = Annotated[Decimal, mapped_column(Numeric(10, 2))]
Percent = Annotated[Decimal, mapped_column(Numeric(5, 2))]
Ratio = Annotated[Decimal, mapped_column(Numeric(5, 4))]
