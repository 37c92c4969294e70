"""Input refused before any route sees it, once for every route: text holding NUL
(PostgreSQL cannot store it) in the query string or a JSON body, and JSON nested deeper
than MAX_JSON_DEPTH (Python's parser recurses once per level and would crash on it).
The chat WebSocket's frames go through the same two checks (api.ws_protocol.parse)."""

import json
import re
from itertools import accumulate
from typing import Any

from starlette.datastructures import Headers, QueryParams
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import invalid
from core.nul import REFUSAL, find_nul

MAX_JSON_DEPTH = 32
# A JSON string (escapes included), and the brackets outside strings.
STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
BRACKET = re.compile(r"[\[\]{}]")


class TooDeep(ValueError):
    def __init__(self, max_depth: int) -> None:
        super().__init__(f"it nests deeper than {max_depth} levels")


def nesting(text: str) -> int:
    """How many levels JSON text nests, counted without parsing it (so without recursion)."""
    brackets = BRACKET.findall(STRING.sub("", text))
    return max(accumulate(1 if b in "[{" else -1 for b in brackets), default=0)


def load_json(text: str | bytes, max_depth: int = MAX_JSON_DEPTH, *, strict: bool = True) -> Any:
    """json.loads, refusing (TooDeep, a ValueError) what nests deeper than `max_depth`.
    `strict=False` lets strings hold raw control characters."""
    if isinstance(text, bytes):
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    if nesting(text) > max_depth:
        raise TooDeep(max_depth)
    return json.loads(text, strict=strict)


def problem(kind: str, loc: list[str | int], msg: str) -> dict[str, Any]:
    """One problem, shaped like pydantic's, for api.errors.invalid."""
    return {"type": kind, "loc": loc, "msg": msg}


def query_problem(query_string: bytes) -> dict[str, Any] | None:
    for key, value in QueryParams(query_string).multi_items():
        if (path := find_nul({key: value})) is not None:
            return problem("invalid_content", ["query", *path], REFUSAL)
    return None


def body_problem(body: bytes, headers: Headers) -> dict[str, Any] | None:
    """Only bodies the routes would read as JSON (as FastAPI decides: no content type, or
    a JSON one); a body that is not JSON at all is left to the route's own answer."""
    kind = headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if not body or not (kind == "application/json" or kind.endswith("+json")):
        return None
    try:
        data = load_json(body)
    except TooDeep:
        msg = f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels"
        return problem("json_too_deep", ["body"], msg)
    except ValueError:
        return None
    if (path := find_nul(data)) is not None:
        return problem("invalid_content", ["body", *path], REFUSAL)
    return None


class CheckedInput:
    """ASGI middleware: reads the (already size-bounded, see api.body_limit) body, checks
    it and the query string, then hands the app the body it read."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        if body is None:
            return  # the client left, or BodyLimit refused the body: it answers that
        found = query_problem(scope["query_string"]) or body_problem(body, Headers(scope=scope))
        if found is not None:
            await invalid([found], code=found["type"])(scope, receive, send)
            return
        await self.app(scope, replay(body, receive), send)


async def read_body(receive: Receive) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """`receive` for the app: the body read here, then whatever the client sends next."""
    given = False

    async def again() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return again
