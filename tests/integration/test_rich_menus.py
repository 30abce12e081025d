"""Rich menus per customer state through the LINE emulator: `flask richmenu sync` creates each state's menu in
each language with its image and sets the default, creates nothing when run again, replaces a changed menu and
moves its users; an ID link switches the user to the policyholder's menu and an unlink back to the default."""

from __future__ import annotations

from sqlalchemy import select, update

from bot.chat.richmenus import LAYOUTS, MenuState, definition
from bot.delivery.buttons import ACTIONS
from bot.platform.i18n import SUPPORTED, configure_i18n
from models import RichMenu
from tests.integration.chat_helpers import Chat, action_of, emulated_line
from tests.integration.test_account_link import account_link, customer, link_with_code, login_url

MENU_STATES = len(MenuState) * len(SUPPORTED)


def sync(app) -> str:
    result = app.test_cli_runner().invoke(args=["richmenu", "sync"])
    assert result.exit_code == 0, result.output
    return result.output


def stored(runtime) -> dict[tuple[str, str], str]:
    with runtime.engine.connect() as connection:
        rows = connection.execute(select(RichMenu.state, RichMenu.locale, RichMenu.rich_menu_id))
        return {(state, locale): menu_id for state, locale, menu_id in rows}


def test_every_menu_reaches_what_the_issue_asks_and_taps_what_the_chat_answers():
    """Booking, requests and their status, coupons, FAQ, link or unlink, a person; every tap a chat action."""
    configure_i18n()
    wanted = {"book", "service_menu", "my_requests", "my_coupons", "faq", "handoff"}
    assert wanted | {"link_account"} <= set(LAYOUTS[MenuState.PROSPECT])
    assert wanted | {"unlink_account"} <= set(LAYOUTS[MenuState.POLICYHOLDER])
    for state in MenuState:
        for locale in SUPPORTED:
            menu = definition(state, locale)
            for area in menu["areas"]:
                bounds = area["bounds"]
                assert bounds["x"] + bounds["width"] <= menu["size"]["width"]
                assert bounds["y"] + bounds["height"] <= menu["size"]["height"]
                name = area["action"].get("data", "a=").split("&")[0].removeprefix("a=")
                assert name in ACTIONS, area
            assert len(menu["chatBarText"]) <= 14


def test_sync_creates_each_menu_once_and_replaces_what_changed(runtime, app):
    with emulated_line(runtime) as line:
        first = sync(app)
        assert "rich menus created:" in first and "unchanged: -" in first
        menus = stored(runtime)
        assert len(menus) == MENU_STATES and len(line.state.data.rich_menus) == MENU_STATES
        assert all(menu.get("_image") == "image/png" for menu in line.state.data.rich_menus.values())
        assert line.state.data.user_rich_menus["all"] == menus[("prospect", "ja")]  # the default

        assert "rich menus created: -" in sync(app)  # nothing changed: nothing created
        assert stored(runtime) == menus and len(line.state.data.rich_menus) == MENU_STATES

        with runtime.engine.begin() as connection:  # as if the policyholder's Japanese texts had changed
            connection.execute(
                update(RichMenu)
                .where(RichMenu.state == "policyholder", RichMenu.locale == "ja")
                .values(digest="x")
            )
        again = sync(app)
        assert "rich menus created: policyholder/ja" in again and "replaced menus deleted: 1" in again
        now = stored(runtime)
        assert now[("policyholder", "ja")] != menus[("policyholder", "ja")]
        assert menus[("policyholder", "ja")] not in line.state.data.rich_menus  # the old one deleted
        assert len(line.state.data.rich_menus) == MENU_STATES


def test_an_id_link_switches_the_menu_and_an_unlink_switches_it_back(
    runtime, app, client, post_webhook, drain
):
    customer(runtime)
    with emulated_line(runtime) as line:
        sync(app)
        chat = Chat(runtime, line, post_webhook, drain)
        chat.follow()
        assert chat.user_id not in line.state.data.user_rich_menus  # a prospect sees the default
        done = link_with_code(client, runtime, drain, login_url(chat.say("ID連携")[0]))
        from urllib.parse import parse_qs, urlsplit

        account_link(chat, parse_qs(urlsplit(done.headers["Location"]).query)["nonce"][0])
        drain()
        assert line.state.data.user_rich_menus[chat.user_id] == stored(runtime)[("policyholder", "ja")]
        [question] = chat.say("連携解除")
        chat.tap(action_of(question, "confirm"))
        drain()
        assert chat.user_id not in line.state.data.user_rich_menus  # back to the default


def test_without_a_japanese_font_sync_says_how_to_get_one(runtime, app, tmp_path):
    runtime.settings = runtime.settings.model_copy(update={"richmenu_font": str(tmp_path / "none.ttf")})
    with emulated_line(runtime) as line:
        result = app.test_cli_runner().invoke(args=["richmenu", "sync"])
        assert result.exit_code != 0 and "RICHMENU_FONT" in result.output and "make fonts" in result.output
        assert line.state.data.rich_menus == {}


def test_each_image_is_drawn_from_its_language_at_lines_size(runtime):
    """The PNG has the menu's size, stays under LINE's 1 MB, and the English image is not the Japanese one."""
    import io

    from PIL import Image

    from bot.chat.richmenus import draw, font_path

    font = font_path(runtime.settings)
    for state in MenuState:
        japanese, english = draw(state, "ja", font), draw(state, "en", font)
        size = definition(state, "ja")["size"]
        assert Image.open(io.BytesIO(japanese)).size == (size["width"], size["height"])
        assert len(japanese) < 1_000_000 and japanese != english


def test_a_customer_who_chooses_english_gets_the_english_menu(runtime, app, post_webhook, drain):
    with emulated_line(runtime) as line:
        sync(app)
        chat = Chat(runtime, line, post_webhook, drain)
        chat.follow()
        chat.say("English")
        drain()
        assert line.state.data.user_rich_menus[chat.user_id] == stored(runtime)[("prospect", "en")]
        chat.say("日本語")
        drain()
        assert chat.user_id not in line.state.data.user_rich_menus  # the Japanese default again


def test_a_hand_over_switches_to_its_menu_and_a_release_switches_back(runtime, app, post_webhook, drain):
    from tests.integration.test_handover import REFERENCE, setting_up

    with emulated_line(runtime) as line:
        sync(app)
        chat, staff = setting_up(runtime, line, post_webhook, drain)
        [opened] = chat.say("担当者")
        drain()
        assert line.state.data.user_rich_menus[chat.user_id] == stored(runtime)[("handover", "ja")]
        staff.say(f"/release {REFERENCE.search(opened['text'])[0]}")
        drain()
        assert chat.user_id not in line.state.data.user_rich_menus  # a prospect: the default again
