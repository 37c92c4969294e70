"""The monitor's job queue: procrastinate on our PostgreSQL, its tables in their own
schema (migration 0004). Every process that defers or runs checks builds a Monitor.

Tasks:
- `schedule_checks`, periodic (every MONITOR_TICK_S, once across all workers): expires
  goals past their end date, queues a check for every due goal, and puts back the jobs
  of workers that died (no heartbeat for MONITOR_STALLED_S).
- `check_goal`: one check of one goal for one slot (monitor/check.py).
- `deliver_notification`: email and webhook delivery, queued by a trigger when the
  notification is inserted (migration 0004), retried with backoff.
"""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import psycopg
from procrastinate import App, JobContext, PsycopgConnector, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Job
from sqlalchemy.exc import DBAPIError

from core.config import Settings
from core.db import reading
from monitor import deliver, schedule
from monitor.check import MonitorDeps, check_failed, check_goal

log = logging.getLogger(__name__)

QUEUE = "monitor"  # migration 0004 queues deliveries here
CHECK_TASK = "check_goal"
SCHEDULE_TASK = "schedule_checks"
DELIVER_TASK = "deliver_notification"  # migration 0004 names it
SCHEDULE_BATCH = 2000  # due goals queued per tick at the most
# A tick that queued this many checks re-reads the jobs table's statistics: planned for the
# near-empty table it was, a worker's fetch sorts every waiting job (20 ms with 10,000),
# until autovacuum (if it runs) analyzes the table, a minute later or more.
ANALYZE_AFTER = 500
DELIVERY_ATTEMPTS = 6  # the first try and five retries (WEBHOOK_RETRY_WAIT_S backoff)


def tick_cron(seconds: int) -> str:
    """A cron line with procrastinate's sixth (seconds) field: every `seconds` seconds."""
    return "* * * * *" if seconds >= 60 else f"* * * * * */{seconds}"


class Monitor:
    """This process's handle on the queue: defer checks, run a worker."""

    def __init__(self, settings: Settings, conninfo: str, *, pool_size: int = 4) -> None:
        self.settings = settings
        connector = PsycopgConnector(
            conninfo=conninfo,
            min_size=1,
            max_size=pool_size,
            kwargs={"options": f"-c search_path={schedule.QUEUE_SCHEMA}"},
        )
        self.app = App(connector=connector)
        self._register()

    def _register(self) -> None:
        app = self.app
        app.task(name=CHECK_TASK, queue=QUEUE, pass_context=True)(run_check)
        app.task(
            name=DELIVER_TASK,
            queue=QUEUE,
            pass_context=True,
            retry=RetryStrategy(
                max_attempts=DELIVERY_ATTEMPTS - 1,
                exponential_wait=self.settings.webhook_retry_wait_s,
            ),
        )(run_delivery)
        tick = app.task(
            name=SCHEDULE_TASK,
            queue=QUEUE,
            pass_context=True,
            lock=SCHEDULE_TASK,
            queueing_lock=SCHEDULE_TASK,
            priority=10,
        )(run_schedule)
        app.periodic(cron=tick_cron(self.settings.monitor_tick_s), periodic_id="tick")(tick)

    async def open(self) -> None:
        await self.app.open_async()

    async def close(self) -> None:
        await self.app.close_async()

    async def check_soon(self, goal_ids: Iterable[uuid.UUID]) -> None:
        """Queue the first check of new goals now, ahead of the periodic ones."""
        for goal_id in goal_ids:
            job = self.app.configure_task(
                CHECK_TASK,
                queue=QUEUE,
                lock=schedule.check_lock(goal_id),
                queueing_lock=schedule.queueing_lock(goal_id),
                priority=schedule.FIRST_CHECK_PRIORITY,
            )
            try:
                await job.defer_async(goal_id=str(goal_id), slot=None)
            except AlreadyEnqueued:  # one is already waiting
                pass
            except Exception:  # the periodic schedule picks the goal up anyway
                log.exception("could not queue the first check of goal %s", goal_id)

    async def queue_due(self, due: list[schedule.Due]) -> int:
        queued = await self._defer_checks([check_job(d) for d in due])
        if queued >= ANALYZE_AFTER:
            await self.app.connector.execute_query_async("ANALYZE procrastinate_jobs")
        return queued

    async def _defer_checks(self, jobs: list[Job]) -> int:
        try:
            await self.app.job_manager.batch_defer_jobs_async(jobs)
            return len(jobs)
        except AlreadyEnqueued:  # one raced in (check_soon): the rest one by one
            queued = 0
            for one in jobs:
                with contextlib.suppress(AlreadyEnqueued):
                    await self.app.job_manager.defer_job_async(one)
                    queued += 1
            return queued

    async def retry_stalled(self) -> int:
        manager = self.app.job_manager
        stalled = await manager.get_stalled_jobs(
            seconds_since_heartbeat=self.settings.monitor_stalled_s
        )
        for job in stalled:
            log.warning("retrying job %s (%s) of a worker that stopped", job.id, job.task_name)
            await manager.retry_job(job)
        return len(list(stalled))

    async def run_worker(self, deps: MonitorDeps, concurrency: int, **options: Any) -> None:
        """Work the queue until cancelled (or, with install_signal_handlers, a signal)."""
        stalled_s = self.settings.monitor_stalled_s
        await self.app.run_worker_async(
            queues=[QUEUE],
            concurrency=concurrency,
            additional_context={"deps": deps, "monitor": self},
            update_heartbeat_interval=max(stalled_s / 3, 0.2),
            stalled_worker_timeout=stalled_s,
            fetch_job_polling_interval=min(5.0, self.settings.monitor_tick_s),
            delete_jobs="successful",
            **{"install_signal_handlers": False, **options},
        )


