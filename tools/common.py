"""What every tool shares: how errors reach the model, and JSON-safe values."""

import functools
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from langchain_core.tools import BaseTool, ToolException, tool
from pydantic import BaseModel

from core.deals import DealError
from core.goals import GoalError
from markets.base import MarketError

# Errors whose message the model should read (and maybe act on), not crashes.
DOMAIN_ERRORS = (GoalError, DealError, MarketError)

ToolFunc = Callable[..., Awaitable[Any]]


def agent_tool(args_schema: type[BaseModel] | None = None) -> Callable[[ToolFunc], BaseTool]:
    """@tool with a Pydantic schema whose errors go back to the model, never crash the turn.

    Domain errors (DOMAIN_ERRORS) and ToolException become the tool's error message; the
    agent's ToolNode already turns argument validation errors into one. A tool without
    arguments passes no schema (langchain-core would then drop the injected runtime).
    """

    def wrap(func: ToolFunc) -> BaseTool:
        @functools.wraps(func)
        async def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return await func(*args, **kwargs)
            except DOMAIN_ERRORS as error:
                raise ToolException(str(error)) from error

        made = tool(args_schema=args_schema)(guarded) if args_schema else tool(guarded)
        made.handle_tool_error = True
        return made

    return wrap


def jsonable(value: Any) -> Any:
    """Decimals as strings, datetimes ISO, enums and UUIDs by value."""
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
