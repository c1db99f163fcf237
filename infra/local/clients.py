"""boto3 clients for the local engines: their endpoint, the template's region, dummy credentials.

Explicit arguments rather than the environment, so a developer's AWS profile never reaches a local
engine and a test process can talk to several stacks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3

from infra.local.dynamodb_local import DUMMY_ACCESS_KEY_ID, DUMMY_SECRET_ACCESS_KEY
from infra.local.template import REGION

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient


def dynamodb_client(endpoint: str) -> DynamoDBClient:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=DUMMY_ACCESS_KEY_ID,
        aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY,
    )


def sqs_client(endpoint: str) -> SQSClient:
    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=DUMMY_ACCESS_KEY_ID,
        aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY,
    )
