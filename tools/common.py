"""What every tool shares: how errors reach the model, and the price and percent types."""

import functools
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated, Any

from langchain.tools import ToolRuntime
from langchain_core.tools import BaseTool, ToolException, tool
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from core.deals import DealError
from core.goals import GoalError
from core.nul import find_nul, nul_message
from core.plain import cents
from markets.base import MarketError

# Errors whose message the model should read (and maybe act on), not crashes.
DOMAIN_ERRORS = (GoalError, DealError, MarketError)

ToolFunc = Callable[..., Awaitable[Any]]


Price = Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=2), AfterValidator(cents)]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]


class ToolArgs(BaseModel):
    """Every tool's arguments: no text holding NUL, which the database cannot store. Checked
    per field, so the model reads which one (the agent passes on only errors with a field)."""

    @field_validator("*", mode="before")
    @classmethod
    def storable(cls, value: Any) -> Any:
        if (where := find_nul(value)) is not None:
            raise PydanticCustomError(
                "invalid_content", "{refusal}", {"refusal": nul_message(where)}
            )
        return value


class NoArgs(BaseModel):
    """A tool without arguments: only the runtime langchain-core injects. Never dumped:
    langchain-core dumps every validated input, and the runtime holds the turn's whole
    state (messages, context, settings), a few milliseconds' work thrown away."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    runtime: Annotated[ToolRuntime, Field(exclude=True)]


def agent_tool(args_schema: type[BaseModel] | None = None) -> Callable[[ToolFunc], BaseTool]:
    """@tool with a Pydantic schema whose errors go back to the model, never crash the turn.

    Domain errors (DOMAIN_ERRORS) and ToolException become the tool's error message; the
    agent's ToolNode already turns argument validation errors into one. A tool without
    arguments passes none (NoArgs).
    """

    def wrap(func: ToolFunc) -> BaseTool:
        @functools.wraps(func)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return await func(*args, **kwargs)
            except DOMAIN_ERRORS as error:
                raise ToolException(str(error)) from error

        made = tool(args_schema=args_schema or NoArgs)(guarded)
        made.handle_tool_error = True
        return made

    return wrap
