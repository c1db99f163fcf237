"""template.yaml and the code it deploys agree: every Handler imports from the single CodeUri."""

import importlib
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from cfnlint.decode import decode
from lxml import etree

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LambdaContext:
    function_name: str = "test"
    memory_limit_in_mb: int = 128
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id: str = "52fdfc07-2182-154f-163f-5f0f9a621d72"


def template() -> dict[str, Any]:
    parsed, errors = decode(str(ROOT / "template.yaml"))
    assert not errors, errors
    assert parsed is not None
    return dict(parsed)


def functions() -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template()["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def test_all_functions_share_one_code_root() -> None:
    # Given the template's Globals
    globals_ = template()["Globals"]["Function"]

    # Then every function is built from functions/, the import root the tests use too
    assert globals_["CodeUri"] == "functions/"
    assert all("CodeUri" not in properties for properties in functions().values())


@pytest.mark.parametrize("function_name", sorted(functions()))
def test_handler_resolves_and_answers_an_unknown_route_with_404(function_name: str) -> None:
    # Given the handler the template names
    module_name, _, attribute = functions()[function_name]["Handler"].rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    event = {"httpMethod": "GET", "path": "/no-such-route", "headers": {}, "requestContext": {}}

    # When API Gateway sends it a request for a path it has no route for
    response = handler(event, LambdaContext())

    # Then the resolver answers 404
    assert response["statusCode"] == 404


# --- the two APIs ---------------------------------------------------------------------------------

BUYER_ROUTES = {
    ("POST", "/cxml/setup"),
    ("POST", "/cxml/profile"),
    ("POST", "/cxml/order"),
    ("GET", "/punchout/start/{token}"),
    ("GET", "/punchout/return/{token}"),
}
SHOP_ROUTES = {
    ("GET", "/shop/sessions/{id}"),
    ("PUT", "/shop/sessions/{id}/cart"),
    ("POST", "/shop/sessions/{id}/transfer"),
    ("GET", "/shop/orders/{id}"),
    ("GET", "/shop/orders/{id}/pages/{page}"),
    ("GET", "/shop/orders/{id}/attachments/{index}"),
    ("GET", "/shop/openapi.json"),
}
TRANSIENT_RESPONSES = {"THROTTLED", "INTEGRATION_FAILURE", "INTEGRATION_TIMEOUT", "DEFAULT_5XX"}
CONTEXT = {
    "$context.requestId": "c0ffee00-1234-5678-9abc-def012345678",
    "$context.error.responseType": "THROTTLED",
    "$context.error.messageString": '"Too Many Requests"',
}


def routes() -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """(method, path) → (API logical id, event properties), for every Api event."""
    found = {}
    for properties in functions().values():
        for event in properties["Events"].values():
            assert event["Type"] == "Api"
            route = event["Properties"]
            found[(route["Method"], route["Path"])] = (route["RestApiId"]["Ref"], route)
    return found


def gateway_responses(api: str) -> dict[str, Any]:
    return dict(template()["Resources"][api]["Properties"]["GatewayResponses"])


def substituted(text: str, context: dict[str, str] = CONTEXT) -> str:
    for variable, value in sorted(context.items(), key=lambda item: -len(item[0])):
        text = text.replace(variable, value)
    return text


def status_of(body: str) -> tuple[int, str, str]:
    """Status@code, Status@text and the message of a gateway response body."""
    status = etree.fromstring(substituted(body).encode("utf-8")).find("Response/Status")
    assert status is not None
    return int(status.get("code", "0")), status.get("text", ""), status.text or ""


def test_buyer_routes_are_on_the_buyer_api_and_shop_routes_on_the_shop_api() -> None:
    # Given every route of the template
    by_api: dict[str, set[tuple[str, str]]] = {}
    for route, (api, _) in routes().items():
        by_api.setdefault(api, set()).add(route)

    # Then cXML and browser routes are on BuyerApi, the shop's JSON routes on ShopApi
    assert by_api == {"BuyerApi": BUYER_ROUTES, "ShopApi": SHOP_ROUTES}


def test_shop_routes_need_an_api_key_except_the_openapi_document() -> None:
    # Given the shop API and its routes
    shop = template()["Resources"]["ShopApi"]["Properties"]
    assert shop["Auth"]["ApiKeyRequired"] is True

    # Then only the OpenAPI description opts out; no buyer route needs a key
    opted_out = {r for r, (_, p) in routes().items() if p.get("Auth", {}).get("ApiKeyRequired") is False}
    assert opted_out & SHOP_ROUTES == {("GET", "/shop/openapi.json")}
    assert template()["Resources"]["BuyerApi"]["Properties"]["Auth"]["ApiKeyRequired"] is False


def test_the_shop_openapi_document_describes_exactly_the_shop_api_routes() -> None:
    from order_message import openapi

    described = {(m.upper(), p) for p, ms in openapi.document()["paths"].items() for m in ms}
    assert described == {route for route, (api, _) in routes().items() if api == "ShopApi"}


def test_the_shop_usage_plan_throttles_the_shop_api_stage() -> None:
    # Given the explicit usage plan (not SAM's, which would create an unused key)
    plan = template()["Resources"]["ShopUsagePlan"]["Properties"]

    # Then it covers the shop API's stage, with throttling and a quota
    assert plan["ApiStages"] == [{"ApiId": {"Ref": "ShopApi"}, "Stage": {"Ref": "ShopApi.Stage"}}]
    assert set(plan["Throttle"]) == {"RateLimit", "BurstLimit"}
    assert plan["Quota"]["Period"] == "DAY"
    assert "UsagePlan" not in template()["Resources"]["ShopApi"]["Properties"]["Auth"]


def test_cxml_bodies_reach_the_functions_as_binary() -> None:
    # Given the buyer API's binary media types (SAM writes / as ~1)
    media = template()["Resources"]["BuyerApi"]["Properties"]["BinaryMediaTypes"]

    # Then XML and multipart bodies (multipart/related and form uploads alike) arrive base64-encoded, their
    # bytes intact, and so do documents posted as a form (Ruby's Net::HTTP.post, curl -d and PHP's curl
    # name that media type when the buyer names none)
    assert {m.replace("~1", "/") for m in media} == {
        "text/xml",
        "application/xml",
        "multipart/*",
        "application/x-www-form-urlencoded",
    }


def test_every_buyer_gateway_response_is_the_same_cxml_status_for_every_content_type() -> None:
    # Given the buyer API's gateway responses
    for response_type, response in gateway_responses("BuyerApi").items():
        headers = response["ResponseParameters"]["Headers"]
        bodies = set(response["ResponseTemplates"].values())

        # Then each is a text/xml cXML document, the same whatever the client accepts
        assert headers["Content-Type"] == "'text/xml; charset=UTF-8'", response_type
        assert set(response["ResponseTemplates"]) >= {"application/json", "application/xml", "text/xml"}
        assert len(bodies) == 1, response_type
        (body,) = bodies
        assert body.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE cXML SYSTEM ')
        root = etree.fromstring(substituted(body).encode("utf-8"))
        assert root.tag == "cXML"
        assert root.get("payloadID", "").startswith(CONTEXT["$context.requestId"])
        assert root.find("Response/Status") is not None, response_type


def test_buyers_retry_exactly_the_transient_gateway_answers() -> None:
    # Given the buyer API's gateway responses
    for response_type, response in gateway_responses("BuyerApi").items():
        (body,) = set(response["ResponseTemplates"].values())
        code, _, _ = status_of(body)
        http = int(response.get("StatusCode", 0))

        # Then throttling, timeouts and backend failures are a cXML 5xx over an HTTP 5xx (retried) ...
        if response_type in TRANSIENT_RESPONSES:
            assert code in (500, 560), response_type
            assert http == 0 or http >= 500, response_type
        # ... and everything else a final 4xx, over an HTTP 4xx
        else:
            assert 400 <= code < 500, response_type
            assert http == 0 or 400 <= http < 500, response_type
    responses = gateway_responses("BuyerApi")
    assert (responses["THROTTLED"]["StatusCode"], responses["REQUEST_TOO_LARGE"]["StatusCode"]) == ("503", "413")
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"


def test_the_buyer_api_size_and_media_type_refusals_say_what_to_change() -> None:
    # Given the buyer API's answers to a body too large for Lambda and to one it cannot take (AWS documents
    # UNSUPPORTED_MEDIA_TYPE for a Content-Encoding it cannot decode, too)
    responses = gateway_responses("BuyerApi")
    (too_large,) = set(responses["REQUEST_TOO_LARGE"]["ResponseTemplates"].values())
    (unsupported,) = set(responses["UNSUPPORTED_MEDIA_TYPE"]["ResponseTemplates"].values())
    # Then the first names the size a buyer must stay under, and the second the Content-Encoding to use
    assert "4.5 MB" in status_of(too_large)[2]
    message = status_of(unsupported)[2]
    assert "text/xml" in message and "Content-Encoding" in message and "gzip" in message


def test_buyer_gateway_responses_look_like_the_gateway_own_status_documents() -> None:
    # Given the documents the functions render for a refusal
    from punchout.cxml import render_status

    def normalised(document: str) -> str:
        document = re.sub(r'payloadID="[^"]*"', 'payloadID=""', document)
        return re.sub(r'timestamp="[^"]*"', 'timestamp=""', document).strip()

    # Then each gateway response is the same document but for payloadID and timestamp
    for response_type, response in gateway_responses("BuyerApi").items():
        (body,) = set(response["ResponseTemplates"].values())
        code, text, message = status_of(body)
        own = render_status(code, text, message).decode("utf-8")
        assert normalised(substituted(body)) == normalised(own), response_type


@pytest.mark.conformance
def test_buyer_gateway_responses_are_valid_for_the_cxml_dtd(dtd: Any) -> None:
    # Given the official DTD of the version the responses declare
    for response_type, response in gateway_responses("BuyerApi").items():
        (body,) = set(response["ResponseTemplates"].values())
        root = etree.fromstring(substituted(body).encode("utf-8"))

        # Then each response is valid
        assert dtd(root.get("version")).validate(root), response_type


def test_shop_gateway_responses_are_json() -> None:
    # Given the shop API's gateway responses
    for response_type, response in gateway_responses("ShopApi").items():
        # Then each is a JSON error object, like the function's own errors
        assert response["ResponseParameters"]["Headers"]["Content-Type"] == "'application/json'"
        document = json.loads(substituted(response["ResponseTemplates"]["application/json"]))
        assert set(document) == {"error"}, response_type
        assert document["error"]["request_id"] == CONTEXT["$context.requestId"]


@pytest.mark.parametrize("api", ["BuyerApi", "ShopApi"])
def test_every_gateway_response_is_neither_cached_nor_sniffed(api: str) -> None:
    # Given the answers API Gateway gives itself (the functions' own answers carry the same headers)
    for response_type, response in gateway_responses(api).items():
        headers = response["ResponseParameters"]["Headers"]

        # Then no cache keeps them and no browser reads them as another type than they declare
        assert headers.get("Cache-Control") == "'no-store'", response_type
        assert headers.get("X-Content-Type-Options") == "'nosniff'", response_type


def test_shop_gateway_responses_are_described_by_the_openapi_document() -> None:
    from order_message import openapi
    from tests.support.contract import closed

    described = openapi.document()
    schema = {**described["components"]["schemas"]["GatewayError"], "$defs": described["components"]["schemas"]}
    schema = closed(json.loads(json.dumps(schema).replace("#/components/schemas/", "#/$defs/")))
    for response_type, response in gateway_responses("ShopApi").items():
        document = json.loads(substituted(response["ResponseTemplates"]["application/json"]))
        jsonschema.validate(document, schema)
        status = response.get("StatusCode")
        if status is not None and status != "404":  # 404: a route the document does not have
            assert status in described["paths"]["/shop/sessions/{id}"]["get"]["responses"], response_type


def test_a_body_too_large_is_described_in_both_forms_api_gateway_answers_it() -> None:
    # Given the shop API's document
    from order_message import openapi

    too_large = openapi.document()["paths"]["/shop/sessions/{id}/cart"]["put"]["responses"]["413"]["content"]
    # Then its 413 is REQUEST_TOO_LARGE through the gateway responses (over Lambda's 6 MB), or API Gateway's
    # plain text for a body over 10 MB, which no gateway response shapes
    assert too_large["application/json"]["schema"] == {"$ref": "#/components/schemas/GatewayError"}
    assert too_large["text/plain"]["example"] == "HTTP content length exceeded 10485760 bytes."


# What API Gateway can answer on ShopApi instead of the function, with its default status (API Gateway's
# gateway response types; a failed or timed-out function is 502 under DEFAULT_5XX).
SHOP_GATEWAY_ANSWERS = [
    ("INVALID_API_KEY", 403),
    ("THROTTLED", 429),
    ("QUOTA_EXCEEDED", 429),
    ("REQUEST_TOO_LARGE", 413),
    ("API_CONFIGURATION_ERROR", 500),
    ("DEFAULT_5XX", 502),
    ("INTEGRATION_FAILURE", 504),
    ("INTEGRATION_TIMEOUT", 504),
]


@pytest.mark.parametrize(("response_type", "default_status"), SHOP_GATEWAY_ANSWERS)
def test_every_shop_api_gateway_answer_is_described_on_every_route_it_can_reach(
    response_type: str, default_status: int
) -> None:
    from order_message import openapi
    from tests.support.contract import closed

    # Given API Gateway's answer of that type on ShopApi: its own response, else DEFAULT_4XX/5XX
    responses = gateway_responses("ShopApi")
    response = responses.get(response_type) or responses["DEFAULT_4XX" if default_status < 500 else "DEFAULT_5XX"]
    status = str(response.get("StatusCode") or default_status)
    context = {**CONTEXT, "$context.error.responseType": response_type}
    body = json.loads(substituted(response["ResponseTemplates"]["application/json"], context))
    described = openapi.document()
    definitions = described["components"]["schemas"]
    # Then every route that needs the key (and has a body, for a body too large) describes it
    for path, operations in described["paths"].items():
        for method, operation in operations.items():
            if operation.get("security") == [] or (status == "413" and "requestBody" not in operation):
                continue
            assert status in operation["responses"], (response_type, method, path)
            schema = operation["responses"][status]["content"]["application/json"]["schema"]
            schema = json.loads(
                json.dumps({**schema, "$defs": definitions}).replace("#/components/schemas/", "#/$defs/")
            )
            jsonschema.validate(body, closed(schema))


# --- functions, data, alarms, outputs -------------------------------------------------------------


def test_functions_run_python312_on_arm64_with_tracing_and_a_bytecode_build() -> None:
    globals_ = template()["Globals"]["Function"]
    assert (globals_["Runtime"], globals_["Architectures"], globals_["Tracing"]) == ("python3.12", ["arm64"], "Active")
    assert globals_["Environment"]["Variables"]["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"
    for name, resource in template()["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            assert resource["Metadata"]["BuildMethod"] == "makefile", name
            assert resource["Metadata"]["ContextPath"] == "infra/build", name


_TRACED_ANSWER = """
import json, os, socket
daemon = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
daemon.bind(("127.0.0.1", 0))
os.environ["AWS_XRAY_DAEMON_ADDRESS"] = "127.0.0.1:%d" % daemon.getsockname()[1]
from tests.support.events import LambdaContext
import setup_request.handler
event = {"httpMethod": "GET", "path": "/no-such-route", "headers": {}, "requestContext": {}}
response = setup_request.handler.lambda_handler(event, LambdaContext())
daemon.setblocking(False)
sent = []
try:
    while True:
        sent.append(daemon.recv(65535).decode("utf-8"))
except BlockingIOError:
    pass
print(json.dumps({"body": response["body"], "sent": sent}))
"""


def _run_with_template_variables(script: str, **variables: str) -> Any:
    """What ``script`` prints last (JSON), run in a fresh interpreter with the template's variables."""
    template_variables = template()["Globals"]["Function"]["Environment"]["Variables"]
    environment = {
        **{name: value for name, value in template_variables.items() if isinstance(value, str)},
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "functions"), str(ROOT)]),
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "punchout-test",
        **variables,
    }
    run = subprocess.run(
        [sys.executable, "-c", script],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.splitlines()[-1])


