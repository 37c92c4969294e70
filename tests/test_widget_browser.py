"""The chat app in a real browser (Debian's Chromium, Playwright) against a real `dealagent
serve`: sign-up and its field errors, a streamed search with each market's activity and
deal cards, a goal with price charts and a notification toast, the goals panel, a hostile
product that must run nothing, a reconnect after the connection dropped, the widget on a
page of another origin, keyboard-only use at 375 px, and /docs with no network.
Screenshots go to tests/artifacts/."""

import re
import time
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect
from sqlalchemy import text

from core import notifications
from core.models.enums import MarketType, NotificationType
from markets.sandbox.catalog import default_catalog
from tests.browser_support import (
    CHROMIUM,
    PASSWORD,
    CuttableLink,
    Frames,
    Site,
    balance_shown,
    embedding_page,
    eventually,
    shot,
)
from tests.chat_client import ready_chat, recv_until, send
from tests.serve_process import free_port, scratch_home

pytestmark = pytest.mark.once  # the page is under test, not the database: one pass is enough
DESKTOP = {"width": 1280, "height": 860}
expect.set_options(timeout=15_000)  # a sign-up hashes a password: slow on a busy machine
PHONE = {"width": 375, "height": 760}


@pytest.fixture(scope="module")
def other_origin_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def site(module_db, other_origin_port) -> Site:
    with scratch_home() as home:
        site = Site(
            home,
            free_port(),
            {
                "DATABASE_URL": module_db.url,
                "SANDBOX_PORT": str(free_port()),
                "EMBED_ORIGINS": f"http://127.0.0.1:{other_origin_port}",
                "MONITOR_TICK_S": "1",
                "ACCESS_TOKEN_TTL_S": "75",  # the page renews it 60 s early: during the module
                "DB_POOL_MIN": "1",
                "LOG_LEVEL": "WARNING",
            },
        )
        site.start()
        yield site
        site.stop()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        await browser.close()


@pytest.fixture(scope="module")
async def link(site) -> AsyncIterator[CuttableLink]:
    relay = CuttableLink(site.port)
    await relay.start()
    yield relay
    await relay.stop()


@pytest.fixture(scope="module")
async def desktop(browser, link) -> AsyncIterator[tuple[Page, Frames, list[str]]]:
    """One signed-up user's page (loaded through `link`), shared by the module's tests in
    order; `errors` collects uncaught page errors and dialogs (none may happen)."""
    context: BrowserContext = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    frames = Frames()
    frames.watch(page)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
    await page.goto(link.url)
    yield page, frames, errors
    await context.close()


async def say(page: Page, text: str) -> None:
    await page.get_by_role("textbox", name="Message").fill(text)
    await page.get_by_role("button", name="Send").click()


async def answers(page: Page) -> int:
    return await page.locator(".msg-cost").count()


async def sign_up(page: Page, email: str, password: str = PASSWORD) -> None:
    await page.get_by_role("textbox", name="Email").fill(email)
    await page.get_by_role("textbox", name="Password").fill(password)
    await page.get_by_role("button", name="Sign up").click()


def email() -> str:
    return f"web-{uuid.uuid4().hex[:12]}@example.com"


