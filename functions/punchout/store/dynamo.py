"""The DynamoDB table: client, item encoding, and large values split over several items.

Single-table design (README, "Data model"): ``pk``/``sk`` with typed prefixes, ``expires_at`` as
the TTL attribute. Structured data is stored as one JSON attribute (``data``) beside the few
attributes that conditions and TTL need; large values (carts and orders of thousands of lines)
are gzip-compressed and split into chunk items below DynamoDB's 400 KB item limit.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from . import aws

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, TransactWriteItemTypeDef

Item = dict[str, "AttributeValueTypeDef"]

CHUNK_BYTES = 350_000  # below the 400 KB item limit, leaving room for keys and attribute names
_BATCH = 25  # BatchWriteItem's limit


class ConditionFailed(Exception):
    """A conditional write found the item in another state than expected."""


class ChunksMissing(RuntimeError):
    """Fewer chunk items than the header that named them said (deleted meanwhile by a newer write)."""


@lru_cache(maxsize=1)
def dynamodb_client() -> DynamoDBClient:
    # Endpoint from AWS_ENDPOINT_URL_DYNAMODB when set (local stack).
    client: DynamoDBClient = aws.client("dynamodb")
    return client


def now() -> int:
    return int(time.time())


def s(value: str) -> AttributeValueTypeDef:
    return {"S": value}


def n(value: int) -> AttributeValueTypeDef:
    return {"N": str(value)}


def key(pk: str, sk: str) -> Item:
    return {"pk": s(pk), "sk": s(sk)}


def is_condition_failure(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = error.response.get("CancellationReasons", [])
        return any(r.get("Code") == "ConditionalCheckFailed" for r in reasons) or not reasons
    return False


def _expressions(
    condition: str | None, values: Mapping[str, Any] | None, names: Mapping[str, str] | None
) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    if condition:
        arguments["ConditionExpression"] = condition
    if values:
        arguments["ExpressionAttributeValues"] = dict(values)
    if names:
        arguments["ExpressionAttributeNames"] = dict(names)
    return arguments


@contextmanager
def _conditional(condition: str | None) -> Iterator[None]:
    """Turn DynamoDB's failed-condition errors into ConditionFailed; anything else propagates."""
    try:
        yield
    except ClientError as error:
        if is_condition_failure(error):
            raise ConditionFailed(condition) from None
        raise


