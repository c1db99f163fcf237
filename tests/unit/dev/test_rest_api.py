"""``infra.local.rest_api``: what the local gateway answers for API Gateway, read from template.yaml."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.local.rest_api import (
    FUNCTION_FAILED,
    INTEGRATION_FAILURE,
    INTEGRATION_TIMEOUT,
    INVALID_API_KEY,
    MISSING_AUTHENTICATION_TOKEN,
    REQUEST_TOO_LARGE,
    GatewayError,
    GatewayResponse,
    RestApi,
    rest_apis,
)
from infra.local.template import Intrinsics, load_template
from punchout.cxml import read_document
from punchout.cxml.models import ResponseDocument

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"


@pytest.fixture(scope="module")
def apis() -> dict[str, RestApi]:
    template = load_template(TEMPLATE)
    return rest_apis(template, Intrinsics(template))


def test_the_buyer_api_passes_cxml_and_mime_bodies_as_binary(apis: dict[str, RestApi]) -> None:
    buyer = apis["BuyerApi"]

    assert buyer.is_binary("text/xml; charset=ISO-8859-1")
    assert buyer.is_binary("application/xml")
    assert buyer.is_binary('multipart/related; boundary="x"; type="text/xml"')
    # what Ruby's Net::HTTP sends a document or a file upload as (template.yaml says why)
    assert buyer.is_binary("application/x-www-form-urlencoded")
    assert buyer.is_binary("multipart/form-data; boundary=x")
    assert not buyer.is_binary("application/json")
    assert not buyer.is_binary("")


@pytest.mark.parametrize(
    ("error", "status", "cxml_code"),
    [
        (MISSING_AUTHENTICATION_TOKEN, 404, 400),
        (REQUEST_TOO_LARGE, 413, 406),
        (FUNCTION_FAILED, 502, 500),
        (INTEGRATION_FAILURE, 502, 560),
        (INTEGRATION_TIMEOUT, 504, 560),
    ],
)
def test_every_answer_of_the_buyer_api_is_a_cxml_status(
    apis: dict[str, RestApi], error: GatewayError, status: int, cxml_code: int
) -> None:
    # When API Gateway answers a buyer by itself
    answer = apis["BuyerApi"].answer(error, context={"requestId": "req-1"}, accept="text/html")

    # Then the status is the template's, and the body a cXML Status with the request id as payloadID
    assert answer.status == status
    assert ("Content-Type", "text/xml; charset=UTF-8") in answer.headers
    document = read_document(answer.body)
    assert isinstance(document, ResponseDocument)
    assert document.envelope.payload_id == "req-1@punchout-gateway"
    assert document.status.code == cxml_code


def test_the_shop_api_answers_a_missing_key_in_its_json(apis: dict[str, RestApi]) -> None:
    answer = apis["ShopApi"].answer(INVALID_API_KEY, context={"requestId": "req-2"})

    assert answer.status == 403
    assert json.loads(answer.body)["error"] == {
        "status": 403,
        "type": "INVALID_API_KEY",
        "message": "Missing or invalid x-api-key header",
        "request_id": "req-2",
    }


def test_a_type_without_its_own_response_falls_back_to_the_default_of_its_class() -> None:
    # Given an API with only a DEFAULT_4XX, whose status code applies to every 4XX answer
    api = RestApi(
        "Api",
        gateway_responses={
            "DEFAULT_4XX": GatewayResponse(
                400, headers={"Content-Type": "text/plain"}, templates={"text/plain": "$context.error.message"}
            )
        },
    )

    # When a missing key and a function failure are answered
    refused, failed = api.answer(INVALID_API_KEY, context={}), api.answer(FUNCTION_FAILED, context={})

    # Then the 4XX one uses DEFAULT_4XX (its status and template), the 5XX one API Gateway's own JSON
    assert (refused.status, refused.body) == (400, b"Forbidden")
    assert (failed.status, json.loads(failed.body)) == (502, {"message": "Internal server error"})
    assert ("x-amzn-ErrorType", "InternalServerErrorException") in failed.headers


def test_globals_api_applies_to_every_api_and_only_literal_headers_are_sent() -> None:
    # Given binary media types and a gateway response in Globals.Api, and an API of its own
    template = {
        "Globals": {
            "Api": {
                "BinaryMediaTypes": ["text~1xml"],
                "GatewayResponses": {
                    "MISSING_AUTHENTICATION_TOKEN": {
                        "ResponseParameters": {
                            "Headers": {"Content-Type": "'text/plain'", "X-Origin": "method.request.header.Origin"}
                        },
                        "ResponseTemplates": {"text/plain": "no route ($context.stage)"},
                    }
                },
            }
        },
        "Resources": {"OwnApi": {"Type": "AWS::Serverless::Api", "Properties": {"StageName": "v1"}}},
    }
    own = rest_apis(template, Intrinsics(template))["OwnApi"]

    # When its unknown route is answered
    answer = own.answer(MISSING_AUTHENTICATION_TOKEN, context={"stage": "v1"})

    # Then the global settings are the API's: its binary types, the response (with its type's own
    # status, 403), and the literal header only (a request mapping is not evaluated locally)
    assert own.is_binary("text/xml")
    assert (answer.status, answer.body) == (403, b"no route (v1)")
    assert ("Content-Type", "text/plain") in answer.headers
    assert all(name != "X-Origin" for name, _ in answer.headers)
