"""A slow product page stalls no one: one overall deadline per page fetch, no database
connection or transaction held while a page is fetched, and other users' turns answer
promptly while many turns wait on slow shops."""

import ast
import asyncio
import time
from pathlib import Path

import httpx
import pytest

from api.main import create_app
from markets.base import MarketError
from markets.product_page import fetch_product_page
from tests.chat_accounts import make_goal, make_user
from tests.chat_client import chat, ready_chat, recv, send
from tests.live_server import serve_in_thread
from tests.monitor_support import eventually
from tests.slow_pages import slow_shop

ROOT = Path(__file__).resolve().parent.parent
SLOW_USERS = 30


@pytest.mark.parametrize("kind", ["dribble", "silent"])
async def test_a_page_fetch_ends_at_its_deadline(kind):
    """One byte every 0.3 s never trips a per-read timeout; the overall deadline cuts it."""
    with slow_shop(gap_s=0.3) as shop:
        async with httpx.AsyncClient() as http:
            started = time.monotonic()
            with pytest.raises(MarketError, match="within 1 s"):
                await asyncio.wait_for(
                    fetch_product_page(
                        http, f"{shop.url}/{kind}/1", allow_private=True, timeout_s=1
                    ),
                    10,
                )
            assert time.monotonic() - started < 2


def test_core_makes_no_http_requests():
    """core/ fetches nothing: pages are fetched in markets/, then core/ writes them."""
    for path in (ROOT / "core").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                names += [alias.name for alias in node.names]
                assert "httpx" not in names, f"{path} imports httpx"
                assert "fetch_product_page" not in names, f"{path} fetches pages"


async def final_frame(ws, msg_id: str, wait_s: float) -> tuple[dict, list[dict]]:
    """The turn's assistant_message or error, and the frames before it."""
    frames = []
    async with asyncio.timeout(wait_s):
        while True:
            frame = await recv(ws, wait_s)
            if frame.get("id") == msg_id and frame["type"] in ("assistant_message", "error"):
                return frame, frames
            frames.append(frame)


async def test_thirty_slow_pages_stall_no_one_else(module_db, settings):
    """30 users track pages that send a byte every 2 s (slower than the 10 s deadline);
    meanwhile a bystander's balance question answers at once, and every tracker gets a
    reply saying the page took too long."""
    app_settings = settings.model_copy(
        update={"database_url": module_db.url, "sandbox_port": 0, "track_private_hosts": True}
    )
    sessions = module_db.sessions
    with slow_shop(gap_s=2) as shop, serve_in_thread(create_app(app_settings)) as base_url:
        users = [await make_user(sessions) for _ in range(SLOW_USERS + 1)]
        for user in users[:SLOW_USERS]:
            await make_goal(sessions, user.id)
        sockets = [(await ready_chat(base_url, user.token))[0] for user in users]
        trackers, bystander = sockets[:SLOW_USERS], sockets[SLOW_USERS]
        for n, ws in enumerate(trackers):
            content = f"Track {shop.url}/dribble/{n} for my monitor goal"
            await send(ws, {"type": "user_message", "id": "track", "content": content})

        async def all_fetching() -> bool:
            return len(shop.begun) == SLOW_USERS

        await eventually(all_fetching, wait_s=60)  # a loaded machine starts them slowly

        started = time.monotonic()
        answer = await chat(bystander, "balance", "what's my balance?")
        waited = time.monotonic() - started
        print(f"bystander answered in {waited:.2f} s while {SLOW_USERS} pages dribbled")
        assert answer[-1]["type"] == "assistant_message"
        assert waited < 5

        ends = await asyncio.gather(*(final_frame(ws, "track", 30) for ws in trackers))
        for end, frames in ends:
            assert end["type"] == "assistant_message", end
            (result,) = [f for f in frames if f["type"] == "tool_result"][-1:]
            assert result["name"] == "track_product_url" and not result["ok"]
            assert "within 10 s" in result["error"], result["error"]
        for ws in sockets:
            await ws.close()
