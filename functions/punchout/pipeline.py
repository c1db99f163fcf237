"""The pipeline every cXML route shares: parse (hardened) → authenticate → read → dispatch → answer.

Each function registers the request types it serves; anything else at that URL is a 450 that
names where to send it. Every outcome, errors included, leaves as a cXML document.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from lxml import etree

from .auth import Authenticated, AuthenticationFailed, PartnerDisabled, authenticate
from .cxml import ParseLimits, StatusCode, new_envelope, parse_xml, read_request, read_request_head, render
from .cxml.errors import Forbidden, MalformedXML, NotImplementedRequest
from .cxml.models import (
    Credential,
    Header,
    ProfileResponse,
    PunchOutSetupResponse,
    RequestDocument,
    ResponseDocument,
    Status,
)
from .http import cxml_error, cxml_response, decoded_body, header, request_bytes
from .mime import MimePart, is_multipart, media_charset, split_related
from .observability import logger
from .settings import GatewaySettings
from .store.dynamo import Table
from .store.partners import PartnerRepository

Answer = ProfileResponse | PunchOutSetupResponse | None


@dataclass(frozen=True)
class Delivery:
    """What arrived besides the model: the parsed tree and attachments.

    The tree is the handler's to use last: the order function redacts it in place and stores it.
    """

    root: etree._Element
    attachments: list[MimePart] = field(default_factory=list)


Handler = Callable[[RequestDocument, Authenticated, Delivery], Answer]


@lru_cache(maxsize=4)
def _limits(max_bytes: int) -> ParseLimits:
    return ParseLimits(max_bytes=max_bytes)


def handle_cxml(
    event: APIGatewayProxyEvent,
    settings: GatewaySettings,
    partners: PartnerRepository,
    handlers: dict[str, Handler],
) -> Response[str]:
    try:
        if _from_browser(event):
            raise Forbidden(
                "cXML requests are accepted from the buyer's servers only; this one came from a web browser"
            )
        body, attachments = request_bytes(event), list[MimePart]()
        body = decoded_body(body, header(event, "Content-Encoding"), settings.cxml_max_bytes)
        content_type = header(event, "Content-Type")
        charset = media_charset(content_type)
        if is_multipart(content_type):
            if "OrderRequest" not in handlers:  # attachments come with orders only
                raise MalformedXML("A multipart body is accepted at the order URL only")
            body, charset, attachments = split_related(content_type or "", body)
        # A body API Gateway passed as text was re-encoded as UTF-8 on the way: its charset no longer applies.
        root = parse_xml(body, _limits(settings.cxml_max_bytes), charset if event.is_base64_encoded else None)
        # Only what authentication needs is read before the buyer is known: a stranger's large document
        # costs a parse, not its reading into models.
        head = read_request_head(root)
        logger.append_keys(
            payload_id=head.envelope.payload_id[:_LOGGED_PAYLOAD_ID_CHARS],
            request=head.kind,
            deployment_mode=head.deployment_mode,
            **_presented_identities(head.header),
        )
        handler = handlers.get(head.kind)
        if handler is None:
            raise NotImplementedRequest(f"{head.kind} is not accepted at this URL; the ProfileResponse lists where")
        try:
            auth = authenticate(head.header, head.deployment_mode, partners, event.request_context.identity.source_ip)
        except (AuthenticationFailed, PartnerDisabled) as refused:
            logger.append_keys(partner_id=refused.partner_id, auth_failure=refused.cause)
            raise
        logger.append_keys(partner_id=auth.partner.id, secret_in_use=auth.secret)
        document = read_request(root, head)
        answer = handler(document, auth, Delivery(root=root, attachments=attachments))
        # One line per answered request, as refusals have theirs: who, what, and which secret (rotations).
        logger.info("cXML request answered", extra={"status": 200})
        return cxml_response(
            render(
                ResponseDocument(
                    envelope=new_envelope(settings.payload_id_domain),
                    status=Status(code=200, text="OK", lang="en-US"),
                    response=answer,
                ),
                auth.partner.cxml_version,
            ),
            StatusCode.OK,
        )
    except Exception as error:  # every outcome must be a cXML document
        return cxml_error(error, settings.payload_id_domain)


# Headers only browsers send with a request a page makes (fetch, XMLHttpRequest, a form): Fetch Metadata
# (Chromium 76, Firefox 90, Safari 16.4) and, before it, Origin on every cross-origin POST. A form or a
# no-cors fetch carries any body without preflight, so without this a page open in a browser inside a
# partner's source network could post cXML as that partner when the network is its only proof.
# Sec-Fetch-Mode alone is no sign: browsers send it with Sec-Fetch-Site, and Node.js's own fetch sends it
# (``cors``) with every request, without its caller being able to remove it.
_BROWSER_HEADERS = ("sec-fetch-site", "sec-fetch-dest", "origin")


def _from_browser(event: APIGatewayProxyEvent) -> bool:
    return any(name.lower() in _BROWSER_HEADERS for name in event.headers or {})


# Whole for every payloadID an order may carry (orders.MAX_ID_BYTES), so the runbook's query finds it.
_LOGGED_PAYLOAD_ID_CHARS = 512

# Enough to recognise a buyer (senders rarely present more than one credential of each kind), not
# enough for a document repeating credentials to fill the log line.
_LOGGED_CREDENTIALS = 3
_LOGGED_CREDENTIAL_CHARS = 200


def _identities(credentials: list[Credential]) -> str:
    shown = [f"{c.domain}:{c.identity}"[:_LOGGED_CREDENTIAL_CHARS] for c in credentials[:_LOGGED_CREDENTIALS]]
    return ", ".join(shown) + (", ..." if len(credentials) > _LOGGED_CREDENTIALS else "")


def _presented_identities(header: Header | None) -> dict[str, str]:
    """The From and Sender identities a request presents (public identifiers, never the secret), so
    that a refused buyer can be traced before any partner is known."""
    if header is None:
        return {}
    presented = {"from_credentials": header.from_credentials, "sender_credentials": header.sender_credentials}
    return {key: _identities(credentials) for key, credentials in presented.items() if credentials}


def partner_repository(settings: GatewaySettings) -> PartnerRepository:
    return PartnerRepository(Table(settings.table_name))
