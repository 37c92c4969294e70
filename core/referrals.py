"""Referral rewards, paid when the referred account first does something real.

Signing up with a referral code pays nothing (sign-ups cost a farmer nothing). The
transaction that settles the referred account's first completed chat turn pays the
`referral_reward` price to the referrer and `referral_bonus` to the referred account, once.
A referrer is paid for at most `max_per_day` referrals per UTC day; a reward not paid is
kept as a `cancelled` reward transaction of the referrer whose meta_data.not_paid says why.
Either row marks the referral settled.
"""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import ledger
from core.models import TokenTransaction, User
from core.models.enums import TransactionStatus, TransactionType, UserStatus

REFERRAL_REWARD = "referral_reward"  # token_pricing service paid to the referrer
REFERRAL_BONUS = "referral_bonus"  # and to the account that signed up with the code


def referral_rows(user_id: uuid.UUID, other_id: uuid.UUID, service: str) -> ColumnElement[bool]:
    """The condition matching `user_id`'s transactions for its referral with `other_id`."""
    meta = TokenTransaction.meta_data
    return and_(
        TokenTransaction.user_id == user_id,
        meta["service_type"].astext == service,
        meta["other_user"].astext == str(other_id),
    )


async def settle_referral(session: AsyncSession, user_id: uuid.UUID, max_per_day: int) -> None:
    """In the transaction settling a completed turn of `user_id`: pay its referral if this
    is the first. Locks the user's row, then the referrer's (older: never the other way),
    FOR NO KEY UPDATE: as strong against other settlements, and not against rows that
    only reference the user (a refused deduction's record, written on a connection of its
    own while this transaction waits for it, would wait on a FOR UPDATE until it timed out)."""
    referrer_id = await session.scalar(
        select(User.referred_by).where(User.id == user_id).with_for_update(key_share=True)
    )
    if referrer_id is None:
        return
    settled = exists().where(
        or_(
            referral_rows(referrer_id, user_id, REFERRAL_REWARD),
            referral_rows(user_id, referrer_id, REFERRAL_BONUS),
        )
    )
    if await session.scalar(select(settled)):
        return
    # Locked, so the referrer's other referrals settling now are counted one at a time.
    status = await session.scalar(
        select(User.status).where(User.id == referrer_id).with_for_update(key_share=True)
    )
    reward = await payout(session, REFERRAL_REWARD)
    reward_meta = {"service_type": REFERRAL_REWARD, "other_user": str(user_id)}
    if status != UserStatus.ACTIVE:
        record_unpaid(session, referrer_id, reward, reward_meta, "referrer_inactive")
    elif await paid_today(session, referrer_id) >= max_per_day:
        record_unpaid(
            session, referrer_id, reward, {**reward_meta, "limit": max_per_day}, "daily_limit"
        )
    elif reward > 0:
        await ledger.reward(
            session, referrer_id, reward, description="referral reward", meta=reward_meta
        )
    bonus = await payout(session, REFERRAL_BONUS)
    if bonus > 0:
        bonus_meta = {"service_type": REFERRAL_BONUS, "other_user": str(referrer_id)}
        await ledger.reward(session, user_id, bonus, description="referral bonus", meta=bonus_meta)


async def payout(session: AsyncSession, service: str) -> Decimal:
    """What the service pays now; nothing without a price (a turn never fails for it)."""
    try:
        return ledger.cost(await ledger.current_price(session, service))
    except ledger.PricingNotConfigured:
        return Decimal(0)


async def paid_today(session: AsyncSession, referrer_id: uuid.UUID) -> int:
    """Referral rewards paid to the referrer since midnight UTC."""
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return await session.scalar(
        select(func.count()).where(
            TokenTransaction.user_id == referrer_id,
            TokenTransaction.status == TransactionStatus.COMPLETED,
            TokenTransaction.meta_data["service_type"].astext == REFERRAL_REWARD,
            TokenTransaction.created_at >= midnight,
        )
    )


def record_unpaid(
    session: AsyncSession, referrer_id: uuid.UUID, amount: Decimal, meta: dict, reason: str
) -> None:
    """The reward the referrer would have had, kept as cancelled: no balance change."""
    session.add(
        ledger.unbooked(
            referrer_id,
            TransactionType.REWARD,
            amount,
            TransactionStatus.CANCELLED,
            f"referral reward not paid: {reason.replace('_', ' ')}",
            {**meta, "not_paid": reason},
        )
    )
