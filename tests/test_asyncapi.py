"""docs/asyncapi.yaml: a valid AsyncAPI 3.0 document (against the specification's own JSON
Schema, tests/contract/asyncapi-3.0.0.schema.json from the Apache-2.0 @asyncapi/specs
package), served at /asyncapi.yaml, and true of a live conversation: every frame both
sides send validates against its message's payload, and every server message it lists is
sent."""

import json
import uuid
from typing import Any

import httpx
import jsonschema
import pytest

from core import notifications
from core.models.enums import NotificationType
from tests.asyncapi_support import (
    CLIENT_MESSAGES,
    DOCUMENT,
    DOCUMENT_PATH,
    ROOT,
    SERVER_MESSAGES,
    problems,
)
from tests.chat_accounts import registered_user
from tests.chat_client import open_chat, recv, recv_until, send, until_closed

pytestmark = pytest.mark.once  # the protocol document: which PostgreSQL serves makes no difference

SPEC_SCHEMA = ROOT / "tests" / "contract" / "asyncapi-3.0.0.schema.json"


def test_the_document_is_valid_asyncapi_3():
    spec = json.loads(SPEC_SCHEMA.read_text())
    errors = list(jsonschema.Draft7Validator(spec).iter_errors(DOCUMENT))
    assert errors == [], [e.message[:300] for e in errors]
    assert DOCUMENT["asyncapi"] == "3.0.0"


def test_the_checks_can_fail():
    assert problems({"type": "pong", "x": 1}, SERVER_MESSAGES) == []
    assert problems({"type": "delta", "turn_id": "7", "text": "hi"}, SERVER_MESSAGES)
    assert problems({"type": "error", "code": "no_such_code", "message": "m"}, SERVER_MESSAGES)
    assert problems({"type": "shout"}, SERVER_MESSAGES)
    assert problems({"type": "user_message", "id": "", "content": "x"}, CLIENT_MESSAGES)


async def test_it_is_served_as_yaml(live_server):
    async with httpx.AsyncClient(base_url=live_server) as client:
        response = await client.get("/asyncapi.yaml")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/yaml"
    assert response.content == DOCUMENT_PATH.read_bytes()


async def test_a_live_conversation_sends_what_it_says(live_server, sessions):
    user = await registered_user(live_server)
    sent: list[dict[str, Any]] = []
    received: list[dict[str, Any]] = []

    async def say(frame: dict[str, Any]) -> None:
        sent.append(frame)
        await send(ws, frame)

    async def until(kind: str, **match: Any) -> None:
        received.extend(await recv_until(ws, kind, wait_s=30, **match))

    ws = await open_chat(live_server)  # no header: the auth frame
    await say({"type": "auth", "token": user.token})
    await until("ready")
    await say({"type": "auth", "token": user.token})
    await until("authenticated")
    goal = "Watch for a 27-inch 4K monitor under $300 by 2030-01-31, at least 15% off"
    await say({"type": "user_message", "id": "a-1", "content": goal})
    await until("assistant_message", id="a-1")
    await say({"type": "user_message", "id": "a-1", "content": goal})  # replayed
    await until("assistant_message", id="a-1")
    await say({"type": "user_message", "id": "a-3", "content": "search for a mechanical keyboard"})
    await until("assistant_message", id="a-3")
    await say({"type": "history", "limit": 10})
    await until("history")
    await say({"type": "user_message", "id": "a-2", "content": "  "})
    await until("error", id="a-2")
    async with sessions() as session, session.begin():
        note = await notifications.create(
            session, user.id, type=NotificationType.SYSTEM, title="Hello", message="A test note"
        )
    await until("notification", id=str(note.id))
    await say({"type": "ack", "notification_id": str(note.id)})
    await say({"type": "read", "notification_id": str(note.id)})
    await say({"type": "read", "notification_id": str(uuid.uuid4())})
    await until("error", code="notification_not_found")
    await say({"type": "ping"})
    await until("pong")
    async with httpx.AsyncClient(base_url=live_server) as client:
        headers = {"Authorization": f"Bearer {user.token}"}
        assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    last, code = await until_closed(ws)
    received.extend(last)
    assert code == 4401 and received[-1]["code"] == "session_ended", last

    assert {f["type"] for f in sent} == set(CLIENT_MESSAGES)
    # model_retry needs a failing provider: tests/test_openai_path.py checks those frames.
    assert {f["type"] for f in received} == set(SERVER_MESSAGES) - {"model_retry"}
    for frame in sent:
        assert problems(frame, CLIENT_MESSAGES) == [], frame
    for frame in received:
        assert problems(frame, SERVER_MESSAGES) == [], frame


@pytest.mark.parametrize(
    "raw", ["not json", '{"type": "shout"}', '{"type": "history", "limit": 0}']
)
async def test_refusals_are_error_frames_of_the_document(live_server, raw):
    user = await registered_user(live_server)
    ws = await open_chat(live_server, user.token)
    await recv(ws)  # ready
    await ws.send(raw)
    refusal = await recv(ws)
    assert refusal["type"] == "error" and problems(refusal, SERVER_MESSAGES) == [], refusal
    await ws.close()
