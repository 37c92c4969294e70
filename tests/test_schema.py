"""The migrated schema is the seed's: compared, from the catalog, with a database built
by running the seed's own SQL (tests/seed_schema.sql)."""

from pathlib import Path

import pytest

from core import migrate
from tests.catalog import execute_script, read_catalog

SEED_SQL = (Path(__file__).parent / "seed_schema.sql").read_text()


@pytest.fixture(scope="module")
def seed_catalog(make_database) -> dict:
    url = make_database()
    execute_script(url, SEED_SQL)
    return read_catalog(url)


@pytest.fixture(scope="module")
def migrated_catalog(make_database) -> dict:
    url = make_database()
    migrate.upgrade(url, "0001")
    return read_catalog(url)


@pytest.mark.parametrize("part", ["columns", "constraints", "indexes", "enums"])
def test_initial_migration_matches_seed(seed_catalog, migrated_catalog, part):
    assert seed_catalog[part], f"the seed yields no {part}: the comparison would be empty"
    missing = seed_catalog[part] - migrated_catalog[part]
    extra = migrated_catalog[part] - seed_catalog[part]
    assert not missing and not extra, f"missing: {sorted(missing)}\nextra: {sorted(extra)}"


def test_seed_has_twelve_tables_and_eighteen_enums(migrated_catalog):
    assert len({row[0] for row in migrated_catalog["columns"]}) == 12
    assert len(migrated_catalog["enums"]) == 18


# Indexes later migrations add on top of the seed, each for a reason given in its migration.
ADDED_INDEXES: set[str] = {
    "uq_deals_goal_url",  # 0002: deal upsert
    "ix_deals_fts",  # 0002: full-text
    "ix_chat_messages_client_id",  # 0003: a client message id runs once
    # 0007: query_deals ranks a page's ids by an index-only scan of it (covering the
    # filters and sort keys) and reads only the page's rows from the table.
    "ix_deals_goal_listing",
}


def test_head_only_adds_declared_indexes(seed_catalog, make_database):
    url = make_database()
    migrate.upgrade(url)
    head = read_catalog(url)
    for part in ("columns", "constraints", "enums"):
        assert head[part] == seed_catalog[part], part
    assert seed_catalog["indexes"] <= head["indexes"]
    assert {name for _, name, _ in head["indexes"] - seed_catalog["indexes"]} == ADDED_INDEXES
