"""Profiles, link tokens, loading animation, rich menus and coupons in the LINE emulator."""

from __future__ import annotations

import json

import pytest
from linebot.v3.messaging import (
    ApiException,
    CouponCreateRequest,
    CouponDiscountRewardRequest,
    CouponMessage,
    DiscountFixedPriceInfoRequest,
    MessagingApi,
    MessagingApiBlob,
    NormalAcquisitionConditionRequest,
    PostbackAction,
    PushMessageRequest,
    RichMenuArea,
    RichMenuBounds,
    RichMenuRequest,
    RichMenuSize,
    ShowLoadingAnimationRequest,
)
from linebot.v3.messaging.exceptions import NotFoundException

from devtools.line_emulator import LineEmulator
from tests.emulator.conftest import OTHER_USER, USER, RawCall


def test_profile_200_for_friend(emulator: LineEmulator, api: MessagingApi) -> None:
    """A friend's profile returns the configured display name; unconfigured ids get a generated one."""
    emulator.add_friend(USER, display_name="Taro Yamada", picture_url="https://example.com/p.png")
    profile = api.get_profile(USER)
    assert (profile.display_name, profile.user_id, profile.language) == ("Taro Yamada", USER, "ja")
    assert api.get_profile(OTHER_USER).display_name


def test_profile_language_is_set_per_user(emulator: LineEmulator, api: MessagingApi, raw: RawCall) -> None:
    """Each user's LINE app language, set in code or over HTTP, is what the profile reports; a user who has not
    agreed to LINE's privacy policy (language None) has none, as LINE leaves the field out."""
    emulator.add_friend(USER, language="en")
    raw("POST", "/__emulator__/users", {"userId": OTHER_USER, "language": "zh-Hant"}, token=None)
    assert (api.get_profile(USER).language, api.get_profile(OTHER_USER).language) == ("en", "zh-Hant")
    emulator.add_friend(USER, language=None)
    assert "language" not in raw("GET", f"/v2/bot/profile/{USER}").body


def test_profile_404_for_blocked_unknown_or_malformed(emulator: LineEmulator, api: MessagingApi) -> None:
    """Blocked, unknown and malformed user ids get 404 from the profile endpoint."""
    emulator.block(USER)
    emulator.mark_unknown(OTHER_USER)
    for user_id in (USER, OTHER_USER, "Unot-a-user"):
        with pytest.raises(NotFoundException):
            api.get_profile(user_id)


def test_link_token_issue_owner_and_expiry(emulator: LineEmulator, api: MessagingApi) -> None:
    """Link tokens are random per call, remember their user, are single-use and expire after 10 min."""
    first = api.issue_link_token(USER).link_token
    second = api.issue_link_token(USER).link_token
    assert first != second
    assert emulator.link_token_owner(first) == USER
    assert emulator.link_token_owner(first, consume=True) == USER
    assert emulator.link_token_owner(first) is None
    emulator.advance_time(601)
    assert emulator.link_token_owner(second) is None


def test_link_token_for_non_friend_is_400(emulator: LineEmulator, api: MessagingApi) -> None:
    """Issuing a link token for a user who is not a friend fails with 400."""
    emulator.block(USER)
    with pytest.raises(ApiException) as err:
        api.issue_link_token(USER)
    assert err.value.status == 400


def test_loading_animation_202_and_invalid_seconds(api: MessagingApi) -> None:
    """The loading animation answers 202 {}; loadingSeconds=7 and group chat ids are 400."""
    info = api.show_loading_animation_with_http_info(
        ShowLoadingAnimationRequest(chat_id=USER, loading_seconds=20)
    )
    assert info.status_code == 202
    with pytest.raises(ApiException) as err:
        api.show_loading_animation(ShowLoadingAnimationRequest(chat_id=USER, loading_seconds=7))
    assert json.loads(err.value.body)["details"] == [
        {"message": "Must be a multiple of 5", "property": "loadingSeconds"}
    ]
    with pytest.raises(ApiException) as group:
        api.show_loading_animation(ShowLoadingAnimationRequest(chat_id="C" + "0" * 32))
    assert group.value.status == 400


def _menu(width: int = 2500) -> RichMenuRequest:
    return RichMenuRequest(
        size=RichMenuSize(width=width, height=843),
        selected=True,
        name="main",
        chat_bar_text="Menu",
        areas=[
            RichMenuArea(
                bounds=RichMenuBounds(x=0, y=0, width=1250, height=843),
                action=PostbackAction(label="Link", data="action=link"),
            )
        ],
    )


def test_rich_menu_create_link_get_unlink(emulator: LineEmulator, api: MessagingApi) -> None:
    """A created rich menu can be linked to a user, read back and unlinked (then 404)."""
    menu_id = api.create_rich_menu(_menu()).rich_menu_id
    api.link_rich_menu_id_to_user(USER, menu_id)
    assert api.get_rich_menu_id_of_user(USER).rich_menu_id == menu_id
    assert api.get_rich_menu(menu_id).chat_bar_text == "Menu"
    api.unlink_rich_menu_id_from_user(USER)
    with pytest.raises(NotFoundException):
        api.get_rich_menu_id_of_user(USER)
    assert [r.endpoint for r in emulator.requests_to("/v2/bot/user/")] == [
        "user_richmenu_link",
        "user_richmenu_get",
        "user_richmenu_unlink",
        "user_richmenu_get",
    ]