def check_job(due: schedule.Due) -> Job:
    return Job(
        queue=QUEUE,
        task_name=CHECK_TASK,
        lock=schedule.check_lock(due.goal_id),
        queueing_lock=schedule.queueing_lock(due.goal_id),
        priority=schedule.PRIORITY[due.priority],
        task_kwargs={
            "goal_id": str(due.goal_id),
            "slot": due.slot.isoformat() if due.slot else None,
        },
    )


def deps_of(context: JobContext) -> tuple[MonitorDeps, Monitor]:
    extra = context.additional_context
    return extra["deps"], extra["monitor"]


async def run_check(context: JobContext, goal_id: str, slot: str | None) -> None:
    deps, _ = deps_of(context)
    when = datetime.fromisoformat(slot) if slot else None
    try:
        outcome = await check_goal(deps, uuid.UUID(goal_id), when)
    except Exception as error:
        if database_trouble(error):  # not the goal's fault: the next tick queues it again
            log.warning("goal %s not checked, the database failed: %s", goal_id, error)
            return
        log.exception("checking goal %s failed", goal_id)
        reason = f"internal error: {type(error).__name__}"
        outcome = await check_failed(deps, uuid.UUID(goal_id), when, reason)
    log.info("goal %s checked: %s", goal_id, outcome)


def database_trouble(error: BaseException) -> bool:
    """The database (or the way to it) failed, anywhere in a group of errors."""
    if isinstance(error, BaseExceptionGroup):
        return any(database_trouble(inner) for inner in error.exceptions)
    return isinstance(error, DBAPIError | psycopg.Error)


async def run_schedule(context: JobContext, timestamp: int) -> None:
    deps, monitor = deps_of(context)
    expired = await schedule.expire_goals(deps.sessions, SCHEDULE_BATCH)
    async with reading(deps.sessions) as session:
        due = await schedule.due_goals(session, deps.settings, SCHEDULE_BATCH)
    queued = await monitor.queue_due(due) if due else 0
    retried = await monitor.retry_stalled()
    if expired or queued or retried:
        log.info("monitor tick: %d expired, %d checks queued, %d retried", expired, queued, retried)


async def run_delivery(context: JobContext, notification_id: str) -> None:
    deps, _ = deps_of(context)
    last_try = context.job.attempts + 1 >= DELIVERY_ATTEMPTS
    await deliver.deliver(deps, uuid.UUID(notification_id), last_try=last_try)


async def cancel_quietly(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
