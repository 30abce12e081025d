"""CSRF tokens for staff forms (signed double submit): a random value in a cookie only our pages read, and in
each form a MAC of that value under a server-side secret and the form's purpose.

A cross-site POST carries neither; a cookie planted by a neighbouring site (cookie tossing) still lacks the MAC,
which needs the secret; a login form's token does not work for the logout form nor the other way round.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{32}")


def cookie_value(current: str | None) -> str:
    """The browser's CSRF cookie when it has a well-formed one (several open tabs keep working), else a new one."""
    if current and COOKIE_VALUE.fullmatch(current):
        return current
    return secrets.token_urlsafe(24)


def form_token(secret: str, cookie: str, purpose: str) -> str:
    """The hidden field of a form whose browser holds `cookie`."""
    message = f"{purpose}\n{cookie}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def is_valid(secret: str, cookie: str | None, purpose: str, given: str | None) -> bool:
    """Whether a POST's field matches its cookie (compared in constant time); no secret, no valid token."""
    if not secret or not cookie or not given or not COOKIE_VALUE.fullmatch(cookie):
        return False
    return secrets.compare_digest(form_token(secret, cookie, purpose).encode(), given.encode())
