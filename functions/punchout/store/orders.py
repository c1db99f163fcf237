"""Received orders: one record per partner + order + type + version, with its payloads.

Items (kept forever unless the operator sets a retention, ``ORDER_RETENTION_DAYS``: then every item an order
version writes carries the same ``expires_at``, its receipt plus the retention, and DynamoDB's TTL removes them;
from that moment on every read here treats them as gone, whether TTL has deleted them yet or not):
- ``ORDER#<partner>#<orderID>/VERSION#<type>#<version>``: the record (``<partner>:test`` for orders
  sent in test mode: a buyer's test system may reuse the order numbers of production) (content hash, status
  ``received`` → ``queued``, a short dispatch lease, the payloadIDs of its first resends), created once with a
  condition, which is what makes a delivery idempotent;
- ``ORDER#<partner>#<orderID>/BLOB#<attempt>#<kind>#<chunk>``: the message for the shop, the raw
  document (secrets redacted) and attachments, compressed and chunked (5,000-line orders);
- ``ORDERMSG#<message id>/ORDERMSG``: finds the record from the message id (``GET /shop/orders/{id}``).

Records written by versions before 2026-11-27 are kept as they were (orders are never rewritten): an order
sent in test mode under the partner's production key, and a versionless order under
``VERSION#<type>#payload:<payloadID>``, whatever its type. ``stored_before`` and ``received`` find them.

No index finds records by time: the operator's ``punchout orders list`` scans the table (``listing``).

Payloads no record names (``unnamed_payloads``): a delivery that stopped between writing its payloads and
its record (the function's timeout, the runtime dying); one whose write failed deletes its own. They expire
with the order's retention, if any: ``punchout orders orphans`` finds and deletes them.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from itertools import chain
from typing import Literal

from ..cxml.models import DeploymentMode, empty_list
from ..model import GatewayModel
from ..orders import OrderKey, could_be_message_id, order_owner
from .dynamo import ConditionFailed, Item, Table, key, n, now, s

OrderStatus = Literal["received", "queued"]

# The resends' payloadIDs one record keeps, far more than any buyer resends an order by hand. Its
# 400 KB item holds the record (at most ~305 KB: attachment names within MAX_ATTACHMENTS_BYTES, ids
# within MAX_ID_BYTES), these (at most 100 x 512 bytes) and the dispatch lease; unbounded, a buyer
# resending an order some hundreds of times filled it, and every write to it failed from then on.
MAX_RESENT_PAYLOAD_IDS = 100


class StoredAttachment(GatewayModel):
    content_id: str
    content_type: str
    filename: str | None = None
    size: int
    chunks: int


class OrderRecord(GatewayModel):
    blob_id: str  # the delivery attempt whose payloads this record points at
    partner_id: str
    deployment_mode: DeploymentMode = "production"
    order_id: str
    type: str
    version: str
    message_id: str
    content_hash: str
    payload_id: str
    received_at: datetime
    message_chunks: int
    raw_chunks: int
    attachments: list[StoredAttachment] = empty_list()
    status: OrderStatus = "received"

    @property
    def key(self) -> OrderKey:
        return OrderKey(
            partner_id=self.partner_id,
            order_id=self.order_id,
            type=self.type,
            version=self.version,
            deployment_mode=self.deployment_mode,
        )


def _pk(order_key: OrderKey) -> str:
    return f"ORDER#{order_key.owner}#{order_key.order_id}"


def _sk(order_key: OrderKey) -> str:
    return f"VERSION#{order_key.type}#{order_key.version}"


def _blob(blob_id: str, kind: str) -> str:
    return f"BLOB#{blob_id}#{kind}#"


def _expires_at(item: Item) -> int | None:
    expiry = item.get("expires_at", {}).get("N")
    return None if expiry is None else int(expiry)


def _live(item: Item, moment: int | None = None) -> bool:
    """Whether an order's item is still kept: it has no expiry, or has not reached it. TTL deletes an item
    some time after its expiry (typically within days); until then it is gone all the same."""
    expiry = _expires_at(item)
    return expiry is None or expiry > (now() if moment is None else moment)


# What the operator's listing reads of a record (placeholder -> attribute): never its payloads, which are
# other items, nor the payloadIDs of its resends.
_LISTED = {
    "#pk": "pk",
    "#sk": "sk",
    "#data": "data",
    "#status": "status",
    "#queued_at": "queued_at",
    "#lease_until": "lease_until",
    "#expires_at": "expires_at",
}


@dataclass(frozen=True)
class StoredOrder:
    """A record as the operator's CLI shows it: with when it was queued, its dispatch lease, and (read
    whole, ``OrderRepository.stored``) the payloadIDs of the buyer's resends."""

    record: OrderRecord
    # The mode the order was sent in: the record's, but "test" for a test-mode order an older version
    # stored under the partner's production key (its record says production: ``stored_before``).
    deployment_mode: DeploymentMode
    queued_at: datetime | None = None
    lease_until: int | None = None  # epoch seconds: a delivery may send the message until then
    resent_as: tuple[str, ...] = ()
    expires_at: int | None = None  # epoch seconds: the order's retention ends then (None: kept forever)

    def dispatching(self, moment: int) -> bool:
        """Whether a delivery holds the dispatch lease at ``moment`` (the gateway is sending the message):
        ``acquire_lease`` would hand it to no other."""
        return self.record.status == "received" and self.lease_until is not None and self.lease_until >= moment


