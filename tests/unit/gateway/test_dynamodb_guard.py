"""The check every handler call runs (tests/support/dynamodb.py) refuses what DynamoDB refuses and moto
takes, at DynamoDB's own limits (measured on DynamoDB Local, Amazon's engine)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from punchout.store.dynamo import Table, dynamodb_client
from tests.support.dynamodb import as_dynamodb


def _get(pk: str, sk: str) -> Callable[[Table], Any]:
    return lambda table: table.get(pk, sk)


def _query(pk: str, prefix: str) -> Callable[[Table], Any]:
    return lambda table: list(table.query(pk, prefix))


def _number(digits: str) -> Callable[[Table], Any]:
    item = {"pk": {"S": "P"}, "sk": {"S": "S"}, "n": {"N": digits}}
    return lambda table: table.client.put_item(TableName=table.name, Item=item)


def _condition_check(sk: str) -> Callable[[Table], Any]:
    key: Any = {"pk": {"S": "P"}, "sk": {"S": sk}}
    return lambda table: table.client.transact_write_items(
        TransactItems=[
            {"ConditionCheck": {"TableName": table.name, "Key": key, "ConditionExpression": "attribute_exists(pk)"}}
        ]
    )


CALLS = {
    "get, partition key of 2,049 bytes": (_get("é" * 1024 + "x", "S"), _get("é" * 1024, "S")),
    "get, sort key of 1,025 bytes": (_get("P", "s" * 1025), _get("P", "s" * 1024)),
    "query, sort key condition of 1,025 bytes": (_query("P", "s" * 1025), _query("P", "s" * 1024)),
    "number of 39 digits": (_number("1" * 39), _number("1" * 38 + "0" * 10)),
    "condition check, sort key of 1,025 bytes": (_condition_check("s" * 1025), None),
}


@pytest.mark.parametrize("name", CALLS)
def test_a_call_past_a_dynamodb_limit_is_refused_and_one_at_it_is_not(table: Table, name: str) -> None:
    refused, at_limit = CALLS[name]
    with as_dynamodb(dynamodb_client()):
        with pytest.raises(ClientError, match="ValidationException"):
            refused(table)
        if at_limit is not None:
            at_limit(table)
