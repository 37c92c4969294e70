"""The seed's constraints and ON DELETE actions, exercised on real rows."""

from decimal import Decimal

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from core.models import (
    AuthToken,
    ChatMessage,
    Deal,
    Goal,
    Notification,
    PriceTracking,
    TokenBalanceHistory,
    TokenTransaction,
    User,
)
from core.models.enums import (
    BalanceChangeType,
    DealSource,
    MessageRole,
    NotificationType,
    TokenType,
    TransactionType,
)
from tests.factories import make_deal, make_goal, make_user


async def reload(session, row):
    """The row as the database has it now, or None when it was deleted."""
    return await session.get(type(row), row.id, populate_existing=True)


async def test_negative_balance_is_rejected(session):
    user = await make_user(session, token_balance=Decimal("1"))
    await session.commit()
    with pytest.raises(IntegrityError, match="ch_positive_balance"):
        await session.execute(
            update(User).where(User.id == user.id).values(token_balance=Decimal("-0.00000001"))
        )
    await session.rollback()


async def test_duplicate_email_is_rejected(session):
    user = await make_user(session)
    await session.commit()
    session.add(User(email=user.email, password="x"))
    with pytest.raises(IntegrityError, match="uq_user_email"):
        await session.flush()
    await session.rollback()


async def test_deleting_a_user_cascades_and_unlinks_referrals(session):
    referrer = await make_user(session)
    user = await make_user(session, referred_by=referrer.id)
    goal = await make_goal(session, user)
    deal = await make_deal(session, goal)
    session.add_all(
        [
            AuthToken(
                user_id=referrer.id,
                token="h",
                token_type=TokenType.ACCESS,
                expires_at=goal.start_date,
            ),
            ChatMessage(user_id=referrer.id, role=MessageRole.USER, content="hi"),
        ]
    )
    await session.commit()

    await session.delete(referrer)
    await session.commit()
    assert (await reload(session, user)).referred_by is None
    assert await session.scalar(select(AuthToken).where(AuthToken.user_id == referrer.id)) is None
    assert (
        await session.scalar(select(ChatMessage).where(ChatMessage.user_id == referrer.id)) is None
    )

    await session.execute(text("DELETE FROM users WHERE id = :id"), {"id": user.id})
    await session.commit()
    assert await session.scalar(select(Goal).where(Goal.id == goal.id)) is None
    assert await session.scalar(select(Deal).where(Deal.id == deal.id)) is None


async def test_deleting_a_goal_cascades_to_deals_and_unlinks_the_rest(session):
    user = await make_user(session)
    goal = await make_goal(session, user)
    deal = await make_deal(session, goal)
    message = ChatMessage(user_id=user.id, goal_id=goal.id, role=MessageRole.USER, content="x")
    notice = Notification(
        user_id=user.id,
        type=NotificationType.DEAL,
        title="t",
        message="m",
        goal_id=goal.id,
        deal_id=deal.id,
    )
    tx = TokenTransaction(
        user_id=user.id, type=TransactionType.DEDUCTION, amount=Decimal("1"), goal_id=goal.id
    )
    price = PriceTracking(deal_id=deal.id, price=Decimal("10"), source=DealSource.AMAZON)
    session.add_all([message, notice, tx, price])
    await session.commit()

    await session.execute(text("DELETE FROM goals WHERE id = :id"), {"id": goal.id})
    await session.commit()
    assert await reload(session, deal) is None
    assert await reload(session, price) is None
    assert (await reload(session, message)).goal_id is None
    assert (await reload(session, tx)).goal_id is None
    kept = await reload(session, notice)
    assert kept.goal_id is None and kept.deal_id is None


async def test_deleting_a_deal_or_transaction_unlinks_dependants(session):
    user = await make_user(session)
    goal = await make_goal(session, user)
    deal = await make_deal(session, goal)
    notice = Notification(
        user_id=user.id, type=NotificationType.DEAL, title="t", message="m", deal_id=deal.id
    )
    tx = TokenTransaction(user_id=user.id, type=TransactionType.REWARD, amount=Decimal("5"))
    session.add_all([notice, tx])
    await session.flush()
    history = TokenBalanceHistory(
        user_id=user.id,
        balance_before=Decimal(0),
        balance_after=Decimal(5),
        change_amount=Decimal(5),
        change_type=BalanceChangeType.REWARD,
        transaction_id=tx.id,
    )
    session.add(history)
    await session.commit()

    await session.execute(text("DELETE FROM deals WHERE id = :id"), {"id": deal.id})
    await session.execute(text("DELETE FROM token_transactions WHERE id = :id"), {"id": tx.id})
    await session.commit()
    assert (await reload(session, notice)).deal_id is None
    assert (await reload(session, history)).transaction_id is None


async def test_updated_at_moves_on_every_update(session):
    user = await make_user(session)
    await session.commit()
    before = user.updated_at  # the next transaction starts after this one committed
    await session.execute(text("UPDATE users SET name = 'n' WHERE id = :id"), {"id": user.id})
    await session.commit()
    await session.refresh(user)
    assert user.updated_at > before
    assert user.created_at <= before
