"""A slow product page stalls no one: one overall deadline per page fetch, no database
connection or transaction held while a page is fetched, and other users' turns answer
promptly while many turns wait on slow shops."""

import ast
import asyncio
import time
from pathlib import Path

import httpx
import pytest

from markets.base import MarketError
from markets.product_page import fetch_product_page
from tests.slow_pages import slow_shop

ROOT = Path(__file__).resolve().parent.parent


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


def test_core_does_no_network_io():
    """core/ fetches nothing: pages are fetched in markets/, then core/ writes them."""
    for path in (ROOT / "core").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                names += [alias.name for alias in node.names]
                assert "httpx" not in names, f"{path} imports httpx"
                assert "fetch_product_page" not in names, f"{path} fetches pages"
