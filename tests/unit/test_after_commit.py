"""Work queued for after a commit runs once, in order, after the commit only; a rollback drops it; outside a
worker it is logged, not raised."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bot.platform import after_commit as module


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    with Session(engine) as session:
        yield session
    engine.dispose()


def test_items_of_one_kind_are_handed_over_once_after_the_commit(session, monkeypatch):
    monkeypatch.setattr(module, "current", lambda: SimpleNamespace(redis="the redis"))
    calls = []
    session.execute(text("SELECT 1"))
    module.after_commit(session, "kind", [1, 2], lambda redis, items: calls.append((redis, items)))
    module.after_commit(session, "kind", [3], lambda redis, items: calls.append((redis, items)))
    assert calls == []  # not before the commit
    session.commit()
    assert calls == [("the redis", [1, 2, 3])]
    session.execute(text("SELECT 1"))
    session.commit()
    assert calls == [("the redis", [1, 2, 3])]  # once


def test_a_rollback_queues_nothing(session, monkeypatch):
    monkeypatch.setattr(module, "current", lambda: SimpleNamespace(redis="the redis"))
    calls = []
    session.execute(text("SELECT 1"))
    module.after_commit(session, "kind", [1], lambda redis, items: calls.append(items))
    session.rollback()
    session.execute(text("SELECT 1"))
    session.commit()
    assert calls == []


def test_outside_a_worker_it_is_logged_not_raised(session, monkeypatch, caplog):
    def no_runtime():
        raise RuntimeError("no runtime")

    monkeypatch.setattr(module, "current", no_runtime)
    session.execute(text("SELECT 1"))
    module.after_commit(session, "staff notices", [7], lambda redis, items: None)
    with caplog.at_level(logging.WARNING):
        session.commit()
    assert "staff notices: 1 recorded outside a worker" in caplog.text
