"""/export (開示) and /erase (消去) in the admin chat: nothing runs until an approver other than the requester
approves; a disclosure never reaches the chat (a one-time code for the download page, used once, locked after
five wrong tries); an erasure runs on approval; every step is audited with the customer by internal id."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy import select, update

from bot.privacy.requests import MAX_CODE_TRIES
from bot.staff.admin import pseudonym
from models import AdminAudit, Customer, CustomerChannels, PrivacyRequest, utcnow
from tests.integration.admin_helpers import ADMIN_GROUP, StaffChat, new_user, staff_settings
from tests.integration.chat_helpers import emulated_line
from tests.integration.privacy_helpers import customer_id, import_people, saya, traces_in_tables

CODE = re.compile(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}")


class Desk:
    """A requester (operator), an operator without the approver role and an approver, in the admin group."""

    def __init__(self, runtime, line, post_webhook, drain) -> None:
        self.ids = new_user(), new_user(), new_user()
        staff_settings(runtime, operators=list(self.ids[:2]), approvers=[self.ids[2]])
        self.requester, self.operator, self.approver = (
            StaffChat(runtime, line, post_webhook, drain, user, ADMIN_GROUP) for user in self.ids
        )

    def _sync(self, answers: list[str], by: StaffChat) -> list[str]:
        for chat in (self.requester, self.operator, self.approver):  # one group: everyone has seen them
            chat.seen = by.seen
        return answers

    def say(self, by: StaffChat, text: str) -> list[str]:
        return self._sync(by.say(text), by)

    def tap(self, by: StaffChat, data: str) -> list[str]:
        return self._sync(by.tap(data), by)

    def ask(self, command: str) -> tuple[str, str]:
        """The answer to a request, and its number."""
        [answer] = self.say(self.requester, command)
        [approve, reject] = self.requester.last_buttons()
        number = approve.rsplit("v=", 1)[1]
        assert (
            approve.startswith("a=admin_privacy_approve") and reject == f"a=admin_privacy_reject&v={number}"
        )
        return answer, number


def audit_log(runtime) -> list[tuple]:
    columns = (AdminAudit.command, AdminAudit.arguments, AdminAudit.result, AdminAudit.detail)
    with runtime.engine.connect() as connection:
        rows = connection.execute(select(*columns, AdminAudit.personal_data).order_by(AdminAudit.id))
        return [tuple(row) for row in rows]


def test_a_disclosure_needs_another_approver_and_is_downloaded_once_with_its_code(
    runtime, client, post_webhook, drain, tmp_path
):
    """/export asks; the requester and a plain operator cannot approve; the approver's approval gives a page and
    a one-time code, with no personal data in the chat; the page shows a form only, refuses a wrong code, gives
    the JSON for the right one once, and the download is audited as a personal-data access."""
    who = saya()
    import_people(runtime, tmp_path, who)
    customer = customer_id(runtime, who)
    with emulated_line(runtime) as line:
        desk = Desk(runtime, line, post_webhook, drain)
        asked, number = desk.ask(f"/開示 {who.code}")
        assert f"開示の申請 #{number}（顧客ID {who.code}（内部ID {customer}））を受け付けました" in asked
        assert "別の承認者" in desk.tap(desk.requester, f"a=admin_privacy_approve&v={number}")[0]
        assert "承認者の権限" in desk.tap(desk.operator, f"a=admin_privacy_approve&v={number}")[0]
        [ready] = desk.tap(desk.approver, f"a=admin_privacy_approve&v={number}")
        assert (
            "すでに" not in ready
            and "承認済み" in desk.tap(desk.operator, f"a=admin_privacy_approve&v={number}")[0]
        )
    page = f"/privacy/exports/{number}"
    assert f"http://127.0.0.1:5000{page} を開き" in ready and "1回限り" in ready
    code = CODE.search(ready)[0]
    assert not any(needle in ready + asked for needle in who.needles)
    form = client.get(page)
    assert form.status_code == 200 and who.family not in form.get_data(as_text=True)
    assert form.headers["Cache-Control"] == "no-store"
    assert client.post(page, data={"code": "AAAA-BBBB-CCCC"}).status_code == 401
    download = client.post(page, data={"code": code.lower()})
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    document = json.loads(download.get_data(as_text=True))
    assert document["tables"]["customers"][0]["family_name"] == who.family
    assert client.post(page, data={"code": code}).status_code == 410  # once
    key = pseudonym(runtime.settings, who.code)
    assert audit_log(runtime) == [
        ("export", key, "queued", f"customer {customer}: request {number}", False),
        ("admin_privacy_approve", number, "refused", None, False),
        ("admin_privacy_approve", number, "refused", None, False),
        ("admin_privacy_approve", number, "done", None, False),
        ("admin_privacy_approve", number, "duplicate", None, False),
        ("export", f"request {number}", "done", f"customer {customer} (request {number})", True),
    ]


def test_wrong_codes_close_the_download_and_an_old_request_lapses(
    runtime, client, post_webhook, drain, tmp_path
):
    """After five wrong codes even the right one is refused and the request is closed; a request nobody
    approved within its window lapses when tapped."""
    who = saya()
    import_people(runtime, tmp_path, who)
    with emulated_line(runtime) as line:
        desk = Desk(runtime, line, post_webhook, drain)
        _, number = desk.ask(f"/export {who.code}")
        [ready] = desk.tap(desk.approver, f"a=admin_privacy_approve&v={number}")
        page, code = f"/privacy/exports/{number}", CODE.search(ready)[0]
        for _ in range(MAX_CODE_TRIES):
            assert client.post(page, data={"code": "2222-3333-4444"}).status_code == 401
        assert client.post(page, data={"code": code}).status_code == 429
        assert client.post(page, data={"code": code}).status_code == 410
        _, late = desk.ask(f"/export {who.code}")
        with runtime.engine.begin() as connection:
            connection.execute(
                update(PrivacyRequest)
                .where(PrivacyRequest.id == int(late))
                .values(expires_at=utcnow() - timedelta(seconds=1))
            )
        assert "期限を過ぎた" in desk.tap(desk.approver, f"a=admin_privacy_approve&v={late}")[0]
    with runtime.engine.connect() as connection:
        states = connection.execute(select(PrivacyRequest.status).order_by(PrivacyRequest.id)).scalars().all()
    assert states == ["expired", "expired"]


def test_an_erasure_runs_once_approved_and_a_withdrawn_one_never(runtime, post_webhook, drain, tmp_path):
    """/erase withdrawn by its requester runs nothing; /消去 approved by an approver erases the customer (no
    trace of them in any table, LINE unlinked); asking again by internal id is refused as done already."""
    who = saya()
    import_people(runtime, tmp_path, who)
    customer = customer_id(runtime, who)
    with emulated_line(runtime) as line:
        desk = Desk(runtime, line, post_webhook, drain)
        _, withdrawn = desk.ask(f"/erase {who.code}")
        assert "取り下げました" in desk.tap(desk.requester, f"a=admin_privacy_reject&v={withdrawn}")[0]
        assert "取り下げ済み" in desk.tap(desk.approver, f"a=admin_privacy_approve&v={withdrawn}")[0]
        assert traces_in_tables(runtime, who.needles)
        _, number = desk.ask(f"/消去 {who.code}")
        [erased] = desk.tap(desk.approver, f"a=admin_privacy_approve&v={number}")
        assert f"消去 #{number}: 内部ID {customer} の個人データをすべての表から消去しました" in erased
        assert traces_in_tables(runtime, who.needles) == set()
        assert desk.say(desk.requester, f"/erase {customer}") == [
            f"個人データ消去済み（内部ID {customer}） の個人データは消去済みです。"
        ]
        assert "見つかりません" in desk.say(desk.requester, f"/erase {who.code}")[0]  # the 顧客ID is gone too
    with runtime.engine.connect() as connection:
        assert connection.execute(select(Customer.erased_at).where(Customer.id == customer)).scalar()
        assert connection.execute(select(CustomerChannels.line_user_id)).scalars().all() == [None]
    log = audit_log(runtime)
    assert ("erase", f"request {number}", "done", f"customer {customer} erased", False) in log
    assert ("admin_privacy_reject", withdrawn, "done", None, False) in log
