"""The email channel against a real SMTP server on loopback (aiosmtpd): what the customer's mail server receives
(both parts, the Japanese subject, the sender identification, the opt-out link and headers for marketing only,
the open pixel, a Message-ID stable per ledger row) and the outcome a worker acts on for each server answer."""

from __future__ import annotations

import asyncio
import email
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from email.message import EmailMessage as MimeMessage
from email.policy import default as default_policy
from pathlib import Path
from urllib.parse import quote

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from bot.delivery.channels.email import EmailMessage, MaildirMailer, SmtpMailer, compose, open_mailer
from bot.delivery.channels.result import Outcome
from bot.platform.config import Settings
from bot.platform.i18n import configure_i18n

TO = "taro.yamada@example.com"
UNSUBSCRIBE = "https://engage.example.jp/u/tok123"
PIXEL = "https://engage.example.jp/o/tok123.gif"
USER, PASSWORD = "mailer@example.jp", "p@ss:w/rd%1 #"
# the AUTH servers below run without TLS on loopback, which aiosmtpd rightly warns about
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")


class Recorder:
    """An SMTP handler that keeps every accepted message and answers chosen recipients with chosen replies."""

    def __init__(self) -> None:
        self.received: list[tuple[object, MimeMessage]] = []  # (peer, message)
        self.servers: list[object] = []
        self.rcpt_replies: dict[str, str] = {}
        self.data_replies: dict[str, str] = {}
        self.mail_replies: list[str] = []  # answers to the next MAIL FROM commands, then 250

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.mail_replies:
            return self.mail_replies.pop(0)
        envelope.mail_from, envelope.mail_options = address, mail_options
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if envelope.rcpt_tos[0] in self.data_replies:
            return self.data_replies[envelope.rcpt_tos[0]]
        self.servers.append(server)
        message = email.message_from_bytes(envelope.original_content, policy=default_policy)
        self.received.append((session.peer, message))
        return "250 2.0.0 Ok: queued"

    def messages(self) -> list[MimeMessage]:
        return [message for _, message in self.received]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(handler: Recorder, **options) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    return controller


def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
    good = isinstance(auth_data, LoginPassword) and auth_data == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=good, handled=False)


def settings_for(tmp_path: Path, smtp_url: str = "") -> Settings:
    return Settings(smtp_url=smtp_url, data_dir=tmp_path)


def message(key: str = "delivery-1", *, marketing: bool = True, **changes) -> EmailMessage:
    fields = {
        "to": TO,
        "subject": "【お客さまサポート】契約更新のご案内と更新特典",
        "text": "山田様、7月1日にご契約の更新時期を迎えます。",
        "html": "<p>山田様、7月1日にご契約の更新時期を迎えます。</p>",
        "marketing": marketing,
        "unsubscribe_url": UNSUBSCRIBE if marketing else None,
        "open_pixel_url": PIXEL,
        "message_key": key,
    }
    return EmailMessage(**{**fields, **changes})


def parts(received: MimeMessage) -> tuple[str, str]:
    text = received.get_body(("plain",))
    html = received.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


@pytest.fixture(autouse=True)
def locales() -> None:
    configure_i18n()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def server(recorder: Recorder) -> Iterator[Controller]:
    controller = start(recorder)
    yield controller
    controller.stop()


@pytest.fixture
def mailer(server: Controller, tmp_path: Path) -> Iterator[SmtpMailer]:
    with SmtpMailer(settings_for(tmp_path, f"smtp://127.0.0.1:{server.port}"), timeout=5) as smtp:
        yield smtp


