"""The ORM models of the seed's twelve tables."""

from core.models.accounts import AuthToken, User
from core.models.base import Base
from core.models.chat import ChatMessage
from core.models.deals import Deal, PriceTracking
from core.models.goals import Goal
from core.models.markets import Market
from core.models.metrics import ModelMetrics
from core.models.notifications import Notification
from core.models.tokens import TokenBalanceHistory, TokenPricing, TokenTransaction

__all__ = [
    "AuthToken",
    "Base",
    "ChatMessage",
    "Deal",
    "Goal",
    "Market",
    "ModelMetrics",
    "Notification",
    "PriceTracking",
    "TokenBalanceHistory",
    "TokenPricing",
    "TokenTransaction",
    "User",
]
