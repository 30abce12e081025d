"""Rich menus (リッチメニュー) per customer state: a prospect's, a linked policyholder's, and one while a person holds
the conversation. Each is created through the Messaging API by `flask richmenu sync`, in every language the
service speaks, its image drawn from the locale texts at sync time; each LINE user is linked to the menu of their
state when it changes (ID link, unlink, a hand-over), and a prospect sees the default.

What a menu offers is data (`LAYOUTS`: the chat's own button actions, `bot/delivery/buttons.py`), so a tap on the
menu is the same postback as a tap on the button of that name in a message.

The menus LINE holds are recorded (`rich_menus`: state, language, id, digest of the definition and image), so a
sync creates only what changed, moves the users of a replaced menu to its successor and deletes the old one.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import textwrap
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, insert, select
from sqlalchemy.orm import Session

from bot.customers.language import customer_locales
from bot.delivery.buttons import button
from bot.delivery.channels.line_menus import RichMenuApi
from bot.platform.after_commit import after_commit
from bot.platform.config import Settings
from bot.platform.i18n import SUPPORTED, text
from models import ACTIVE_HANDOVER, CustomerChannels, Handover, RichMenu, utcnow

log = logging.getLogger(__name__)
MENUS = RichMenu.__table__
CHANNELS = CustomerChannels.__table__
HANDOVERS = Handover.__table__
DEFAULT_LOCALE = "ja"
WIDTH = 2500  # LINE's full-width rich menu
# Japanese fonts looked for when RICHMENU_FONT is not set (Debian's fonts-ipafont-gothic, fonts-noto-cjk)
FONT_CANDIDATES = (
    "/usr/share/fonts/opentype/ipafont-gothic/ipagp.ttf",
    "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
COLOURS = ("#06C755", "#05A847", "#0B8A3E", "#2E7D32")  # LINE green and darker shades, cell by cell
_PENDING = "rich_menu_switches_after_commit"


class MenuState(StrEnum):
    PROSPECT = "prospect"  # not linked: the default menu
    POLICYHOLDER = "policyholder"  # ID連携 done
    HANDOVER = "handover"  # a person holds the conversation


# What each menu offers, cell by cell (left to right, top to bottom): booking, requests and their status,
# coupons, FAQ, link or unlink, a person; during a hand-over, what still works while staff answer.
LAYOUTS: dict[MenuState, tuple[str, ...]] = {
    MenuState.PROSPECT: (
        "book",
        "service_menu",
        "my_requests",
        "my_coupons",
        "faq",
        "link_account",
        "handoff",
        "menu",
    ),
    MenuState.POLICYHOLDER: (
        "book",
        "service_menu",
        "my_requests",
        "my_coupons",
        "faq",
        "unlink_account",
        "handoff",
        "menu",
    ),
    MenuState.HANDOVER: ("my_requests", "faq", "menu"),
}


class FontMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class Menu:
    """One menu as LINE takes it: the definition and its PNG image; `digest` names the pair."""

    state: MenuState
    locale: str
    definition: dict[str, Any]
    image: bytes

    @property
    def digest(self) -> str:
        body = json.dumps(self.definition, ensure_ascii=False, sort_keys=True).encode() + self.image
        return hashlib.sha256(body).hexdigest()


def _grid(count: int) -> tuple[int, int, int]:
    """(columns, rows, height): up to four cells in one row of 843 px, else two rows of four (1686 px)."""
    return (count, 1, 843) if count <= 4 else (4, 2, 1686)


def _action(name: str, locale: str) -> dict[str, Any]:
    """The postback a tap sends: the button of that name, without a message token (the menu is no message)."""
    return dict(button(name, None, locale)["action"])


def definition(state: MenuState, locale: str) -> dict[str, Any]:
    names = LAYOUTS[state]
    columns, rows, height = _grid(len(names))
    width = WIDTH // columns
    areas = []
    for index, name in enumerate(names):
        x, y = (index % columns) * width, (index // columns) * (height // rows)
        bounds = {"x": x, "y": y, "width": width, "height": height // rows}
        areas.append({"bounds": bounds, "action": _action(name, locale)})
    return {
        "size": {"width": WIDTH, "height": height},
        "selected": state is not MenuState.PROSPECT,  # open for whom a state brought to it
        "name": f"{state}-{locale}",
        "chatBarText": text(f"richmenu.chat_bar.{state}", locale),
        "areas": areas,
    }


def font_path(settings: Settings) -> Path:
    chosen = [Path(settings.richmenu_font)] if settings.richmenu_font else [Path(p) for p in FONT_CANDIDATES]
    for path in chosen:
        if path.is_file():
            return path
    raise FontMissing(
        "no Japanese font for the rich menu images: `make fonts` installs Debian's fonts-ipafont-gothic "
        "(the platform installs it from the Aptfile), or set RICHMENU_FONT to a .ttf/.otf/.ttc file"
    )


def draw(state: MenuState, locale: str, font: Path) -> bytes:
    """The menu's image: one coloured cell per action with its label, as PNG (well under LINE's 1 MB)."""
    from PIL import Image, ImageDraw, ImageFont

    names = LAYOUTS[state]
    columns, rows, height = _grid(len(names))
    width, cell_height = WIDTH // columns, height // rows
    image = Image.new("RGB", (WIDTH, height), "white")
    pen = ImageDraw.Draw(image)
    size = 96 if columns <= 3 else 84
    typeface = ImageFont.truetype(str(font), size)
    for index, name in enumerate(names):
        x, y = (index % columns) * width, (index // columns) * cell_height
        pen.rectangle((x + 6, y + 6, x + width - 6, y + cell_height - 6), fill=COLOURS[index % len(COLOURS)])
        label = text(f"delivery.actions.{name}", locale)
        lines = _wrap(label, pen, typeface, width - 80)
        line_height = size + 16
        top = y + (cell_height - line_height * len(lines)) // 2
        for number, line in enumerate(lines):
            left = x + (width - pen.textlength(line, font=typeface)) // 2
            pen.text((left, top + number * line_height), line, font=typeface, fill="white")
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def _wrap(label: str, pen, typeface, room: float) -> list[str]:  # type: ignore[no-untyped-def]
    """The label on as few lines as fit the cell: by words where it has spaces (English), else by characters."""
    if pen.textlength(label, font=typeface) <= room:
        return [label]
    for width in range(len(label) - 1, 0, -1):
        lines = (
            textwrap.wrap(label, width)
            if " " in label
            else [label[i : i + width] for i in range(0, len(label), width)]
        )
        if all(pen.textlength(line, font=typeface) <= room for line in lines):
            return lines
    return [label]


@cache
def menus(font: Path) -> tuple[Menu, ...]:
    return tuple(
        Menu(state, locale, definition(state, locale), draw(state, locale, font))
        for state in MenuState
        for locale in SUPPORTED
    )


# ── sync and switch ──────────────────────────────────────────────────────────────────────────────────────


@dataclass
class SyncReport:
    created: list[str]
    kept: list[str]
    deleted: int
    relinked: int

    def lines(self) -> list[str]:
        return [
            f"rich menus created: {', '.join(self.created) or '-'}",
            f"rich menus unchanged: {', '.join(self.kept) or '-'}",
            f"replaced menus deleted: {self.deleted}; users moved to their successor: {self.relinked}",
        ]


def sync(connection: Connection, api: RichMenuApi, settings: Settings) -> SyncReport:
    """Create the menus that changed (or that LINE lost), set the prospect's Japanese menu as the default, move
    users of replaced menus, delete the replaced ones. Running it twice creates nothing the second time."""
    report = SyncReport([], [], 0, 0)
    stored = {(row.state, row.locale): row for row in connection.execute(select(MENUS))}
    for menu in menus(font_path(settings)):
        old = stored.get((menu.state, menu.locale))
        name = f"{menu.state}/{menu.locale}"
        if old is not None and old.digest == menu.digest and api.exists(old.rich_menu_id):
            report.kept.append(name)
            continue
        menu_id = api.create(menu.definition, menu.image)
        report.created.append(name)
        connection.execute(delete(MENUS).where(MENUS.c.state == menu.state, MENUS.c.locale == menu.locale))
        connection.execute(
            insert(MENUS).values(
                state=menu.state,
                locale=menu.locale,
                rich_menu_id=menu_id,
                digest=menu.digest,
                created_at=utcnow(),
            )
        )
        if old is not None:
            if menu.state is not MenuState.PROSPECT:
                report.relinked += _relink(connection, api, menu.state, menu.locale, menu_id)
            api.delete(old.rich_menu_id)
            report.deleted += 1
    api.set_default(menu_id_of(connection, MenuState.PROSPECT, DEFAULT_LOCALE))
    return report


def _relink(connection: Connection, api: RichMenuApi, state: MenuState, locale: str, menu_id: str) -> int:
    moved = 0
    for user_id in users_in(connection, state, locale):
        api.link(user_id, menu_id)
        moved += 1
    return moved


def users_in(connection: Connection, state: MenuState, locale: str) -> list[str]:
    """The LINE users on file whose menu is this state's in this language (those the default does not serve)."""
    rows = connection.execute(
        select(CHANNELS.c.customer_id, CHANNELS.c.line_user_id).where(CHANNELS.c.line_user_id.is_not(None))
    ).all()
    languages = customer_locales(connection, [row.customer_id for row in rows], DEFAULT_LOCALE)
    return [
        row.line_user_id
        for row in rows
        if languages[row.customer_id] == locale and state_of(connection, row.line_user_id) is state
    ]


