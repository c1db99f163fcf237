"""Lambda entry point for ``POST /cxml/order`` (OrderRequest) and the shop's ``GET /shop/orders/...``.

Thin: the cXML pipeline parses and authenticates, ``OrderService`` stores and queues; the shop routes
serve the full order message (the claim check of orders too large for the queue), its pages of lines
and its attachments.
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
    from punchout.cxml.models import ProfileResponse, RequestDocument
    from punchout.http import base_url
    from punchout.observability import logger, metrics, tracer
    from punchout.pipeline import Delivery, handle_cxml, partner_repository
    from punchout.profile import profile_response
    from punchout.resolver import gateway_app
    from punchout.settings import order_settings
    from punchout.shop_api import NotFound, authorise
    from punchout.store.api_keys import ApiKeyRepository
    from punchout.store.dynamo import Table
    from punchout.store.orders import OrderRepository
    from punchout.store.queue import OrderQueue
    from punchout.store.sessions import SessionRepository

    from .service import OrderService

app = gateway_app(error_page="Please retry later.")


@lru_cache(maxsize=1)
def service() -> OrderService:
    settings = order_settings()
    table = Table(settings.table_name)
    return OrderService(
        OrderRepository(table), SessionRepository(table), OrderQueue(settings.order_queue_url), settings
    )


@lru_cache(maxsize=1)
def api_keys() -> ApiKeyRepository:
    return ApiKeyRepository(Table(order_settings().table_name))


def _order(document: RequestDocument, auth: Authenticated, delivery: Delivery) -> None:
    record = service().receive(document, auth, delivery)
    metrics.add_metric(name="OrdersAccepted", unit=MetricUnit.Count, value=1)
    # On the request's one line, "cXML request answered": a line of its own would double the log of orders.
    logger.append_keys(message_id=record.message_id)


def _profile(document: RequestDocument, auth: Authenticated, delivery: Delivery) -> ProfileResponse:
    return profile_response(base_url(app.current_event, order_settings()))


@app.post("/cxml/order")
def cxml_order() -> Response[str]:
    settings = order_settings()
    return handle_cxml(
        app.current_event, settings, partner_repository(settings), {"OrderRequest": _order, "ProfileRequest": _profile}
    )


def _found(body: str | None, missing: str) -> Response[str]:
    if body is None:
        raise NotFound(missing)
    return Response(status_code=200, content_type="application/json", body=body)


@app.get("/shop/orders/<message_id>")
def get_order(message_id: str) -> Response[str]:
    authorise(app.current_event, api_keys())
    return _found(service().shop_message(message_id), "No order with this message id")


@app.get("/shop/orders/<message_id>/pages/<page>")
def get_order_page(message_id: str, page: str) -> Response[str]:
    authorise(app.current_event, api_keys())
    return _found(service().page(message_id, page), "No order with this message id, or no such page")


@app.get("/shop/orders/<message_id>/attachments/<index>")
def get_order_attachment(message_id: str, index: str) -> Response[str]:
    authorise(app.current_event, api_keys())
    attachment = service().attachment(message_id, index)
    body = attachment.model_dump_json() if attachment is not None else None
    return _found(body, "No attachment at this index in this order")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
