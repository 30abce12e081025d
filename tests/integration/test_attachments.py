"""Photos, videos and files in the service desk, end to end: signed webhooks in, the LINE emulator serving the
content as LINE's content API does, the worker fetching, checking and sealing it, in the database or in a local
S3 (moto), staff opening it, and the customer's export and erasure. The same tests run on both backends."""

from __future__ import annotations

import base64
import hashlib
import re
from datetime import timedelta

import boto3
import pytest
from rq import Queue
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select
from sqlmodel import SQLModel

from bot.chat.answers import Media
from bot.chat.attachments import open_attachment, record
from bot.jobs.queues import FETCHES, fetch_job_id
from bot.jobs.tasks import tick
from bot.privacy.disclosure import export_customer
from bot.privacy.erasure import erase_customer
from models import AdminAudit, Attachment, ServiceRequest, utcnow
from tests.integration.attachment_helpers import BUCKET, KEY, exe, jpeg, local_s3, mp4, png, send_media
from tests.integration.chat_helpers import Chat, action_of, buttons, emulated_line, texts

STAFF = "C" + "6" * 32
DASHBOARD_TOKEN = "staff-token-for-tests-0123456789"
REFERENCE = re.compile(r"R\d{6}-[2-9A-HJ-NP-Z]{4}")
ACCIDENT = [
    "昨日",
    "a=skip",
    "千代田区の交差点",
    "信号待ちで追突された",
    "はい",
    "いいえ",
    "はい",
    "090-1234-5678",
]


@pytest.fixture(scope="module")
def s3_endpoint():
    with local_s3() as endpoint:
        yield endpoint


@pytest.fixture(params=["database", "s3"])
def backend(request, runtime, monkeypatch):
    """The runtime keeps attachments in the database, or in a bucket of a local S3 server."""
    update = {"attachment_key": KEY, "staff_line_targets": [STAFF]}
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        for name, value in (("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")):
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        s3 = boto3.client("s3", endpoint_url=endpoint)
        if not any(b["Name"] == BUCKET for b in s3.list_buckets()["Buckets"]):
            s3.create_bucket(Bucket=BUCKET)
        for listed in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=listed["Key"])
        update |= {"attachment_s3_bucket": BUCKET, "attachment_s3_endpoint_url": endpoint}
    runtime.settings = runtime.settings.model_copy(update=update)
    return request.param


def stored_bytes(runtime, row) -> bytes:
    """What the backend holds for an attachment (never decrypted here)."""
    if row.storage == "s3":
        s3 = boto3.client("s3", endpoint_url=runtime.settings.attachment_s3_endpoint_url)
        return s3.get_object(Bucket=BUCKET, Key=row.storage_key)["Body"].read()
    return row.sealed


def attachments(runtime) -> list:
    with runtime.engine.connect() as connection:
        return connection.execute(select(Attachment).order_by(Attachment.id)).all()


def start_accident(chat: Chat) -> dict:
    """The accident notice up to its photo question; that question."""
    chat.follow()
    chat.tap("a=accident_report")
    for step in ACCIDENT:
        [reply] = chat.tap(step) if step.startswith("a=") else chat.say(step)
    return reply


