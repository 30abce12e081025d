"""A data export from the staff pages in a real browser, against the service `make run` starts: a customer adds
the account (the greeting goes through the delivery ledger), a supervisor logs in, opens 「データの書き出し」,
chooses the deliveries since today and downloads the CSV, which a spreadsheet-style reader opens in Japanese.

Screenshots go to INBOX_SHOTS_DIR (default /tmp/inbox-shots); their paths are printed."""

from __future__ import annotations

import csv

from tests.browser.test_inbox_page import PASSWORD, run, shot

CUSTOMER = "U" + "5" * 32


def test_a_supervisor_downloads_the_deliveries_since_today(service, page, tmp_path):
    run(service, "-m", "flask", "--app", "app", "staff", "add", "kazuko", "--name", "佐藤 和子",
        "--role", "supervisor", "--password", PASSWORD)  # fmt: skip
    run(service, "-m", "devtools.local", "send", "follow", "--user", CUSTOMER, "--wait", "20")

    page.goto(f"{service.base}/inbox")
    page.fill("#login", "kazuko")
    page.fill("#password", PASSWORD)
    page.click("#log-in")
    page.click("#exports-link")
    page.wait_for_selector("#export-form")
    page.select_option("#kind", "deliveries")
    shot(page, "exports-form")
    with page.expect_download() as downloading:
        page.click("#download")
    download = downloading.value
    assert download.suggested_filename.startswith("deliveries-since-")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    with open(saved, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and {"配信番号", "顧客ID", "テンプレート", "チャネル", "状態"} <= set(rows[0])
    assert any(row["チャネル"] == "line" for row in rows)
    assert CUSTOMER not in saved.read_text(encoding="utf-8-sig")  # no LINE user id in the file
    shot(page, "exports-downloaded")
