"""Every message template, rendered in Japanese and English with sample data, fits its channel: LINE messages
pass LINE's own request schema (messaging-api.yml and its documented limits), SMS fit 660 characters, emails
have a subject, and the two languages offer the same parts, links and buttons."""

from __future__ import annotations

import pytest

from bot.delivery.buttons import ACTIONS
from bot.delivery.channels.sms_billing import MAX_CHARACTERS
from bot.delivery.content import Links, Template, email_parts, line_messages, sms_text
from bot.delivery.outbox import new_token
from bot.platform.config import DEFAULT_LINK_TARGETS, SMS_SENDER_NAME_MAX, load_settings
from bot.platform.i18n import SUPPORTED, configure_i18n, message_document, template_keys
from devtools.line_emulator.validation import validate_body
from flows.catalog import SCENARIOS
from flows.dsl import Channel, Send

# long but real values: the worst a customer record or the catalogue plausibly holds
SAMPLE = {
    "service_name": None,  # the locale's own
    "family_name": "勅使河原",
    "given_name": "左衛門三郎",
    "request_date": None,
    "quote_date": None,
    "visit_date": None,
    "contract_start_date": None,
    "renewal_date": None,
    "grant_date": None,
    "registration_date": None,
    "store_name": "東京駅八重洲口グランルーフ前店",
    "consultation": "子どもの進学に備えた学資保険と、親の介護に備えた保障の見直しについて相談したい",
    "campaign_name": "新規ご契約キャンペーン2026秋",
    "email": "teshigawara.saemonsaburo.family@example-insurance-customer.co.jp",
    "left": 2,
    # ID連携 and coupons (chat_link, chat_coupon)
    "login_url": "https://support.example.jp/link?linkToken=NMZTNuVrPTqlr2IF8Bnymkb7rXfYv5EY",
    "coupon_title": "LINE連携限定 ギフト券プレゼント",
    "coupon_benefit": "提携店舗で使えるギフト券1,000円分（ご契約者さま1名につき1回限り）",
    "coupon_code": "7KQ2M-X9HPD",
    "coupon_expires": "12月28日",
    "use_coupon_value": "7KQ2MX9HPD",
    "redeemed_at": "2026/12/28 10:30",
    # the service desk and FAQ (chat_desk, chat_faq); a summary as long as the 660-character SMS check allows
    # (chat answers never go by SMS; on LINE, texts are cut at 5,000 characters)
    "reference": "R261228-7KQM",
    "identity": "未確認（LINE連携前のお客様。ご本人かどうかを確認してから対応してください）",
    "code": "048213",
    "minutes": 5,
    "request_kind": "控除証明書の再発行",
    "request_status": "対応中",
    "accident_phone": "0120-000-000",
    "customer_ref": "顧客ID C-000123456789（内部ID 1234567）",
    "limit": 1000,
    "count": 2,  # photos received so far (chat_attach)
    # store visits, document and quote requests, referrals (chat_campaign)
    # service notices to a list (service_notice): each row's own values, as long as a real one gets
    "policy_number": "HS-2026-0012345678",
    "amount": "1,234,560",
    "due_date": "2026年12月28日",
    "documents": "本人確認書類（運転免許証またはマイナンバーカードの写し）、口座振替依頼書",
    "claim_number": "AC-261228-000123",
    "claim_status": "修理工場でのお見積もりを確認中です。修理費用の確定後、保険金のお支払い手続きに進みます",
    "survey_url": "https://support.example.jp/survey/7KQ2MX9HPD",
    "reservation_code": "LINE-7KQ2MX9H",
    "request_code": "LINE-X9HPD7KQ",
    "product_name": "地震補償付き火災保険（家財・地震保険セット）",
    "choices": "\n".join(f"{n}. がん保険プレミアム（先進医療特約付き）" for n in range(1, 13)),
    "store_hours": "10:00〜18:00",
    "horizon_days": 60,
    "referral_code": "K7QX2P",
    # the admin chat (admin): staff-facing answers
    "commands": "\n".join(f"/command{n}（コマンド{n}）: 説明" for n in range(12)),
    "usage": "/broadcast テンプレート名 [--to セグメント] [--at 日時]",
    "name": "launch",
    "role": "approver",
    "scenarios": "\n".join(
        f"#{n} 資料請求者への契約促進シナリオ（稼働中・進行中 12345）" for n in range(1, 24)
    ),
    "number": 5,
    "customer_id": 1234567,
    "request_state": "承認済み（ダウンロード待ち）",
    "approve_by": "12/24 10:00",
    "download_url": "https://support.example.jp/privacy/exports/123456",
    "download_code": "ABCD-EFGH-JKLM",
    "valid_until": "10:30",
    "title": "来店予約後の来店リマインドシナリオ",
    "state": "稼働中",
    "trigger": "reservation.visit_on の7日前 10:00",
    "active": 12345,
    "entered": 678,
    "sent": "email 120、line 300、sms 45",
    "moved": 42,
    # admin look-ups and desk commands (admin_lookup): masked personal data only, long lists cut to fit LINE
    "lookup_scope": "#5 来店予約後の来店リマインドシナリオ",
    "lookup_lines": "\n".join(
        f"#{n} 資料請求者への契約促進シナリオ: 登録 12345（対照 1234）／送信 LINE 9876・メール 5432・SMS 210"
        f"・アプリ通知 99／反応 4321／成果 1234（対照 56） 率 10.2%（対照 4.5%）／停止 321"
        for n in range(1, 24)
    ),
    "lookup_key": "090-****-5678",
    "lookup_count": 1234,
    "masked_name": "勅＊ ＊＊＊",
    "masked_phone": "090-****-5678",
    "masked_email": "t***@example-insurance-customer.co.jp、t***@example.jp",
    "line_state": "友だちのみ（ID連携なし）",
    "permissions": "LINE 可・メール 不可・SMS 未設定・アプリ通知 宛先なし",
    "contract_state": "あり",
    "active_scenarios": "、".join(f"#{n} 資料請求者への契約促進シナリオ" for n in range(1, 8)),
    "open_requests": "、".join(f"R261228-7KQ{n} 控除証明書の再発行（対応中）" for n in range(5)),
    "campaign_code": "WELCOME_EMAIL_2026_AUTUMN",
    "coupon_typed": "7KQ2M-X9HPD",
    "refusal": "有効期限切れ",
    # broadcasts (admin_broadcast): a dry run at its longest
    "problem": "「contract.status」の値「有効・更新待ち・解約予定のいずれか」は使えません（文字）。",
    "template_name": "onboarding_after_contract.e",
    "segment": "customer.prefecture=北海道, customer.age_band=40代, contract.current_product_type_code=LIFE01",
    "ladder": "first_reachable:line,sms,email (marketing)",
    "send_time": "2026-12-24 10:00",
    "recipients": 123456,
    **{f"to_{channel}": 123456 for channel in ("line", "sms", "email", "push")},
    **{f"out_{reason}": 12345 for reason in ("no_address", "no_consent", "blocked", "capped")},
    "held_quiet_hours": 123456,
    "line_messages": 123456,
    "line_requests": "マルチキャスト 247回",
    "sms_messages": 123456,
    "sms_segments": 246912,
    "sms_yen": "料金は要相談（月10万通超: SMS_NEGOTIATED_PRICE_YEN を設定してください）",
    "sms_too_long": 12,
    "approval": "10000人を超えるため、作成した方とは別の承認者が「送信する」を押したときに送信します。\n",
    "threshold": 10000,
    "stopped": 123456,
    "percent": 75,
    "progress_done": 92592,
    "progress_total": 123456,
    "outcome": "完了",
    "sent_count": 123000,
    "failed_count": 456,
    "failure_reasons": "中止 300・配信許可なし 100・gave up after 23 h: 503 Service Unavailable 56",
    "staff_text": "お待たせしました。担当の山田です。",  # hand-over (chat_handover, admin_handover)
    "business_hours": "平日 9:00〜18:00",
    "reply_from": "12月8日（月）9:00",
    "said": "車をぶつけてしまいました",
    "handover_reason": "お客様のご希望",
    "handover_status": "終了",
    "details": "事故日：2026年12月28日\n時刻：15:30\n場所：千代田区千代田1丁目の交差点付近\n状況："
    + "信号待ちで停車中に後ろから追突された。" * 12
    + "\nけが人：あり\n相手方：あり\n警察への届出：あり\n連絡先電話番号：09012345678",
}
DATE_FIELDS = [name for name, value in SAMPLE.items() if value is None and name != "service_name"]
BASE = "https://support.example.jp"
LONGEST_SENDER = ("はなまる損害保険株式会社" * 2)[:SMS_SENDER_NAME_MAX]  # the longest SMS_SENDER_NAME allowed


