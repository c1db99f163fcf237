"""Lambda entry point for the shop API (``/shop/...``) and the cart's return page.

Thin: authenticates the shop's API key, validates JSON bodies with the pydantic models, calls one
use case and maps the outcome. Shop errors are JSON; browser pages are HTML.
"""

from __future__ import annotations

from punchout.coldstart import loading

# The collector stays paused while the modules load (see punchout.coldstart).
with loading():
    import json
    from functools import lru_cache
    from pathlib import Path
    from typing import Any

    from aws_lambda_powertools.event_handler import Response
    from aws_lambda_powertools.logging import correlation_paths
    from aws_lambda_powertools.metrics import MetricUnit
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from punchout.http import SECURITY_HEADERS, fetched_ahead, json_response, served_base_url
    from punchout.observability import logger, metrics, tracer
    from punchout.resolver import declined_ahead, gateway_app, link_page, refused_link
    from punchout.sessions import CartInput, TransferRequest, publish_max_cart_lines
    from punchout.settings import gateway_settings
    from punchout.shop_api import authorise, parse_body
    from punchout.store.api_keys import ApiKeyRepository
    from punchout.store.dynamo import Table
    from punchout.store.partners import PartnerRepository
    from punchout.store.sessions import SessionRepository, TokenKind, TokenProblem, TokenRefused

    from .service import CartService, ReturnRefused

app = gateway_app(error_page="Please go back to the shop and try again.")


@lru_cache(maxsize=1)
def service() -> CartService:
    settings = gateway_settings()
    table = Table(settings.table_name)
    return CartService(SessionRepository(table), PartnerRepository(table), settings)


@lru_cache(maxsize=1)
def api_keys() -> ApiKeyRepository:
    return ApiKeyRepository(Table(gateway_settings().table_name))


def _authorise_shop() -> None:
    authorise(app.current_event, api_keys())


@app.get("/shop/sessions/<session_id>")
def get_session(session_id: str) -> Response[str]:
    _authorise_shop()
    return json_response(200, service().context(session_id))


@app.put("/shop/sessions/<session_id>/cart")
def put_cart(session_id: str) -> Response[str]:
    _authorise_shop()
    summary = service().put_cart(session_id, parse_body(app.current_event, CartInput))
    metrics.add_metric(name="CartLinesStored", unit=MetricUnit.Count, value=summary.line_count)
    return json_response(200, summary)


@app.post("/shop/sessions/<session_id>/transfer")
def transfer(session_id: str) -> Response[str]:
    _authorise_shop()
    request = parse_body(app.current_event, TransferRequest, optional=True)
    result = service().transfer(session_id, request)
    metrics.add_metric(name="CartsCancelled" if request.cancel else "CartsTransferred", unit=MetricUnit.Count, value=1)
    return json_response(200, result)


@lru_cache(maxsize=1)
def _openapi(max_cart_lines: int) -> dict[str, Any]:
    # A plain path, not importlib.resources (tens of milliseconds of imports): the package is a folder.
    document: dict[str, Any] = json.loads(Path(__file__).with_name("openapi.json").read_text(encoding="utf-8"))
    # The cart's line limit as this deployment enforces it (the file holds MAX_CART_LINES' default).
    publish_max_cart_lines(document["components"]["schemas"]["CartInput"], max_cart_lines)
    return document


@app.get("/shop/openapi.json")
def openapi() -> Response[str]:
    # The paths start at /shop: tools resolve them against `servers`, which only the request can tell
    # (the stage prefix of an execute-api URL, none on a custom domain).
    served = _openapi(gateway_settings().max_cart_lines)
    document = {**served, "servers": [{"url": served_base_url(app.current_event)}]}
    body = json.dumps(document, indent=2, sort_keys=True) + "\n"
    return Response(status_code=200, content_type="application/json", body=body)


@app.get("/punchout/return/<token>")
def punchout_return(token: str) -> Response[str]:
    if fetched_ahead(app.current_event):
        return declined_ahead(TokenKind.RETURN)
    try:
        page, headers = service().return_page(token)
    except TokenRefused as refused:
        what_next = {
            # The gateway never sees the cart arrive (the browser posts it to the buyer): a page reloaded before
            # it posted, or left for another, spent the link all the same.
            TokenProblem.USED: "The cart was already returned to your procurement system; open it there. If it did "
            "not arrive there, start PunchOut again from your procurement system.",
        }.get(refused.problem, "Go back to the shop and return the cart again.")
        return link_page(TokenKind.RETURN, refused.problem, what_next)
    except ReturnRefused as ended:
        return refused_link(
            TokenKind.RETURN,
            410,
            "This PunchOut session has ended",
            "Start PunchOut again from your procurement system.",
            reason="session ended",
            session_id=ended.session_id,
        )
    metrics.add_metric(name="CartsReturned", unit=MetricUnit.Count, value=1)
    return Response(
        status_code=200, content_type="text/html; charset=utf-8", body=page, headers={**SECURITY_HEADERS, **headers}
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
