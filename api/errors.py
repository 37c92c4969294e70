"""Domain errors and bad requests turned into clear JSON answers: {"detail", "code"}."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from core.accounts import AccountError
from core.auth import AuthError, ScopeDenied
from core.goals import GoalConflict, GoalError, GoalNotFound, InvalidGoalValue
from core.ledger import GoalTokenLimitExceeded, InsufficientBalance, PricingNotConfigured
from core.throttle import Throttled

ACCOUNT_ERROR_STATUS = {"email_taken": 409, "sol_address_taken": 409, "invalid_reset_token": 400}


def error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"detail": message, "code": code}, status_code=status, headers=headers)


def describe(problem: dict[str, Any]) -> str:
    """One validation problem in words: where, and what is wrong."""
    where = ".".join(str(part) for part in problem.get("loc", ()) if part != "body")
    if problem.get("type") == "json_invalid":
        reason = problem.get("ctx", {}).get("error", "")
        return f"the request body is not valid JSON ({reason})".replace(" ()", "")
    return f"{where}: {problem.get('msg')}" if where else str(problem.get("msg"))


def invalid(problems: list[dict[str, Any]], code: str = "invalid_request") -> JSONResponse:
    """422 in the one shape of every invalid request: the problems, and them in words."""
    message = "; ".join(describe(p) for p in problems)
    body = {"detail": jsonable_encoder(problems), "code": code, "message": message}
    return JSONResponse(body, status_code=422)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return invalid(list(exc.errors()))

    @app.exception_handler(InvalidGoalValue)
    async def invalid_goal_value(request: Request, exc: InvalidGoalValue) -> JSONResponse:
        # Refused by the domain rules (a target over the budget, a past deadline), named
        # like a refused field of the body.
        return invalid([{"type": "value_error", "loc": ["body", exc.field], "msg": str(exc)}])

    @app.exception_handler(GoalNotFound)
    async def no_goal(request: Request, exc: GoalNotFound) -> JSONResponse:
        return error(404, "goal_not_found", str(exc))

    @app.exception_handler(GoalConflict)
    async def goal_conflict(request: Request, exc: GoalConflict) -> JSONResponse:
        return error(409, exc.code, str(exc))

    @app.exception_handler(GoalError)
    async def goal_refused(request: Request, exc: GoalError) -> JSONResponse:
        return error(422, "invalid_goal", str(exc))

    @app.exception_handler(AuthError)
    async def unauthenticated(request: Request, exc: AuthError) -> JSONResponse:
        return error(401, exc.code, str(exc), **{"WWW-Authenticate": "Bearer"})

    @app.exception_handler(ScopeDenied)
    async def forbidden(request: Request, exc: ScopeDenied) -> JSONResponse:
        return error(403, "insufficient_scope", str(exc))

    @app.exception_handler(Throttled)
    async def throttled(request: Request, exc: Throttled) -> JSONResponse:
        return error(429, "too_many_attempts", str(exc), **{"Retry-After": str(exc.retry_after_s)})

    @app.exception_handler(AccountError)
    async def refused(request: Request, exc: AccountError) -> JSONResponse:
        return error(ACCOUNT_ERROR_STATUS.get(exc.code, 422), exc.code, str(exc))

    @app.exception_handler(InsufficientBalance)
    async def broke(request: Request, exc: InsufficientBalance) -> JSONResponse:
        return error(402, "insufficient_balance", str(exc))

    @app.exception_handler(GoalTokenLimitExceeded)
    async def goal_limit(request: Request, exc: GoalTokenLimitExceeded) -> JSONResponse:
        return error(402, "goal_token_limit", str(exc))

    @app.exception_handler(PricingNotConfigured)
    async def unpriced(request: Request, exc: PricingNotConfigured) -> JSONResponse:
        return error(503, "pricing_not_configured", str(exc))