def test_a_marketing_email_arrives_with_both_parts_sender_identification_and_opt_out(recorder, mailer):
    """Text and HTML parts in UTF-8, the Japanese subject, the sender's name, address and contact, the opt-out
    link in both parts, the RFC 8058 headers and the open pixel at the end of the HTML."""
    result = mailer.send(message())
    assert result.outcome is Outcome.SENT
    [received] = recorder.messages()
    assert received.get_content_type() == "multipart/alternative"
    assert received["Subject"] == "【お客さまサポート】契約更新のご案内と更新特典"
    assert received["From"].addresses[0].addr_spec == "noreply@example.jp"
    assert received["From"].addresses[0].display_name == "お客さまサポート"
    assert received["Date"].endswith("+0900")
    assert received["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"
    assert received["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = parts(received)
    for part in (text, html):
        assert "山田様、7月1日にご契約の更新時期を迎えます。" in part
        assert "サンプル保険株式会社" in part and "東京都千代田区千代田1-1" in part
        assert "support@example.jp" in part and "配信停止" in part
    assert UNSUBSCRIBE in text and f'<a href="{UNSUBSCRIBE}">' in html
    body = html.rsplit("</body>", 1)[0].rstrip()
    assert body.endswith(f'<img src="{PIXEL}" width="1" height="1" alt="" style="display:block;border:0">')
    assert PIXEL not in text


def test_the_raw_message_is_seven_bit_with_an_encoded_subject(recorder, mailer):
    """On the wire every header and body line is ASCII: the subject is RFC 2047 encoded UTF-8."""
    mailer.send(message())
    [received] = recorder.messages()
    raw = received.as_bytes()
    raw.decode("ascii")
    assert b"Subject: =?utf-8?" in raw
    assert {part.get_content_charset() for part in received.iter_parts()} == {"utf-8"}


def test_a_transactional_email_names_the_sender_but_has_no_opt_out(recorder, mailer):
    """A transactional notice carries the sender identification, and neither an opt-out link nor its headers."""
    assert mailer.send(message(marketing=False, open_pixel_url=None)).outcome is Outcome.SENT
    [received] = recorder.messages()
    assert received["List-Unsubscribe"] is None and received["List-Unsubscribe-Post"] is None
    text, html = parts(received)
    for part in (text, html):
        assert "サンプル保険株式会社" in part and "support@example.jp" in part
        assert "配信停止" not in part and "<img" not in part


def test_the_footer_follows_the_messages_locale(recorder, mailer):
    """An English email gets the English sender identification and opt-out wording."""
    mailer.send(
        message(locale="en", subject="[Customer Support] Your renewal", text="Dear Yamada", html="<p>Hi</p>")
    )
    text, html = parts(recorder.messages()[0])
    for part in (text, html):
        assert "Sender: サンプル保険株式会社" in part and "you can unsubscribe here" in part
        assert "配信停止" not in part


def test_a_marketing_email_without_an_opt_out_link_is_refused(tmp_path):
    """Composing a marketing email without unsubscribe_url is a programming error, caught before sending."""
    with pytest.raises(ValueError, match="unsubscribe_url"):
        compose(message(unsubscribe_url=None), settings_for(tmp_path))


def test_the_message_id_is_the_same_for_a_resend_of_the_same_row(recorder, mailer):
    """Two sends for one ledger row carry one Message-ID (the provider id); another row gets another."""
    first, again, other = (mailer.send(message(key)) for key in ("delivery-7", "delivery-7", "delivery-8"))
    ids = [received["Message-ID"] for received in recorder.messages()]
    assert ids == ["<delivery-7@example.jp>", "<delivery-7@example.jp>", "<delivery-8@example.jp>"]
    assert first.provider_id == again.provider_id == ids[0] != other.provider_id


def test_many_emails_share_one_connection(recorder, mailer):
    """A worker's batch is sent over one SMTP connection."""
    results = [mailer.send(message(f"delivery-{n}")) for n in range(5)]
    assert {result.outcome for result in results} == {Outcome.SENT}
    assert len({peer for peer, _ in recorder.received}) == 1 and len(recorder.received) == 5


def test_a_dropped_connection_is_reopened_once(recorder, server, mailer):
    """When the server has closed the kept connection, the next email goes over a new one, delivered once."""
    assert mailer.send(message("delivery-1")).outcome is Outcome.SENT

    async def hang_up() -> None:
        recorder.servers[0].transport.close()

    asyncio.run_coroutine_threadsafe(hang_up(), server.loop).result(timeout=5)
    assert mailer.send(message("delivery-2")).outcome is Outcome.SENT
    assert [m["Message-ID"] for m in recorder.messages()] == [
        "<delivery-1@example.jp>",
        "<delivery-2@example.jp>",
    ]
    assert len({peer for peer, _ in recorder.received}) == 2


def test_a_421_on_a_kept_connection_is_answered_by_reconnecting(recorder, mailer):
    """A server that closes an idle connection with 421: the email goes over a new connection, once."""
    assert mailer.send(message("delivery-1")).outcome is Outcome.SENT
    recorder.mail_replies.append("421 4.4.2 Idle timeout, closing connection")
    assert mailer.send(message("delivery-2")).outcome is Outcome.SENT
    assert len(recorder.messages()) == 2 and len({peer for peer, _ in recorder.received}) == 2


def test_a_refused_sender_stops_the_channel(recorder, mailer):
    """5xx to MAIL FROM (our sender is not allowed to relay): every email would fail, so stop the channel."""
    recorder.mail_replies.append("550 5.7.1 Sender not permitted")
    result = mailer.send(message())
    assert (result.outcome, result.reason) == (Outcome.STOP_CHANNEL, "550 5.7.1")


@pytest.mark.parametrize(
    ("reply", "outcome", "reason"),
    [
        ("451 4.7.1 Greylisted, try again later", Outcome.RETRY, "451 4.7.1"),
        ("452 4.2.2 Mailbox full", Outcome.RETRY, "452 4.2.2"),
        ("450 Mailbox unavailable", Outcome.RETRY, "450"),
        ("421 4.7.0 Too many connections, closing", Outcome.RETRY, "421 4.7.0"),
        (f"550 5.1.1 <{TO}>: Recipient address rejected", Outcome.FAILED, "550 5.1.1"),
    ],
)
def test_a_refused_recipient(recorder, mailer, reply, outcome, reason):
    """4xx for a recipient: retry later; 5xx: failed; the reason is the SMTP code, never the address. The next
    email still goes through."""
    recorder.rcpt_replies[TO] = reply
    result = mailer.send(message())
    assert (result.outcome, result.reason) == (outcome, reason)
    assert "@" not in result.reason and recorder.messages() == []
    assert mailer.send(message(to="hanako@example.com")).outcome is Outcome.SENT


def test_refused_data_is_a_failure(recorder, mailer):
    """A 5xx answer to the message itself (e.g. a content filter) is final, with the SMTP code as the reason."""
    recorder.data_replies[TO] = "554 5.7.1 Message rejected as spam"
    result = mailer.send(message())
    assert (result.outcome, result.reason) == (Outcome.FAILED, "554 5.7.1")
    assert mailer.send(message(to="hanako@example.com")).outcome is Outcome.SENT


def test_login_with_url_encoded_credentials(recorder, tmp_path):
    """smtp://user:pass@host logs in (user and password URL-decoded) before sending."""
    controller = start(recorder, authenticator=authenticator, auth_required=True, auth_require_tls=False)
    url = f"smtp://{quote(USER, safe='')}:{quote(PASSWORD, safe='')}@127.0.0.1:{controller.port}"
    try:
        with SmtpMailer(settings_for(tmp_path, url), timeout=5) as mailer:
            assert mailer.send(message()).outcome is Outcome.SENT
    finally:
        controller.stop()
    assert len(recorder.messages()) == 1


def test_a_wrong_password_stops_the_channel(recorder, tmp_path):
    """535 authentication failed holds every email on the channel; nothing is delivered."""
    controller = start(recorder, authenticator=authenticator, auth_required=True, auth_require_tls=False)
    url = f"smtp://{quote(USER, safe='')}:wrong@127.0.0.1:{controller.port}"
    try:
        with SmtpMailer(settings_for(tmp_path, url), timeout=5) as mailer:
            result = mailer.send(message())
    finally:
        controller.stop()
    assert result.outcome is Outcome.STOP_CHANNEL and result.reason.startswith("535")
    assert recorder.messages() == []


def test_no_login_where_the_server_requires_one_stops_the_channel(recorder, tmp_path):
    """A relay that requires AUTH while SMTP_URL has no credentials (530) holds the channel."""
    controller = start(recorder, authenticator=authenticator, auth_required=True, auth_require_tls=False)
    try:
        with SmtpMailer(settings_for(tmp_path, f"smtp://127.0.0.1:{controller.port}"), timeout=5) as mailer:
            result = mailer.send(message())
    finally:
        controller.stop()
    assert result.outcome is Outcome.STOP_CHANNEL and result.reason.startswith("530")


def test_a_server_that_is_down_means_retry_later(tmp_path):
    """Connection refused: retry later."""
    with SmtpMailer(settings_for(tmp_path, f"smtp://127.0.0.1:{free_port()}"), timeout=2) as mailer:
        result = mailer.send(message())
    assert (result.outcome, result.reason) == (Outcome.RETRY, "ConnectionRefusedError")


def test_a_server_that_never_answers_times_out(tmp_path):
    """A server that accepts the connection but never greets: the explicit time-out ends the wait; retry later."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"smtp://127.0.0.1:{silent.getsockname()[1]}"
        with SmtpMailer(settings_for(tmp_path, url), timeout=0.3) as mailer:
            result = mailer.send(message())
    assert (result.outcome, result.reason) == (Outcome.RETRY, "TimeoutError")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl command)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def tls_contexts(certificate: tuple[Path, Path]) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(*certificate)
    return server, ssl.create_default_context(cafile=str(certificate[0]))


def test_starttls_is_used_when_offered(recorder, tmp_path, certificate):
    """smtp:// upgrades with STARTTLS when the server offers it, then logs in over TLS."""
    server_tls, client_tls = tls_contexts(certificate)
    controller = start(
        recorder,
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    url = f"smtp://{quote(USER, safe='')}:{quote(PASSWORD, safe='')}@127.0.0.1:{controller.port}"
    try:
        with SmtpMailer(settings_for(tmp_path, url), timeout=5, ssl_context=client_tls) as mailer:
            assert mailer.send(message()).outcome is Outcome.SENT
    finally:
        controller.stop()
    assert len(recorder.messages()) == 1


def test_smtps_is_tls_from_the_start(recorder, tmp_path, certificate):
    """smtps:// speaks TLS from the first byte (implicit TLS, port 465 style)."""
    server_tls, client_tls = tls_contexts(certificate)
    controller = start(recorder, ssl_context=server_tls)
    try:
        url = f"smtps://127.0.0.1:{controller.port}"
        with SmtpMailer(settings_for(tmp_path, url), timeout=5, ssl_context=client_tls) as mailer:
            assert mailer.send(message()).outcome is Outcome.SENT
    finally:
        controller.stop()
    assert len(recorder.messages()) == 1


def test_without_an_smtp_server_mail_goes_to_the_local_maildir(tmp_path):
    """SMTP_URL empty: open_mailer writes the composed email into DATA_DIR/mail, and reports it sent."""
    settings = settings_for(tmp_path / "var")
    with open_mailer(settings) as mailer:
        assert isinstance(mailer, MaildirMailer)
        result = mailer.send(message("delivery-42"))
    assert (result.outcome, result.provider_id) == (Outcome.SENT, "<delivery-42@example.jp>")
    [stored] = (tmp_path / "var" / "mail" / "new").iterdir()
    received = email.message_from_bytes(stored.read_bytes(), policy=default_policy)
    assert received["Subject"] == "【お客さまサポート】契約更新のご案内と更新特典"
    assert received["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>"


def test_open_mailer_picks_smtp_when_configured(tmp_path):
    """SMTP_URL set: an SMTP mailer (no connection until the first email); a malformed URL is refused."""
    with open_mailer(settings_for(tmp_path, "smtp://relay.example.jp:25")) as mailer:
        assert isinstance(mailer, SmtpMailer)
    with pytest.raises(ValueError, match="SMTP_URL"):
        open_mailer(settings_for(tmp_path, "http://relay.example.jp"))
