"""Which characters text from outside may hold, one rule for every edge (events API, data files, the chat).

Refused, because no name, address, phone number or answer needs them and each can do harm downstream:
- control characters: C0 except tab, line feed and carriage return (NUL is refused by PostgreSQL, and its
  error would repeat the row), DEL, and C1;
- bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): invisible, they make a
  name or a policy number read differently on the staff's screens than it is stored ("Trojan Source");
  the plain direction marks U+200E, U+200F and U+061C stay allowed for right-to-left text;
- lone surrogates (from a JSON `\\ud800` escape): not characters, and no database can store them.
"""

from __future__ import annotations

import re

_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def forbidden_character(text: str) -> str | None:
    """The first refused character of `text` as a code point (`U+0000`) and what it is, or None."""
    if text.isprintable():  # nearly all text, 50 times faster than the search: no control or format character
        return None
    found = _FORBIDDEN.search(text)
    if found is None:
        return None
    point = ord(found[0])
    if 0xD800 <= point <= 0xDFFF:
        kind = "a lone surrogate"
    elif point >= 0x2000:
        kind = "a bidirectional control"
    else:
        kind = "a control character"
    return f"U+{point:04X} ({kind})"