def fields(locale: str, template: str) -> dict[str, object]:
    from datetime import date

    from bot.delivery.content import format_date
    from bot.platform.i18n import text

    scenario = SCENARIOS.get(template.split(".")[0])
    values = {name: value for name, value in SAMPLE.items() if value is not None}
    values |= {name: format_date(date(2026, 12, 28), locale) for name in DATE_FIELDS}
    values["service_name"] = text("common.service_name", locale)
    values["consultation_note"] = text("common.consultation_note", locale, topic=SAMPLE["consultation"])
    return values | (dict(scenario.params) if scenario else {})


TEMPLATES = sorted(template_keys("ja") | template_keys("en"))


@pytest.fixture(scope="module", autouse=True)
def _texts():
    configure_i18n()


def test_every_scenario_message_has_texts_in_both_languages():
    """Each template a scenario sends exists in Japanese and English, with the same parts, link and buttons."""
    used = {s.template for scenario in SCENARIOS.values() for s in scenario.steps if isinstance(s, Send)}
    assert used <= template_keys("ja") and used <= template_keys("en")
    ja, en = (message_document(locale)["messages"] for locale in SUPPORTED)
    assert ja.keys() == en.keys()
    for scenario, templates in ja.items():
        assert templates.keys() == en[scenario].keys(), scenario
        for name, parts in templates.items():
            other = en[scenario][name]
            assert parts.keys() == other.keys(), f"{scenario}.{name}"
            assert parts.get("link") == other.get("link") and parts.get("buttons") == other.get("buttons")
            assert set(parts.get("buttons") or ()) <= ACTIONS.keys(), f"{scenario}.{name}: unknown button"
            assert parts.get("link") in (None, *DEFAULT_LINK_TARGETS), f"{scenario}.{name}: unknown link"


