"""What a newcomer sees after `make demo` and `make run`, in a real browser: the health check, the ID連携 login
page, the chat simulator (add the friend, see the greeting, link the ID, claim the coupon) and the staff
dashboard counting the result. Screenshots go to var/screenshots/ (SCREENSHOTS_DIR=docs/screenshots refreshes the README's)."""

from __future__ import annotations

import re

CUSTOMER, EMAIL = "DEMO0003", "demo0003@example.com"  # 高橋 翔 of the demo's cast: email only, no LINE yet


def bot_says(page, words: str):
    """The chat's bot message containing `words` (waits for it: the worker answers asynchronously)."""
    found = page.locator("#messages li.from-bot", has_text=words).last
    found.wait_for()
    return found


def chip(page, action: str):
    """The quick reply of the latest bot message whose postback is `a=<action>`."""
    found = page.locator(f'#quick-replies .chip[data-data^="a={action}"]').first
    found.wait_for()
    return found


def reach(page) -> dict[str, int]:
    """Today's figure of each KPI of the dashboard's channel reach table (line_friends, line_linked, …)."""
    rows = page.locator("#reach tbody tr[data-kpi]")
    rows.first.wait_for()
    figures = {}
    for index in range(rows.count()):
        cells = rows.nth(index).locator("td").all_inner_texts()
        figures[rows.nth(index).get_attribute("data-kpi")] = int(re.sub(r"[^0-9-]", "", cells[2]) or 0)
    return figures


def test_health_check_answers_in_the_browser(service, page):
    """GET /healthz of the running service shows database and Redis ok."""
    page.goto(f"{service.base}/healthz")
    assert '"status":"ok"' in page.inner_text("body").replace(" ", "")


def test_link_login_page_refuses_a_made_up_link_token_in_japanese(service, page):
    """The ID連携 login page opened with a link token the service never asked LINE for shows no form, only
    where to open it from, in Japanese."""
    page.goto(f"{service.base}/link?linkToken=browserTest1234")
    assert page.locator("html").get_attribute("lang") == "ja"
    assert page.locator('input[name="customer_code"]').count() == 0
    assert "LINEのトーク画面" in page.inner_text("body")


def test_a_newcomer_chats_links_the_id_claims_a_coupon_and_the_dashboard_counts_it(service, page, screenshot):
    """In the simulator: pick a demo customer, add the friend (greeting), link the ID through the login page
    (the one-time code read in the simulator's email pane) and LINE's account-link step, receive and list the link coupon; the dashboard then counts one more LINE
    friend and one more linked ID, beside the demo's scenario funnel."""
    page.goto(f"{service.base}/dashboard")
    before = reach(page)

    page.goto(f"{service.base}/simulator")
    page.fill("#search", CUSTOMER)
    page.locator(f'#people-list .person[data-code="{CUSTOMER}"]').click()
    page.locator("#follow").click()
    bot_says(page, "友だち追加ありがとうございます")
    assert page.locator("#status").get_attribute("data-status") == "friend"

    chip(page, "link_account").click()
    bot_says(page, "ログインして連携")
    with page.context.expect_page() as opened:  # the login button opens our page, as LINE's browser would
        page.locator('#quick-replies .chip[data-action-type="uri"]').first.click()
    login = opened.value
    login.wait_for_load_state()
    assert login.locator("html").get_attribute("lang") == "ja" and "LINE連携" in login.title()
    assert login.locator('input[name="csrf"]').get_attribute("value")
    login.fill('input[name="customer_code"]', CUSTOMER)
    login.fill('input[name="contact"]', EMAIL)
    screenshot(login, "link")
    login.locator('form button[type="submit"]').first.click()
    login.locator('input[name="code"]').wait_for()  # step 2: the one-time code sent to the email on file
    mail = page.locator("#emails li.email", has_text="認証コード").last  # the simulator's email pane
    mail.wait_for()
    login.fill('input[name="code"]', re.search(r"(\d{6})", mail.inner_text())[1])
    login.locator('form button[type="submit"]').first.click()
    login.wait_for_url(re.compile(r"/simulator/account-link\?"))
    assert "ID連携が完了しました" in login.inner_text("body")
    login.close()

    bot_says(page, "LINE連携が完了しました")
    bot_says(page, "LINE連携特典")  # the link benefit's coupon (BENEFIT_CAMPAIGNS line_linked)
    chip(page, "my_coupons").click()
    bot_says(page, "ご利用いただけるクーポンです")
    assert CUSTOMER in page.inner_text("#chat-who")
    screenshot(page, "simulator")

    page.goto(f"{service.base}/dashboard")
    after = reach(page)
    assert after["line_friends"] == before["line_friends"] + 1
    assert after["line_linked"] == before["line_linked"] + 1
    funnel = page.locator("#funnel tbody tr", has_text="見積もり者への契約促進シナリオ")
    channels = page.locator("#funnel thead tr").nth(1).locator("th").count() - 2  # + 配信群, 対照群
    entered, converted = (funnel.locator("td").nth(i).inner_text() for i in (1, 4 + channels))
    assert int(entered) >= 1 and int(converted) >= 1  # the demo's 佐藤 signed mid-flow
    assert page.locator("#funnel svg").count() >= 1 and page.locator("#reach svg").count() == 1
    screenshot(page, "dashboard", full_page=True)
