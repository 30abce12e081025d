"""Who may push events: callers present one of the configured bearer tokens (`INGEST_API_TOKENS`).

With no token configured nobody may: the API is never open by default.
"""

from __future__ import annotations

import hashlib
import hmac


def fingerprint(token: str) -> str:
    """A short, stable name for a token's holder (logs, idempotency keys) that does not reveal the token."""
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def authenticate(authorization: str, tokens: list[str]) -> str | None:
    """The caller's fingerprint if `Authorization: Bearer <token>` holds a configured token, else None.

    Every configured token is compared, in constant time over equal-length digests, so timing tells nothing.
    """
    scheme, _, presented = authorization.strip().partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        return None
    digest = hashlib.sha256(presented.encode()).digest()
    matched = False
    for token in tokens:
        matched |= bool(token) and hmac.compare_digest(hashlib.sha256(token.encode()).digest(), digest)
    return fingerprint(presented) if matched else None
