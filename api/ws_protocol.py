"""The chat WebSocket's frames: parsing what clients send, shaping what the server sends.
docs/websocket-protocol.md is the reference."""

import json
import uuid
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from api.connection_guard import ConnectionLimits, guarded_protocol
from api.inputs import TooDeep, load_json
from core import notifications
from core.config import Settings
from core.models.chat import ChatMessage
from core.models.notifications import Notification
from core.nul import (
    NUL,
    REFUSAL,
    SURROGATE_REFUSAL,
    find_text,
    holds_nul,
    holds_surrogate,
    nul_message,
)
from core.plain import plain_scalar

CLOSE_TOO_BIG = 1009
CLOSE_TRY_AGAIN_LATER = 1013
CLOSE_UNAUTHORIZED = 4401
CLOSE_AUTH_TIMEOUT = 4408


class Frame(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class AuthFrame(Frame):
    type: Literal["auth"]
    token: str = Field(min_length=1)  # an oversized one is a bad token (core.auth), not a bad frame


class UserMessageFrame(Frame):
    type: Literal["user_message"]
    id: str = Field(min_length=1, max_length=128, description="The client's own message id.")
    content: str
    goal_id: uuid.UUID | None = None


class HistoryFrame(Frame):
    type: Literal["history"]
    before: uuid.UUID | None = Field(default=None, description="A message id: page before it.")
    limit: int = Field(default=50, ge=1, le=200)
    goal_id: uuid.UUID | None = None


class PingFrame(Frame):
    type: Literal["ping"]


class AckFrame(Frame):
    type: Literal["ack"]
    notification_id: uuid.UUID


class ReadFrame(Frame):
    type: Literal["read"]
    notification_id: uuid.UUID


ClientFrame = Annotated[
    AuthFrame | UserMessageFrame | HistoryFrame | PingFrame | AckFrame | ReadFrame,
    Field(discriminator="type"),
]
CLIENT_FRAME = TypeAdapter(ClientFrame)
FRAME_TYPES = ("auth", "user_message", "history", "ping", "ack", "read")
MAX_HEADER_BYTES = 16 * 1024  # a request line and headers larger than this get 400


def uvicorn_ws_options(settings: Settings) -> dict[str, Any]:
    """The server's own guards (uvicorn options, for `serve` and `serve --workers`): frames
    over the limit close with 1009 before they reach the app; idle sockets are pinged, dead
    ones dropped; every request has a deadline and headers a size bound; a process keeps at
    most MAX_CONNECTIONS connections (api.connection_guard)."""
    limits = ConnectionLimits(settings.http_request_timeout_s, settings.max_connections)
    return {
        "ws_max_size": settings.chat_max_frame_bytes,
        "ws_ping_interval": settings.ws_ping_interval_s,
        "ws_ping_timeout": settings.ws_ping_timeout_s,
        # Frames are small JSON: compressing each costs more CPU than it saves bytes, and
        # a deflate context per socket costs memory on every idle connection.
        "ws_per_message_deflate": False,
        "http": guarded_protocol(limits),
        "timeout_keep_alive": settings.http_keep_alive_s,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
    }


class FrameError(Exception):
    """A client frame we answer with an `error` frame; the connection stays open."""

    def __init__(self, code: str, message: str, client_id: str | None = None) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.id = client_id

    def frame(self) -> dict[str, Any]:
        return error(self.code, self.message, self.id)


UNSTORABLE = ((holds_nul, REFUSAL), (holds_surrogate, SURROGATE_REFUSAL))


def parse(text: str | bytes, max_content_chars: int) -> ClientFrame:
    """One client frame, or FrameError with a specific code."""
    if isinstance(text, bytes):
        raise FrameError("invalid_frame", "frames are JSON text frames, not binary")
    try:
        data = load_frame(text)
    except ValueError as exc:
        raise FrameError("invalid_json", f"frame is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise FrameError("invalid_frame", "a frame is a JSON object with a 'type'")
    kind = data.get("type")
    client_id = data.get("id") if isinstance(data.get("id"), str) else None
    if kind not in FRAME_TYPES:
        raise FrameError("unknown_type", f"unknown frame type {kind!r}; known: {FRAME_TYPES}")
    # NUL (or an unpaired surrogate) cannot be stored. An auth frame's token is not (its
    # signature is checked, then its hash looked up): with NUL it is a bad token (4401).
    for holds, refusal in UNSTORABLE if kind != "auth" else ():
        if (where := find_text(data, holds)) is not None:
            raise FrameError("invalid_content", nul_message(where, refusal), client_id)
    try:
        frame = CLIENT_FRAME.validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'frame'}: {e['msg']}" for e in exc.errors()
        )
        raise FrameError("invalid_frame", f"invalid {kind} frame: {problems}", client_id) from None
    if isinstance(frame, UserMessageFrame):
        if not frame.content.strip():
            raise FrameError("empty_content", "the message is empty", frame.id)
        if len(frame.content) > max_content_chars:
            raise FrameError(
                "content_too_long",
                f"the message has {len(frame.content)} characters; the limit is "
                f"{max_content_chars}",
                frame.id,
            )
    return frame


def load_frame(text: str) -> Any:
    """The frame's JSON, depth-bounded (a frame of 5,000 "[" is refused, not a crash). A raw
    NUL in a string (JSON allows it only escaped) is read, to be refused as NUL, naming
    the field, like an escaped one."""
    try:
        return load_json(text)
    except TooDeep:
        raise
    except ValueError:
        if NUL not in text:
            raise
        return load_json(text, strict=False)


def error(code: str, message: str, client_id: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if client_id is not None:
        frame["id"] = client_id
    return frame


def dumps(frame: dict[str, Any]) -> str:
    """JSON text of a server frame: Decimals and UUIDs as strings, times as ISO 8601."""
    return json.dumps(frame, default=plain_scalar, separators=(",", ":"))


def message_fields(message: ChatMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "role": message.role,
        "content": message.content,
        "tokens_used": message.tokens_used,
        "goal_id": message.goal_id,
        "created_at": message.created_at,
        "client_message_id": message.meta_data.get("client_message_id"),
        "turn_id": message.meta_data.get("turn_id"),
    }


def notification_fields(row: Notification) -> dict[str, Any]:
    return {"type": "notification", "notification_type": row.type, **notifications.content(row)}
