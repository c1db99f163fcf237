"""Lambda entry point for ``POST /cxml/setup``, ``POST /cxml/profile`` and ``GET /punchout/start/{token}``.

Thin: wires Powertools, hands the event to the cXML pipeline or the start-link use case, and maps
the outcome to a response.
"""

from __future__ import annotations

from punchout.coldstart import loading

# The collector stays paused while the modules load (see punchout.coldstart).
with loading():
    from functools import lru_cache
    from typing import Any

    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from punchout.auth import Authenticated
    from punchout.cxml.models import ProfileResponse, PunchOutSetupResponse, RequestDocument
    from punchout.http import base_url, fetched_ahead, redirect
    from punchout.observability import logger, metrics, tracer
    from punchout.pipeline import Delivery, handle_cxml, partner_repository
    from punchout.profile import profile_response
    from punchout.resolver import declined_ahead, gateway_app, link_page, refused_link
    from punchout.settings import gateway_settings
    from punchout.store.dynamo import Table
    from punchout.store.sessions import SessionRepository, TokenKind, TokenRefused

    from .service import SessionExpired, SetupService

app = gateway_app(error_page="Please try again, or start PunchOut again from your procurement system.")


@lru_cache(maxsize=1)
def service() -> SetupService:
    settings = gateway_settings()
    return SetupService(SessionRepository(Table(settings.table_name)), settings)


def _setup(document: RequestDocument, auth: Authenticated, delivery: Delivery) -> PunchOutSetupResponse:
    url = service().open_session(document, auth, base_url(app.current_event, gateway_settings()))
    metrics.add_metric(name="PunchOutSessionsOpened", unit=MetricUnit.Count, value=1)
    return PunchOutSetupResponse(start_page_url=url)


def _profile(document: RequestDocument, auth: Authenticated, delivery: Delivery) -> ProfileResponse:
    return profile_response(base_url(app.current_event, gateway_settings()))


@app.post("/cxml/setup")
def cxml_setup() -> Response[str]:
    settings = gateway_settings()
    return handle_cxml(
        app.current_event,
        settings,
        partner_repository(settings),
        {"PunchOutSetupRequest": _setup, "ProfileRequest": _profile},
    )


@app.post("/cxml/profile")
def cxml_profile() -> Response[str]:
    settings = gateway_settings()
    return handle_cxml(app.current_event, settings, partner_repository(settings), {"ProfileRequest": _profile})


@app.get("/punchout/start/<token>")
def punchout_start(token: str) -> Response[str]:
    if fetched_ahead(app.current_event):
        return declined_ahead(TokenKind.START)
    try:
        location = service().start(token)
    except TokenRefused as refused:
        return link_page(TokenKind.START, refused.problem, "Start PunchOut again from your procurement system.")
    except SessionExpired as expired:
        return refused_link(
            TokenKind.START,
            410,
            "This PunchOut session has expired",
            "Start PunchOut again from your procurement system.",
            reason="session expired",
            session_id=expired.session_id,
        )
    return redirect(location)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
