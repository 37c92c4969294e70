"""Market health in the database, so every server process shares it: rate limits taken
with one atomic statement, failures counted, and a backoff after repeated failures."""

import uuid
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.config import Settings

RATE_WINDOW_DEFAULT_S = 60  # for a rate_limit with no window, and a remote limit saying none


class Verdict(StrEnum):
    ADMITTED = "admitted"
    RATE_LIMITED = "rate_limited"
    BACKOFF = "backoff"  # status error, still inside its backoff
    SKIPPED = "skipped"  # maintenance / inactive


@dataclass(frozen=True)
class Admission:
    verdict: Verdict
    detail: str


# One statement: lock the row, decide, count the request and move the status. The CTE
# reads the row FOR UPDATE, so concurrent callers in any process queue on the row lock.
ACQUIRE = text("""
WITH old AS (
    SELECT id, status, current_rate, rate_limit, error_count, last_error_at, last_rate_reset,
           COALESCE(rate_limit_window, :default_window) AS window_s,
           (last_rate_reset IS NULL OR last_rate_reset
              <= now() - make_interval(secs => COALESCE(rate_limit_window, :default_window)))
             AS fresh
    FROM markets WHERE id = :id FOR UPDATE
), decision AS (
    SELECT old.*,
        CASE
            WHEN status IN ('maintenance', 'inactive') THEN 'skipped'
            WHEN status = 'error' AND last_error_at > now() - make_interval(secs =>
                LEAST(:backoff * power(2, GREATEST(error_count - :threshold, 0)), :backoff_max))
                THEN 'backoff'
            WHEN NOT fresh AND (status = 'rate_limited'
                                OR (rate_limit IS NOT NULL AND current_rate >= rate_limit))
                THEN 'rate_limited'
            ELSE 'admitted'
        END AS verdict
    FROM old
)
UPDATE markets m SET
    current_rate = CASE WHEN d.verdict <> 'admitted' THEN m.current_rate
                        WHEN d.fresh THEN 1 ELSE m.current_rate + 1 END,
    last_rate_reset = CASE WHEN d.verdict = 'admitted' AND d.fresh THEN now()
                           ELSE m.last_rate_reset END,
    status = CASE WHEN d.verdict = 'rate_limited' THEN 'rate_limited'::marketstatus
                  WHEN d.verdict = 'admitted' AND m.status = 'rate_limited'
                      THEN 'active'::marketstatus
                  ELSE m.status END
FROM decision d WHERE m.id = d.id
RETURNING d.verdict, d.status::text AS was, m.current_rate, m.rate_limit,
          m.last_rate_reset + make_interval(secs => d.window_s) AS resets_at
""")

FAILED = text("""
UPDATE markets SET
    error_count = error_count + 1,
    last_error = :error,
    last_error_at = now(),
    status = CASE WHEN :remote_429 AND status IN ('active', 'rate_limited')
                      THEN 'rate_limited'::marketstatus
                  WHEN status IN ('active', 'error') AND error_count + 1 >= :threshold
                      THEN 'error'::marketstatus
                  ELSE status END,
    -- Aside for the market's Retry-After when it sent one, else for one window.
    last_rate_reset = CASE WHEN :remote_429 THEN now()
        - make_interval(secs => COALESCE(rate_limit_window, :default_window))
        + make_interval(secs => COALESCE(CAST(:retry_after AS double precision),
                                         COALESCE(rate_limit_window, :default_window)))
        ELSE last_rate_reset END
WHERE id = :id
""")

# Items the market sent that its adapter could not read: counted in meta_data.skipped_items
# (the schema is the seed's, so no column of their own), the last batch's reason kept.
SKIPPED = text("""
UPDATE markets SET meta_data = jsonb_set(COALESCE(meta_data, '{}'::jsonb), '{skipped_items}',
    jsonb_build_object(
        'total', COALESCE((meta_data -> 'skipped_items' ->> 'total')::bigint, 0) + :count,
        'last_count', :count,
        'last_reason', CAST(:reason AS text),
        'last_at', now()))
WHERE id = :id
""")

SUCCEEDED = text("""
UPDATE markets SET error_count = 0,
    status = CASE WHEN status = 'error' THEN 'active'::marketstatus ELSE status END
WHERE id = :id AND (error_count > 0 OR status = 'error')
""")


async def acquire(
    sessions: async_sessionmaker[AsyncSession], market_id: uuid.UUID, settings: Settings
) -> Admission:
    async with sessions() as session, session.begin():
        row = (
            await session.execute(
                ACQUIRE,
                {
                    "id": market_id,
                    "default_window": RATE_WINDOW_DEFAULT_S,
                    "backoff": settings.market_backoff_s,
                    "backoff_max": settings.market_backoff_max_s,
                    "threshold": settings.market_error_threshold,
                },
            )
        ).one()
    verdict = Verdict(row.verdict)
    if verdict is Verdict.RATE_LIMITED:
        detail = f"rate limited until {row.resets_at:%H:%M:%S} UTC"
    elif verdict is Verdict.BACKOFF:
        detail = "backing off after repeated errors"
    elif verdict is Verdict.SKIPPED:
        detail = f"market is {row.was}"
    else:
        limit = "unlimited" if row.rate_limit is None else str(row.rate_limit)
        detail = f"request {row.current_rate} of {limit} this window"
    return Admission(verdict, detail)


async def record_failure(
    sessions: async_sessionmaker[AsyncSession],
    market_id: uuid.UUID,
    settings: Settings,
    error: str,
    *,
    remote_rate_limited: bool = False,
    retry_after_s: float | None = None,
) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            FAILED,
            {
                "id": market_id,
                "error": error[:2000],
                "remote_429": remote_rate_limited,
                "threshold": settings.market_error_threshold,
                "default_window": RATE_WINDOW_DEFAULT_S,
                "retry_after": retry_after_s,
            },
        )


async def record_skipped(
    sessions: async_sessionmaker[AsyncSession], market_id: uuid.UUID, reasons: list[str]
) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            SKIPPED, {"id": market_id, "count": len(reasons), "reason": reasons[-1][:500]}
        )


async def record_success(sessions: async_sessionmaker[AsyncSession], market_id: uuid.UUID) -> None:
    async with sessions() as session, session.begin():
        await session.execute(SUCCEEDED, {"id": market_id})
