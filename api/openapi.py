"""The OpenAPI document as the server enforces it: FastAPI's, plus the Problem Details
schemas, the bearer scheme, and the constraints that come from settings."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from api.problems import Problem, ValidationProblem
from core.config import Settings

TAGS = [
    {"name": "auth", "description": "Sign up, log in, refresh, log out, reset a password"},
    {"name": "account", "description": "The signed-in user's profile and settings"},
    {"name": "tokens", "description": "Token balance, transactions and prices"},
    {"name": "deals", "description": "The deals found for the user's goals"},
    {"name": "markets", "description": "The markets searched and their state"},
    {"name": "goals", "description": "The user's goals"},
    {"name": "notifications", "description": "The user's notifications"},
    {"name": "health", "description": "Is the service up"},
    {"name": "docs", "description": "Machine-readable documents (the WebSocket protocol)"},
]
BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": (
        "An access token from POST /api/v1/auth/login or /auth/refresh. Its scope (full, "
        "limited or read) must be one of those a route lists."
    ),
}
# OpenAPI links, for clients and for schemathesis's stateful phase: where the id an
# operation takes comes from. (source path, target path and method, parameter, expression)
LINKS = (
    ("/api/v1/goals", "/api/v1/goals/{goal_id}", "get", "goal_id", "#/items/0/id"),
    ("/api/v1/goals", "/api/v1/goals/{goal_id}", "patch", "goal_id", "#/items/0/id"),
    ("/api/v1/deals", "/api/v1/deals/{deal_id}", "get", "deal_id", "#/deals/0/id"),
    ("/api/v1/deals", "/api/v1/deals/{deal_id}/prices", "get", "deal_id", "#/deals/0/id"),
    (
        "/api/v1/notifications",
        "/api/v1/notifications/{notification_id}/read",
        "post",
        "notification_id",
        "#/items/0/id",
    ),
)
# (schema, property) of every new password: core.accounts refuses shorter ones.
NEW_PASSWORDS = (("Registration", "password"), ("ResetConfirmation", "new_password"))


def problem_schemas() -> dict[str, Any]:
    schema = ValidationProblem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas = schema.pop("$defs")
    return {**schemas, "ValidationProblem": schema, "Problem": Problem.model_json_schema()}


def document(app: FastAPI, settings: Settings) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {}).update(problem_schemas())
    components["securitySchemes"] = {"bearer": BEARER}
    for source, target, method, parameter, pointer in LINKS:
        operation_id = doc["paths"][target][method]["operationId"]
        links = doc["paths"][source]["get"]["responses"]["200"].setdefault("links", {})
        links[operation_id] = {
            "operationId": operation_id,
            "parameters": {parameter: "$response.body" + pointer},
        }
    for model, field in NEW_PASSWORDS:
        password = components["schemas"][model]["properties"][field]
        password["minLength"] = settings.password_min_length
    return doc


def install_openapi(app: FastAPI, settings: Settings) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app, settings)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
