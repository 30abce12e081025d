"""Schema migrations (Alembic) run by the PaaS release phase, `make run` and the tests."""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["skip_logging_config"] = True
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database at `database_url` to `revision`."""
    command.upgrade(alembic_config(database_url), revision)


def main() -> None:
    from bot.platform.config import StartupRefused, load_service_settings

    try:  # the release phase stops a deploy that would face customers with the sample sender identity
        settings = load_service_settings()
    except StartupRefused as refused:
        sys.exit(str(refused))
    upgrade(settings.effective_database_url)
    print("database is at the latest schema revision")


if __name__ == "__main__":
    main()
