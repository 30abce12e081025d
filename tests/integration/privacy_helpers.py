"""Builders for the APPI tests: a customer with data in every corner of the service (imported files, LINE link,
chat, a service request, deliveries on LINE, SMS and email, a coupon, staff look-ups), a bystander, and generic
scans of every text and JSON column of every table (and of Redis) for what identifies a person."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, String, func, or_, select, update
from sqlmodel import SQLModel

from bot.scenarios.runner import tick
from flows.engine import TOKYO
from models import Customer, CustomerChannels, UTCDateTime, utcnow
from tests.integration import attachment_helpers
from tests.integration.admin_helpers import ADMIN_GROUP, StaffChat, new_user, staff_settings
from tests.integration.chat_helpers import Chat, action_of
from tests.integration.delivery_helpers import add_row, line_id, send_due
from tests.integration.scenario_helpers import load, person, write
from tests.integration.test_account_link import campaign

STAFF_GROUP = "C" + "5" * 32  # the service desk's LINE group


@dataclass(frozen=True)
class Person:
    code: str
    family: str
    given: str
    phone: str  # as typed in the files
    email: str
    line_user: str = ""

    @property
    def needles(self) -> tuple[str, ...]:
        """Every form the person's name, phone, email and LINE user id may be stored in."""
        digits = self.phone.replace("-", "")
        return (
            self.family,
            self.given,
            "+81" + digits[1:],
            digits,
            digits[1:],
            self.phone,
            self.email,
            self.email.split("@")[0],
            self.line_user,
        )


def saya() -> Person:
    return Person("C7001", "雲母坂", "紗綾", "090-5555-0123", "sayaka.kirarazaka@example.jp", line_id())


def bystander() -> Person:
    return Person("C7002", "百目鬼", "巌", "080-7777-0456", "iwao.dodomeki@example.jp", line_id())


def _row(who: Person, **more: str) -> dict[str, str]:
    channels = {"email": who.email, "email_ok": "真", "sms": who.phone, "sms_ok": "真"}
    if who.line_user:
        channels |= {"line": who.line_user, "line_ok": "真"}
    return person(who.code, **channels) | {"family_name": who.family, "given_name": who.given} | more


def import_people(runtime, tmp_path, *people: Person) -> None:
    """F5 and F7 for each, and for the first one every journey file as well (only the document request is
    recent enough to start a scenario: one marketing message, below the daily cap)."""
    day = utcnow().astimezone(TOKYO).date()
    yesterday, long_ago = (f"{day - timedelta(days=n):%Y/%m/%d}" for n in (1, 40))
    rows = [_row(who, prefecture="京都府", app_user="真") for who in people]
    load(runtime, "F5", write(tmp_path / "f5.csv", rows))
    members = [
        {
            "line_user_id": w.line_user,
            "line_permitted": "真",
            "customer_id": w.code,
            "line_linked": "真",
            "registered_on": long_ago,
        }
        for w in people
        if w.line_user
    ]
    load(runtime, "F7", write(tmp_path / "f7.csv", members))
    who = people[0]
    mail = {"email_main": who.email, "email_permitted": "真"}
    files = {
        "F1": {"document_request_id": "DR7001", **mail, "requested_on": yesterday},
        "F2": {"quote_id": "QT7001", **mail, "quoted_on": long_ago},
        "F3": {
            "reservation_id": "RS7001",
            **mail,
            "visit_on": yesterday,
            "consultation": f"{who.family} {who.given} 様: 学資保険の相談",
        },
        "F4": {
            "access_log_id": "AL7001",
            "customer_id": who.code,
            "page_url": "https://www.example.jp/cancel",
        },
        "F6": {
            "customer_campaign_id": "C7001-CP1",
            "customer_id": who.code,
            "campaign_id": "CP1",
            "granted": "真",
        },
    }
    for kind, row in files.items():
        load(runtime, kind, write(tmp_path / f"{kind}.csv", [row]))
    with runtime.engine.begin() as connection:  # linked, as the ID link (bot/chat/account_link.py) leaves it
        connection.execute(
            update(CustomerChannels)
            .where(CustomerChannels.line_user_id.in_([w.line_user for w in people if w.line_user]))
            .values(line_linked=True)
        )


def customer_id(runtime, who: Person) -> int:
    with runtime.engine.connect() as connection:
        return connection.execute(select(Customer.id).where(Customer.customer_code == who.code)).scalar_one()


def live_in_the_chat(runtime, line, post_webhook, drain, who: Person) -> Chat:
    """Friend-add, a greeting naming themselves, a complaint filed with their name and email and a document named
    after them (staff told), a dialog left open, a slash command a customer may type (audited as a stranger's)."""
    runtime.settings = runtime.settings.model_copy(
        update={"staff_line_targets": [STAFF_GROUP], "attachment_key": attachment_helpers.KEY}
    )
    chat = Chat(runtime, line, post_webhook, drain, who.line_user)
    chat.follow()
    chat.say(f"{who.family}です。よろしくお願いします")
    chat.tap("a=complaint")
    for answer in (f"{who.family} {who.given}です。窓口で待たされた", "改善してほしい", "3", who.email):
        [reply] = chat.say(answer)
    pdf = b"%PDF-1.7\n" + who.family.encode() + bytes(2000)
    attachment_helpers.send_media(chat, pdf, "file", "application/pdf", file_name=f"{who.family}様の書類.pdf")
    [reply] = chat.say("完了")
    [done] = chat.tap(action_of(reply, "confirm"))
    assert "R" in done["text"]
    chat.say("メール登録")  # waits for an address: a dialog row of their LINE user
    chat.say(f"/customer {who.family}")  # a customer's slash command runs nothing (and is audited)
    return chat


