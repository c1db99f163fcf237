"""The template's tables and queues, created on the local endpoints from template.yaml itself.

Translated (everything else, such as SSE, KMS keys, point-in-time recovery or tags, means nothing
locally and is left out):

- `AWS::DynamoDB::Table`: KeySchema, AttributeDefinitions, BillingMode, ProvisionedThroughput,
  Global/LocalSecondaryIndexes, StreamSpecification, and TimeToLiveSpecification (a separate
  `update_time_to_live` call, as in the real API).
- `AWS::Serverless::SimpleTable`: PrimaryKey (default `id`, String) and ProvisionedThroughput
  (on-demand without it), as SAM expands it.
- `AWS::SQS::Queue`: the queue attributes below; RedrivePolicy/RedriveAllowPolicy with their
  `!GetAtt Other.Arn` resolved to the local queue, which is therefore created first.

Local names are deterministic, `<prefix><LogicalId>` (plus `.fifo` for FIFO queues), so a restarted
dev stack finds its persisted tables again; anything that already exists is reused.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from infra.local.template import NO_VALUE, Intrinsics, Template, TemplateError, resources_of_type

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.literals import QueueAttributeNameType

DEFAULT_PREFIX: Final = "punchout-local-"

TABLE_TYPES: Final = ("AWS::DynamoDB::Table", "AWS::Serverless::SimpleTable")
QUEUE_TYPE: Final = "AWS::SQS::Queue"

# CloudFormation property → queue attribute of the same name; the FIFO-only ones are rejected by
# SQS on a standard queue, so they are sent only when FifoQueue is true.
_QUEUE_ATTRIBUTES: Final = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
)
_FIFO_ATTRIBUTES: Final = ("ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit")
_JSON_ATTRIBUTES: Final = ("RedrivePolicy", "RedriveAllowPolicy")

_SIMPLE_TABLE_TYPES: Final = {"String": "S", "Number": "N", "Binary": "B"}
_SUB_REFERENCE = re.compile(r"\$\{([^}!][^}.]*)")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LocalResource:
    logical_id: str
    type: str
    name: str
    arn: str
    url: str | None = None  # queues only


def create_resources(
    template: Template,
    intrinsics: Intrinsics,
    *,
    dynamodb: DynamoDBClient,
    sqs: SQSClient,
    prefix: str = DEFAULT_PREFIX,
) -> dict[str, LocalResource]:
    """Create (or reuse) every table and queue; bind each to `intrinsics` for `!Ref`/`!GetAtt`."""
    created: dict[str, LocalResource] = {}
    for logical_id, resource in resources_of_type(template, *TABLE_TYPES).items():
        created[logical_id] = _ensure_table(logical_id, resource, intrinsics, dynamodb, prefix)
    queues = resources_of_type(template, QUEUE_TYPE)
    for logical_id in queues:
        _ensure_queue(logical_id, queues, intrinsics, sqs, prefix, created, creating=())
    return created


def local_name(prefix: str, logical_id: str, *, fifo: bool = False) -> str:
    return f"{prefix}{logical_id}{'.fifo' if fifo else ''}"


# --- tables ---------------------------------------------------------------------------------------


def _ensure_table(
    logical_id: str, resource: dict[str, Any], intrinsics: Intrinsics, dynamodb: DynamoDBClient, prefix: str
) -> LocalResource:
    properties = _properties(resource, intrinsics)
    name = local_name(prefix, logical_id)
    if resource["Type"] == "AWS::Serverless::SimpleTable":
        request = _simple_table_request(name, properties)
    else:
        request = _table_request(logical_id, name, properties)
    try:
        description = dynamodb.describe_table(TableName=name)["Table"]
    except dynamodb.exceptions.ResourceNotFoundException:
        description = dynamodb.create_table(**request)["TableDescription"]
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        logger.info("created table %s", name)
    else:
        if description["KeySchema"] != request["KeySchema"]:
            logger.warning(
                "table %s exists with key schema %s, but the template now says %s: delete the local "
                "data (.local/dynamodb) to recreate it",
                name,
                description["KeySchema"],
                request["KeySchema"],
            )
    ttl = properties.get("TimeToLiveSpecification")
    if isinstance(ttl, dict) and ttl.get("Enabled") in (True, "true") and ttl.get("AttributeName"):
        _enable_ttl(dynamodb, name, str(ttl["AttributeName"]))
    arn = description["TableArn"]
    attributes = {"Arn": arn}
    if stream_arn := description.get("LatestStreamArn"):
        attributes["StreamArn"] = stream_arn
    intrinsics.bind(logical_id, name, **attributes)
    return LocalResource(logical_id=logical_id, type=resource["Type"], name=name, arn=arn)


def _table_request(logical_id: str, name: str, properties: dict[str, Any]) -> dict[str, Any]:
    if not properties.get("KeySchema") or not properties.get("AttributeDefinitions"):
        raise TemplateError(f"{logical_id}: a table needs KeySchema and AttributeDefinitions")
    billing_mode = properties.get("BillingMode", "PROVISIONED")
    provisioned = billing_mode == "PROVISIONED"
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": billing_mode,
    }
    if provisioned:
        request["ProvisionedThroughput"] = _throughput(properties.get("ProvisionedThroughput"), logical_id)
    if indexes := properties.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = [
            {
                **_pick(index, "IndexName", "KeySchema", "Projection"),
                **(
                    {"ProvisionedThroughput": _throughput(index.get("ProvisionedThroughput"), logical_id)}
                    if provisioned
                    else {}
                ),
            }
            for index in indexes
        ]
    if indexes := properties.get("LocalSecondaryIndexes"):
        request["LocalSecondaryIndexes"] = [_pick(index, "IndexName", "KeySchema", "Projection") for index in indexes]
    if stream := properties.get("StreamSpecification"):
        # CloudFormation has only StreamViewType; the API also wants StreamEnabled.
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return request


def _simple_table_request(name: str, properties: dict[str, Any]) -> dict[str, Any]:
    key = properties.get("PrimaryKey") or {"Name": "id", "Type": "String"}
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [{"AttributeName": key["Name"], "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": key["Name"], "AttributeType": _SIMPLE_TABLE_TYPES[key["Type"]]}],
    }
    if throughput := properties.get("ProvisionedThroughput"):
        request.update(BillingMode="PROVISIONED", ProvisionedThroughput=_throughput(throughput, name))
    else:
        request["BillingMode"] = "PAY_PER_REQUEST"
    return request


def _throughput(value: Any, where: str) -> dict[str, int]:
    if not isinstance(value, dict):
        raise TemplateError(f"{where}: a PROVISIONED table or index needs ProvisionedThroughput")
    return {
        "ReadCapacityUnits": int(value["ReadCapacityUnits"]),
        "WriteCapacityUnits": int(value["WriteCapacityUnits"]),
    }


def _enable_ttl(dynamodb: DynamoDBClient, name: str, attribute: str) -> None:
    current = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and current.get("AttributeName") == attribute:
        return
    dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification={"AttributeName": attribute, "Enabled": True})


# --- queues ---------------------------------------------------------------------------------------


def _ensure_queue(
    logical_id: str,
    queues: dict[str, dict[str, Any]],
    intrinsics: Intrinsics,
    sqs: SQSClient,
    prefix: str,
    created: dict[str, LocalResource],
    creating: tuple[str, ...],
) -> None:
    if logical_id in created:
        return
    if logical_id in creating:
        raise TemplateError(f"queues reference each other in a cycle: {' → '.join((*creating, logical_id))}")
    # Dead-letter queues (and any other queue this one refers to) first, so their ARNs resolve.
    for dependency in sorted(_references(queues[logical_id].get("Properties")) & queues.keys()):
        _ensure_queue(dependency, queues, intrinsics, sqs, prefix, created, (*creating, logical_id))

    properties = _properties(queues[logical_id], intrinsics)
    fifo = properties.get("FifoQueue") in (True, "true")
    name = local_name(prefix, logical_id, fifo=fifo)
    try:
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    except sqs.exceptions.QueueDoesNotExist:
        url = sqs.create_queue(QueueName=name, Attributes=_queue_attributes(properties, fifo))["QueueUrl"]
        logger.info("created queue %s", name)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    intrinsics.bind(logical_id, url, Arn=arn, QueueName=name, QueueUrl=url)
    created[logical_id] = LocalResource(logical_id=logical_id, type=QUEUE_TYPE, name=name, arn=arn, url=url)


def _queue_attributes(properties: dict[str, Any], fifo: bool) -> dict[QueueAttributeNameType, str]:
    attributes: dict[QueueAttributeNameType, str] = {
        name: _attribute_text(properties[name]) for name in _QUEUE_ATTRIBUTES if name in properties
    }
    if fifo:
        attributes["FifoQueue"] = "true"
        attributes.update({name: _attribute_text(properties[name]) for name in _FIFO_ATTRIBUTES if name in properties})
    for name in _JSON_ATTRIBUTES:
        if name in properties:
            # CloudFormation takes these as objects or as JSON text; the API takes JSON text.
            value = properties[name]
            attributes[name] = value if isinstance(value, str) else json.dumps(value)
    return attributes


def _attribute_text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


# --- shared ---------------------------------------------------------------------------------------


def _properties(resource: dict[str, Any], intrinsics: Intrinsics) -> dict[str, Any]:
    properties = intrinsics.resolve_known(resource.get("Properties") or {})
    return properties if properties is not NO_VALUE else {}


def _references(value: Any) -> set[str]:
    """Logical ids that `value` refers to through Ref, Fn::GetAtt or Fn::Sub."""
    match value:
        case {"Ref": str() as name}:
            return {name}
        case {"Fn::GetAtt": [str() as name, *_]}:
            return {name}
        case {"Fn::GetAtt": str() as dotted}:
            return {dotted.split(".", 1)[0]}
        case {"Fn::Sub": str() as text}:
            return set(_SUB_REFERENCE.findall(text))
        case {"Fn::Sub": [str() as text, dict() as variables]}:
            return set(_SUB_REFERENCE.findall(text)) | _references(variables)
        case dict():
            return set().union(*(_references(item) for item in value.values()))
        case list():
            return set().union(*(_references(item) for item in value))
    return set()


def _pick(mapping: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {key: mapping[key] for key in keys if key in mapping}
