"""``ProfileResponse``: which transactions we support, at which absolute URLs (every cXML server must answer)."""

from __future__ import annotations

from datetime import UTC, datetime

from .cxml.models import ProfileResponse, Timestamp, Transaction

ROUTES = {
    "ProfileRequest": "/cxml/profile",
    "PunchOutSetupRequest": "/cxml/setup",
    "OrderRequest": "/cxml/order",
}


def profile_response(base_url: str) -> ProfileResponse:
    return ProfileResponse(
        effective_date=Timestamp.of(datetime.now(UTC)),
        transactions=[Transaction(request_name=name, url=base_url + path) for name, path in ROUTES.items()],
    )
