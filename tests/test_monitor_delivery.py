"""Email and webhook delivery through the job queue: a notification inserted for those
channels is queued by the database itself, sent by a running worker, signed, retried."""

import asyncio
import uuid
from decimal import Decimal

import httpx
import pytest

from core import notifications
from core.models import Notification
from core.models.enums import NotificationStatus, NotificationType
from monitor.check import MonitorDeps
from monitor.queue import DELIVER_TASK, DELIVERY_ATTEMPTS, Monitor, cancel_quietly
from tests.factories import make_user
from tests.monitor_support import eventually, jobs_of, jobs_settled
from tests.webhook_receiver import Receiver, serving_receiver

SECRET = "the user's webhook secret"


class RecordingMailer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    async def send(self, to: str, subject: str, body: str) -> None:
        self.sent.append((to, subject, body))


@pytest.fixture(scope="module")
def receiver():
    with serving_receiver(SECRET) as receiver:
        yield receiver


@pytest.fixture(scope="module")
def sessions(module_db):
    return module_db.sessions


@pytest.fixture
async def mailer(module_db, settings, sessions):
    """A worker running the queue in this process, delivering with a recording mailer."""
    fast = settings.model_copy(
        update={"webhook_private_hosts": True, "webhook_retry_wait_s": 1, "monitor_tick_s": 1}
    )
    monitor = Monitor(fast, module_db.url)
    await monitor.open()
    mailer = RecordingMailer()
    async with httpx.AsyncClient() as http:
        deps = MonitorDeps(sessions, http, fast, mailer)
        worker = asyncio.create_task(monitor.run_worker(deps, 2))
        yield mailer
        await cancel_quietly(worker)
    await monitor.close()


async def notify(sessions, receiver: Receiver, mode: str, channels: list[str]) -> uuid.UUID:
    async with sessions() as session, session.begin():
        user = await make_user(
            session,
            token_balance=Decimal(10),
            notification_channels=channels,
            preferences={"webhook_url": f"{receiver.url}/hook/{mode}", "webhook_secret": SECRET},
        )
        row = await notifications.create(
            session,
            user.id,
            type=NotificationType.PRICE_ALERT,
            title="Price drop: 4K monitor",
            message="4K monitor at Amazon fell from $199.00 to $149.00 (25.13% lower).",
            action_url="https://example.com/monitor",
            channels=channels,
        )
    return row.id


async def stored(sessions, notification_id: uuid.UUID) -> Notification:
    async with sessions() as session:
        return await session.get(Notification, notification_id)


def deliveries(receiver: Receiver, mode: str) -> list:
    return [d for d in receiver.deliveries if d.path == f"/hook/{mode}"]


async def test_a_webhook_is_signed_and_retried_until_it_arrives(mailer, sessions, receiver):
    note_id = await notify(sessions, receiver, "flaky", ["in_app", "email", "webhook"])

    async def sent():
        row = await stored(sessions, note_id)
        return row if row.meta_data.get("delivery", {}).get("webhook") == "sent" else None

    row = await eventually(sent, wait_s=30)
    tries = deliveries(receiver, "flaky")
    assert len(tries) == 3 and all(d.verified for d in tries)  # 500, 500, then 204
    assert tries[0].headers["x-dealagent-event"] == "price_alert"
    assert str(note_id).encode() in tries[0].body
    assert len(mailer.sent) == 1  # mailed once, not again on each webhook retry
    assert mailer.sent[0][1] == "Price drop: 4K monitor"
    assert row.meta_data["delivery"]["email"] == "sent"
    assert row.status == NotificationStatus.PENDING  # still waiting for the app to show it


async def test_a_webhook_that_keeps_failing_is_failed_after_the_last_try(
    mailer, sessions, receiver
):
    note_id = await notify(sessions, receiver, "fail", ["webhook"])

    async def gave_up():
        row = await stored(sessions, note_id)
        return row if row.status == NotificationStatus.FAILED else None

    row = await eventually(gave_up, wait_s=60)
    assert len(deliveries(receiver, "fail")) == DELIVERY_ATTEMPTS
    assert row.meta_data["delivery"]["webhook"].startswith("failed")


async def test_a_refused_webhook_is_not_retried(mailer, sessions, receiver):
    note_id = await notify(sessions, receiver, "bad", ["webhook"])

    async def gave_up():
        row = await stored(sessions, note_id)
        return row if row.status == NotificationStatus.FAILED else None

    await eventually(gave_up, wait_s=30)
    # Its job is over (no retry queued): nothing more can be sent.
    job = {"notification_id": str(note_id)}
    await eventually(lambda: jobs_settled(sessions, DELIVER_TASK, **job))
    assert len(deliveries(receiver, "bad")) == 1


async def test_in_app_only_queues_no_delivery(mailer, sessions, receiver):
    note_id = await notify(sessions, receiver, "ok", ["in_app"])
    # Deliveries are queued in the inserting transaction, and a job is kept until it has
    # run: none now (and nothing delivered) is none ever.
    assert await jobs_of(sessions, DELIVER_TASK, notification_id=str(note_id)) == 0
    row = await stored(sessions, note_id)
    assert "delivery" not in row.meta_data and deliveries(receiver, "ok") == []
