"""One search across the markets: every eligible market asked at once, each bounded by its
timeout and its shared rate limit; results de-duplicated, grouped and ranked."""

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings, get_settings
from core.models import Market
from core.models.enums import MarketCategory, MarketType
from markets import health
from markets.adapters import adapter_for
from markets.base import (
    Endpoint,
    MarketError,
    MarketQuery,
    NotConfigured,
    Offer,
    RemoteRateLimited,
)
from markets.text import words

log = logging.getLogger(__name__)
ReportStatus = Literal["ok", "timeout", "error", "rate_limited", "skipped"]
MAX_LIMIT = 50
SLOW_AFTER_S = 2.0  # a market still silent after this is reported "slow" to a watcher
VERDICT_STATUS: dict[health.Verdict, ReportStatus] = {
    health.Verdict.RATE_LIMITED: "rate_limited",
    health.Verdict.BACKOFF: "error",
    health.Verdict.SKIPPED: "skipped",
}


@dataclass(frozen=True)
class SearchRequest:
    query: str
    category: MarketCategory | None = None
    max_price: Decimal | None = None
    min_discount: Decimal | None = None
    markets: list[MarketType] | None = None  # None: every market
    limit: int = 20


@dataclass(frozen=True)
class MarketReport:
    market: MarketType
    status: ReportStatus
    detail: str
    count: int
    elapsed_ms: int


@dataclass(frozen=True)
class MarketProgress:
    """For a watcher of a search in progress (the chat shows it): each market "searching"
    at the start, "slow" once SLOW_AFTER_S passed without its answer, then its report."""

    market: MarketType
    status: ReportStatus | Literal["searching", "slow"]
    report: MarketReport | None = None


Progress = Callable[[MarketProgress], None]


@dataclass
class ProductMatch:
    """One product, with every market's offer for it (cheapest first)."""

    offers: list[Offer]
    score: float

    @property
    def best(self) -> Offer:
        return self.offers[0]


@dataclass
class SearchResult:
    products: list[ProductMatch] = field(default_factory=list)
    market_reports: list[MarketReport] = field(default_factory=list)
    elapsed_ms: int = 0

    @property
    def offers(self) -> list[Offer]:
        """Every distinct offer, in rank order."""
        return [offer for product in self.products for offer in product.offers]


