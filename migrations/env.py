"""Alembic environment: runs migrations on the URL core.migrate passes in."""

from alembic import context
from sqlalchemy import create_engine, pool

from core.db import async_url
from core.models import Base

config = context.config
url = async_url(config.attributes["database_url"])


def run_migrations_online() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