async def test_sign_up_errors_show_at_their_field(desktop, site):
    page, _, errors = desktop
    await expect(page.get_by_role("button", name="Log in")).to_be_visible()
    await shot(page, "desktop-signed-out")
    me = email()

    await sign_up(page, me, "short")
    await expect(page.locator("#password-error")).to_contain_text("at least 10 characters")
    await expect(page.get_by_role("textbox", name="Password")).to_have_attribute(
        "aria-invalid", "true"
    )
    await shot(page, "desktop-error-weak-password")

    await sign_up(page, me)
    await expect(page.get_by_role("region", name="Conversation")).to_be_visible()
    await page.get_by_role("button", name="Log out").click()
    await expect(page.get_by_role("button", name="Sign up")).to_be_visible()

    await sign_up(page, me)
    await expect(page.locator("#email-error")).to_contain_text("already exists")
    await page.get_by_role("textbox", name="Password").fill("not my password at all")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator("#password-error")).to_contain_text("don't match")

    await page.get_by_role("textbox", name="Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    conversation = page.get_by_role("region", name="Conversation")
    await expect(conversation).to_have_attribute("aria-live", "polite")
    await expect(page.get_by_label("Balance")).to_contain_text("50.00")
    assert errors == []


async def test_search_streams_with_market_activity_cards_and_charge(desktop):
    page, frames, errors = desktop
    before = Decimal(await balance_shown(page))
    await say(page, "find me a 4k monitor under $300")
    mine = page.locator(".msg-user").last
    await expect(mine).to_contain_text("find me a 4k monitor under $300")
    await expect(mine.locator(".msg-status")).to_have_text("✓ Stored")
    await expect(page.locator(".msg-cost")).to_have_count(1, timeout=30_000)

    kinds = [f["type"] for f in frames.seen]
    done = kinds.index("assistant_message")
    assert "delta" in kinds[:done], kinds  # the reply streamed before it was stored
    statuses = {f["market"]: f["status"] for f in frames.of("market_status")}
    assert statuses == {m.value: "ok" for m in MarketType}, statuses
    activity = page.locator(".activity").last
    title = activity.locator(".activity-title")
    await expect(title).to_have_text("Searched 5 markets: 5 answered.")
    await expect(activity.locator(".market-ok")).to_have_count(5)

    cards = page.locator(".deal-card")
    assert await cards.count() >= 3
    first = cards.first
    for part in (".deal-title", ".deal-price", ".deal-market", ".deal-rating", ".deal-link"):
        await expect(first.locator(part)).to_be_visible()
    await expect(page.locator(".deal-card img").first).to_be_visible()
    pictures = await page.eval_on_selector_all(
        ".deal-card img", "imgs => imgs.map(i => i.complete && i.naturalWidth > 0)"
    )
    assert pictures and all(pictures)  # the sandbox serves the images its deals point to
    assert all(
        href.startswith("http")
        for href in await page.eval_on_selector_all(".deal-link", "as => as.map(a => a.href)")
    )

    charged = Decimal(frames.of("assistant_message")[-1]["charged"])
    assert charged > 0
    after = before - charged
    await expect(page.get_by_label("Balance")).to_contain_text(f"{after:.2f}")
    await expect(page.locator("#balance-change")).to_have_text(f"−{charged:.2f}")
    await shot(page, "desktop-chat-deal-cards")
    assert errors == []


async def unread_count(page: Page) -> int:
    return int(await page.locator("#unread").text_content() or 0)


def listing_under(words: str, market: MarketType) -> str:
    """A sandbox listing whose title has `words`, on `market`: its item id."""
    for product in default_catalog().matching(words):
        if market in product.listings:
            return product.listings[market]
    raise AssertionError(f"no {words} on {market}")


async def test_goal_cards_chart_notification_and_goals_panel(desktop, site):
    page, _, errors = desktop
    item = listing_under('27" 4K monitor', MarketType.AMAZON)
    async with httpx.AsyncClient() as http:  # a match under the target for the first check
        pin = {"market": "amazon", "item_id": item, "price": "149.99"}
        (await http.post(f"{site.sandbox_url}/_sandbox/prices", json=pin)).raise_for_status()
    await say(page, "find me a 27-inch 4K monitor under $300, tell me if one drops below $250")
    await expect(page.locator(".msg-cost")).to_have_count(2, timeout=30_000)
    chart = page.locator(".msg-assistant").last.locator(".price-chart polyline").first
    await expect(chart).to_be_attached()

    # The goal's first check runs within seconds: its matches arrive as toasts.
    toast = page.locator(".toast").first
    await expect(toast).to_be_visible(timeout=30_000)
    await expect(page.locator("#unread")).to_be_visible()
    await shot(page, "desktop-notification-toast")
    unread = await unread_count(page)
    await toast.locator(".toast-open").click()  # opens it: marked read on the server
    await expect(page.locator("#notifications-panel")).to_be_visible()
    await expect(page.locator("#notification-list .unread")).to_have_count(unread - 1)
    await expect(page.locator("#unread")).to_have_text(str(unread - 1))
    await page.locator("#notifications-panel .close").click()

    cookies = await page.context.cookies()
    refresh = next(c for c in cookies if c["name"] == "dealagent_refresh")
    assert refresh["httpOnly"] and refresh["sameSite"] == "Strict"
    assert refresh["path"] == "/api/v1/auth"
    assert "dealagent_refresh" not in await page.evaluate("document.cookie")
    assert "token" not in page.url

    await page.get_by_role("button", name="Goals").click()
    goal = page.locator("#goal-list .goal").first
    await expect(goal.locator(".status")).to_have_text("active")
    await expect(goal).to_contain_text("$300.00")
    await expect(goal).to_contain_text("$250.00")
    await shot(page, "desktop-goals-panel")
    await goal.get_by_role("button", name=re.compile("^Pause goal")).click()
    await expect(goal.locator(".status")).to_have_text("paused")
    await goal.get_by_role("button", name=re.compile("^Resume goal")).click()
    await expect(goal.locator(".status")).to_have_text("active")
    await page.keyboard.press("Escape")
    await expect(page.locator("#goals-panel")).to_be_hidden()

    await page.get_by_role("button", name="Transactions").click()
    charges = page.locator("#transaction-list .transaction-amount")
    await expect(charges.first).to_have_text(re.compile(r"^−\d+\.\d\d$"))
    assert await charges.count() >= 2  # one per answered turn, the goal's checks too
    await page.keyboard.press("Escape")
    assert errors == []


async def test_hostile_product_shows_as_text_and_runs_nothing(desktop, site):
    page, _, errors = desktop
    await say(page, "search for hostile gadget")
    await expect(page.locator(".msg-cost")).to_have_count(3, timeout=30_000)
    title = page.locator(".deal-title", has_text="Hostile Gadget").first
    await expect(title).to_contain_text("<script>window.__pwned=1</script>")
    await expect(title).to_contain_text("[free gift](javascript:window.__pwned=1)")
    await expect(page.locator(".deal-seller", has_text="onerror").first).to_be_visible()
    reply = page.locator(".msg-assistant .msg-body").last
    await expect(reply).to_contain_text('<img src=x onerror="window.__pwned=1">')
    await page.wait_for_timeout(300)  # time for an injected image to fail and run onerror
    assert await page.evaluate("window.__pwned") is None
    injected = "#conversation script, #conversation [onerror], #conversation a[href^='javascript']"
    assert await page.locator(injected).count() == 0
    assert errors == []

    async with httpx.AsyncClient() as http:
        policy = (await http.get(site.url)).headers["content-security-policy"]
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy
    assert f"frame-ancestors 'self' {site.env['EMBED_ORIGINS']};" in policy


async def test_reconnect_after_the_connection_dropped(desktop, link):
    page, frames, errors = desktop
    stored = await page.locator("#conversation .msg[data-id]").count()
    assert link.cut() > 0
    banner = page.locator("#connection")
    await expect(banner).to_contain_text("Connection lost. Reconnecting in")
    await shot(page, "desktop-error-connection-lost")
    await expect(banner).to_be_hidden(timeout=15_000)
    # The history came back once: the same messages, none twice.
    await expect(page.locator("#conversation .msg[data-id]")).to_have_count(stored)
    ids = await page.eval_on_selector_all(
        "#conversation .msg[data-id]", "nodes => nodes.map(n => n.dataset.id)"
    )
    assert len(set(ids)) == len(ids) == stored
    await say(page, "what's my balance?")
    await expect(page.locator(".msg-cost")).to_have_count(1, timeout=30_000)
    # By now the 75 s access token was renewed quietly and handed to the open socket.
    await eventually(lambda: frames.of("authenticated"), wait_s=30)

    await page.reload()  # a return: signed in again from the refresh cookie, history shown
    await expect(page.locator("#conversation .msg[data-id]")).to_have_count(stored + 2)
    assert errors == []


async def test_widget_bubble_on_a_page_of_another_origin(browser, site, other_origin_port):
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    with embedding_page(site.url, other_origin_port) as shop:
        await page.goto(shop)
        await page.get_by_role("button", name="Open the dealagent chat").click()
        chat = page.frame_locator("iframe[title='dealagent chat']")
        await sign_up(chat, email())
        await expect(chat.get_by_role("region", name="Conversation")).to_be_visible()
        await chat.get_by_role("textbox", name="Message").fill("what's my balance?")
        await chat.get_by_role("button", name="Send").click()
        await expect(chat.locator(".msg-cost")).to_have_count(1, timeout=30_000)
        await shot(page, "desktop-widget-on-another-site")
        await page.get_by_role("button", name="Close the dealagent chat").click()
        await expect(page.locator("iframe")).to_be_hidden()
    await context.close()


async def test_keyboard_only_at_375_px(browser, site, module_db):
    context = await browser.new_context(viewport=PHONE)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(site.url)
    await shot(page, "phone-signed-out")
    me = email()
    await page.keyboard.press("Tab")
    await page.keyboard.type(me)
    await page.keyboard.press("Tab")
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press("Enter")  # Log in: no such account yet
    await expect(page.locator("#password-error")).to_contain_text("don't match")
    await shot(page, "phone-error-wrong-password")
    await expect(page.get_by_role("textbox", name="Password")).to_be_focused()
    await page.keyboard.press("Tab")  # Log in
    await page.keyboard.press("Tab")  # Sign up
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("textbox", name="Message")).to_be_focused()
    await page.keyboard.type("Find me a 4K monitor under $350, tell me if one drops below $300")
    await page.keyboard.press("Enter")
    await expect(page.locator(".msg-cost")).to_have_count(1, timeout=30_000)
    await expect(page.locator(".deal-card .price-chart").first).to_be_visible()
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways: {width} px"
    await shot(page, "phone-chat-deal-cards")

    async with module_db.sessions() as session, session.begin():
        user_id = await session.scalar(text("SELECT id FROM users WHERE email = :e"), {"e": me})
        await notifications.create(
            session,
            user_id,
            type=NotificationType.SYSTEM,
            title="Price drop: a monitor you watch",
            message="It fell from $249.99 to $199.99 at Amazon.",
        )
    await expect(page.locator(".toast", has_text="a monitor you watch")).to_be_visible()
    await shot(page, "phone-notification-toast")

    await page.get_by_role("button", name="Goals").focus()
    await page.keyboard.press("Enter")
    await expect(page.locator("#goals-panel .close")).to_be_focused()
    await shot(page, "phone-goals-panel")
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("button", name="Goals")).to_be_focused()

    async with module_db.sessions() as session, session.begin():  # under the smallest charge
        await session.execute(
            text("UPDATE users SET token_balance = 0.05 WHERE id = :u"), {"u": user_id}
        )
    await page.get_by_role("textbox", name="Message").focus()
    await page.keyboard.type("what's my balance?")
    await page.keyboard.press("Enter")
    refusal = page.locator(".notice-error").last
    await expect(refusal).to_contain_text("You don't have enough tokens for this message.")
    await expect(refusal).to_contain_text("0.05")  # the balance, and the price beside it
    await expect(page.locator(".msg-status.failed")).to_have_text("Not sent")
    await expect(page.get_by_label("Balance")).to_contain_text("0.05")
    await shot(page, "phone-error-insufficient-balance")
    assert errors == []
    await context.close()