@dataclass(frozen=True)
class ReceivedVersions:
    records: list[OrderRecord]  # first received first
    payload_ids: dict[str, str]  # payloadID -> message id of the version received or resent under it
    # Some version was received by a version of the gateway that recorded no resend's payloadID (before
    # 2026-11-27, when records did not name their deployment mode yet): payload_ids may lack some.
    resends_unrecorded: bool = False


def _written_before_modes(item: Item) -> bool:
    """Whether an order record was written before records named their deployment mode (2026-11-27):
    by a version that kept test-mode orders under the production key and recorded no resends."""
    return "deployment_mode" not in json.loads(item["data"]["S"])


@dataclass(frozen=True)
class UnnamedPayloads:
    """The payload chunks of one delivery attempt that no record of its order names."""

    partition: str  # ORDER#<partner>#<orderID>
    attempt: str  # the blob id
    items: int


class OrderRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, order_key: OrderKey) -> OrderRecord | None:
        item = self.table.get(_pk(order_key), _sk(order_key))
        return None if item is None or not _live(item) else self._record(item)

    @staticmethod
    def _record(item: Item) -> OrderRecord:
        record = OrderRecord.model_validate_json(item["data"]["S"])
        return record.model_copy(update={"status": item["status"]["S"]})

    def stored_before(self, order_key: OrderKey, payload_id: str, *, versionless: bool) -> OrderRecord | None:
        """The record an older version stored for the order ``order_key`` names, where that version
        keyed it (None: none did). Under its own key, the order is ``get``'s.

        Before the deployment mode was part of the key, a test-mode order was stored under the partner's
        production key; before a versionless order was keyed by its version, it was keyed by the payloadID
        it came under (``payload:<payloadID>``), whatever its type (``versionless``: the order has no
        orderVersion). A buyer's retry is the very document it sent, so that payloadID is this delivery's.
        A versioned production order costs no read: it was keyed then as now."""
        owners = [order_key]
        if order_key.deployment_mode == "test":
            owners.append(replace(order_key, deployment_mode="production"))
        legacy_version = f"payload:{payload_id}"
        candidates = owners[1:]
        if versionless and order_key.version != legacy_version:
            candidates += [replace(key, version=legacy_version) for key in owners]
        for candidate in candidates:
            item = self.table.get(_pk(candidate), _sk(candidate))
            if item is None or not _live(item):
                continue
            if candidate.deployment_mode != order_key.deployment_mode and not self._test_order_stored_as_production(
                item
            ):
                continue  # the partner's production order of that number
            return self._record(item)
        return None

    def _test_order_stored_as_production(self, item: Item) -> bool:
        """Whether a record under a production key is a test-mode order an older version stored there:
        written before records named their deployment mode, its message to the shop did."""
        if not _written_before_modes(item):
            return False  # written since: a production order
        record = self._record(item)
        return bool(json.loads(self.message(record)).get("deployment_mode") == "test")

    def received(self, order_key: OrderKey) -> ReceivedVersions:
        """Every version of the key's order received so far (none: never received), with the payloadIDs
        they were received under, each mapped to the message id of its version.

        Updates and deletes need the order, and their DocumentReference names one of these: a resend's
        payloadID stands for the version it resent, which made no message of its own."""
        moment = now()
        items = [item for item in self.table.query(_pk(order_key), "VERSION#") if _live(item, moment)]
        if order_key.deployment_mode == "test":  # and those an older version stored under production's key
            production = replace(order_key, deployment_mode="production")
            items += [
                item
                for item in self.table.query(_pk(production), "VERSION#")
                if _live(item, moment) and self._test_order_stored_as_production(item)
            ]
        versions = [(self._record(item), item.get("resent_as", {}).get("SS", [])) for item in items]
        versions.sort(key=lambda version: version[0].received_at)
        # cXML makes payloadIDs unique; should a buyer reuse one, the document first received under it
        # wins, before any resend.
        payload_ids: dict[str, str] = {}
        for record, _ in versions:
            payload_ids.setdefault(record.payload_id, record.message_id)
        for record, resends in versions:
            for payload_id in sorted(resends):
                payload_ids.setdefault(payload_id, record.message_id)
        return ReceivedVersions(
            records=[record for record, _ in versions],
            payload_ids=payload_ids,
            resends_unrecorded=any(_written_before_modes(item) for item in items),
        )

    def add_payload_id(self, order_key: OrderKey, payload_id: str) -> bool:
        """Remember a resend's payloadID: the buyer's next version may refer to it rather than the first.

        False once the record holds ``MAX_RESENT_PAYLOAD_IDS`` others: this one is not remembered; nor when
        the record is gone (TTL deleted it at the order's expiry: an update would create a stub of it)."""
        try:
            self.table.update(
                _pk(order_key),
                _sk(order_key),
                "ADD resent_as :ids",
                condition="attribute_exists(pk) AND (attribute_not_exists(resent_as) OR size(resent_as) < :most"
                " OR contains(resent_as, :id))",
                values={":ids": {"SS": [payload_id]}, ":id": s(payload_id), ":most": n(MAX_RESENT_PAYLOAD_IDS)},
            )
        except ConditionFailed:
            return False
        return True

    def store_payloads(
        self,
        order_key: OrderKey,
        blob_id: str,
        message: bytes,
        raw: bytes,
        attachments: list[tuple[StoredAttachment, bytes]],
        expires_at: int | None = None,
    ) -> tuple[int, int, list[StoredAttachment]]:
        """Write the payloads before the record, so a record always has them; ``expires_at``: the order's
        (None: kept forever), the record's too, so that they go together.

        Each delivery attempt writes under its own ``blob_id``: concurrent duplicates never overwrite
        the payloads of the attempt whose record won."""
        pk = _pk(order_key)
        message_chunks = self.table.put_chunks(pk, _blob(blob_id, "MESSAGE"), message, expires_at)
        raw_chunks = self.table.put_chunks(pk, _blob(blob_id, "RAW"), raw, expires_at)
        stored = [
            attachment.model_copy(
                update={
                    "chunks": self.table.put_chunks(pk, _blob(blob_id, f"ATTACHMENT#{index:03d}"), data, expires_at)
                }
            )
            for index, (attachment, data) in enumerate(attachments)
        ]
        return message_chunks, raw_chunks, stored

    def create(self, record: OrderRecord, expires_at: int | None = None) -> None:
        """Create the record and its lookup, with the payloads' ``expires_at`` (None: kept forever);
        ConditionFailed if this order version was already received and is still kept.

        A record past its expiry that TTL has not deleted yet is replaced: the order is gone, and this is
        the buyer's document received again (its lookup is replaced with it: the same message id)."""
        pk = _pk(record.key)
        expiry: Item = {} if expires_at is None else {"expires_at": n(expires_at)}
        item: Item = {
            **key(pk, _sk(record.key)),
            "data": s(record.model_dump_json()),
            "status": s(record.status),
            "content_hash": s(record.content_hash),
            **expiry,
        }
        self.table.transact(
            [
                {
                    "Put": {
                        "TableName": self.table.name,
                        "Item": item,
                        "ConditionExpression": "attribute_not_exists(pk) OR expires_at <= :now",
                        "ExpressionAttributeValues": {":now": n(now())},
                    }
                },
                {
                    "Put": {
                        "TableName": self.table.name,
                        "Item": {
                            **key(f"ORDERMSG#{record.message_id}", "ORDERMSG"),
                            "pk_order": s(pk),
                            "sk_order": s(_sk(record.key)),
                            **expiry,
                        },
                    }
                },
            ]
        )

    def acquire_lease(self, order_key: OrderKey, seconds: int) -> str | None:
        """A short exclusive right to send the message, so concurrent deliveries send it once.

        Returns the lease id, or None while another delivery holds it (or the order is queued). A write
        repeated by botocore after its answer was lost fails its condition on the lease it took: that
        lease, found under its own id, is this delivery's."""
        lease = uuid.uuid4().hex
        moment = now()
        try:
            self.table.update(
                _pk(order_key),
                _sk(order_key),
                "SET lease_id = :lease, lease_until = :until",
                condition="#status = :received AND (attribute_not_exists(lease_until) OR lease_until < :now)",
                values={
                    ":lease": s(lease),
                    ":until": n(moment + seconds),
                    ":received": s("received"),
                    ":now": n(moment),
                },
                names={"#status": "status"},
            )
        except ConditionFailed:
            item = self.table.get(_pk(order_key), _sk(order_key))
            return lease if item is not None and item.get("lease_id", {}).get("S") == lease else None
        return lease

    def release_lease(self, order_key: OrderKey, lease: str) -> None:
        """Give the lease back after a failure, so the buyer's retry need not wait for it to expire."""
        with suppress(ConditionFailed):  # someone else holds it now: nothing to give back
            self.table.update(
                _pk(order_key),
                _sk(order_key),
                "REMOVE lease_id, lease_until",
                condition="lease_id = :lease",
                values={":lease": s(lease)},
            )

    def mark_queued(self, order_key: OrderKey) -> None:
        """ConditionFailed when the record is gone (TTL deleted it at the order's expiry): an update would
        create a stub of it."""
        self.table.update(
            _pk(order_key),
            _sk(order_key),
            "SET #status = :queued, queued_at = :now REMOVE lease_id, lease_until",
            condition="attribute_exists(pk)",
            values={":queued": s("queued"), ":now": s(datetime.now(UTC).isoformat())},
            names={"#status": "status"},
        )

    def discard_payloads(self, order_key: OrderKey, blob_id: str) -> None:
        """Delete the payloads of an attempt that lost the race to create the record."""
        self.table.delete_chunks(_pk(order_key), f"BLOB#{blob_id}#")

    def message(self, record: OrderRecord) -> bytes:
        return self.table.get_chunks(_pk(record.key), _blob(record.blob_id, "MESSAGE"), record.message_chunks)

    def raw(self, record: OrderRecord) -> bytes:
        return self.table.get_chunks(_pk(record.key), _blob(record.blob_id, "RAW"), record.raw_chunks)

    def attachment(self, record: OrderRecord, index: int) -> bytes:
        attachment = record.attachments[index]
        return self.table.get_chunks(
            _pk(record.key), _blob(record.blob_id, f"ATTACHMENT#{index:03d}"), attachment.chunks
        )

    def find(self, message_id: str) -> OrderRecord | None:
        item = self._item(message_id)
        return None if item is None else self._record(item)

    def _item(self, message_id: str) -> Item | None:
        if not could_be_message_id(message_id):
            return None
        pointer = self.table.get(f"ORDERMSG#{message_id}", "ORDERMSG")
        if pointer is None or not _live(pointer):
            return None
        item = self.table.get(pointer["pk_order"]["S"], pointer["sk_order"]["S"])
        return None if item is None or not _live(item) else item

    # -- the operator's CLI (``punchout orders``) --------------------------------------------------

    def unnamed_payloads(self, wait_seconds: float) -> list[UnnamedPayloads]:
        """The payloads no record names, of attempts that cannot name them any more.

        A Scan of the whole table (keys only) finds the order partitions holding more attempts' payloads than
        records. A record is only ever created by the delivery that wrote its payloads, within its function's
        timeout: ``wait_seconds`` after the Scan (at least that timeout), each such partition is read again
        (consistent Queries), and the attempts the Scan saw that no record names then never will be.

        Items past their expiry count for nothing, records and payloads alike: TTL deletes them (not all
        at once), and an order received again after its expiry leaves its first attempt's payloads so."""
        # A Scan returns the items of one partition one after the other: counted a partition at a time, only the
        # suspects are kept (a year of orders is some ten million partitions).
        candidates: dict[str, set[str]] = defaultdict(set)
        partition, records, attempts = "", 0, set[str]()
        keys = {"#pk": "pk", "#sk": "sk", "#expires_at": "expires_at"}
        moment = now()
        scanned = self.table.scan("begins_with(#pk, :order)", {":order": s("ORDER#")}, {}, keys)
        items = (item for item in scanned if _live(item, moment))
        for item in chain(items, [None]):  # None: the end, which closes the last partition
            pk = item["pk"]["S"] if item is not None else ""
            if pk != partition:
                if len(attempts) > records:
                    candidates[partition] |= attempts
                partition, records, attempts = pk, 0, set()
            if item is None:
                break
            sk = item["sk"]["S"]
            if sk.startswith("VERSION#"):
                records += 1
            elif sk.startswith("BLOB#"):
                attempts.add(sk.split("#")[1])
        if not candidates:
            return []
        time.sleep(wait_seconds)
        found: list[UnnamedPayloads] = []
        for pk, seen in sorted(candidates.items()):
            moment = now()
            named = {self._record(item).blob_id for item in self.table.query(pk, "VERSION#") if _live(item, moment)}
            chunks: dict[str, int] = defaultdict(int)
            for item in self.table.query(pk, "BLOB#", {"#sk": "sk", "#expires_at": "expires_at"}):
                if _live(item, moment):
                    chunks[item["sk"]["S"].split("#")[1]] += 1
            found += [
                UnnamedPayloads(pk, attempt, chunks[attempt])
                for attempt in sorted(seen - named)
                if chunks[attempt]  # deleted meanwhile (by another run of this command)
            ]
        return found

    def delete_unnamed(self, payloads: UnnamedPayloads) -> None:
        self.table.delete_chunks(payloads.partition, f"BLOB#{payloads.attempt}#")

    def stored(self, message_id: str) -> StoredOrder | None:
        """The record of ``message_id`` with its queue time, lease and resends."""
        item = self._item(message_id)
        return None if item is None else self._stored(item)

    def _stored(self, item: Item) -> StoredOrder:
        """The record of ``item`` as the CLI shows it. An order an older version received costs a read of
        its message: only that tells whether it was a test-mode order stored under production's key."""
        queued_at = item.get("queued_at", {}).get("S")
        lease_until = item.get("lease_until", {}).get("N")
        record = self._record(item)
        return StoredOrder(
            record=record,
            deployment_mode="test" if self._test_order_stored_as_production(item) else record.deployment_mode,
            queued_at=datetime.fromisoformat(queued_at) if queued_at else None,
            lease_until=int(lease_until) if lease_until else None,
            resent_as=tuple(sorted(item.get("resent_as", {}).get("SS", []))),
            expires_at=_expires_at(item),
        )

    def listing(
        self,
        *,
        partner_id: str | None = None,
        deployment_mode: DeploymentMode | None = None,
        order_id: str | None = None,
        status: OrderStatus | None = None,
    ) -> list[StoredOrder]:
        """The records that match every filter given, in no particular order.

        A partner and an order id name the order's partition (one per mode): a Query of each. Anything
        else is a Scan of the whole table, read page by page (eventually consistent) and billed whole,
        payload chunks and sessions included: DynamoDB filters what it returns, not what it reads. The
        Scan filters on the keys (records only; the partner's prefix) and the status, and returns the
        record's attributes only (``_LISTED``); what the keys cannot tell exactly (the mode without a
        partner, the order id) is checked here, and so is an order's expiry. The mode of an order an older
        version received is its message's (``StoredOrder.deployment_mode``): a read of it for each such record
        that matches."""
        # Test-mode orders an older version received are under the partner's production key: test's
        # partitions are searched with production's.
        modes: list[DeploymentMode] = ["production"] if deployment_mode == "production" else ["production", "test"]
        items: Iterable[Item]
        if partner_id is not None and order_id is not None:
            items = (
                item
                for mode in modes
                for item in self.table.query(f"ORDER#{order_owner(partner_id, mode)}#{order_id}", "VERSION#", _LISTED)
            )
        else:
            conditions = ["begins_with(#pk, :order)", "begins_with(#sk, :version)"]
            values = {":order": s("ORDER#"), ":version": s("VERSION#")}
            if partner_id is not None:
                owners = [f"begins_with(#pk, :owner{index})" for index in range(len(modes))]
                conditions.append(f"({' OR '.join(owners)})")
                for index, mode in enumerate(modes):
                    values[f":owner{index}"] = s(f"ORDER#{order_owner(partner_id, mode)}#")
            if order_id is not None:  # the partition key ends with it: contains() lets no match through
                conditions.append("contains(#pk, :order_id)")
                values[":order_id"] = s(f"#{order_id}")
            if status is not None:
                conditions.append("#status = :status")
                values[":status"] = s(status)
            items = self.table.scan(" AND ".join(conditions), values, {}, _LISTED)
        found: list[StoredOrder] = []
        moment = now()
        for item in items:
            if not _live(item, moment):
                continue  # past its retention: gone, whether TTL has deleted it yet or not
            record = self._record(item)
            if (
                (partner_id is None or record.partner_id == partner_id)
                and (order_id is None or record.order_id == order_id)
                and (status is None or record.status == status)
            ):
                stored = self._stored(item)  # the mode last: an older version's order costs a read
                if deployment_mode is None or stored.deployment_mode == deployment_mode:
                    found.append(stored)
        return found
