"""What DynamoDB refuses that moto takes, refused in the unit tier as DynamoDB refuses it.

moto checks key sizes only when an item is written. DynamoDB (checked against DynamoDB Local, Amazon's
engine) also refuses a read, delete or condition check that names a partition key over 2,048 bytes or
a sort key over 1,024, a Query whose sort key condition is over 1,024, and a number of more than 38
digits. A value a buyer or a shop chose that reaches such a key is then a 500 in AWS at every retry,
where moto answers "not found". ``invoke`` (tests/unit/gateway/helpers.py) runs every handler call
under this check.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from tests.support.calls import checking_calls

PARTITION_KEY_BYTES = 2048
SORT_KEY_BYTES = 1024
ITEM_BYTES = 400 * 1024
NUMBER_DIGITS = 38


def _size(value: dict[str, Any] | None) -> int:
    return len(value["S"].encode("utf-8")) if value and "S" in value else 0


def _keys(operation: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every key the call names (a written item's keys moto checks itself)."""
    if operation in ("GetItem", "DeleteItem", "UpdateItem") and "Key" in params:
        yield params["Key"]
    for table in (params.get("RequestItems") or {}).values():
        if isinstance(table, dict):  # BatchGetItem
            yield from table.get("Keys", [])
        else:  # BatchWriteItem
            yield from (request["DeleteRequest"]["Key"] for request in table if "DeleteRequest" in request)
    for action in params.get("TransactItems") or []:
        for kind in ("Get", "Update", "Delete", "ConditionCheck"):
            if kind in action:
                yield action[kind]["Key"]


def _numbers(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for name, item in value.items():
            if name == "N" and isinstance(item, str):
                yield item
            elif name == "NS" and isinstance(item, list):
                yield from item
            else:
                yield from _numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _numbers(item)


def _refusal(operation: str, params: dict[str, Any]) -> str | None:
    for key in _keys(operation, params):
        if _size(key.get("pk")) > PARTITION_KEY_BYTES or _size(key.get("sk")) > SORT_KEY_BYTES:
            return "Hash primary key values must be under 2048 bytes, and range primary key values must be under 1024"
    if operation == "Query" and _size((params.get("ExpressionAttributeValues") or {}).get(":prefix")) > SORT_KEY_BYTES:
        return "Aggregated size of all range keys has exceeded the size limit of 1024 bytes"
    for number in _numbers({name: value for name, value in params.items() if name != "ExpressionAttributeNames"}):
        significant = "".join(map(str, Decimal(number).as_tuple().digits)).strip("0")  # no rounding
        if len(significant) > NUMBER_DIGITS:
            return "DynamoDB only supports precision up to 38 digits"
    return None


@contextmanager
def as_dynamodb(client: Any) -> Iterator[None]:
    """Calls through ``client`` that DynamoDB would refuse fail as DynamoDB fails them."""

    def check(model: Any, params: dict[str, Any], **_: Any) -> None:
        refusal = _refusal(model.name, params)
        if refusal is not None:
            raise ClientError({"Error": {"Code": "ValidationException", "Message": refusal}}, model.name)

    with checking_calls(client, check):
        yield