async def test_docs_and_redoc_render_with_no_network(browser, site):
    context = await browser.new_context(viewport=DESKTOP)
    page = await context.new_page()
    outside: list[str] = []

    async def local_only(route):
        if route.request.url.startswith(site.url):
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort()

    await page.route("**/*", local_only)
    await page.goto(f"{site.url}/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("dealagent")
    await page.goto(f"{site.url}/redoc")
    await expect(page.locator("h1").first).to_contain_text("dealagent")
    assert outside == []
    await context.close()


async def test_market_status_frames_over_a_websocket(site):
    """Each market's state as its answer comes back: slow, failed, rate limited, done."""
    async with httpx.AsyncClient(base_url=site.url) as http:
        body = {"email": email(), "password": PASSWORD}
        (await http.post("/api/v1/auth/register", json=body)).raise_for_status()
        token = (await http.post("/api/v1/auth/login", json=body)).json()["access_token"]
        faults = [
            {"market": "amazon", "mode": "slow", "delay_s": 2.5},
            {"market": "walmart", "mode": "error"},
            {"market": "ebay", "mode": "rate_limit"},
        ]
        for fault in faults:
            (await http.post(f"{site.sandbox_url}/_sandbox/faults", json=fault)).raise_for_status()
        ws, _ = await ready_chat(site.url, token)
        started = time.monotonic()
        await send(ws, {"type": "user_message", "id": "m1", "content": "search for a 4k monitor"})
        frames = await recv_until(ws, "assistant_message", wait_s=30)
        await ws.close()
        await http.delete(f"{site.sandbox_url}/_sandbox/faults")
    call = next(f for f in frames if f["type"] == "tool_call" and f["name"] == "search_markets")
    call_id = call["call_id"]
    result_at = next(
        i for i, f in enumerate(frames) if f["type"] == "tool_result" and f["call_id"] == call_id
    )
    steps: dict[str, list[str]] = {}
    for i, frame in enumerate(frames):
        if frame["type"] == "market_status":
            assert i < result_at and frame["call_id"] == call_id, frame
            steps.setdefault(frame["market"], []).append(frame["status"])
    assert steps == {
        "amazon": ["searching", "slow", "ok"],
        "walmart": ["searching", "error"],
        "ebay": ["searching", "rate_limited"],
        "target": ["searching", "ok"],
        "bestbuy": ["searching", "ok"],
    }
    assert time.monotonic() - started >= 2.5