def test_every_scenario_has_its_message_files_and_every_file_a_scenario():
    """locales/messages/ holds one pair of files per scenario of the catalogue, besides the chat's, the admin
    chat's and the service notices' own."""
    for locale in SUPPORTED:
        groups = set(message_document(locale)["messages"])
        own = {g for g in groups if g in ("broadcast", "service_notice") or g.startswith(("chat", "admin"))}
        assert groups - own == set(SCENARIOS)


@pytest.mark.parametrize("locale", SUPPORTED)
@pytest.mark.parametrize("key", TEMPLATES)
def test_line_version_passes_lines_request_schema(key, locale):
    """The LINE message, with a tracked link, buttons and 配信停止, is a push LINE would accept."""
    settings = load_settings()
    template = Template(key, locale)
    messages = line_messages(template, fields(locale, key), Links(BASE, new_token()), True, settings)
    body = {"to": "U" + "0" * 32, "messages": messages}
    assert validate_body("PushMessageRequest", body) == []
    assert "%{" not in messages[0]["text"]


@pytest.mark.parametrize("locale", SUPPORTED)
@pytest.mark.parametrize("key", [key for key in TEMPLATES if not key.startswith(("chat", "admin"))])
def test_sms_version_fits_660_characters(key, locale):
    """The marketing SMS, led by the longest sender name the settings allow and with its short link and opt-out
    link, fits one message (660 characters); chat answers and staff messages never go by SMS."""
    message = sms_text(
        Template(key, locale), fields(locale, key), Links(BASE, new_token()), True, LONGEST_SENDER
    )
    assert 0 < len(message) <= MAX_CHARACTERS and "%{" not in message
    assert message.startswith(("【" if locale == "ja" else "[") + LONGEST_SENDER)


@pytest.mark.parametrize("locale", SUPPORTED)
def test_only_marketing_sms_carry_the_senders_name(locale):
    """特定電子メール法: a marketing SMS starts with the sender's name and ends with the opt-out link; a service
    notice (transactional) is the template's text alone."""
    template, values = Template("visit_reminder.a", locale), fields(locale, "visit_reminder.a")
    links = Links(BASE, new_token())
    marketing = sms_text(template, values, links, True, "はなまる損保")
    notice = sms_text(template, values, links, False, "はなまる損保")
    assert marketing.startswith("【はなまる損保】" if locale == "ja" else "[はなまる損保] ")
    assert marketing.endswith(links.opt_out) and "はなまる損保" not in notice and links.opt_out not in notice


def _email_templates() -> list[str]:
    return sorted(
        {
            s.template
            for scenario in SCENARIOS.values()
            for s in scenario.steps
            if isinstance(s, Send) and Channel.EMAIL in s.channels.channels
        }
    )


@pytest.mark.parametrize("locale", SUPPORTED)
@pytest.mark.parametrize("key", _email_templates())
def test_email_version_has_its_own_subject_text_and_html(key, locale):
    """Every template a scenario may send by email has a subject of its own, a text body and an HTML body."""
    template = Template(key, locale)
    subject, plain, markup = email_parts(template, fields(locale, key), Links(BASE, new_token()))
    assert template.part("subject") is not None and subject and "%{" not in subject
    assert plain and markup.startswith("<p>") and "%{" not in plain
    if template.link:
        assert f"{BASE}/r/" in plain and f'href="{BASE}/r/' in markup