def menu_id_of(connection: Connection, state: MenuState, locale: str) -> str:
    found = connection.execute(
        select(MENUS.c.rich_menu_id)
        .where(MENUS.c.state == state, MENUS.c.locale.in_((locale, DEFAULT_LOCALE)))
        .order_by((MENUS.c.locale == locale).desc())
    ).first()
    if found is None:
        raise LookupError(f"no {state} rich menu: run `flask richmenu sync`")
    return found[0]


def line_user_of(connection: Connection, customer_id: int) -> str | None:
    return connection.execute(
        select(CHANNELS.c.line_user_id).where(CHANNELS.c.customer_id == customer_id)
    ).scalar()


def state_of(connection: Connection, line_user_id: str) -> MenuState:
    """A person has the conversation (a hand-over open or held), else linked or not."""
    mine = connection.execute(
        select(CHANNELS.c.customer_id, CHANNELS.c.line_linked).where(CHANNELS.c.line_user_id == line_user_id)
    ).first()
    if mine is None:
        return MenuState.PROSPECT
    held = (
        select(HANDOVERS.c.id)
        .where(
            HANDOVERS.c.customer_id == mine.customer_id,
            HANDOVERS.c.status.in_([str(s) for s in ACTIVE_HANDOVER]),
        )
        .limit(1)
    )
    if connection.execute(held).first() is not None:
        return MenuState.HANDOVER
    return MenuState.POLICYHOLDER if mine.line_linked else MenuState.PROSPECT


def switch(
    connection: Connection, api: RichMenuApi, line_user_id: str, locale: str = DEFAULT_LOCALE
) -> MenuState | None:
    """Link the user to their state's menu (a prospect goes back to the default); safe to run twice. None, and
    nothing called, while no menu was ever synced (an account without rich menus)."""
    if connection.execute(select(MENUS.c.state).limit(1)).first() is None:
        return None
    state = state_of(connection, line_user_id)
    if state is MenuState.PROSPECT and locale == DEFAULT_LOCALE:
        api.unlink(line_user_id)
    else:
        api.link(line_user_id, menu_id_of(connection, state, locale))
    return state


def switch_after_commit(session: Session, customer_id: int) -> None:
    """Queue the switch of the customer's LINE user for when the caller's transaction has committed (the job
    reads the new state; it takes the customer's id, never the LINE user id, which RQ would log)."""
    from bot.jobs.queues import enqueue_menu_switch

    after_commit(session, _PENDING, [customer_id], enqueue_menu_switch)