def test_x_ray_keeps_no_answer_of_a_function() -> None:
    # Given a function in a fresh interpreter, in Lambda's environment with a sampled trace and the
    # template's variables (the handler decorator reads them at import, as on Lambda)
    variables = template()["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"

    # When it answers a request
    traced = _run_with_template_variables(
        _TRACED_ANSWER,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        TABLE_NAME="punchout",
        LAMBDA_TASK_ROOT=str(ROOT / "functions"),
        AWS_LAMBDA_FUNCTION_NAME="SetupRequestFunction",
        _X_AMZN_TRACE_ID="Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    )

    # Then the handler's subsegment went to X-Ray's daemon, without the answer
    segments = "".join(traced["sent"])
    assert '"## lambda_handler"' in segments
    assert "lambda_handler response" not in segments
    assert "No such route" in traced["body"] and "No such route" not in segments


_ENTRY_POINT_GROUPS = """
import importlib.metadata, json
read = []
scan = importlib.metadata.entry_points
def recorded(**params):
    read.append(params.get("group"))
    return scan(**params)
importlib.metadata.entry_points = recorded
import setup_request.handler
from punchout.cxml.models import Credential
Credential.model_validate({"domain": "NetworkID", "identity": "AN01000000001"})
print(json.dumps(read))
"""


def test_pydantic_looks_for_no_plugins_in_the_deployed_functions() -> None:
    # Given a fresh interpreter with the template's variables, where reading entry points is recorded
    # When a function is loaded and validates its first model
    groups_read = _run_with_template_variables(_ENTRY_POINT_GROUPS)
    # Then pydantic scanned no installed package for plugins (the functions use none; the scan reads
    # every package's metadata at each cold start)
    assert "pydantic" not in groups_read


def test_each_function_logs_to_its_own_group_with_retention() -> None:
    resources = template()["Resources"]
    for name, properties in functions().items():
        group = properties["LoggingConfig"]["LogGroup"]["Ref"]
        assert resources[group]["Type"] == "AWS::Logs::LogGroup", name
        assert resources[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_each_api_with_execution_logs_has_its_group_with_retention() -> None:
    resources = template()["Resources"]
    groups = {
        str(r["Properties"]["LogGroupName"].get("Fn::Sub")): r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Logs::LogGroup" and "LogGroupName" in r["Properties"]
    }
    apis = {name: r["Properties"] for name, r in resources.items() if r["Type"] == "AWS::Serverless::Api"}
    for name, properties in apis.items():
        assert any(s.get("LoggingLevel", "OFF") != "OFF" for s in properties["MethodSettings"]), name
        # The group API Gateway writes to: API-Gateway-Execution-Logs_{rest api id}/{stage name}
        assert properties["StageName"] == {"Ref": "Stage"}, name
        group = groups.get(f"API-Gateway-Execution-Logs_${{{name}}}/${{Stage}}")
        assert group is not None, name
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name


def test_the_order_function_answers_before_buyers_and_api_gateway_give_up() -> None:
    timeouts = {
        name: properties.get("Timeout", template()["Globals"]["Function"]["Timeout"])
        for name, properties in functions().items()
    }
    assert timeouts["OrderRequestFunction"] <= 25
    assert max(timeouts.values()) < 29  # API Gateway's own limit
    # `punchout orders orphans` waits at least this long for a delivery still running
    from punchout import cli

    assert timeouts["OrderRequestFunction"] == cli._ORDER_FUNCTION_TIMEOUT_SECONDS


def test_no_function_environment_refers_to_an_api() -> None:
    # A function that names its own API's URL makes a cycle (API → function → API)
    environments = [template()["Globals"]["Function"]["Environment"]]
    environments += [p["Environment"] for p in functions().values() if "Environment" in p]
    text = json.dumps(environments)
    assert "BuyerApi" not in text and "ShopApi" not in text


def test_the_table_keeps_orders_safe() -> None:
    table = template()["Resources"]["PunchOutTable"]
    properties = table["Properties"]
    assert (table["DeletionPolicy"], properties["BillingMode"]) == ("Retain", "PAY_PER_REQUEST")
    assert properties["DeletionProtectionEnabled"] == {"Ref": "TableDeletionProtection"}
    assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_alarms_watch_the_dead_letter_queue_cxml_5xx_and_every_function() -> None:
    alarms = [r["Properties"] for r in template()["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    watched = {(a["Namespace"], a["MetricName"], json.dumps(a["Dimensions"], sort_keys=True)) for a in alarms}
    assert any(n == "AWS/SQS" and "OrderDeadLetterQueue" in d for n, _, d in watched)
    for name in functions():
        for metric in ("Errors", "Throttles"):
            assert ("AWS/Lambda", metric, json.dumps([{"Name": "FunctionName", "Value": {"Ref": name}}])) in watched
    # The EMF metric the functions emit, in their namespace and with Powertools' service dimension
    variables = template()["Globals"]["Function"]["Environment"]["Variables"]
    service = json.dumps([{"Name": "service", "Value": variables["POWERTOOLS_SERVICE_NAME"]}])
    assert (variables["POWERTOOLS_METRICS_NAMESPACE"], "CxmlServerErrors", service) in watched
    assert 'name="CxmlServerErrors"' in (ROOT / "functions" / "punchout" / "http.py").read_text(encoding="utf-8")
    assert all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms)


def test_the_functions_publish_their_metrics_in_the_namespace_the_alarms_watch() -> None:
    # Given the namespace the template gives the functions, which their alarms watch
    variables = template()["Globals"]["Function"]["Environment"]["Variables"]
    # When the gateway's Metrics is made (a namespace given in the code wins over the variable)
    from punchout.observability import metrics

    # Then it publishes in that namespace
    assert metrics.namespace == variables["POWERTOOLS_METRICS_NAMESPACE"]


def _names_this_stack(value: Any) -> bool:
    """A value that differs between two stacks of the template: a resource's, or the stack's name."""
    match value:
        case {"Ref": str() as name}:
            return name == "AWS::StackName" or name in template()["Resources"]
        case {"Fn::GetAtt": [str() as name, _]}:
            return name in template()["Resources"]
        case {"Fn::Sub": str() as text}:
            return "${AWS::StackName}" in text or any(f"${{{name}" in text for name in template()["Resources"])
    return False


def test_every_alarm_watches_this_stack_only() -> None:
    # Given two stacks of the template in one account and region (production and staging, say)
    alarms = {n: r["Properties"] for n, r in template()["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"}

    # Then each alarm's metric is told apart by a dimension that only this stack has
    for name, alarm in alarms.items():
        assert any(_names_this_stack(d["Value"]) for d in alarm["Dimensions"]), name
    # And the functions publish their custom metrics under the stack's name, the alarm's dimension
    variables = template()["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == {"Ref": "AWS::StackName"}
    assert alarms["CxmlServerErrorsAlarm"]["Dimensions"] == [{"Name": "service", "Value": {"Ref": "AWS::StackName"}}]


def test_every_5xx_answer_of_the_buyer_api_is_alarmed_including_the_ones_api_gateway_answers_itself() -> None:
    # Given the buyer API, whose gateway responses answer some errors with a 5xx of the template's choosing
    # (THROTTLED 503, INTEGRATION_FAILURE 502) so that buyers retry them
    resources = template()["Resources"]
    api = resources["BuyerApi"]["Properties"]
    changed = {name for name, response in api["GatewayResponses"].items() if response.get("StatusCode", "")[:1] == "5"}
    assert changed >= {"THROTTLED", "INTEGRATION_FAILURE"}
    # API Gateway counts an answer whose status a gateway response changed as 4XXError, never 5XXError,
    # so an alarm on AWS/ApiGateway 5XXError never sees them. The access log records the status sent.
    log_format = json.loads(api["AccessLogSetting"]["Format"])
    assert log_format["status"] == "$context.status"
    assert log_format["apiId"] == "$context.apiId"
    filters = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Logs::MetricFilter"
        and r["Properties"]["LogGroupName"] == {"Ref": "BuyerApiAccessLogGroup"}
    ]
    (answered_5xx,) = [f for f in filters if f["FilterPattern"] == "{ $.status = 5* }"]
    (metric,) = answered_5xx["MetricTransformations"]
    assert (metric["MetricValue"], metric["Dimensions"]) == ("1", [{"Key": "ApiId", "Value": "$.apiId"}])

    # Then an alarm watches that count, for this stack's API only, and no alarm watches BuyerApi's 5XXError
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    watching = [
        a for a in alarms if (a["Namespace"], a["MetricName"]) == (metric["MetricNamespace"], metric["MetricName"])
    ]
    assert [a["Dimensions"] for a in watching] == [[{"Name": "ApiId", "Value": {"Ref": "BuyerApi"}}]]
    (alarm,) = watching
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == ("Sum", 0, "GreaterThanThreshold")
    assert not [
        a
        for a in alarms
        if a["MetricName"] == "5XXError"
        and {"Name": "ApiName", "Value": {"Fn::Sub": "${AWS::StackName}-buyer"}} in a["Dimensions"]
    ]


def test_the_local_stack_resolves_every_function_variable(caplog: pytest.LogCaptureFixture) -> None:
    from infra.local.template import LOCAL_STACK_NAME, Intrinsics, function_environment, load_template

    # Given the template as the local stack reads it, its table and queue created
    local = load_template(ROOT / "template.yaml")
    intrinsics = Intrinsics(local)
    intrinsics.bind("PunchOutTable", "punchout-local-PunchOutTable")
    intrinsics.bind("OrderQueue", "http://127.0.0.1:1/queue", QueueName="punchout-local-OrderQueue.fifo")

    # When it resolves the functions' environment
    with caplog.at_level("WARNING", logger="infra.local.template"):
        environment = function_environment(local, intrinsics)

    # Then no variable is left unset, and the metrics' service is the local stack's name
    assert caplog.records == []
    assert environment["POWERTOOLS_SERVICE_NAME"] == LOCAL_STACK_NAME


def test_an_alarm_fires_when_the_shop_stops_reading_the_order_queue() -> None:
    # Given the order queue: a message nobody receives never reaches the dead-letter queue, and SQS
    # deletes it once the retention period is over
    resources = template()["Resources"]
    retention = resources["OrderQueue"]["Properties"]["MessageRetentionPeriod"]
    (alarm,) = (
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"]["MetricName"] == "ApproximateAgeOfOldestMessage"
    )

    # Then the age of its oldest message is alarmed on the alarm topic ...
    assert (alarm["Namespace"], alarm["Statistic"], alarm["ComparisonOperator"]) == (
        "AWS/SQS",
        "Maximum",
        "GreaterThanThreshold",
    )
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["OrderQueue", "QueueName"]}}]
    assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlarmTopic"}]
    # ... at a threshold that, whatever the deployment chooses, leaves days to act before SQS deletes
    parameter = template()["Parameters"][alarm["Threshold"]["Ref"]]
    assert parameter["Default"] == 3600
    assert parameter["MaxValue"] <= retention / 2


def test_outputs_name_what_buyers_the_shop_and_the_cli_need() -> None:
    outputs = set(template()["Outputs"])
    assert outputs >= {
        "SetupUrl",
        "OrderUrl",
        "ProfileUrl",
        "ShopApiUrl",
        "TableName",
        "OrderQueueUrl",
        "OrderQueueName",
        "OrderDeadLetterQueueUrl",
        "UsagePlanId",
    }


def test_the_order_queue_and_its_dead_letter_queue_are_fifo_and_encrypted() -> None:
    # Given the two queues (checkov's KMS check is waived on both, so it would not notice either)
    resources = template()["Resources"]
    queues = {name: resources[name]["Properties"] for name in ("OrderQueue", "OrderDeadLetterQueue")}

    # Then both are FIFO (a FIFO queue's dead-letter queue must be FIFO too) and encrypted at rest
    for name, properties in queues.items():
        assert properties["FifoQueue"] is True, name
        assert properties.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in properties, name
    # And orders the shop failed to process go to that dead-letter queue
    redrive = queues["OrderQueue"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["OrderDeadLetterQueue", "Arn"]}


def test_the_alarms_e_mail_subscription_is_an_optional_parameter() -> None:
    # Given the template's alarm topic and its AlarmEmail parameter
    parsed = template()
    parameter = parsed["Parameters"]["AlarmEmail"]
    (subscription,) = (r for r in parsed["Resources"].values() if r["Type"] == "AWS::SNS::Subscription")

    # Then the parameter may be left empty, and only a given address is subscribed to the alarms' topic
    assert parameter["Default"] == ""
    assert re.fullmatch(parameter["AllowedPattern"], "")
    assert re.fullmatch(parameter["AllowedPattern"], "ops@example.com")
    assert parsed["Conditions"][subscription["Condition"]] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    assert subscription["Properties"] == {
        "TopicArn": {"Ref": "AlarmTopic"},
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }


def test_the_session_lifetimes_and_the_shops_entry_url_are_parameters_the_functions_use() -> None:
    from infra.local.template import NO_VALUE, Intrinsics, load_template
    from infra.local.template import functions as function_specs
    from punchout.settings import GatewaySettings

    # Given a deployment that sets the parameters to other values than their defaults
    chosen = {
        "SessionTtlSeconds": "1234",
        "StartTokenTtlSeconds": "55",
        "ReturnTokenTtlSeconds": "66",
        "CartRetentionDays": "7",
        "ShopEntryUrl": "https://shop.example.com/punchout",
    }
    parsed = load_template(ROOT / "template.yaml")
    assert set(chosen) <= set(parsed["Parameters"])
    intrinsics = Intrinsics(parsed, parameters=chosen)
    intrinsics.bind("PunchOutTable", "punchout-table")
    intrinsics.bind("OrderQueue", "https://sqs.example/orders.fifo", QueueName="orders.fifo")

    # When each function reads its settings from the environment the template gives it
    for name, spec in function_specs(parsed, intrinsics).items():
        resolved = {key: intrinsics.resolve(value) for key, value in spec.variables.items()}
        environment = {key: str(value) for key, value in resolved.items() if value is not NO_VALUE}
        settings = GatewaySettings.model_validate(environment)

        # Then the lifetimes are the deployment's
        lifetimes = (
            settings.session_ttl_seconds,
            settings.start_token_ttl_seconds,
            settings.return_token_ttl_seconds,
            settings.cart_retention_days,
        )
        assert lifetimes == (1234, 55, 66, 7), name
        # And the setup function (which sends the browser to the shop) knows the shop's entry URL
        if name == "SetupRequestFunction":
            assert settings.default_shop_url == "https://shop.example.com/punchout"


def test_the_buyer_facing_url_outputs_name_the_buyer_apis_cxml_routes() -> None:
    # Given the outputs an operator enters in Ariba or Coupa, and the base URL of the buyer API
    outputs = template()["Outputs"]
    (_, public_base, execute_api) = outputs["BuyerApiUrl"]["Value"]["Fn::If"]
    for output, path in (("SetupUrl", "/cxml/setup"), ("OrderUrl", "/cxml/order"), ("ProfileUrl", "/cxml/profile")):
        # Then each is that base URL and the route, on a custom domain and on execute-api alike ...
        (condition, custom, default) = outputs[output]["Value"]["Fn::If"]
        assert condition == outputs["BuyerApiUrl"]["Value"]["Fn::If"][0], output
        assert custom == {"Fn::Sub": "${PublicBaseUrl}" + path}, output
        assert public_base == {"Ref": "PublicBaseUrl"}
        assert default == {"Fn::Sub": execute_api["Fn::Sub"] + path}, output
        # ... a POST route of BuyerApi
        assert routes()[("POST", path)][0] == "BuyerApi", output
    # And the shop API's URL is ShopApi's stage
    assert outputs["ShopApiUrl"]["Value"] == {
        "Fn::Sub": "https://${ShopApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/${Stage}"
    }


def test_order_retention_is_a_parameter_of_the_order_function_kept_forever_by_default() -> None:
    # Given the template's OrderRetentionDays parameter
    parameters = template()["Parameters"]
    parameter = parameters["OrderRetentionDays"]
    # Then by default orders are kept forever (0), and it is offered with the other data settings
    assert parameter["Default"] == "0"
    groups = template()["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    assert sum(group["Parameters"].count("OrderRetentionDays") for group in groups) == 1
    assert "0" in parameter["Description"] and "forever" in parameter["Description"]
    # And it takes exactly what the order function's settings take: 0, or 30 to 9999 days
    from pydantic import ValidationError

    from punchout.settings import OrderSettings

    required = {"TABLE_NAME": "t", "ORDER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/q.fifo"}

    def settings_take(days: str) -> bool:
        try:
            OrderSettings.model_validate({**required, "ORDER_RETENTION_DAYS": days})
        except ValidationError:
            return False
        return True

    pattern = re.compile(parameter["AllowedPattern"])
    for days in map(str, range(0, 10050)):
        assert bool(pattern.fullmatch(days)) == settings_take(days), days
    assert not any(pattern.fullmatch(days) for days in ["-1", "00", "030", "1e3", " 30", "30 ", ""])
    assert "30" in parameter["ConstraintDescription"]
    # And the order function, which writes the orders, reads it as ORDER_RETENTION_DAYS
    variables = functions()["OrderRequestFunction"]["Environment"]["Variables"]
    assert variables["ORDER_RETENTION_DAYS"] == {"Ref": "OrderRetentionDays"}
