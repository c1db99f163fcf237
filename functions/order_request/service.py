"""Use case of the order function: receive an ``OrderRequest`` exactly once and hand it to the shop.

The buyer gets ``Status 200`` only once the order is durably stored and its message is in the
queue; anything that fails before that is a retryable 5xx. Buyers retry (Coupa: five times, an hour
apart), so every step is idempotent:

1. the record ``partner + orderID + type + version`` is created once, with a condition; the same key
   again with the same content is the same order (200, no second message), with other content a 409;
2. a short lease lets exactly one of several concurrent deliveries send the message; the others
   wait for it to be queued before they answer;
3. the message's deduplication id is the key's hash, so a resend after a failure between sending
   and recording it is dropped by the FIFO queue (within SQS's five-minute window; beyond it the
   shop can still deduplicate on ``message_id``).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from contextlib import suppress
from datetime import UTC, datetime

from punchout.auth import Authenticated
from punchout.cxml.errors import Conflict, InvalidDocument, ReferenceUnknown, TemporaryFailure
from punchout.cxml.models import DeploymentMode, OrderRequest, RequestDocument
from punchout.cxml.redact import redacted_raw
from punchout.http import MAX_RESPONSE_BYTES, carried_size
from punchout.mime import MimePart
from punchout.observability import logger
from punchout.orders import (
    Attachment,
    AttachmentContent,
    OrderKey,
    OrderMessage,
    PartnerRef,
    SessionRef,
    UnitsSent,
    as_published,
    compact_json,
    content_hash,
    kept_attachments,
    order_line,
    reconcile,
    referenced_carts,
)
from punchout.partners import TradingPartner
from punchout.pipeline import Delivery
from punchout.sessions import MAX_CART_LINES_READ, MAX_CARTS_READ, Cart
from punchout.settings import OrderSettings
from punchout.store.dynamo import ChunksMissing, ConditionFailed
from punchout.store.orders import MAX_RESENT_PAYLOAD_IDS, OrderRecord, OrderRepository, StoredAttachment
from punchout.store.queue import (
    CLAIM_CHECK_CUTS,
    MAX_MESSAGE_BYTES,
    WITHOUT_LINES,
    OrderQueue,
    fitted,
    group_id,
    queue_body,
    sqs_json,
)
from punchout.store.sessions import SessionRepository

_MARK_QUEUED_ATTEMPTS = 3
# The smallest claim check: without the lines and every cut.
_FULLY_CUT: dict[str, object] = {
    key: value for fields in (WITHOUT_LINES, *CLAIM_CHECK_CUTS) for key, value in fields.items()
}


# A page of lines leaves room for the rest of the answer (ids, reconciliation header, headers).
_PAGE_BYTES = MAX_RESPONSE_BYTES - 200_000


def shop_body(full: bytes) -> str:
    """``GET /shop/orders/{id}``: the whole order when Lambda can answer it, else without its lines
    (the shop reads them page by page). Intake refused orders whose header alone would not fit."""
    return fitted(full, _answerable)


def _answerable(body: str) -> bool:
    return carried_size(body) <= MAX_RESPONSE_BYTES


def _entry_size(lines: list[object], reconciled: list[object], index: int) -> int:
    """What the order line and the reconciliation line at ``index`` take in an answer."""
    return sum(carried_size(compact_json(part[index])) for part in (lines, reconciled) if index < len(part))


def check_readable(full: bytes) -> None:
    """Refuse (400) an order the shop could not read: its header alone, or one line, larger than
    one answer of the shop API. Better the buyer hears it now than an order nobody can read."""
    if _answerable(full.decode("utf-8")):
        return
    message = json.loads(full)
    lines, reconciled = message["lines"], message["reconciliation"]["lines"]
    message.update(WITHOUT_LINES)
    if not _answerable(compact_json(message)):
        raise InvalidDocument(
            "The order's header (comments, extrinsics, contacts, addresses) is too large for the supplier's"
            " systems: send long texts as attachments"
        )
    for index in range(max(len(lines), len(reconciled))):
        if _entry_size(lines, reconciled, index) > _PAGE_BYTES:
            which = f" {lines[index]['line_number']}" if index < len(lines) else ""
            raise InvalidDocument(
                f"Order line{which} is too large for the supplier's systems: send long texts as attachments"
            )


def check_queueable(message: OrderMessage) -> None:
    """Refuse (400) an order whose claim check, without everything a claim check can leave out, is
    still too large for the queue: the header's own attributes (a DocumentReference, requisitionID,
    date or card number of hundreds of kilobytes) travel in every message. Accepted, the order would be
    stored and never queued (SQS refuses the message): a 5xx at every retry of the buyer.

    Measured on the models, without the lines: ``queue_body`` would parse the whole stored message."""
    smallest = message.model_copy(update=_FULLY_CUT)
    if len(sqs_json(smallest.model_dump_json(by_alias=True)).encode("utf-8")) > MAX_MESSAGE_BYTES:
        raise InvalidDocument(
            "The order's header attributes (DocumentReference, requisitionID, dates, card number) are too large"
            " for the supplier's systems"
        )


def page_slices(lines: list[object], reconciled: list[object], budget: int) -> list[slice]:
    """Consecutive slices of both lists, each page's lines within ``budget`` as Lambda carries them."""
    count = max(len(lines), len(reconciled))
    pages: list[slice] = []
    start = used = 0
    for index in range(count):
        size = _entry_size(lines, reconciled, index)
        if index > start and used + size > budget:
            pages.append(slice(start, index))
            start, used = index, 0
        used += size
    pages.append(slice(start, count))
    return pages


