"""`POST /api/v1/coupons/<code>/redeem`: the insurer's counter or shop system uses a customer's coupon, once.

Behind the same bearer tokens as the event API (`INGEST_API_TOKENS`). 200 with the coupon when it is used now;
404 for a code we do not know; 409 with the reason (`used`, `expired`, `revoked`) otherwise, so a client that
lost the first answer learns from the second that the coupon is used.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify, request

from bot.api_events.auth import authenticate
from bot.offers.coupons import RedeemOutcome, display_code, redeem
from bot.platform.runtime import Runtime
from models import utcnow

log = logging.getLogger(__name__)
blueprint = Blueprint("coupon_api", __name__)

REASONS = {
    RedeemOutcome.USED: "the coupon has already been used",
    RedeemOutcome.EXPIRED: "the coupon has expired",
    RedeemOutcome.REVOKED: "the coupon was revoked",
}


@blueprint.post("/api/v1/coupons/<code>/redeem")
def redeem_coupon(code: str) -> Response:
    runtime: Runtime = current_app.extensions["runtime"]
    authorization = request.headers.get("Authorization", "")
    client = authenticate(authorization, runtime.settings.ingest_api_tokens)
    if client is None:
        response = _json(401, error="missing or invalid bearer token")
        challenge = 'Bearer realm="ingest-api"'
        response.headers["WWW-Authenticate"] = challenge + (
            ', error="invalid_token"' if authorization else ""
        )
        return response
    with runtime.engine.begin() as connection:
        used = redeem(connection, code[:32], "api", utcnow())
    coupon = used.coupon
    if used.outcome is RedeemOutcome.UNKNOWN or coupon is None:
        return _json(404, error="unknown coupon")
    body = {
        "code": display_code(coupon.code),
        "campaign": coupon.campaign_code,
        "status": coupon.status,
        "expires_at": coupon.expires_at.isoformat(),
        "redeemed_at": coupon.redeemed_at.isoformat() if coupon.redeemed_at else None,
        "redeemed_via": coupon.redeemed_via,
    }
    if used.outcome is RedeemOutcome.REDEEMED:
        log.info("coupon=%s redeemed by api client=%s", coupon.id, client)
        return _json(200, **body)
    return _json(409, error=REASONS[used.outcome], reason=str(used.outcome), **body)


def _json(http_status: int, **body: object) -> Response:
    response = jsonify(body)
    response.status_code = http_status
    response.headers["Cache-Control"] = "no-store"
    return response