def staff_look_up(runtime, line, post_webhook, drain, who: Person) -> StaffChat:
    """An operator looks the customer up, asks why, and issues a coupon (sent in LINE)."""
    operator = new_user()
    staff_settings(runtime, operators=[operator], approvers=[], staff_line_targets=[STAFF_GROUP])
    campaign(runtime, "VISIT", title="来店特典", benefit="QUOカード500円分")
    staff = StaffChat(runtime, line, post_webhook, drain, operator, ADMIN_GROUP)
    staff.say(f"/customer {who.code}")
    staff.say(f"/customer {who.email}")
    staff.say(f"/why {who.code}")
    staff.say(f"/coupon issue VISIT {who.code}")
    return staff


def reach_them(runtime, drain, customer: int) -> None:
    """Scenario #1 (document request follow-up) at 19:00 on LINE, and notices on SMS and email, all sent."""
    evening = datetime.combine(utcnow().astimezone(TOKYO).date(), datetime.min.time(), TOKYO) + timedelta(
        hours=19
    )
    # #1 alone: the welcome series the friend-add started would meet #1 under the daily cap at some hours
    only_first = {"doc_request_followup": runtime.settings.scenarios["doc_request_followup"]}
    tick(runtime.engine, only_first, evening, rules=runtime.settings.delivery_rules())
    for channel in ("sms", "email"):
        add_row(runtime, customer, channel=channel, purpose="transactional", due_at=evening)
    send_due(runtime, drain, max(evening, utcnow()) + timedelta(minutes=1))


def age(runtime, days: int) -> None:
    """Everything so far happened `days` earlier (every time and day column moved back)."""
    with runtime.engine.begin() as connection:
        for table in SQLModel.metadata.sorted_tables:
            times = [c for c in table.columns if isinstance(c.type, UTCDateTime)]
            if not times or table.name == "admin_audit":  # append-only
                continue
            keys = list(table.primary_key.columns)
            for row in connection.execute(select(*keys, *times)).all():
                moved = {
                    c.name: row._mapping[c.name] - timedelta(days=days) for c in times if row._mapping[c.name]
                }
                where = [key == row._mapping[key.name] for key in keys]
                if moved:
                    connection.execute(update(table).where(*where).values(moved))


def _written(value: Any) -> str:
    """A stored value as text, JSON text read back too (an escaped \\u9ec4 is the character it stands for)."""
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    if not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False, default=str)
    try:
        return value + json.dumps(json.loads(value), ensure_ascii=False)
    except ValueError:
        return value


def traces_in_tables(runtime, needles: tuple[str, ...]) -> set[tuple[str, str]]:
    """(table.column, needle) for every text or JSON value of every table that contains a needle."""
    found = set()
    with runtime.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String | JSON)]
            if not columns:
                continue
            for row in connection.execute(select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    text = _written(value) if value is not None else ""
                    found |= {(f"{table.name}.{column.name}", n) for n in needles if n and n in text}
    return found


def traces_in_redis(redis, needles: tuple[str, ...]) -> set[tuple[str, str]]:
    """(key, needle) for every Redis key whose name or value contains a needle."""
    found = set()
    for key in redis.scan_iter(count=1000):
        kind = redis.type(key)
        kind = kind.decode() if isinstance(kind, bytes) else kind
        parts: list[Any] = [key]
        if kind == "string":
            parts.append(redis.get(key))
        elif kind == "hash":
            parts.extend(x for pair in redis.hgetall(key).items() for x in pair)
        elif kind == "list":
            parts.extend(redis.lrange(key, 0, -1))
        elif kind == "set":
            parts.extend(redis.smembers(key))
        elif kind == "zset":
            parts.extend(redis.zrange(key, 0, -1))
        text = " ".join(_written(part) for part in parts if part is not None)
        found |= {(_written(key), n) for n in needles if n and n in text}
    return found


def tables_holding(runtime, customer: int, line_user: str) -> dict[str, int]:
    """{table: rows} of every table with rows of the customer, found by its own columns (a foreign key to the
    customer, or their LINE user id): what a disclosure must show, found without the service's declarations."""
    out = {}
    with runtime.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            mine = [
                key.parent == customer for key in table.foreign_keys if key.column.table.name == "customers"
            ]
            if table.name == "customers":
                mine.append(table.c.id == customer)
            if "line_user_id" in table.c:
                mine.append(table.c.line_user_id == line_user)
            if mine:
                count = connection.execute(select(func.count()).select_from(table).where(or_(*mine))).scalar()
                if count:
                    out[table.name] = count
    return out


def today() -> date:
    return utcnow().astimezone(TOKYO).date()
