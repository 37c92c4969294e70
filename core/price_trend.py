"""A deal's price history in a few figures: lowest, highest, current, and the trend."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from core.models import PriceTracking

Trend = Literal["falling", "rising", "steady", "new"]
# Moves smaller than this share of the first price are "steady": pennies are noise.
STEADY_SHARE = Decimal("0.01")


@dataclass(frozen=True)
class PriceSummary:
    low: Decimal
    high: Decimal
    first: Decimal
    current: Decimal
    points: int
    trend: Trend


def summarise(points: list[PriceTracking]) -> PriceSummary | None:
    """`points` oldest first; None when the deal was never priced."""
    if not points:
        return None
    prices = [p.price for p in points]
    first, current = prices[0], prices[-1]
    if len(prices) == 1:
        trend: Trend = "new"
    elif abs(current - first) <= first * STEADY_SHARE:
        trend = "steady"
    else:
        trend = "falling" if current < first else "rising"
    return PriceSummary(min(prices), max(prices), first, current, len(prices), trend)
