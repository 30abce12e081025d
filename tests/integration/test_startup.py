"""The composition roots (web, worker, release) refuse the sample sender identity outside local mode, with one
sentence naming the settings to set, and start on the defaults in local mode (`make run`); web and worker refuse
a button without a handler the same way."""

from __future__ import annotations

import base64

import pytest

import app as web
import worker
from bot.platform import migrate
from bot.platform import runtime as runtime_module
from bot.platform.config import StartupRefused
from handlers import Handlers
from handlers.dialogs import menu
from tests.factories import OWN_SENDER_IDENTITY

NAMES = "SENDER_NAME, SENDER_POSTAL_ADDRESS, SENDER_CONTACT, MAIL_FROM, PUBLIC_BASE_URL"


@pytest.fixture
def environment(monkeypatch, tmp_path, redis_url):
    """The process environment of a deploy that set nothing of its sender identity."""
    for name in (*OWN_SENDER_IDENTITY, "SMS_SENDER_NAME", "LOCAL_MODE", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("REDIS_URL", redis_url)
    yield monkeypatch
    runtime_module._current = None


def test_web_and_worker_builds_refuse_the_sample_identity(environment):
    """create_app() and the worker's runtime, built from the environment, raise StartupRefused naming every
    sample setting."""
    with pytest.raises(StartupRefused, match=f"^Not starting: {NAMES} still hold the sample"):
        web.create_app()
    with pytest.raises(StartupRefused, match=f"^Not starting: {NAMES} still hold the sample"):
        worker.build_worker_runtime()


@pytest.mark.parametrize(
    ("start", "gunicorn"),
    [(lambda: web.__getattr__("app"), True), (worker.main, False), (migrate.main, False)],
    ids=["gunicorn app:app", "python worker.py", "python -m bot.platform.migrate"],
)
def test_processes_stop_with_one_sentence(environment, tmp_path, capsys, start, gunicorn):
    """web (with gunicorn's app-load status, so the master stops rather than forking workers again), worker and
    release exit with the reason and no traceback, before touching the database."""
    with pytest.raises(SystemExit) as stopped:
        start()
    if gunicorn:
        assert stopped.value.code == web.APP_LOAD_ERROR
        reason = capsys.readouterr().err
    else:
        reason = str(stopped.value.code)  # sys.exit(reason): Python prints it on stderr, status 1
    assert reason.startswith(f"Not starting: {NAMES}") and "特定電子メール法" in reason
    assert "Traceback" not in reason and not (tmp_path / "app.db").exists()


def test_local_mode_starts_on_the_defaults(environment):
    """LOCAL_MODE=1 (`make run`) builds the web app and the worker on the sample identity."""
    environment.setenv("LOCAL_MODE", "1")
    app = web.create_app()
    assert app.extensions["runtime"].settings.sender_name == "サンプル保険株式会社"
    built = worker.build_worker_runtime()
    assert isinstance(built.handlers, Handlers) and built.settings.local_mode
    assert isinstance(app.extensions["runtime"].handlers, Handlers)
    built.engine.dispose()
    app.extensions["runtime"].engine.dispose()


def test_the_insurers_own_identity_starts_outside_local_mode(environment):
    """With the sender identity and the attachments' key set, the web app builds outside local mode."""
    for name, value in OWN_SENDER_IDENTITY.items():
        environment.setenv(name, value)
    environment.setenv("ATTACHMENT_KEY", base64.b64encode(bytes(range(32))).decode())
    app = web.create_app()
    assert app.extensions["runtime"].settings.sample_identity() == []
    app.extensions["runtime"].engine.dispose()


def test_web_and_worker_stop_when_a_button_has_no_handler(environment, tmp_path, capsys):
    """With the menu's `menu` action gone from its module, gunicorn's app and `python worker.py` stop with one
    sentence naming the button, before touching the database."""
    environment.setenv("LOCAL_MODE", "1")
    environment.setattr(menu.chat, "actions", [entry for entry in menu.chat.actions if entry[0] != "menu"])
    with pytest.raises(SystemExit) as web_stopped:
        web.__getattr__("app")
    with pytest.raises(SystemExit) as worker_stopped:
        worker.main()
    assert web_stopped.value.code == web.APP_LOAD_ERROR
    for reason in (capsys.readouterr().err, str(worker_stopped.value.code)):
        assert (
            reason.startswith("Not starting: nothing answers the button menu. ") and "Traceback" not in reason
        )
    assert not (tmp_path / "app.db").exists()