def test_rich_menu_image_default_and_delete(api: MessagingApi) -> None:
    """A menu image uploads once, the menu can be the default, and deleting it removes it from the list."""
    blob = MessagingApiBlob(api.api_client)
    menu_id = api.create_rich_menu(_menu()).rich_menu_id
    blob.set_rich_menu_image(
        rich_menu_id=menu_id, body=bytearray(b"\x89PNG fake"), _headers={"Content-Type": "image/png"}
    )
    with pytest.raises(ApiException) as err:
        blob.set_rich_menu_image(
            rich_menu_id=menu_id, body=bytearray(b"\x89PNG fake"), _headers={"Content-Type": "image/png"}
        )
    assert err.value.status == 400
    api.set_default_rich_menu(menu_id)
    assert api.get_default_rich_menu_id().rich_menu_id == menu_id
    api.delete_rich_menu(menu_id)
    assert api.get_rich_menu_list().richmenus == []
    with pytest.raises(NotFoundException):
        api.get_default_rich_menu_id()


def test_rich_menu_errors(api: MessagingApi) -> None:
    """Linking an unknown rich menu is 404 and a too-narrow menu is rejected with details."""
    with pytest.raises(NotFoundException):
        api.link_rich_menu_id_to_user(USER, "richmenu-" + "0" * 32)
    with pytest.raises(ApiException) as err:
        api.create_rich_menu(_menu(width=500))
    assert json.loads(err.value.body)["details"] == [
        {"message": "Value must be between 800 and 2500", "property": "size.width"}
    ]


def _coupon(title: str) -> CouponCreateRequest:
    return CouponCreateRequest(
        title=title,
        acquisition_condition=NormalAcquisitionConditionRequest(type="normal"),
        reward=CouponDiscountRewardRequest(
            type="discount", price_info=DiscountFixedPriceInfoRequest(type="fixed", fixed_amount=100)
        ),
        start_timestamp=0,
        end_timestamp=1924959599,
        timezone="ASIA_TOKYO",
        visibility="UNLISTED",
        max_use_count_per_ticket=1,
    )


def test_coupon_create_list_get_close_round_trip(api: MessagingApi) -> None:
    """Coupons round-trip through create, paged/filtered list, detail and close (closing twice is 410)."""
    ids = [api.create_coupon(_coupon(f"Coupon {i}")).coupon_id for i in range(3)]
    page = api.list_coupon(status=["RUNNING"], limit=2)
    assert [c.coupon_id for c in page.items] == ids[:2] and page.next
    rest = api.list_coupon(status=["RUNNING"], limit=2, start=page.next)
    assert [c.coupon_id for c in rest.items] == ids[2:] and rest.next is None
    detail = api.get_coupon_detail(ids[0])
    assert (detail.title, detail.status, detail.reward.price_info.fixed_amount) == (
        "Coupon 0",
        "RUNNING",
        100,
    )
    api.close_coupon(ids[0])
    assert api.get_coupon_detail(ids[0]).status == "CLOSED"
    assert [c.coupon_id for c in api.list_coupon(status=["CLOSED"]).items] == [ids[0]]
    with pytest.raises(ApiException) as err:
        api.close_coupon(ids[0])
    assert err.value.status == 410
    with pytest.raises(NotFoundException):
        api.get_coupon_detail("COUPON_missing")


def test_coupon_message_needs_running_coupon(api: MessagingApi) -> None:
    """A coupon message is accepted for a running coupon and rejected once the coupon is closed."""
    coupon_id = api.create_coupon(_coupon("Spring")).coupon_id
    request = PushMessageRequest(to=USER, messages=[CouponMessage(coupon_id=coupon_id)])
    assert api.push_message(request).sent_messages
    api.close_coupon(coupon_id)
    with pytest.raises(ApiException) as err:
        api.push_message(request)
    assert json.loads(err.value.body)["details"][0]["property"] == "messages[0].couponId"


def test_coupon_create_validation(raw: RawCall) -> None:
    """Coupon creation enforces the schema: lottery needs probability and max count."""
    body = {
        "title": "t",
        "acquisitionCondition": {"type": "lottery"},
        "startTimestamp": 0,
        "endTimestamp": 10,
        "timezone": "ASIA_TOKYO",
        "visibility": "PUBLIC",
        "maxUseCountPerTicket": 1,
    }
    response = raw("POST", "/v2/bot/coupon", body)
    assert response.status == 400
    assert {d["property"] for d in response.body["details"]} == {
        "acquisitionCondition.lotteryProbability",
        "acquisitionCondition.maxAcquireCount",
    }