async def search(
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    request: SearchRequest,
    *,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> SearchResult:
    settings = settings or get_settings()
    if not request.query.strip():
        raise ValueError("the search query is empty")
    started = time.perf_counter()
    async with sessions() as session:
        rows = list(await session.scalars(select(Market).order_by(Market.name)))
    if request.markets is not None:
        rows = [row for row in rows if row.type in request.markets]
    query = MarketQuery(
        keywords=request.query.strip(),
        category=request.category,
        max_price=request.max_price,
        min_discount=request.min_discount,
        limit=max(1, min(request.limit, MAX_LIMIT)),
    )
    async with asyncio.TaskGroup() as group:  # one failing task cancels, not orphans, the rest
        tasks = []
        for row in rows:
            asking = ask(sessions, http, settings, row, query)
            tasks.append(
                group.create_task(watched(asking, row.type, progress) if progress else asking)
            )
    answers = [task.result() for task in tasks]
    offers = [offer for _, found in answers for offer in found]
    return SearchResult(
        products=rank(request, offers)[: query.limit],
        market_reports=[report for report, _ in answers],
        elapsed_ms=int((time.perf_counter() - started) * 1000),
    )


async def watched(
    asking: Coroutine[Any, Any, tuple[MarketReport, list[Offer]]],
    market: MarketType,
    progress: Progress,
) -> tuple[MarketReport, list[Offer]]:
    progress(MarketProgress(market, "searching"))
    task = asyncio.ensure_future(asking)
    try:
        done, _ = await asyncio.wait({task}, timeout=SLOW_AFTER_S)
        if not done:
            progress(MarketProgress(market, "slow"))
        answer = await task
    finally:
        task.cancel()  # when the search itself is cancelled
    progress(MarketProgress(market, answer[0].status, answer[0]))
    return answer


async def ask(
    sessions: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    settings: Settings,
    row: Market,
    query: MarketQuery,
) -> tuple[MarketReport, list[Offer]]:
    started = time.perf_counter()

    def report(status: ReportStatus, detail: str, count: int = 0) -> MarketReport:
        elapsed = int((time.perf_counter() - started) * 1000)
        return MarketReport(row.type, status, detail, count, elapsed)

    admission = await health.acquire(sessions, row.id, settings)
    if admission.verdict is not health.Verdict.ADMITTED:
        return report(VERDICT_STATUS[admission.verdict], admission.detail), []
    endpoint = Endpoint(row.base_url, row.api_endpoint or "", row.api_key)
    adapter = adapter_for(row.type, settings)
    try:
        async with asyncio.timeout(settings.market_timeout_s):
            found = await adapter.search(http, endpoint, query)
    except NotConfigured as error:
        return report("skipped", str(error)), []
    except TimeoutError:
        detail = f"no answer within {settings.market_timeout_s:g} s"
        await health.record_failure(sessions, row.id, settings, f"timeout: {detail}")
        return report("timeout", detail), []
    except RemoteRateLimited as error:
        await health.record_failure(
            sessions,
            row.id,
            settings,
            str(error),
            remote_rate_limited=True,
            retry_after_s=error.retry_after_s,
        )
        return report("rate_limited", str(error)), []
    except (MarketError, httpx.HTTPError) as error:
        detail = f"{type(error).__name__}: {error}"
        await health.record_failure(sessions, row.id, settings, detail)
        return report("error", detail), []
    except Exception as error:  # a bug in one adapter must not fail the whole search
        log.exception("%s adapter failed", row.type)
        detail = f"internal error: {type(error).__name__}"
        await health.record_failure(sessions, row.id, settings, detail)
        return report("error", detail), []
    await health.record_success(sessions, row.id)
    detail = admission.detail
    if skipped := adapter.skipped:
        await health.record_skipped(sessions, row.id, skipped)
        detail += f"; skipped {len(skipped)} unreadable item(s): {skipped[-1]}"
    return report("ok", detail, len(found)), found


def wanted(request: SearchRequest, offer: Offer) -> bool:
    """The request's filters, applied again: not every market honours every filter."""
    if request.max_price is not None and offer.current_price > request.max_price:
        return False
    if request.min_discount is not None:
        return (offer.discount_percent or 0) >= request.min_discount
    return True


def score(request: SearchRequest, offer: Offer) -> float:
    terms = set(words(request.query))
    title = set(words(f"{offer.title} {offer.product_specs.get('brand') or ''}"))
    relevance = len(terms & title) / len(terms) if terms else 0.0
    saving = min(float(offer.discount_percent or 0), 50.0) / 50
    budget = request.max_price
    fit = max(0.0, 1 - float(offer.current_price / budget)) if budget else 0.5
    total = 0.6 * relevance + 0.25 * saving + 0.15 * fit
    return total if offer.available else total / 2


def rank(request: SearchRequest, offers: list[Offer]) -> list[ProductMatch]:
    """Drop repeats of a url, group offers for one product, best products first."""
    seen: set[str] = set()
    groups: dict[str, list[Offer]] = {}
    for offer in offers:
        url = offer.url.rstrip("/")
        if url in seen or not wanted(request, offer):
            continue
        seen.add(url)
        groups.setdefault(offer.identity or f"url:{url}", []).append(offer)
    products = [
        ProductMatch(
            offers=sorted(group, key=lambda o: (not o.available, o.current_price)),
            score=max(score(request, o) for o in group),
        )
        for group in groups.values()
    ]
    products.sort(key=lambda p: (-p.score, p.best.current_price))
    return products
