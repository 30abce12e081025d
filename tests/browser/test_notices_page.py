"""A service notice from the staff pages in a real browser, against the service `make run` starts: the insurer's
customers imported (`flask import F5`), a staff member uploads a 保険料の未払い list, reads the count, confirms,
and downloads what became of each row.

Screenshots go to INBOX_SHOTS_DIR (default /tmp/inbox-shots); their paths are printed."""

from __future__ import annotations

import csv

from devtools.sample_data import write_csv
from tests.browser.test_inbox_page import PASSWORD, run, shot


def test_upload_count_confirm_and_download_the_result(service, page, tmp_path):
    customers = tmp_path / "F5.csv"
    write_csv("F5", customers, 12, seed=7)
    run(service, "-m", "flask", "--app", "app", "import", "F5", str(customers))
    with open(customers, encoding="utf-8-sig", newline="") as handle:
        codes = [row["顧客ID"] for row in csv.DictReader(handle)][:10]
    listed = tmp_path / "未払い.csv"
    with open(listed, "w", encoding="cp932", newline="") as handle:  # as Excel saves it
        writer = csv.writer(handle)
        writer.writerow(["顧客ID", "証券番号", "金額", "期限"])
        writer.writerows([code, f"P-{code}", "15800", "2027/01/15"] for code in codes)
        writer.writerow(["NOBODY01", "P-X", "15800", "2027/01/15"])
    run(service, "-m", "flask", "--app", "app", "staff", "add", "mika", "--name", "高橋 美香",
        "--role", "agent", "--password", PASSWORD)  # fmt: skip

    page.goto(f"{service.base}/inbox")
    page.fill("#login", "mika")
    page.fill("#password", PASSWORD)
    page.click("#log-in")
    page.click("#notices-link")
    page.select_option("#template", "premium_unpaid")
    page.set_input_files("#list", str(listed))
    shot(page, "notices-upload")
    page.click("#count")
    page.wait_for_selector("#figures")
    figures = page.inner_text("#figures")
    assert "11" in figures and "顧客IDが見つからない" in figures
    shot(page, "notices-counted")
    page.click("#confirm")
    page.wait_for_selector("#result")
    assert "送信を受け付けました" in page.inner_text("#message")
    shot(page, "notices-confirmed")
    with page.expect_download() as downloading:
        page.click("#result")
    saved = tmp_path / "result.csv"
    downloading.value.save_as(saved)
    with open(saved, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 11 and rows[-1]["結果"] == "not_sent" and rows[-1]["理由"] == "unknown_customer"
    assert {row["顧客ID"] for row in rows[:-1] if row["結果"] != "not_sent"} <= set(codes)
