"""Every refusal and fault as RFC 9457 Problem Details (api.problems): domain errors,
invalid requests, HTTP errors of the framework (no such route, method not allowed) and
unexpected exceptions."""

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.problems import MEDIA_TYPE, body
from core.accounts import AccountError
from core.auth import AuthError, ScopeDenied
from core.goals import GoalConflict, GoalError, GoalNotFound, InvalidGoalValue
from core.ledger import GoalTokenLimitExceeded, InsufficientBalance, PricingNotConfigured
from core.throttle import Throttled

ACCOUNT_ERROR_STATUS = {"email_taken": 409, "sol_address_taken": 409, "invalid_reset_token": 400}
HTTP_ERROR_CODES = {404: "not_found", 405: "method_not_allowed"}


class ProblemResponse(JSONResponse):
    media_type = MEDIA_TYPE


def error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return ProblemResponse(body(status, code, message), status_code=status, headers=headers)


def field_error(problem: dict[str, Any]) -> dict[str, str]:
    """One pydantic-shaped problem ({type, loc, msg}) as a field error."""
    where = ".".join(str(part) for part in problem.get("loc", ()))
    message = str(problem.get("msg"))
    if problem.get("type") == "json_invalid":
        reason = problem.get("ctx", {}).get("error", "")
        message = f"the request body is not valid JSON ({reason})".replace(" ()", "")
    return {"field": where or "body", "message": message, "type": str(problem.get("type"))}


def describe(error: dict[str, str]) -> str:
    """A field error in words: where (the body's fields by their own names), and what."""
    where = error["field"].removeprefix("body").lstrip(".")
    return f"{where}: {error['message']}" if where else error["message"]


def invalid(problems: list[dict[str, Any]], code: str = "invalid_request") -> JSONResponse:
    """422 in the one shape of every invalid request: the field errors, and them in words."""
    errors = [field_error(p) for p in jsonable_encoder(problems)]
    detail = "; ".join(describe(e) for e in errors)
    return ProblemResponse(body(422, code, detail, errors=errors), status_code=422)


def allowed_methods(request: Request, fallback: str) -> str:
    """Every method the OpenAPI document gives the request's path (Starlette's 405 names
    only the first route's): `fallback`, Starlette's, for a path it does not show."""
    methods: set[str] = set()
    for template, operations in request.app.openapi()["paths"].items():
        parts = re.split(r"(\{[^/]+?\})", template)
        pattern = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        if re.fullmatch(pattern, request.url.path):
            methods |= {method.upper() for method in operations}
    if "GET" in methods:
        methods.add("HEAD")  # Starlette answers HEAD wherever there is GET
    return ", ".join(sorted(methods)) or fallback


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return invalid(list(exc.errors()))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI's: a body it could not decode
            unreadable = {"type": "body_unreadable", "loc": ["body"], "msg": str(exc.detail)}
            return invalid([unreadable])
        code = HTTP_ERROR_CODES.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request, headers.get("Allow", ""))
            detail = f"{request.method} is not allowed here; allowed: {headers['Allow']}"
        elif exc.status_code == 404:
            detail = f"nothing at {request.url.path}"
        else:
            detail = str(exc.detail)
        return error(exc.status_code, code, detail, **headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette logs the exception itself once this answer is sent.
        return error(500, "internal_error", "something went wrong on our side; it is logged")

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