def _position(text: str) -> int:
    """A path segment as a non-negative number, or -1."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else -1


class OrderService:
    def __init__(
        self,
        orders: OrderRepository,
        sessions: SessionRepository,
        queue: OrderQueue,
        settings: OrderSettings,
    ) -> None:
        self.orders = orders
        self.sessions = sessions
        self.queue = queue
        self.settings = settings

    def receive(
        self,
        document: RequestDocument,
        auth: Authenticated,
        delivery: Delivery,
    ) -> OrderRecord:
        order = document.request
        assert isinstance(order, OrderRequest)  # noqa: S101 - the pipeline dispatches by type
        key = OrderKey.of(auth.partner.id, order, document.envelope.payload_id, document.deployment_mode)
        logger.append_keys(order_id=key.order_id[:100], order_type=key.type, order_version=key.version[:100])
        digest = content_hash(order)
        record = self.orders.get(key) or self.orders.stored_before(
            key, document.envelope.payload_id, versionless=order.header.order_version is None
        )
        stored_message: bytes | None = None  # the record's message, when this delivery stored it
        if record is None:
            follows = None if key.type == "new" else self._followed(key, order)
            record, stored_message = self._store(document, order, auth, key, digest, delivery, follows)
        if record.content_hash != digest and not self._same_as_stored(record, order, digest):
            raise Conflict(
                f"Order {key.order_id} ({key.type}, version {key.version}) was already received with other content"
            )
        if record.payload_id != document.envelope.payload_id:
            self._remember_resend(record.key, document.envelope.payload_id)
        if record.status != "queued":
            self._dispatch(record, stored_message)
        return record

    def _same_as_stored(self, record: OrderRecord, order: OrderRequest, digest: str) -> bool:
        """Whether the order stored under ``record`` is ``order`` (whose content hash is ``digest``), read again
        from its stored document: an older version hashed orders otherwise (with the fields at their
        default, before 2026-11-27), so a buyer's retry of an order it received matches no stored hash; and
        the hash is of the texts, where a resend may write the same numbers otherwise (``1E+1`` for ``10``,
        ``5`` for ``5.00``), which are compared as values here.

        The stored document has its card number masked, as the order read from it has anyway."""
        from punchout.cxml import parse_xml, read_request, read_request_head

        try:
            root = parse_xml(self.orders.raw(record))
            stored = read_request(root, read_request_head(root)).request
        except Exception:  # unreadable today: not shown to be the same order
            logger.warning("A stored order could not be read again to compare it", exc_info=True)
            return False
        return isinstance(stored, OrderRequest) and (
            content_hash(stored) == digest
            # Python's dump keeps decimals as Decimal, which compare by value (Decimal("10") == Decimal("1E+1")).
            or stored.model_dump(exclude_defaults=True) == order.model_dump(exclude_defaults=True)
        )

    def _followed(self, key: OrderKey, order: OrderRequest) -> str | None:
        """The message id of the version an update or delete follows: the one received under the
        payloadID its DocumentReference names, or resent under it (None without a reference, or for one
        taken as naming a resend an older version did not record).

        An update or delete needs the order it changes, and the document it names (417 otherwise); it
        is queued after the versions received before it, so it waits until they are queued."""
        received = self.orders.received(key)
        if not received.records:
            raise ReferenceUnknown(
                f"Order {key.order_id} was never received: an {key.type} needs the original order first"
            )
        reference = order.header.document_reference
        # An order an older version received may have been resent under payloadIDs it did not record (and
        # it took any reference): a reference to none known is taken as naming such a resend.
        unknown = reference is not None and reference.payload_id not in received.payload_ids
        if reference is not None and unknown and not received.resends_unrecorded:
            raise ReferenceUnknown(
                f"The DocumentReference payloadID {reference.payload_id[:100]!r} is not a document received"
                f" for order {key.order_id}"
            )
        # A version received is not yet queued while its delivery sends it (or after that delivery
        # failed): this one must not overtake it in the order's message group. Send it, or wait for it.
        for earlier in received.records:
            if earlier.status != "queued" and earlier.key != key:
                self._dispatch(earlier)
        return None if reference is None else received.payload_ids.get(reference.payload_id)

    def _remember_resend(self, key: OrderKey, payload_id: str) -> None:
        # A failure to record it is the buyer's retry (5xx): a later version naming this payloadID would
        # otherwise be refused with 417, which buyers do not retry. The retry is idempotent.
        try:
            recorded = self.orders.add_payload_id(key, payload_id)
        except Exception as error:
            # Said on the request's ERROR line, under its traceback: a line of its own would repeat both.
            error.add_note("The resend's payloadID could not be recorded")
            raise
        if not recorded:
            logger.warning(
                "The resend's payloadID was not recorded: the order keeps those of its first resends only",
                extra={"resends_kept": MAX_RESENT_PAYLOAD_IDS},
            )

    # -- the shop's reads --------------------------------------------------------------------------

    def shop_message(self, message_id: str) -> str | None:
        """The order message as the shop reads it: whole, or without its lines if too large to answer."""
        record = self.orders.find(message_id)
        return None if record is None else shop_body(self._stored_message(record))

    def page(self, message_id: str, page: str) -> str | None:
        """Page ``page`` (from 1) of the order's lines and reconciliation lines (``OrderPage``), if any."""
        record = self.orders.find(message_id)
        if record is None:
            return None
        message = json.loads(self._stored_message(record))
        lines, reconciliation = message["lines"], message["reconciliation"]
        pages = page_slices(lines, reconciliation["lines"], _PAGE_BYTES)
        number = _position(page)
        if not 1 <= number <= len(pages):
            return None
        chosen = pages[number - 1]
        return compact_json(
            {
                "message_id": message_id,
                "page": number,
                "pages": len(pages),
                "lines": lines[chosen],
                "reconciliation": {**reconciliation, "lines": reconciliation["lines"][chosen]},
            }
        )

    def attachment(self, message_id: str, index: str) -> AttachmentContent | None:
        """The attachment at ``index`` in the message's ``attachments`` (stored in that order), if any."""
        record = self.orders.find(message_id)
        position = _position(index)
        if record is None or not 0 <= position < len(record.attachments):
            return None
        stored = record.attachments[position]
        return AttachmentContent(
            content_id=stored.content_id,
            content_type=stored.content_type,
            filename=stored.filename,
            size=stored.size,
            content_base64=base64.b64encode(self.orders.attachment(record, position)).decode("ascii"),
        )

    # -- storing -----------------------------------------------------------------------------------

    def _store(
        self,
        document: RequestDocument,
        order: OrderRequest,
        auth: Authenticated,
        key: OrderKey,
        digest: str,
        delivery: Delivery,
        follows: str | None,
    ) -> tuple[OrderRecord, bytes | None]:
        """The order's record, and its message when the record is this delivery's (None: a concurrent
        delivery's record won, whose message is the one it stored)."""
        received_at = datetime.now(UTC)
        # Every item of this version expires together, its receipt plus the retention (None: kept forever);
        # the versions before it keep theirs (orders are never rewritten).
        expires_at = self.settings.order_expiry(received_at)
        attachments = kept_attachments(delivery.attachments)
        # Serialised at once, so that its models (two per line) are gone before the raw document is.
        message = self.message(document, order, auth, key, received_at, attachments, follows)
        check_queueable(message)
        message_json = message.model_dump_json(by_alias=True).encode("utf-8")
        del message
        check_readable(message_json)
        raw = redacted_raw(delivery.root)
        blob_id = uuid.uuid4().hex
        try:
            message_chunks, raw_chunks, stored = self.orders.store_payloads(
                key,
                blob_id,
                message_json,
                raw,
                [
                    (
                        StoredAttachment(
                            content_id=part.content_id,
                            content_type=part.content_type,
                            filename=part.filename,
                            size=len(part.data),
                            chunks=0,
                        ),
                        part.data,
                    )
                    for part in attachments
                ],
                expires_at,
            )
        except Exception:
            # Those written before the failure (or by a write whose answer was lost): no record will name
            # them (the buyer's retry stores its own), and without a retention they never expire.
            with suppress(Exception):
                self.orders.discard_payloads(key, blob_id)
            raise
        record = OrderRecord(
            blob_id=blob_id,
            partner_id=key.partner_id,
            deployment_mode=key.deployment_mode,
            order_id=key.order_id,
            type=key.type,
            version=key.version,
            message_id=key.message_id,
            content_hash=digest,
            payload_id=document.envelope.payload_id,
            received_at=received_at,
            message_chunks=message_chunks,
            raw_chunks=raw_chunks,
            attachments=stored,
        )
        try:
            self.orders.create(record, expires_at)
        except Exception as error:
            # ConditionFailed: a concurrent delivery of the same key created it first; continue with
            # theirs. Throttled, timed out, or in conflict with a concurrent transaction: the record may
            # exist all the same (ours, with only the answer lost, or theirs). Payloads no record names
            # must not stay behind: they hold the buyer's raw document, for the retention or forever.
            with suppress(Exception):
                existing = self.orders.get(key)
                if existing is not None and existing.blob_id == blob_id:
                    return existing, message_json
                self.orders.discard_payloads(key, blob_id)
                if existing is not None:
                    return existing, None
            if isinstance(error, ConditionFailed):
                raise TemporaryFailure("The order could not be stored; please retry") from None
            raise
        return record, message_json

    def message(
        self,
        document: RequestDocument,
        order: OrderRequest,
        auth: Authenticated,
        key: OrderKey,
        received_at: datetime,
        attachments: list[MimePart],
        follows: str | None,
    ) -> OrderMessage:
        header = order.header
        partner = auth.partner
        carts, sessions, unread, units = self._carts(order, partner, document.deployment_mode)
        lines = [order_line(position, item) for position, item in enumerate(order.items, 1)]
        card = header.payment.pcard if header.payment else None
        return OrderMessage(
            message_id=key.message_id,
            complete=True,
            partner=PartnerRef(id=partner.id, name=partner.name),
            deployment_mode=document.deployment_mode,
            payload_id=document.envelope.payload_id,
            order_id=header.order_id,
            order_version=header.order_version,
            type=header.type,
            order_date=header.order_date.text,
            order_date_parsed=header.order_date.value,
            requisition_id=header.requisition_id,
            ship_complete=header.ship_complete,
            requested_delivery_date=header.requested_delivery_date.text if header.requested_delivery_date else None,
            received_at=received_at,
            document_reference=header.document_reference.payload_id if header.document_reference else None,
            follows_message_id=follows,
            currency=header.total.currency,
            total=header.total,
            shipping=header.shipping,
            tax=header.tax,
            ship_to=header.ship_to.address if header.ship_to else None,
            bill_to=header.bill_to.address if header.bill_to else None,
            contacts=header.contacts,
            comments=header.comments,
            extrinsics=header.extrinsics,
            payment_card=card.number if card else None,
            attachments=[Attachment.of(part) for part in attachments],
            sessions=sessions,
            line_count=len(lines),
            lines=lines,
            reconciliation=reconcile(lines, carts, unread, units),
        )

    def _carts(
        self, order: OrderRequest, partner: TradingPartner, mode: DeploymentMode
    ) -> tuple[dict[str, Cart], list[SessionRef], frozenset[str], dict[str, UnitsSent]]:
        """The partner's transferred carts the order's lines name (its carts in the order's deployment mode:
        ``CartState.belongs_to``), their sessions, the carts not compared, and how each cart's units were sent
        (``CartState.units_sent``; older carts: the partner's mapping now).

        Each cart is one or more table reads before the buyer is answered, and is read into models: carts
        past MAX_CARTS_READ are not read; the cart whose lines go past MAX_CART_LINES_READ in all
        is read but not compared, and those after it are not read; nor is a damaged cart compared. The order
        still goes on: those carts' lines are unmatched. Another partner's carts, and the other mode's, count
        as carts nobody has: their headers are read, never their lines.
        """
        carts: dict[str, Cart] = {}
        units: dict[str, UnitsSent] = {}
        sessions: list[SessionRef] = []
        refs = referenced_carts(order)
        unread = set(refs[MAX_CARTS_READ:])
        cart_lines = 0
        for ref in refs[:MAX_CARTS_READ]:
            if cart_lines > MAX_CART_LINES_READ:  # the budget is spent: read no more
                unread.add(ref)
                continue
            try:
                current = self.sessions.current_cart(ref, (partner.id, mode))  # never another's, nor other mode's
            except ChunksMissing:
                logger.error("Cart lines missing; reconciled as unmatched", extra={"cart_ref": ref})
                unread.add(ref)
                continue
            cart_lines += len(current[1].lines) if current is not None else 0
            if cart_lines > MAX_CART_LINES_READ:
                unread.add(ref)
            elif current is not None:
                state, carts[ref] = current
                sent = state.units_sent
                units[ref] = UnitsSent(sent) if sent is not None else UnitsSent(partner.unit_of_measure_map, False)
                sessions.append(SessionRef(id=state.session_id, cart_ref=ref, user=state.user))
        if unread:
            logger.warning(
                "Carts not reconciled: their lines are unmatched",
                extra={"carts_named": len(refs), "carts_unread": len(unread), "cart_lines_read": cart_lines},
            )
        return carts, sessions, frozenset(unread), units

    # -- delivery to the shop ----------------------------------------------------------------------

    def _mark_queued(self, record: OrderRecord) -> None:
        """Record that the message is on the queue, without ever failing the answer.

        The order is stored and queued, which is all a 200 promises. A 5xx here would make the buyer
        send it again, maybe an hour later, past SQS's five-minute deduplication: a second message.
        """
        failure: Exception | None = None
        for attempt in range(_MARK_QUEUED_ATTEMPTS):
            try:
                self.orders.mark_queued(record.key)
                return
            except Exception as error:
                failure = error
                if attempt + 1 < _MARK_QUEUED_ATTEMPTS:
                    time.sleep(0.1 * (attempt + 1))
        logger.error(
            "Order queued but not recorded as queued: a later delivery of it may queue it again",
            extra={"message_id": record.message_id},
            exc_info=failure,
        )

    def _stored_message(self, record: OrderRecord) -> bytes:
        """The record's stored message, as the published schema describes it now (``as_published``)."""
        return as_published(self.orders.message(record))

    def _dispatch(self, record: OrderRecord, message: bytes | None = None) -> None:
        """Send the record's message once. ``message``: the record's stored message, when the caller has
        it (it just stored it); otherwise it is read back from the table (a query and a decompression)."""
        deadline = time.monotonic() + self.settings.dispatch_wait_seconds
        while True:
            lease = self.orders.acquire_lease(record.key, self.settings.dispatch_lease_seconds)
            if lease is not None:
                try:
                    self.queue.send(
                        queue_body(message if message is not None else self._stored_message(record)),
                        group=group_id(record.key.owner, record.order_id),
                        deduplication_id=record.message_id,
                    )
                except Exception:
                    self.orders.release_lease(record.key, lease)
                    raise
                self._mark_queued(record)
                return
            current = self.orders.get(record.key)
            if current is not None and current.status == "queued":
                return
            if time.monotonic() >= deadline:
                raise TemporaryFailure("The order is being processed by another delivery; please retry")
            time.sleep(0.2)
