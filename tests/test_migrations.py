"""upgrade -> downgrade -> upgrade on an empty database, through the real CLI."""

import os
import subprocess
import sys

import psycopg

from tests.catalog import libpq, read_catalog


def dealagent(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )


def test_upgrade_downgrade_upgrade(make_database):
    url = make_database()
    dealagent("db", "upgrade", database_url=url)
    migrated = read_catalog(url)
    assert len({row[0] for row in migrated["columns"]}) == 12

    dealagent("db", "downgrade", database_url=url)
    emptied = read_catalog(url)
    assert emptied == {"columns": set(), "constraints": set(), "indexes": set(), "enums": set()}

    dealagent("db", "upgrade", database_url=url)
    assert read_catalog(url) == migrated


def test_seed_twice_changes_nothing(make_database):
    url = make_database()
    dealagent("db", "upgrade", database_url=url)
    dealagent("db", "seed", database_url=url)
    first = snapshot(url)
    dealagent("db", "seed", database_url=url)
    assert snapshot(url) == first
    services = {row[0] for row in first["token_pricing"]}
    assert {"chat_turn", "goal_creation", "market_search", "deal_query"} <= services
    assert sorted(row[1] for row in first["markets"]) == [
        "amazon",
        "bestbuy",
        "ebay",
        "target",
        "walmart",
    ]


def snapshot(url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(libpq(url)) as conn:
        return {
            "token_pricing": conn.execute(
                "SELECT service_type, token_cost, id FROM token_pricing ORDER BY id"
            ).fetchall(),
            "markets": conn.execute(
                "SELECT name, type::text, id FROM markets ORDER BY id"
            ).fetchall(),
        }
