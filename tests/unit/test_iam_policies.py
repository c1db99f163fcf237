"""Every AWS action a function performs is granted by its policies in template.yaml.

The functions get SAM policy templates narrower than DynamoDBCrudPolicy (no DeleteItem, no
ConditionCheckItem). moto does not enforce IAM, so a call outside the grant would pass every other
test and fail only when deployed (AccessDenied: a cXML 500 for every buyer). This test drives a
round trip, a ProfileRequest and a repeated order through the handlers, records each function's
calls, and checks them against the statements the policy templates expand to.
"""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatchcase as fnmatch
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from punchout.store.api_keys import ApiKeyRepository
from punchout.store.dynamo import Table, dynamodb_client
from punchout.store.partners import PartnerRepository
from punchout.store.queue import sqs_client
from tests.support import builders
from tests.support.built_lambda import botocore_services
from tests.support.events import LambdaContext, api_event
from tests.support.iam import granted_actions, only_granted
from tests.support.round_trip import FUNCTIONS, Recorder, RoundTrip
from tests.unit.gateway.conftest import ENVIRONMENT, TABLE_NAME, clear_caches, table_definition

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish:UserWarning")


def _clear_all() -> None:
    import order_request.handler

    clear_caches(client=True)
    sqs_client.cache_clear()
    order_request.handler.service.cache_clear()
    order_request.handler.api_keys.cache_clear()


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    """moto with the template's table, the order queue, a partner and a shop key; clients recorded."""
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        _clear_all()
        boto3.client("dynamodb").create_table(TableName=TABLE_NAME, **table_definition())
        queue = boto3.client("sqs").create_queue(
            QueueName="orders.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"}
        )
        monkeypatch.setenv("ORDER_QUEUE_URL", queue["QueueUrl"])
        table = Table(TABLE_NAME)
        PartnerRepository(table).create(builders.partner())
        recording = Recorder(TABLE_NAME)
        recording.attach(dynamodb_client())
        recording.attach(sqs_client())
        try:
            yield recording
        finally:
            _clear_all()


def _cxml(path: str, document: bytes) -> dict[str, Any]:
    return api_event("POST", path, body=document, headers={"Content-Type": "text/xml"}, binary=True)


def test_every_call_of_every_function_is_granted_by_its_policies(recorder: Recorder):
    # Given the handlers with recorded clients, and the shop's key
    _, key = ApiKeyRepository(Table(TABLE_NAME)).create("shop")
    trip = RoundTrip(recorder, key)

    # When a round trip runs (setup, start, session, cart, transfer, return page, order), a
    # ProfileRequest reaches both cXML functions, and the buyer sends the same order again
    trip.run()
    for function, path in (("SetupRequestFunction", "/cxml/profile"), ("OrderRequestFunction", "/cxml/order")):
        with recorder.step(function, usage := _usage()):
            response = trip.handlers[function](_cxml(path, builders.profile_request()), LambdaContext())
        assert response["statusCode"] == 200, response
        assert usage.actions
    order = builders.order_request("PO-REPEATED", [builders.item_out("P0001", "1", price="10.00", line=1)])
    for _ in range(2):
        with recorder.step("OrderRequestFunction", _usage()):
            response = trip.handlers["OrderRequestFunction"](_cxml("/cxml/order", order), LambdaContext())
        assert response["statusCode"] == 200, response

    # Then each function called only services whose botocore data the build keeps
    called = {action.split(":")[0] for used in recorder.by_function.values() for action in used}
    assert called <= set(botocore_services()), f"add {sorted(called - set(botocore_services()))} to BOTOCORE_SERVICES"
    # ... and used only actions its policies grant
    granted = granted_actions()
    assert set(granted) == set(FUNCTIONS)
    for function, used in recorder.by_function.items():
        assert used, f"{function} made no AWS call: the test did not exercise it"
        missing = sorted(action for action in used if not any(fnmatch(action, grant) for grant in granted[function]))
        assert not missing, f"{function} needs {missing}"


def test_no_function_may_delete_items_directly():
    # Given the functions' grants
    # Then none includes DeleteItem (chunks are removed through BatchWriteItem)
    for function, actions in granted_actions().items():
        assert "dynamodb:DeleteItem" not in actions, function


def _usage() -> Any:
    from tests.support.round_trip import Usage

    return Usage()


def test_the_unit_tests_guard_refuses_what_a_function_is_not_granted(recorder: Recorder):
    # Given the cart function's table client under the guard every handler call of the unit tests runs in
    client, item = dynamodb_client(), {"pk": {"S": "GUARD"}, "sk": {"S": "GUARD"}}
    condition: Any = {"TableName": TABLE_NAME, "Key": item, "ConditionExpression": "attribute_not_exists(pk)"}
    with only_granted(client, "OrderMessageFunction"):
        # When it writes, and then deletes, checks a condition in a transaction, or sends to the queue
        client.put_item(TableName=TABLE_NAME, Item=item)
        refused = [
            lambda: client.delete_item(TableName=TABLE_NAME, Key=item),
            lambda: client.transact_write_items(TransactItems=[{"ConditionCheck": condition}]),
            lambda: sqs_client().send_message(QueueUrl="https://sqs.invalid/orders.fifo", MessageBody="x"),
        ]
        # Then the write passes and each of the others fails as IAM would fail it (sqs: its own client)
        with only_granted(sqs_client(), "OrderMessageFunction"):
            for call in refused:
                with pytest.raises(ClientError, match="AccessDenied"):
                    call()