def test_an_accident_notice_with_two_photos_is_stored_sealed_and_shown_to_staff(
    backend, runtime, app, post_webhook, drain
):
    """Two photos sent at the notice's photo question: each is fetched from LINE's content API by the worker,
    checked, sealed (the stored bytes are not the photo; opened, they give its digest), filed with the request;
    staff are told there are two and open them through /staff/attachments/<id> with the token, audited."""
    photos = [jpeg(6000), png(5000)]
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        asked = start_accident(chat)
        assert "写真" in asked["text"] and "a=attachments_done" in " ".join(buttons(asked))
        [first] = send_media(chat, photos[0])[1]
        assert "受け取りました（1件）" in first["text"]
        [second] = send_media(chat, photos[1], content_type="image/png")[1]
        assert "受け取りました（2件）" in second["text"]
        [summary] = chat.tap(action_of(second, "attachments_done"))
        assert "写真・動画・書類：2件" in summary["text"]
        [done] = chat.tap(action_of(summary, "confirm"))
        reference = REFERENCE.search(done["text"])[0]
        [notice] = [m.message for m in line.sent_messages(to=STAFF)]
        fetched = [r.status for r in line.requests_to("/v2/bot/message/") if r.path.endswith("/content")]
    assert reference in notice["text"] and "写真・動画・書類：2件" in notice["text"]
    assert fetched == [200, 200]
    with runtime.engine.connect() as connection:
        request_id = connection.execute(select(ServiceRequest.id)).scalar_one()
    rows = attachments(runtime)
    assert [(r.status, r.request_id, r.storage, r.kind) for r in rows] == [
        ("stored", request_id, backend, "image")
    ] * 2
    assert [r.content_type for r in rows] == ["image/jpeg", "image/png"]
    for row, photo in zip(rows, photos, strict=True):
        kept = stored_bytes(runtime, row)
        assert kept != photo and photo[20:60] not in kept and len(kept) == len(photo) + 12 + 16  # nonce, tag
        assert row.sha256 == hashlib.sha256(photo).hexdigest() and row.size == len(photo)
        with runtime.engine.connect() as connection:
            content_type, opened = open_attachment(connection, row.id, runtime.settings)
        assert hashlib.sha256(opened).hexdigest() == row.sha256 and content_type == row.content_type
        assert (row.sealed is None) == (backend == "s3")
    runtime.settings = runtime.settings.model_copy(update={"dashboard_token": DASHBOARD_TOKEN})
    client = app.test_client()
    assert client.get(f"/staff/attachments/{rows[0].id}").status_code == 401
    wrong = client.get(f"/staff/attachments/{rows[0].id}", headers={"Authorization": "Bearer nope"})
    shown = client.get(
        f"/staff/attachments/{rows[0].id}", headers={"Authorization": f"Bearer {DASHBOARD_TOKEN}"}
    )
    assert wrong.status_code == 401 and shown.status_code == 200
    assert shown.data == photos[0] and shown.mimetype == "image/jpeg"
    assert (
        shown.headers["Cache-Control"] == "no-store" and shown.headers["X-Content-Type-Options"] == "nosniff"
    )
    with runtime.engine.connect() as connection:
        [audited] = connection.execute(select(AdminAudit).where(AdminAudit.command == "attachment")).all()
    assert audited.detail == f"customer {chat.customer_id()} (request {request_id})" and audited.personal_data


def test_a_wrong_type_or_too_large_attachment_is_refused_with_a_clear_answer(
    backend, runtime, post_webhook, drain
):
    """A program sent as a file is taken, then refused by its bytes (not its name) with the types taken; a photo
    over the limit is refused once fetched, a file LINE says is too large at once; nothing of them is kept and the
    request files only the good photo."""
    runtime.settings = runtime.settings.model_copy(
        update={"attachment_image_max_bytes": 1024 * 1024, "attachment_file_max_bytes": 1024 * 1024}
    )
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        start_accident(chat)
        taken, refused = send_media(chat, exe(), "file", "application/pdf", file_name="事故の写真.pdf")[1]
        assert "受け取りました（1件）" in taken["text"]
        assert "受け付けできない形式" in refused["text"] and "JPEG・PNG・HEIC" in refused["text"]
        taken, refused = send_media(chat, jpeg(1024 * 1024 + 10))[1]
        assert "受け取りました（2件）" in taken["text"] and "大きすぎる" in refused["text"]
        [at_once] = send_media(chat, b"%PDF-1.7" + bytes(2 * 1024 * 1024), "file", "application/pdf")[1]
        assert "大きすぎる" in at_once["text"] and "1MBまで" in at_once["text"]
        [good] = send_media(chat, jpeg())[1]
        assert "受け取りました（3件）" in good["text"]
        [summary] = chat.say("完了")
        assert "写真・動画・書類：1件" in summary["text"]
        chat.tap(action_of(summary, "confirm"))
    rows = attachments(runtime)
    assert [(r.status, r.refusal) for r in rows] == [
        ("refused", "wrong_type"),
        ("refused", "too_large"),
        ("stored", None),
    ]
    assert all(r.sealed is None and r.storage_key is None and r.sha256 is None for r in rows[:2])
    assert [r.request_id is not None for r in rows] == [False, False, True]


