"""What every paginated list takes and answers: limit, offset, the page and the total."""

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")
MAX_LIMIT = 100
MAX_OFFSET = 10_000_000  # deep enough for anyone; bounds what the database is asked to skip


class PageQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt filter is an error, not ignored

    limit: int = Field(default=20, ge=1, le=MAX_LIMIT)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