class Table:
    """Thin typed helpers over one DynamoDB table."""

    def __init__(self, name: str, client: DynamoDBClient | None = None) -> None:
        self.name = name
        self._client = client

    @property
    def client(self) -> DynamoDBClient:
        if self._client is None:
            self._client = dynamodb_client()
        return self._client

    def get(self, pk: str, sk: str) -> Item | None:
        response = self.client.get_item(TableName=self.name, Key=key(pk, sk), ConsistentRead=True)
        return response.get("Item")

    def put(
        self,
        item: Item,
        condition: str | None = None,
        values: Mapping[str, Any] | None = None,
        names: Mapping[str, str] | None = None,
    ) -> None:
        arguments = _expressions(condition, values, names)
        with _conditional(condition):
            self.client.put_item(TableName=self.name, Item=item, **arguments)

    def update(
        self,
        pk: str,
        sk: str,
        expression: str,
        *,
        condition: str | None = None,
        values: Mapping[str, Any] | None = None,
        names: Mapping[str, str] | None = None,
    ) -> Item:
        arguments = _expressions(condition, values, names)
        with _conditional(condition):
            response = self.client.update_item(
                TableName=self.name, Key=key(pk, sk), UpdateExpression=expression, ReturnValues="ALL_NEW", **arguments
            )
        return response["Attributes"]

    def delete(self, pk: str, sk: str) -> None:
        # Through BatchWriteItem, as chunks are deleted: no function's policy grants DeleteItem.
        self.batch_write([{"DeleteRequest": {"Key": key(pk, sk)}}])

    def transact(self, items: list[TransactWriteItemTypeDef]) -> None:
        with _conditional("transaction"):
            self.client.transact_write_items(TransactItems=items)

    def query(self, pk: str, sk_prefix: str, projection: Mapping[str, str] | None = None) -> Iterator[Item]:
        """The items of partition ``pk`` whose sort key starts with ``sk_prefix``; ``projection``: only
        these attributes (placeholder -> name, e.g. ``{"#data": "data"}``)."""
        arguments: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": s(pk), ":prefix": s(sk_prefix)},
            "ConsistentRead": True,
        }
        if projection:
            arguments["ProjectionExpression"] = ", ".join(projection)
            arguments["ExpressionAttributeNames"] = dict(projection)
        yield from self._pages(self.client.query, arguments)

    def scan_prefix(self, pk_prefix: str, sk: str) -> Iterator[Item]:
        arguments: dict[str, Any] = {
            "TableName": self.name,
            "FilterExpression": "begins_with(pk, :prefix) AND sk = :sk",
            "ExpressionAttributeValues": {":prefix": s(pk_prefix), ":sk": s(sk)},
        }
        yield from self._pages(self.client.scan, arguments)

    def scan(
        self,
        condition: str,
        values: Mapping[str, Any],
        names: Mapping[str, str],
        projection: Mapping[str, str],
    ) -> Iterator[Item]:
        """Every item matching ``condition``, page by page: a Scan reads (and bills) the whole table,
        eventually consistent; the condition only filters what comes back, and ``projection``
        (placeholder -> name) which attributes."""
        arguments: dict[str, Any] = {
            "TableName": self.name,
            "FilterExpression": condition,
            "ProjectionExpression": ", ".join(projection),
            "ExpressionAttributeValues": dict(values),
            "ExpressionAttributeNames": {**names, **projection},
        }
        yield from self._pages(self.client.scan, arguments)

    @staticmethod
    def _pages(operation: Callable[..., Any], arguments: dict[str, Any]) -> Iterator[Item]:
        """The items of a Query or Scan, page after page."""
        while True:
            page = operation(**arguments)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def batch_write(self, requests: list[dict[str, Any]]) -> None:
        """Puts and deletes in batches of 25, retrying what DynamoDB leaves unprocessed."""
        for start in range(0, len(requests), _BATCH):
            pending: list[dict[str, Any]] = requests[start : start + _BATCH]
            for attempt in range(8):
                response = self.client.batch_write_item(RequestItems={self.name: pending})  # type: ignore[dict-item]
                pending = response.get("UnprocessedItems", {}).get(self.name, [])  # type: ignore[assignment]
                if not pending:
                    break
                time.sleep(min(0.05 * 2**attempt, 1.0))
            else:
                raise RuntimeError("DynamoDB left items unprocessed after retries")

    # -- large values ------------------------------------------------------------------------------

    def put_chunks(self, pk: str, sk_prefix: str, payload: bytes, expires_at: int | None) -> int:
        """Store ``payload`` gzip-compressed as numbered chunk items; returns the chunk count.

        ``expires_at=None``: kept until deleted (a TTL attribute in the past would delete it at once)."""
        packed = gzip.compress(payload, compresslevel=6)
        chunks = [packed[i : i + CHUNK_BYTES] for i in range(0, len(packed), CHUNK_BYTES)] or [b""]
        expiry = {} if expires_at is None else {"expires_at": n(expires_at)}
        self.batch_write(
            [
                {"PutRequest": {"Item": {**key(pk, f"{sk_prefix}{index:04d}"), "data": {"B": chunk}, **expiry}}}
                for index, chunk in enumerate(chunks)
            ]
        )
        return len(chunks)

    def get_chunks(self, pk: str, sk_prefix: str, count: int) -> bytes:
        parts = sorted(self.query(pk, sk_prefix), key=lambda item: item["sk"]["S"])
        if len(parts) != count:
            raise ChunksMissing(f"expected {count} chunks under {pk}/{sk_prefix}, found {len(parts)}")
        return gzip.decompress(b"".join(part["data"]["B"] for part in parts))

    def delete_chunks(self, pk: str, sk_prefix: str) -> None:
        self.batch_write([{"DeleteRequest": {"Key": key(pk, item["sk"]["S"])}} for item in self.query(pk, sk_prefix)])