def test_a_video_still_being_prepared_is_fetched_again_later(backend, runtime, post_webhook, drain):
    """A video LINE is still transcoding: the fetch asks for the status, finds `processing`, and RQ tries again
    with backoff; once LINE has it ready, the next try stores it."""
    video = mp4()
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        start_accident(chat)
        message_id, [taken] = send_media(chat, video, "video", "video/mp4", transcoding="processing")
        assert "受け取りました（1件）" in taken["text"]
        [row] = attachments(runtime)
        assert row.status == "pending" and row.attempts == 1
        registry = ScheduledJobRegistry(FETCHES, connection=runtime.redis)
        assert registry.get_job_ids() == [fetch_job_id(row.id)]
        assert line.requests_to(f"/v2/bot/message/{message_id}/content") == line.requests_to(
            f"/v2/bot/message/{message_id}/content/transcoding"
        )  # not fetched while processing
        line.set_transcoding(message_id, "succeeded")
        job = Job.fetch(fetch_job_id(row.id), connection=runtime.redis)
        registry.remove(job)
        Queue(FETCHES, connection=runtime.redis).enqueue_job(job)  # its time has come
        drain()
        statuses = [
            (r.path.rsplit("/", 1)[-1], r.status) for r in line.requests_to(f"/v2/bot/message/{message_id}")
        ]
    [row] = attachments(runtime)
    assert row.status == "stored" and row.attempts == 2 and row.content_type == "video/mp4"
    assert statuses == [("transcoding", 200), ("transcoding", 200), ("content", 200)]
    with runtime.engine.connect() as connection:
        assert open_attachment(connection, row.id, runtime.settings)[1] == video


def test_a_photo_outside_a_request_asks_whether_it_is_an_accident(backend, runtime, post_webhook, drain):
    """A photo sent with no request open is not met with the bare menu: the bot asks whether it is an accident and
    offers the accident notice; during the notice's first questions, it says when photos come. Nothing is kept."""
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        chat.follow()
        [asked] = send_media(chat, jpeg())[1]
        assert "事故のご連絡ですか？" in asked["text"] and "a=accident_report" in " ".join(buttons(asked))
        chat.tap("a=accident_report")
        [later] = send_media(chat, jpeg())[1]
        assert "ご質問のあとで" in later["text"]
        assert "時刻" in chat.say("昨日")[0]["text"]  # the notice goes on where it was
    assert attachments(runtime) == []


def test_stopping_a_request_discards_what_was_sent_for_it(backend, runtime, post_webhook, drain):
    """「やめる」 after sending photos: the request is not filed and the photos are gone, rows and objects."""
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        start_accident(chat)
        send_media(chat, jpeg())
        [kept] = attachments(runtime)
        assert kept.status == "stored"
        assert "中止しました" in texts(chat.say("やめる"))[0]
    assert attachments(runtime) == []
    if backend == "s3":
        s3 = boto3.client("s3", endpoint_url=runtime.settings.attachment_s3_endpoint_url)
        assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_the_customers_export_holds_their_photos_and_erasure_deletes_them(
    backend, runtime, post_webhook, drain
):
    """The disclosure carries each stored photo decrypted (never the sealed bytes or where they are); erasure
    deletes the rows and, in S3, the objects."""
    photo = jpeg()
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        start_accident(chat)
        send_media(chat, photo)
        [summary] = chat.say("完了")
        chat.tap(action_of(summary, "confirm"))
    customer, now = chat.customer_id(), utcnow()
    with runtime.engine.begin() as connection:
        document = export_customer(connection, SQLModel.metadata, runtime.settings, customer, now)
    [exported] = document["tables"]["attachments"]
    assert base64.b64decode(exported["content_base64"]) == photo
    assert exported["sha256"] == hashlib.sha256(photo).hexdigest() and "sealed" not in exported
    assert "storage_key" not in exported
    with runtime.engine.begin() as connection:
        erase_customer(
            connection,
            SQLModel.metadata,
            runtime.settings,
            customer,
            actor="test",
            place="cli",
            arguments="",
            now=now,
        )
    assert attachments(runtime) == []
    if backend == "s3":
        s3 = boto3.client("s3", endpoint_url=runtime.settings.attachment_s3_endpoint_url)
        assert s3.list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0


def test_a_photo_whose_fetch_was_lost_is_fetched_by_the_tick(backend, runtime, post_webhook, drain):
    """Redis lost the fetch job (or was down when the photo came): the worker's tick finds the photo still pending
    long after it arrived, with no job, and queues it again; it is then stored."""
    photo = jpeg()
    with emulated_line(runtime) as line:
        chat = Chat(runtime, line, post_webhook, drain)
        start_accident(chat)
        with runtime.engine.begin() as connection:  # recorded, and the job never queued
            attachment = record(
                connection,
                chat.customer_id(),
                Media(line.add_content(chat.user_id, photo, "image/jpeg"), "image"),
                utcnow() - timedelta(hours=1),
            )
        assert tick(utcnow().isoformat())["attachment_fetches_requeued"] == 1
        assert tick(utcnow().isoformat())["attachment_fetches_requeued"] == 0  # queued now: alive
        drain()
    [row] = attachments(runtime)
    assert row.id == attachment and row.status == "stored"
    with runtime.engine.connect() as connection:
        assert open_attachment(connection, row.id, runtime.settings)[1] == photo
