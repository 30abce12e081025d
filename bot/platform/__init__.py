"""Settings, scenario settings, runtime, database, Redis, migrations, logs, i18n, health, and the small guards every edge uses (JSON depth, characters, limits on guessing, CSRF)."""
