"""The one error shape (RFC 9457 Problem Details) where the routes do not make it: no such
route, a method a path lacks, an unexpected fault; and the OpenAPI document's promises that
come from settings or span every route, against a live server."""

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.main import create_app
from api.problems import CATALOGUE, MEDIA_TYPE, TYPE_BASE
from tests.live_server import serve_in_thread

ROOT = Path(__file__).resolve().parent.parent
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def assert_problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == MEDIA_TYPE
    body = response.json()
    assert set(body) >= PROBLEM_KEYS, body
    assert (body["type"], body["status"], body["code"]) == (TYPE_BASE + code, status, code)
    assert body["title"] == CATALOGUE[code][1] and body["detail"]
    return body


@pytest.fixture(scope="module")
def faulty_server(settings) -> Iterator[str]:
    """The app with one route that fails the way a bug would."""
    app = create_app(settings.model_copy(update={"password_min_length": 14}))

    @app.get("/api/v1/fault")
    async def fault() -> None:
        raise RuntimeError("a bug")

    with serve_in_thread(app) as base_url:
        yield base_url


async def test_no_such_route_is_a_404_problem(live_server):
    async with httpx.AsyncClient(base_url=live_server) as client:
        assert_problem(await client.get("/api/v1/nowhere"), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("OPTIONS", "/api/v1/me", "GET, HEAD, PATCH"),
        ("DELETE", "/api/v1/me", "GET, HEAD, PATCH"),
        ("PUT", "/api/v1/goals/7b1f0c56-9d3e-4a8e-9b1c-5d6e7f8a9b0c", "GET, HEAD, PATCH"),
        ("GET", "/api/v1/auth/login", "POST"),
    ],
)
async def test_a_method_a_path_lacks_is_405_naming_all_it_has(live_server, method, path, allow):
    async with httpx.AsyncClient(base_url=live_server) as client:
        response = await client.request(method, path)
    body = assert_problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allow
    assert allow in body["detail"]


async def test_a_fault_is_a_500_problem_that_tells_nothing_inside(faulty_server):
    async with httpx.AsyncClient(base_url=faulty_server) as client:
        body = assert_problem(await client.get("/api/v1/fault"), 500, "internal_error")
    assert "a bug" not in body["detail"]


async def test_an_unreadable_body_is_a_422_problem(live_server):
    async with httpx.AsyncClient(base_url=live_server) as client:
        response = await client.post(
            "/api/v1/auth/login",
            content=b'{"email": "\xff\xfe"}',
            headers={"content-type": "application/json"},
        )
    body = assert_problem(response, 422, "invalid_request")
    assert body["errors"] and body["errors"][0]["field"] == "body"


@pytest.mark.parametrize(("server", "minimum"), [("live_server", 10), ("faulty_server", 14)])
async def test_the_password_minimum_is_the_setting_the_server_enforces(request, server, minimum):
    base_url = request.getfixturevalue(server)
    async with httpx.AsyncClient(base_url=base_url) as client:
        schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
        for model, field in (("Registration", "password"), ("ResetConfirmation", "new_password")):
            assert schemas[model]["properties"][field]["minLength"] == minimum
        short = "pass-word-1234567"[: minimum - 1]
        refused = await client.post(
            "/api/v1/auth/register", json={"email": "short@example.com", "password": short}
        )
    assert_problem(refused, 422, "weak_password")


async def test_every_operation_declares_its_problems_and_security(live_server):
    async with httpx.AsyncClient(base_url=live_server) as client:
        doc = (await client.get("/openapi.json")).json()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            statuses = set(operation["responses"])
            assert {"413", "422", "500"} <= statuses, where
            assert operation.get("tags"), where
            secured = operation["security"] != []
            unauthenticated = operation["responses"].get("401", {}).get("description", "")
            assert ("missing_token" in unauthenticated) == secured, where
            for status, response in operation["responses"].items():
                if int(status) >= 400 and path != "/healthz":
                    assert list(response["content"]) == [MEDIA_TYPE], where


def test_every_code_is_in_the_table_of_codes():
    table = (ROOT / "docs" / "errors.md").read_text()
    listed = set(re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|", table, re.MULTILINE))
    assert listed == {(code, str(status)) for code, (status, _) in CATALOGUE.items()}
