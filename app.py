"""Web entry point and composition root: `gunicorn app:app` builds the service on first access."""

from __future__ import annotations

import sys

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from bot import cli
from bot.delivery.signal_buffer import SignalBuffer, spool_for
from bot.inbound import webhook
from bot.platform import access_log, health
from bot.platform.config import Settings, StartupRefused, load_service_settings
from bot.platform.i18n import configure_i18n
from bot.platform.json_input import BoundedJSONProvider
from bot.platform.logs import configure_logging
from bot.platform.runtime import Runtime, build_runtime
from handlers import (
    build_handlers,
    coupon_api,
    dashboard,
    inbox,
    ingest_api,
    link_page,
    privacy_download,
    sms_callbacks,
    staff_attachments,
    tracking,
)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    """Build the web app: settings from the environment unless given, embedded defaults where unset (the sample
    sender identity is refused outside local mode, and so is a button or dialog step without a handler:
    StartupRefused)."""
    settings = settings or (runtime.settings if runtime else load_service_settings())
    handlers = build_handlers()  # the web dispatches no events, but starts only when the worker would
    configure_logging()
    configure_i18n(settings.default_locale)
    app = Flask(__name__)
    app.json = BoundedJSONProvider(app)  # request.get_json(): a too-deep body is a 400, not a RecursionError
    app.config["MAX_CONTENT_LENGTH"] = webhook.MAX_BODY_BYTES
    if settings.trusted_proxies:  # request.remote_addr: the client as the outermost trusted proxy saw it
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)  # type: ignore[method-assign]
    # access logs show the route, not the token in the path (gunicorn.conf.py, and `flask run`'s werkzeug log)
    app.before_request(access_log.remember_route)
    access_log.install_werkzeug_filter()
    app.extensions["runtime"] = runtime = runtime or build_runtime(settings, handlers)
    app.extensions["ingestor"] = webhook.make_ingestor(runtime)
    # Tracking links answer without the database; their signals are kept for the worker's tick.
    app.extensions["signals"] = SignalBuffer(
        runtime.quick_redis or runtime.redis, spool_for(settings.data_dir)
    )
    app.extensions["tracking_database"] = tracking.database_bulkhead()
    app.register_blueprint(webhook.blueprint)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(ingest_api.blueprint)
    app.register_blueprint(tracking.blueprint)
    app.register_blueprint(sms_callbacks.blueprint)
    app.register_blueprint(link_page.blueprint)
    app.register_blueprint(coupon_api.blueprint)
    app.register_blueprint(dashboard.blueprint)  # staff; open in local mode, else DASHBOARD_TOKEN
    app.register_blueprint(inbox.blueprint)  # staff, each with their own login (flask staff add)
    app.register_blueprint(privacy_download.blueprint)  # an approved disclosure, with its one-time code
    app.register_blueprint(staff_attachments.blueprint)  # photos and files of requests: as the dashboard
    if settings.simulator_enabled:  # `make run` only (devtools/local.py): it signs webhook events for anyone
        from devtools import simulator  # never in production: the only import of devtools

        app.register_blueprint(simulator.blueprint)
    cli.register(app)
    return app


# gunicorn's exit status for "the app failed to load": the master stops instead of forking workers forever.
APP_LOAD_ERROR = 4


def __getattr__(name: str) -> Flask:
    # `app:app` (gunicorn, flask) builds the app when asked for, so importing this module has no side effect.
    if name == "app":
        try:
            globals()["app"] = created = create_app()
        except StartupRefused as refused:
            print(refused, file=sys.stderr, flush=True)
            raise SystemExit(APP_LOAD_ERROR) from None
        return created
    raise AttributeError(name)
