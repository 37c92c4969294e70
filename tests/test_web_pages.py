"""The chat app's pages and files over real HTTP: what they send, their Content-Security-
Policy (this origin only unless EMBED_ORIGINS says otherwise), and the sandbox's images.
The browser tests (test_widget_browser.py) drive them."""

import httpx
import pytest

from core.config import Settings
from markets.sandbox.app import create_sandbox_app
from markets.sandbox.catalog import default_catalog
from markets.sandbox.credentials import sandbox_settings
from tests.live_server import serve_in_thread

# static pages and headers: which PostgreSQL serves makes no difference
pytestmark = pytest.mark.once


async def test_pages_and_their_files_are_served_with_a_strict_policy(live_server):
    async with httpx.AsyncClient(base_url=live_server) as http:
        for path in ("/", "/chat"):
            page = await http.get(path)
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            assert 'aria-label="Conversation"' in page.text and "<script>" not in page.text
            policy = page.headers["content-security-policy"]
            assert "script-src 'self';" in policy and "frame-ancestors 'self';" in policy
            assert "unsafe" not in policy
        widget = await http.get("/widget.js")
        assert widget.headers["content-type"].startswith("text/javascript")
        assert "attachShadow" in widget.text
        for asset in ("/static/js/app.js", "/static/app.css", "/static/docs/swagger-ui-bundle.js"):
            assert (await http.get(asset)).status_code == 200, asset
        docs = await http.get("/docs")
        assert "/static/docs/swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text
        redoc = await http.get("/redoc")
        assert "/static/docs/redoc.standalone.js" in redoc.text
        assert "fonts.googleapis" not in redoc.text


def test_embed_origins_are_listed_apart_by_spaces_or_commas():
    settings = Settings(embed_origins="https://a.example, https://b.example/ https://c.example")
    assert settings.embedding_origins == [
        "https://a.example",
        "https://b.example",
        "https://c.example",
    ]
    assert Settings().embedding_origins == []


@pytest.fixture(scope="module")
def sandbox(settings):
    with serve_in_thread(create_sandbox_app(sandbox_settings(settings))) as url:
        yield url


async def test_the_sandbox_serves_its_product_images(sandbox):
    product = default_catalog().products[7]
    async with httpx.AsyncClient(base_url=sandbox) as http:
        image = await http.get(f"/images/{product.pid}.jpg")
        assert image.status_code == 200 and image.headers["content-type"] == "image/svg+xml"
        assert image.text.startswith("<svg") and product.noun[:18] in image.text
        hostile = default_catalog().matching("hostile gadget")[0]
        drawn = (await http.get(f"/images/{hostile.pid}.jpg")).text
        assert "<img" not in drawn and "&lt;" in drawn  # its brand's markup is escaped
        for missing in ("/images/99999.jpg", "/images/abc.jpg", "/images/-1.jpg"):
            assert (await http.get(missing)).status_code == 404, missing
