"""template.yaml and the code it deploys agree: every Handler imports from the single CodeUri."""

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

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
