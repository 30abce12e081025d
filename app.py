"""Web entry point and composition root: `gunicorn app:app` builds the service on first access."""

from __future__ import annotations

from flask import Flask

from bot import cli, health, webhook
from bot.config import Settings, load_settings
from bot.i18n import configure_i18n
from bot.logs import configure_logging
from bot.runtime import Runtime, build_runtime
from handlers import coupon_api, dashboard, ingest_api, link_page, privacy_download, sms_callbacks, tracking


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    """Build the web app: settings from the environment unless given, embedded defaults where unset."""
    settings = settings or (runtime.settings if runtime else load_settings())
    configure_logging()
    configure_i18n(settings.default_locale)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = webhook.MAX_BODY_BYTES
    app.extensions["runtime"] = runtime = runtime or build_runtime(settings)
    app.extensions["ingestor"] = webhook.make_ingestor(runtime)
    app.register_blueprint(webhook.blueprint)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(ingest_api.blueprint)
    app.register_blueprint(tracking.blueprint)
    app.register_blueprint(sms_callbacks.blueprint)
    app.register_blueprint(link_page.blueprint)
    app.register_blueprint(coupon_api.blueprint)
    app.register_blueprint(dashboard.blueprint)  # staff; open in local mode, else DASHBOARD_TOKEN
    app.register_blueprint(privacy_download.blueprint)  # an approved disclosure, with its one-time code
    if settings.simulator_enabled:  # `make run` only (bot/local.py): it signs webhook events for anyone
        from handlers import simulator

        app.register_blueprint(simulator.blueprint)
    cli.register(app)
    return app


def __getattr__(name: str) -> Flask:
    # `app:app` (gunicorn, flask) builds the app when asked for, so importing this module has no side effect.
    if name == "app":
        globals()["app"] = created = create_app()
        return created
    raise AttributeError(name)
