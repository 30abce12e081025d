"""Service settings: one object read from the environment, with embedded defaults for a laptop.

Nothing here runs at import time; the composition roots (`app.py`, `worker.py`) call `load_settings()`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from datetime import date
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, PrivateAttr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.platform.i18n import SUPPORTED, template_links
from bot.platform.scenario_config import read_config
from flows.catalog import SCENARIOS, find_scenario
from flows.dsl import Scenario, filter_conditions
from flows.rules import DeliveryRules, parse_quiet_hours

LINE_API_DEFAULT = "https://api.line.me"
LINE_DATA_API_DEFAULT = "https://api-data.line.me"
LINE_CHAT_ID = re.compile(r"^[UCR][0-9a-f]{32}$")  # a LINE user, group or room
OUTBOUND_NAME = re.compile(r"[a-z0-9_-]{1,32}")  # an outbound webhook endpoint's name
PHONE = re.compile(r"^\+?[0-9][0-9-]{8,15}$")
# The pages scenario messages link to, by name (`link:` in locales/messages/); an insurer sets its own.
DEFAULT_LINK_TARGETS = {
    "home": "https://www.example.jp/",
    "products": "https://www.example.jp/products",
    "campaign": "https://www.example.jp/campaign",
    "reservation": "https://www.example.jp/reservation",
    "renewal": "https://www.example.jp/mypage/renewal",
    "plan_up": "https://www.example.jp/mypage/renewal/plan",
    "cross_sell": "https://www.example.jp/products/bundle",
    "accessories": "https://www.example.jp/shop",
    "members": "https://www.example.jp/members",
    "benefits": "https://www.example.jp/mypage/benefits",
    "referral": "https://www.example.jp/referral",
    "email_register": "https://www.example.jp/mypage/email",
    "line_link": "https://www.example.jp/line/link",
    "line_friend": "https://line.me/R/ti/p/@example",
    "app": "https://www.example.jp/app",
    "voices": "https://www.example.jp/voices",
    "faq": "https://www.example.jp/faq",
    "coverage": "https://www.example.jp/mypage/coverage",
}


# The sender identity the repository ships with (特定電子メール法: every marketing email and SMS names its sender,
# address and contact, and offers an opt-out at PUBLIC_BASE_URL): right for a laptop, never for customers.
SAMPLE_MAIL_FROM = "お客さまサポート <noreply@example.jp>"
SAMPLE_SENDER_NAME = "サンプル保険株式会社"
SAMPLE_POSTAL_ADDRESS = "〒100-0001 東京都千代田区千代田1-1"
SAMPLE_CONTACT = "support@example.jp"
SAMPLE_PUBLIC_BASE_URL = "http://127.0.0.1:5000"
# Domains reserved for examples (RFC 2606, JPRS): an address or page there reaches nobody.
_EXAMPLE_DOMAIN = re.compile(r"(?:^|[@./])example\.(?:jp|com|net|org)(?![\w-])", re.IGNORECASE)
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})
# 【name】 starts every marketing SMS; the SMS templates are checked to fit 660 characters with a name this long.
SMS_SENDER_NAME_MAX = 20


class StartupRefused(RuntimeError):
    """The settings must not face customers; the message names what to set."""


def normalise_database_url(url: str) -> str:
    """Accept Heroku's `postgres://` and plain `postgresql://`, and pick the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    line_channel_secret: str = Field(default="", description="Channel secret; signs webhooks")
    line_channel_access_token: str = Field(default="", description="Messaging API access token")
    line_api_base_url: str = LINE_API_DEFAULT
    richmenu_font: str = Field(default="", description="A Japanese .ttf/.otf/.ttc for the rich menu images")
    database_url: str = ""
    # How long a process waits on its database, in seconds: to open a PostgreSQL connection (libpq's minimum is
    # 2), for a free connection of the pool, and (SQLite) for another process's write lock. A web thread that
    # waits minutes on a dead database is a thread the webhook does not get.
    database_connect_timeout: int = Field(default=3, ge=2, le=60)
    database_pool_timeout: float = Field(default=2.0, gt=0, le=60)
    database_busy_timeout: float = Field(default=10.0, gt=0, le=300)
    # PostgreSQL connections of each process: kept open, and opened beyond that under load (docs/deployment.md
    # adds them up for N web and M worker dynos against the database's connection limit).
    database_pool_size: int = Field(default=5, ge=1, le=100)
    database_max_overflow: int = Field(default=5, ge=0, le=100)
    # DATABASE_URL points at PgBouncer in transaction pooling mode (or another transaction pooler): nothing is
    # kept in the server's session between transactions (bot/platform/db.py).
    database_transaction_pooler: bool = False
    redis_url: str = ""
    # A rediss:// REDIS_URL: the add-ons of Heroku-like platforms present self-signed certificates and document
    # connecting without verifying them (the default); REDIS_TLS_VERIFY=true checks the certificate and host
    # name, against REDIS_TLS_CA_FILE when given (the platform's CA bundle), the system's CAs otherwise.
    redis_tls_verify: bool = False
    redis_tls_ca_file: Path | None = None
    public_base_url: str = SAMPLE_PUBLIC_BASE_URL
    data_dir: Path = Path("var")
    default_locale: str = "ja"
    # Event processing: retries with backoff, then the event is recorded as failed.
    event_retry_intervals: Annotated[list[int], NoDecode] = [10, 60, 300]
    event_job_timeout: int = 60
    # An event still unprocessed this long after it arrived is enqueued again by the periodic tick.
    event_requeue_after_seconds: int = 120
    tick_interval_seconds: int = 60
    # POST /api/v1/events: bearer tokens of the insurer's systems (comma-separated); none set = the API is closed.
    ingest_api_tokens: Annotated[list[str], NoDecode] = []
    # Marketing delivery rules across scenarios (transactional notices are exempt).
    marketing_daily_cap: int = Field(default=1, ge=1)
    marketing_weekly_cap: int = Field(default=3, ge=1)
    quiet_hours: str = "21:00-09:00"  # Japan time; "" for none
    # ── delivery (bot/delivery/outbox.py, bot/delivery/channels/) ──
    # LINE: explicit time-outs (connect, read) in seconds; parallel pushes per send job (keep-alive connections).
    line_connect_timeout: float = Field(default=3.05, gt=0)
    line_read_timeout: float = Field(default=10.0, gt=0)
    line_push_concurrency: int = Field(default=8, ge=1, le=64)
    send_batch_size: int = Field(default=500, ge=1, le=5000)  # ledger rows per send job
    send_claim_seconds: int = Field(default=900, ge=30)  # a claimed row is claimed again after this
    send_retry_intervals: Annotated[list[int], NoDecode] = [30, 120, 600, 1800, 3600]  # then hourly
    # Email (特定電子メール法: sender identification and an opt-out link in every marketing email).
    # SMTP_URL: smtp://user:pass@host:587 (STARTTLS when offered), smtps://host:465; empty = a local maildir
    # under DATA_DIR/mail (for `make run`).
    smtp_url: str = ""
    # The samples below serve `make run` only: outside local mode the service refuses to start on them.
    mail_from: str = SAMPLE_MAIL_FROM
    sender_name: str = SAMPLE_SENDER_NAME  # 送信者の氏名又は名称
    sender_postal_address: str = SAMPLE_POSTAL_ADDRESS  # 送信者の住所
    sender_contact: str = SAMPLE_CONTACT  # 苦情・問合せ先 (email, phone or URL)
    # SMS: provider "outbox" (a local file, for `make run`), "http" (a JSON gateway) or "twilio".
    sms_provider: str = "outbox"
    sms_gateway_url: str = ""
    sms_gateway_token: str = ""
    sms_sender: str = ""  # the 050 number or sender id shown to the customer
    # The name a marketing SMS starts with (【…】, at most SMS_SENDER_NAME_MAX characters); empty = SENDER_NAME.
    sms_sender_name: str = ""
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_api_base_url: str = "https://api.twilio.com"
    sms_rate_per_hour: int = Field(default=40_000, ge=1)  # shared by every worker (seed 001: 40,000/h)
    sms_negotiated_price_yen: float | None = None  # per segment above 100,000 a month (要相談)
    sms_receipt_token: str = ""  # the provider's delivery receipts must carry it; empty = receipts refused
    # App push (FCM HTTP v1): empty project = push is written to a local outbox file.
    fcm_project_id: str = ""
    fcm_api_base_url: str = "https://fcm.googleapis.com"
    fcm_access_token: str = ""
    # Where /r/<token>/<name> links lead: {"home": "https://www.example.jp/", "renewal": "https://…/renew"}.
    link_targets: dict[str, str] = DEFAULT_LINK_TARGETS
    # A chat dialog (email capture, a service-desk request …) left idle this long is over.
    dialog_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    # Store visits booked in the chat (来店予約・日程変更): how many days ahead, the stores' opening hours (Japan
    # time, "HH:MM-HH:MM"), and the store of a booking whose message names none ("" = staff assign one).
    booking_horizon_days: int = Field(default=60, ge=1, le=365)
    store_hours: str = "10:00-18:00"
    default_store_code: str = ""
    # Service desk (各種お手続き): LINE users or groups of staff told of each request and hand-off (comma-separated
    # U…/C…/R… ids); none = notices are recorded, not sent. The 24-hour accident line named to customers.
    staff_line_targets: Annotated[list[str], NoDecode] = []
    accident_phone: str = "0120-000-000"
    # Hand-over to a person (担当者): when staff answer (Japan time, weekdays; "HH:MM-HH:MM"), the dates they do
    # not (comma-separated YYYY-MM-DD: the year-end, the insurer's own days off; national holidays are known), and whose
    # staff are told of a hand-over: a store's or agency's code → its staff LINE ids (JSON), else the list above.
    business_hours: str = "09:00-18:00"
    business_closed_days: Annotated[list[date], NoDecode] = []
    handover_staff_routes: dict[str, list[str]] = {}
    # ID連携: where the login page sends the customer to finish the link (LINE's account-link endpoint).
    line_account_link_url: str = "https://access.line.me/dialog/bot/accountLink"
    # ID連携's login page: attempts from everyone together per 10 minutes before it refuses all (a ceiling that
    # stops a spray from many addresses; the per-token, per-user, per-顧客ID and per-contact limits come first).
    link_login_global_limit: int = Field(default=300, ge=1)
    # Benefits (特典): which coupon campaign each reason grants (JSON); a campaign not created yet grants nothing.
    benefit_campaigns: dict[str, str] = {"email_registered": "WELCOME_EMAIL", "line_linked": "WELCOME_LINK"}
    # Coupons: the expiry reminder goes this many days before a coupon expires (the deck: 3).
    coupon_reminder_days_before: int = Field(default=3, ge=1, le=30)
    # The admin chat: staff who may command, with their roles (JSON {"U…": ["operator", "approver"]}), and the
    # LINE groups whose members may command as operators. Anyone else gets the ordinary bot.
    admin_users: dict[str, list[str]] = {}
    admin_groups: Annotated[list[str], NoDecode] = []
    # A broadcast to more recipients than this needs a second staff member (an approver) to confirm it.
    broadcast_approval_threshold: int = Field(default=10_000, ge=1)
    # APPI: customer identifiers in the append-only admin audit are kept as a keyed hash (HMAC-SHA-256) with this
    # key ("" = derived from LINE_CHANNEL_SECRET; set it to keep the hashes stable when that secret is rotated).
    audit_hash_key: str = ""
    # Signed outbound webhooks to the insurer's systems (bot/platform/outbound.py): NAME=URL pairs, comma-separated
    # (crm=https://crm.example.jp/hooks,agency=https://…); signed per the Standard Webhooks spec with
    # OUTBOUND_WEBHOOK_SECRET (whsec_ and base64 of at least 24 random bytes); each attempt waits this long.
    outbound_webhooks: Annotated[dict[str, str], NoDecode] = {}
    outbound_webhook_secret: str = ""
    outbound_webhook_timeout: float = Field(default=10.0, gt=0, le=60)
    outbound_webhook_retry_intervals: Annotated[list[int], NoDecode] = [
        30,
        120,
        600,
        3600,
        6 * 3600,
        24 * 3600,
    ]
    # Webhook payloads and chat texts older than this many days lose their text (the worker's tick).
    retention_days: int = Field(default=90, ge=1)
    # `make run` (devtools/local.py sets LOCAL_MODE=1): a laptop with sample data; pages for staff are open there.
    local_mode: bool = False
    # The staff dashboard (/dashboard): `Authorization: Bearer <token>` or its login form; empty and not local
    # mode = closed (403).
    dashboard_token: str = ""
    # Proxies in front of the app that append the client's address to X-Forwarded-For (and set
    # X-Forwarded-Proto): 0 = none, the connection's address is the client's; Heroku-like routers are 1. Only
    # that many hops are trusted (werkzeug ProxyFix), so a client cannot forge its address for the lock-outs.
    trusted_proxies: int = Field(default=0, ge=0, le=5)
    # The chat simulator (/simulator): act as a customer's LINE app against the LINE emulator. `make run` turns
    # it on; never in production (it signs webhook events with the channel secret for anyone who asks).
    simulator_enabled: bool = False
    # Photos, videos and files sent with requests (attachments): sealed with AES-GCM under ATTACHMENT_KEY (base64 of
    # 32 random bytes; required outside local mode, where one is made in DATA_DIR/attachment.key). Keys named in
    # ATTACHMENT_OLD_KEYS (comma-separated) still open what they sealed: rotate by moving the key there. Largest
    # photo, video and file taken; S3-compatible object storage when a bucket is named (credentials from the
    # standard AWS_* variables), else the database.
    attachment_key: str = ""
    attachment_old_keys: Annotated[list[str], NoDecode] = []
    attachment_image_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    attachment_video_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024)
    attachment_file_max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    attachment_max_per_request: int = Field(default=10, ge=1, le=50)
    attachment_s3_bucket: str = ""
    attachment_s3_endpoint_url: str = ""
    # LINE's data API (message content, rich menu images: api-data.line.me); empty = LINE's own, or LINE_API_BASE_URL when that is an emulator.
    line_data_api_base_url: str = ""
    # The operator's scenario settings (timings, optional filters): a YAML file, see bot/platform/scenario_config.py.
    scenario_settings_file: Path | None = None
    # Optional filters (○) may also come as JSON: {"visit_reminder": {"reservation.store_code": "S01"}};
    # after loading, this holds the file's filters too.
    scenario_filters: dict[str, dict[str, str | int | bool]] = {}
    _scenarios: dict[str, Scenario] = PrivateAttr(default_factory=lambda: dict(SCENARIOS))

    def derived_key(self, purpose: str) -> str:
        """A secret for one purpose (keyed digests of one-time codes, client addresses), derived from the channel
        secret the service holds anyway: rotating that secret rotates these too."""
        return hmac.new(self.line_channel_secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()

    @field_validator("ingest_api_tokens", mode="before")
    @classmethod
    def _parse_tokens(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str) -> str:
        return normalise_database_url(value.strip())

    @field_validator("admin_groups", mode="before")
    @classmethod
    def _parse_admin_groups(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("admin_groups")
    @classmethod
    def _check_admin_groups(cls, value: list[str]) -> list[str]:
        if any(not LINE_CHAT_ID.match(group) or group[0] == "U" for group in value):
            raise ValueError("ADMIN_GROUPS: every entry must be a LINE group or room id (C… or R…)")
        return list(dict.fromkeys(value))

    @field_validator("admin_users")
    @classmethod
    def _check_admin_users(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for user, roles in value.items():
            if not LINE_CHAT_ID.match(user) or user[0] != "U":
                raise ValueError("ADMIN_USERS: keys must be LINE user ids (U…)")
            unknown = set(roles) - {"operator", "approver"}
            if unknown or not roles:
                raise ValueError(
                    f"ADMIN_USERS: roles are operator and approver, not {sorted(unknown) or roles}"
                )
        return value

    @field_validator("attachment_old_keys", mode="before")
    @classmethod
    def _parse_old_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("attachment_key", "attachment_old_keys")
    @classmethod
    def _check_attachment_keys(cls, value: str | list[str]) -> str | list[str]:
        for key in [value] if isinstance(value, str) else value:
            if key and not _is_aes_key(key):
                raise ValueError(
                    "ATTACHMENT_KEY and ATTACHMENT_OLD_KEYS take base64 of 32 random bytes, e.g. the output of "
                    "`python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())'`"
                )
        return value.strip() if isinstance(value, str) else value

    @field_validator("outbound_webhooks", mode="before")
    @classmethod
    def _parse_outbound_webhooks(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        pairs = [part.strip() for part in value.split(",") if part.strip()]
        if any("=" not in pair for pair in pairs):
            raise ValueError("OUTBOUND_WEBHOOKS: write NAME=URL pairs, comma-separated")
        return dict(pair.split("=", 1) for pair in pairs)

    @field_validator("outbound_webhooks")
    @classmethod
    def _check_outbound_webhooks(cls, value: dict[str, str]) -> dict[str, str]:
        for name, url in value.items():
            if not OUTBOUND_NAME.fullmatch(name):
                raise ValueError(f"OUTBOUND_WEBHOOKS: {name!r} is not a name (a-z, 0-9, _ and -, up to 32)")
            if not url.startswith(("https://", "http://")):
                raise ValueError(f"OUTBOUND_WEBHOOKS: the URL of {name} is not http(s)")
        return value

    @field_validator("outbound_webhook_retry_intervals", mode="before")
    @classmethod
    def _parse_outbound_intervals(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _check_outbound_secret(self) -> Settings:
        if not self.outbound_webhooks:
            return self
        secret = self.outbound_webhook_secret.removeprefix("whsec_")
        try:
            key = base64.b64decode(secret + "==", validate=False) if secret else b""
        except ValueError:
            key = b""
        if len(key) < 24:
            raise ValueError(
                "OUTBOUND_WEBHOOK_SECRET: whsec_ and the base64 of at least 24 random bytes, needed with"
                ' OUTBOUND_WEBHOOKS (make one: python -c "import base64,os;'
                " print('whsec_'+base64.b64encode(os.urandom(32)).decode())\")"
            )
        return self

    @field_validator("staff_line_targets", mode="before")
    @classmethod
    def _parse_staff_targets(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("staff_line_targets")
    @classmethod
    def _check_staff_targets(cls, value: list[str]) -> list[str]:
        bad = [target for target in value if not LINE_CHAT_ID.match(target)]
        if bad:  # a typo would leave staff unaware of requests
            raise ValueError(f"STAFF_LINE_TARGETS: {len(bad)} ids are not LINE user, group or room ids")
        return list(dict.fromkeys(value))

    @field_validator("business_hours")
    @classmethod
    def _check_business_hours(cls, value: str) -> str:
        opens, closes = parse_quiet_hours(value)  # raises with the expected form
        if not opens < closes:
            raise ValueError(f"BUSINESS_HOURS {value!r}: opening must come before closing, e.g. 09:00-18:00")
        return value

    @field_validator("business_closed_days", mode="before")
    @classmethod
    def _parse_closed_days(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("handover_staff_routes")
    @classmethod
    def _check_staff_routes(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        bad = sorted(
            code for code, ids in value.items() if not ids or not all(LINE_CHAT_ID.match(i) for i in ids)
        )
        if bad:  # a typo would leave a store's staff unaware of the customers waiting for them
            raise ValueError(f"HANDOVER_STAFF_ROUTES: {', '.join(bad)} need LINE user, group or room ids")
        return {code.strip(): list(dict.fromkeys(ids)) for code, ids in value.items()}

    @field_validator("accident_phone")
    @classmethod
    def _check_accident_phone(cls, value: str) -> str:
        if not PHONE.match(value.strip()):
            raise ValueError("ACCIDENT_PHONE must be a phone number such as 0120-000-000")
        return value.strip()

    @field_validator("line_account_link_url")
    @classmethod
    def _check_account_link_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("LINE_ACCOUNT_LINK_URL must be an http(s) URL")
        return value

    @field_validator("benefit_campaigns")
    @classmethod
    def _check_benefit_campaigns(cls, value: dict[str, str]) -> dict[str, str]:
        bad = sorted(reason for reason, code in value.items() if not code.strip() or len(code) > 64)
        if bad:
            raise ValueError(f"BENEFIT_CAMPAIGNS: campaign codes of {', '.join(bad)} must be 1–64 characters")
        return {reason: code.strip() for reason, code in value.items()}

    @field_validator("line_api_base_url", "line_data_api_base_url", "public_base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        # The LINE SDK concatenates host + path, so a trailing slash would give `//v2/...`.
        return value.rstrip("/")

    @field_validator("event_retry_intervals", "send_retry_intervals", mode="before")
    @classmethod
    def _parse_intervals(cls, value: object) -> object:
        if isinstance(value, str):
            return [int(part) for part in value.replace(" ", "").split(",") if part]
        return value

    @field_validator("sms_provider")
    @classmethod
    def _check_sms_provider(cls, value: str) -> str:
        if value not in ("outbox", "http", "twilio"):
            raise ValueError(f"SMS_PROVIDER {value!r}: choose outbox, http or twilio")
        return value

    @field_validator("link_targets")
    @classmethod
    def _check_link_targets(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [name for name, url in value.items() if not url.startswith(("https://", "http://"))]
        if bad:
            raise ValueError(f"LINK_TARGETS: {', '.join(bad)} must be http(s) URLs")
        used = {t: link for locale in SUPPORTED for t, link in template_links(locale).items()}
        missing = sorted({f"{link} (used by {t})" for t, link in used.items() if link not in value})
        if missing:  # a link the messages carry but nobody configured would send customers to a 404
            raise ValueError(f"LINK_TARGETS has no URL for {', '.join(missing)}")
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _check_quiet_hours(cls, value: str) -> str:
        parse_quiet_hours(value)  # raises with the expected form
        return value

    @field_validator("store_hours")
    @classmethod
    def _check_store_hours(cls, value: str) -> str:
        opens, closes = parse_quiet_hours(value)  # raises with the expected form
        if not opens < closes:
            raise ValueError(f"STORE_HOURS {value!r}: opening must come before closing, e.g. 10:00-18:00")
        return value

    @model_validator(mode="after")
    def _check_sms_sender_name(self) -> Settings:
        if len(self.sms_sender_label) > SMS_SENDER_NAME_MAX:  # the SMS templates are checked with this length
            unset = "" if self.sms_sender_name.strip() else " (SENDER_NAME is too long to stand in for it)"
            raise ValueError(
                f"SMS_SENDER_NAME{unset}: the name every marketing SMS starts with must be at most "
                f"{SMS_SENDER_NAME_MAX} characters"
            )
        return self

    @model_validator(mode="after")
    def _check_redis_tls(self) -> Settings:
        ca_file = self.redis_tls_ca_file
        if ca_file is not None and not self.redis_tls_verify:
            raise ValueError(
                "REDIS_TLS_CA_FILE is set but REDIS_TLS_VERIFY is not true: it would not be used"
            )
        if ca_file is not None and not ca_file.is_file():
            raise ValueError(f"REDIS_TLS_CA_FILE: no such file: {ca_file}")
        return self

    @model_validator(mode="after")
    def _check_caps(self) -> Settings:
        self.delivery_rules()  # raises when the daily cap exceeds the weekly one
        return self

    @field_validator("scenario_filters")
    @classmethod
    def _check_filters(cls, value: dict[str, dict[str, object]]) -> dict[str, dict[str, object]]:
        """Every scenario named exists and offers every filter given (a typo must not widen a campaign)."""
        for key, filters in value.items():
            filter_conditions(find_scenario(key), filters)
        return {find_scenario(key).id: filters for key, filters in value.items()}

    @model_validator(mode="after")
    def _load_scenario_settings(self) -> Settings:
        if self.scenario_settings_file is None:
            return self
        config = read_config(self.scenario_settings_file)
        clash = sorted(set(config.filters) & set(self.scenario_filters))
        if clash:
            raise ValueError(
                f"filters of {', '.join(clash)} set both in SCENARIO_FILTERS and the settings file"
            )
        self._scenarios = config.catalog()
        self.scenario_filters = {**self.scenario_filters, **config.filters}  # type: ignore[dict-item]
        return self

    @property
    def scenarios(self) -> dict[str, Scenario]:
        """Every scenario, with the operator's timings applied."""
        return self._scenarios

    def delivery_rules(self) -> DeliveryRules:
        start, end = parse_quiet_hours(self.quiet_hours)
        return DeliveryRules(self.marketing_daily_cap, self.marketing_weekly_cap, start, end)

    @property
    def effective_database_url(self) -> str:
        """The configured database, or a SQLite file in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'app.db').resolve()}"

    @property
    def line_data_api_url(self) -> str:
        """Where LINE's content API is: api-data.line.me beside LINE itself, the emulator's address beside it."""
        if self.line_data_api_base_url:
            return self.line_data_api_base_url.rstrip("/")
        return LINE_DATA_API_DEFAULT if self.line_api_base_url == LINE_API_DEFAULT else self.line_api_base_url

    @property
    def uses_embedded_redis(self) -> bool:
        return not self.redis_url

    @property
    def sms_sender_label(self) -> str:
        """The sender's name as marketing SMS show it: SMS_SENDER_NAME, else SENDER_NAME."""
        return self.sms_sender_name.strip() or self.sender_name.strip()

    def sample_identity(self) -> list[str]:
        """The settings (environment names) that still hold the sample sender identity: the shipped value, an
        example domain, or for PUBLIC_BASE_URL (where the opt-out links lead) this machine."""
        samples = {
            "SENDER_NAME": self.sender_name.strip() in ("", SAMPLE_SENDER_NAME),
            "SENDER_POSTAL_ADDRESS": self.sender_postal_address.strip() in ("", SAMPLE_POSTAL_ADDRESS),
            "SENDER_CONTACT": _is_example(self.sender_contact, SAMPLE_CONTACT),
            "MAIL_FROM": _is_example(self.mail_from, SAMPLE_MAIL_FROM),
            "SMS_SENDER_NAME": self.sms_sender_name.strip() == SAMPLE_SENDER_NAME,
            "PUBLIC_BASE_URL": _is_example(self.public_base_url, SAMPLE_PUBLIC_BASE_URL)
            or (urlsplit(self.public_base_url).hostname or "localhost") in _LOOPBACK_HOSTS,
        }
        return [name for name, sample in samples.items() if sample]


def _is_aes_key(value: str) -> bool:
    try:
        return len(base64.b64decode(value, validate=True)) == 32
    except ValueError:
        return False


def _is_example(value: str, sample: str) -> bool:
    return value.strip() in ("", sample) or bool(_EXAMPLE_DOMAIN.search(value))


def refuse_sample_identity(settings: Settings) -> None:
    """Raise StartupRefused outside local mode while any sender-identity setting holds its sample value."""
    names = [] if settings.local_mode else settings.sample_identity()
    if names:
        raise StartupRefused(
            f"Not starting: {', '.join(names)} still {'holds' if len(names) == 1 else 'hold'} the sample sender "
            "identity. Marketing emails and SMS must name the insurer as their sender, with its address, a "
            "contact and a working opt-out link (特定電子メール法): set these to the insurer's own values "
            "(LOCAL_MODE=1 allows the samples on a laptop)."
        )


def load_settings(**overrides: object) -> Settings:
    """Read the environment now (never at import), with explicit overrides for tests."""
    return Settings(**overrides)


def load_service_settings() -> Settings:
    """The settings a web, worker or release process starts on: the environment, refused (StartupRefused) while
    the sender identity is the sample one outside local mode."""
    settings = load_settings()
    refuse_sample_identity(settings)
    return with_attachment_key(settings)


LOCAL_ATTACHMENT_KEY = "attachment.key"


def with_attachment_key(settings: Settings) -> Settings:
    """The settings with the key attachments are sealed with: ATTACHMENT_KEY; in local mode without one, the key
    kept in DATA_DIR (made there the first time); elsewhere without one, StartupRefused (photos of accidents must
    never be kept in the clear, nor under a key nobody chose)."""
    if settings.attachment_key:
        return settings
    if not settings.local_mode:
        raise StartupRefused(
            "Not starting: ATTACHMENT_KEY is not set. Photos and files customers send are stored encrypted "
            "under it: set it to base64 of 32 random bytes (LOCAL_MODE=1 makes one in DATA_DIR on a laptop)."
        )
    path = settings.data_dir / LOCAL_ATTACHMENT_KEY
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # `make run` migrates (and so makes the key) before the web and the worker start
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w") as file:
                file.write(base64.b64encode(os.urandom(32)).decode() + "\n")
    return settings.model_copy(update={"attachment_key": path.read_text().strip()})
