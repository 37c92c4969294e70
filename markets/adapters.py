"""The adapter for each market type."""

from core.config import Settings
from core.models.enums import MarketType
from markets.amazon import AmazonAdapter
from markets.base import Adapter
from markets.bestbuy import BestBuyAdapter
from markets.ebay import EbayAdapter
from markets.target import TargetAdapter
from markets.walmart import WalmartAdapter

ADAPTERS: dict[MarketType, type[Adapter]] = {
    MarketType.AMAZON: AmazonAdapter,
    MarketType.EBAY: EbayAdapter,
    MarketType.WALMART: WalmartAdapter,
    MarketType.BESTBUY: BestBuyAdapter,
    MarketType.TARGET: TargetAdapter,
}


def adapter_for(market: MarketType, settings: Settings) -> Adapter:
    return ADAPTERS[market](settings)
