"""The seed's eighteen PostgreSQL enum types; each Python value is the stored lowercase label."""

from enum import StrEnum


class UserStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    SUSPENDED = "suspended"
    DELETED = "deleted"


class NotificationPriority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


class NotificationType(StrEnum):
    SYSTEM = "system"
    DEAL = "deal"
    GOAL = "goal"
    PRICE_ALERT = "price_alert"
    TOKEN = "token"
    SECURITY = "security"
    MARKET = "market"


class MarketCategory(StrEnum):
    ELECTRONICS = "electronics"
    FASHION = "fashion"
    HOME = "home"
    BOOKS = "books"
    TOYS = "toys"
    SPORTS = "sports"
    AUTOMOTIVE = "automotive"
    HEALTH = "health"
    BEAUTY = "beauty"
    GROCERY = "grocery"
    OTHER = "other"


class MarketType(StrEnum):
    AMAZON = "amazon"
    WALMART = "walmart"
    EBAY = "ebay"
    TARGET = "target"
    BESTBUY = "bestbuy"


class MarketStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    MAINTENANCE = "maintenance"
    RATE_LIMITED = "rate_limited"
    ERROR = "error"


class GoalStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    EXPIRED = "expired"
    ERROR = "error"


class GoalPriority(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class DealStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"
    SOLD_OUT = "sold_out"
    INVALID = "invalid"
    DELETED = "deleted"


class DealSource(StrEnum):
    AMAZON = "amazon"
    WALMART = "walmart"
    EBAY = "ebay"
    TARGET = "target"
    BESTBUY = "bestbuy"
    MANUAL = "manual"
    API = "api"
    SCRAPER = "scraper"
    USER = "user"
    AGENT = "agent"


class TokenType(StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"
    RESET = "reset"


class TokenStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


class TokenScope(StrEnum):
    FULL = "full"
    LIMITED = "limited"
    READ = "read"


class TransactionType(StrEnum):
    DEDUCTION = "deduction"
    REWARD = "reward"
    REFUND = "refund"


class TransactionStatus(StrEnum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class BalanceChangeType(StrEnum):
    DEDUCTION = "deduction"
    REWARD = "reward"
    REFUND = "refund"


class MessageRole(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"
