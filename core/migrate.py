"""Alembic, driven from code: `dealagent db upgrade|downgrade` and start-up use this."""

from pathlib import Path

from alembic import command
from alembic.config import Config

import migrations

HEAD = "head"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrations.__file__).parent))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = HEAD) -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)
