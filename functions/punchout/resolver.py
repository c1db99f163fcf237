"""The Powertools resolver every function uses, with the answers they share.

- an unknown route: 404 JSON (without it, the catch-all would turn it into a 500);
- a refusal of the shop API (``ShopError``): its JSON error;
- anything unexpected: logged with its trace, then a JSON 500 on shop routes, a cXML 500 on cXML
  routes (the pipeline answers every outcome of a document as cXML itself; what fails before it, such
  as settings that cannot be read, comes here) or a plain HTML page on the browser's routes, never a
  stack trace.
- a one-time link that cannot be used: the plain "already used" / "expired" / "not valid" page.

Each refusal leaves one INFO line (status, a short reason): never a request body, never a token.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from .http import cxml_error, html_page, json_error
from .observability import logger
from .settings import payload_id_domain
from .shop_api import InvalidBody, ShopError, shop_error_response
from .store.sessions import TokenKind, TokenProblem

# Enough locations to see what the shop sent wrong, without a long list of every line's fields.
_LOGGED_LOCATIONS = 10

_LINK_TITLES = {
    TokenProblem.USED: (410, "This link was already used"),
    TokenProblem.EXPIRED: (410, "This link has expired"),
    TokenProblem.UNKNOWN: (404, "This link is not valid"),
}


def link_page(link: TokenKind, problem: TokenProblem, what_next: str) -> Response[str]:
    status, title = _LINK_TITLES[problem]
    return refused_link(link, status, title, what_next, reason=f"link {problem.value}")


def refused_link(
    link: TokenKind, status: int, title: str, what_next: str, *, reason: str, session_id: str | None = None
) -> Response[str]:
    """The page for a start or return link that leads nowhere, and its log line. The token is not
    logged, not even in part: until it is used, it opens the session."""
    logger.info(
        "Link refused", extra={"status": status, "reason": reason, "link": link.value.lower(), "session_id": session_id}
    )
    return html_page(status, title, what_next)


def declined_ahead(link: TokenKind) -> Response[str]:
    """The answer to a one-time link fetched ahead of the user (``http.fetched_ahead``): the link is left
    unspent, for the user's own navigation. Not a 2xx, so that browsers drop the prefetch or prerender
    (Chromium does for any other status) and fetch the link again when the user opens it; a 4xx, not the
    503 often used for this, which would raise BuyerApi's 5xx alarm at every prefetch."""
    logger.info("Link not opened for a prefetch", extra={"status": 403, "link": link.value.lower()})
    return html_page(403, "This link opens when you follow it", "Open it again to continue.")


def gateway_app(*, error_page: str) -> APIGatewayRestResolver:
    """A resolver with the shared error answers; ``error_page`` tells the browser what to do next."""
    app = APIGatewayRestResolver()

    @app.not_found
    def not_found(error: NotFoundError) -> Response[str]:
        # Not the path: a mistyped link's path holds its token.
        logger.info("No such route", extra={"status": 404, "method": app.current_event.http_method})
        return json_error(404, "No such route")

    @app.exception_handler(ShopError)  # type: ignore[untyped-decorator]
    def shop_error(error: ShopError) -> Response[str]:
        # api_key_id is on the line already when the key was valid (shop_api.authorise appends it).
        details = {"status": error.status_code, "reason": error.message}
        if isinstance(error, InvalidBody):
            details["locations"] = [e["location"] for e in error.errors[:_LOGGED_LOCATIONS]]
            details["error_types"] = error.types[:_LOGGED_LOCATIONS]
        logger.info("Shop API request refused", extra=details)
        return shop_error_response(error)

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def unexpected(error: Exception) -> Response[str]:
        # A procurement system reads only cXML: logged, counted (CxmlServerErrors) and answered as the
        # pipeline answers its own failures. The resource is the template's path, whatever the URL's prefix.
        if app.current_event.resource.startswith("/cxml/"):
            return cxml_error(error, payload_id_domain())
        # With the status and reason the caller got, as a cXML 500's line has them (the runbook's ERROR query).
        shop = app.current_event.path.startswith("/shop/")
        reason = "Internal error; retry later" if shop else "Something went wrong"
        logger.exception("Unexpected failure", extra={"status": 500, "reason": reason})
        return json_error(500, reason) if shop else html_page(500, reason, error_page)

    return app
