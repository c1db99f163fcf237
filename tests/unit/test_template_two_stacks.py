"""Two stacks of template.yaml in one AWS account and region (staging beside production, two brands).

The template is rendered offline as CloudFormation receives it (SAM's translator, as `sam deploy` runs
it), once per stack name, with the intrinsics CloudFormation resolves at deployment resolved here: the
stack's name, its parameters and conditions, and each resource's physical id, which CloudFormation
makes unique per stack (`<stack>-<logical id>-<suffix>`, or a random API id). What is still equal in the
two renderings is shared between the stacks: a name that makes the second deploy fail, a metric both
publish to, a grant that reaches the other stack's data.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import boto3
from cfnlint.decode import decode

ROOT = Path(__file__).resolve().parents[2]
STAGING, PRODUCTION = "punchout-staging", "punchout-prod"

# Properties that give a resource its physical name (or, for Stage, a name unique within its API only).
PHYSICAL_NAMES = {
    "AWS::ApiGateway::ApiKey": "Name",
    "AWS::ApiGateway::RestApi": "Name",
    "AWS::ApiGateway::UsagePlan": "UsagePlanName",
    "AWS::CloudWatch::Alarm": "AlarmName",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::IAM::Role": "RoleName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::Logs::MetricFilter": "FilterName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::SSM::Parameter": "Name",
}


@cache
def _translated() -> str:
    """template.yaml through SAM's translator (JSON text: each rendering resolves its own copy)."""
    from samtranslator.parser.parser import Parser  # type: ignore[import-untyped]
    from samtranslator.translator.translator import Translator  # type: ignore[import-untyped]

    template, problems = decode(str(ROOT / "template.yaml"))
    assert not problems, problems
    document = json.loads(json.dumps(template, default=str))
    # `sam deploy` uploads the built code and puts its S3 location here.
    document["Globals"]["Function"]["CodeUri"] = "s3://bucket/code.zip"
    session = boto3.Session(region_name="eu-central-1", aws_access_key_id="x", aws_secret_access_key="x")
    translated = Translator({}, Parser(), boto_session=session).translate(document, parameter_values={})
    return json.dumps(translated)


class _Stack:
    """The translated template as CloudFormation deploys it under ``name`` with ``parameters``."""

    def __init__(self, name: str, parameters: dict[str, str]) -> None:
        self.name = name
        template: dict[str, Any] = json.loads(_translated())
        self.parameters = {k: str(p.get("Default", "")) for k, p in template.get("Parameters", {}).items()}
        unknown = set(parameters) - set(self.parameters)
        assert not unknown, f"template.yaml has no parameter {unknown}"
        self.parameters.update(parameters)
        self.conditions: dict[str, Any] = template.get("Conditions", {})
        declared = template["Resources"]
        self.created = {
            logical_id: resource
            for logical_id, resource in declared.items()
            if "Condition" not in resource or self.condition(resource["Condition"])
        }
        self.resources = {logical_id: self.resolve(resource) for logical_id, resource in self.created.items()}
        self.outputs = {
            name: self.resolve(output)
            for name, output in template.get("Outputs", {}).items()
            if "Condition" not in output or self.condition(output["Condition"])
        }

    def physical_id(self, logical_id: str, attribute: str = "") -> str:
        assert logical_id in self.created, f"{logical_id} is not created in stack {self.name}"
        return f"<{self.name}-{logical_id}-SUFFIX{'.' + attribute if attribute else ''}>"

    def condition(self, name: str) -> bool:
        return bool(self._condition(self.conditions[name]))

    def _condition(self, expression: Any) -> bool:
        match expression:
            case {"Condition": str() as name}:
                return self.condition(name)
            case {"Fn::Equals": [left, right]}:
                return bool(self.resolve(left) == self.resolve(right))
            case {"Fn::Not": [operand]}:
                return not self._condition(operand)
            case {"Fn::And": list() as operands}:
                return all(self._condition(operand) for operand in operands)
            case {"Fn::Or": list() as operands}:
                return any(self._condition(operand) for operand in operands)
        raise AssertionError(f"condition {expression!r}")

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::StackName": self.name,
            "AWS::Region": "eu-central-1",
            "AWS::AccountId": "123456789012",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.physical_id(name)  # fails for a resource this stack does not create

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            match key, argument:
                case "Ref", "AWS::NoValue":
                    return _NO_VALUE
                case "Ref", str():
                    return self._ref(argument)
                case "Fn::GetAtt", [str() as logical_id, str() as attribute]:
                    return self.physical_id(logical_id, attribute)
                case "Fn::GetAtt", str():
                    return self.physical_id(*argument.split(".", 1))
                case "Fn::If", [str() as name, when_true, when_false]:
                    return self.resolve(when_true if self.condition(name) else when_false)
                case "Fn::Sub", str():
                    return self._sub(argument, {})
                case "Fn::Sub", [str() as text, dict() as variables]:
                    return self._sub(text, variables)
                case "Fn::Join", [str() as delimiter, list() as items]:
                    return delimiter.join(str(item) for item in self.resolve(items))
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def _sub(self, text: str, variables: dict[str, Any]) -> str:
        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name:
                return self.physical_id(*name.split(".", 1))
            return str(self._ref(name))

        return re.sub(r"\$\{([^}]+)\}", substitute, text)

    def dependencies(self, logical_id: str) -> set[str]:
        """What CloudFormation creates before ``logical_id``: its DependsOn and the resources it refers to
        (in the branch of an Fn::If its condition takes), and theirs."""
        found: set[str] = set()
        waiting = [logical_id]
        while waiting:
            resource = self.created[waiting.pop()]
            depends_on = resource.get("DependsOn", [])
            direct = {*([depends_on] if isinstance(depends_on, str) else depends_on), *self._referred(resource)}
            for name in direct - found:
                assert name in self.created, f"{logical_id} depends on {name}, which stack {self.name} does not create"
                found.add(name)
                waiting.append(name)
        return found

    def _referred(self, value: Any) -> set[str]:
        if isinstance(value, list):
            return {name for item in value for name in self._referred(item)}
        if not isinstance(value, dict):
            return set()
        if len(value) == 1:
            ((key, argument),) = value.items()
            match key, argument:
                case "Ref", str() if argument in self.physical_resources():
                    return {argument}
                case "Fn::GetAtt", [str() as name, _]:
                    return {name}
                case "Fn::GetAtt", str():
                    return {argument.split(".", 1)[0]}
                case "Fn::If", [str() as name, when_true, when_false]:
                    return self._referred(when_true if self.condition(name) else when_false)
                case "Fn::Sub", str() | [str(), dict()]:
                    text, variables = (argument, {}) if isinstance(argument, str) else argument
                    names = {m.split(".", 1)[0] for m in re.findall(r"\$\{([^}!]+)\}", text)} - set(variables)
                    return {n for n in names if n in self.physical_resources()} | self._referred(variables)
        return {name for item in value.values() for name in self._referred(item)}

    def physical_resources(self) -> set[str]:
        return set(json.loads(_translated())["Resources"])

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {n: r.get("Properties", {}) for n, r in self.resources.items() if r["Type"] == kind}


_NO_VALUE = object()


def stack(name: str, **parameters: str) -> _Stack:
    return _Stack(name, parameters)


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [value] if isinstance(value, str) else []


def test_no_resource_of_two_stacks_has_the_same_name() -> None:
    # Given the template deployed twice in one account and region, with the same parameters
    staging, production = stack(STAGING), stack(PRODUCTION)

    # Then every name a resource is given is its stack's (or left to CloudFormation, which makes it unique)
    named = 0
    for logical_id, resource in staging.resources.items():
        name_property = PHYSICAL_NAMES.get(resource["Type"])
        if name_property is None or name_property not in resource.get("Properties", {}):
            continue
        named += 1
        same = resource["Properties"][name_property] == production.resources[logical_id]["Properties"][name_property]
        assert not same, f"{logical_id}.{name_property} is the same in both stacks"
    assert named >= 4  # the APIs, the usage plan, the execution log groups
    # And no output is exported (an export name is unique in the account and region)
    assert not [name for name, output in staging.outputs.items() if "Export" in output]


def test_each_stacks_functions_are_granted_only_their_own_stacks_table_and_queue() -> None:
    # Given two stacks
    for current, other in ((stack(STAGING), PRODUCTION), (stack(PRODUCTION), STAGING)):
        roles = {
            name: role
            for name, role in current.of_type("AWS::IAM::Role").items()
            if "lambda.amazonaws.com" in json.dumps(role["AssumeRolePolicyDocument"])
        }
        assert len(roles) == 3
        for name, role in roles.items():
            # Then every resource a function's own policies name is one of its stack's, never a wildcard
            for policy in role.get("Policies", []):
                for statement in policy["PolicyDocument"]["Statement"]:
                    listed = statement["Resource"]
                    for resource in [listed] if isinstance(listed, str) else listed:
                        arn = resource.removesuffix("/index/*")
                        assert f"<{current.name}-" in arn, f"{name}: {resource}"
                        assert "*" not in arn and other not in arn, f"{name}: {resource}"


def test_the_stacks_custom_metrics_and_alarms_are_told_apart_by_the_stack() -> None:
    # Given two stacks
    staging, production = stack(STAGING), stack(PRODUCTION)

    # Then what the functions publish to and what each alarm watches differ between them
    def published(s: _Stack) -> dict[str, Any]:
        functions = s.of_type("AWS::Lambda::Function").values()
        return {
            "service": {f["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] for f in functions},
            "namespace": {f["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"] for f in functions},
        }

    assert published(staging)["service"] == {STAGING}
    assert published(production)["service"] == {PRODUCTION}
    assert published(staging)["namespace"] == published(production)["namespace"]
    for logical_id, alarm in staging.of_type("AWS::CloudWatch::Alarm").items():
        watched = production.resources[logical_id]["Properties"]
        assert (alarm["Namespace"], alarm["MetricName"]) == (watched["Namespace"], watched["MetricName"])
        assert alarm["Dimensions"] != watched["Dimensions"], f"{logical_id} watches the other stack's metric too"
    for logical_id, metric_filter in staging.of_type("AWS::Logs::MetricFilter").items():
        # A filter's metric is told apart by a dimension the log line carries (the API's id)
        (transformation,) = metric_filter["MetricTransformations"]
        assert transformation["Dimensions"] == [{"Key": "ApiId", "Value": "$.apiId"}], logical_id
        assert metric_filter["LogGroupName"] != production.resources[logical_id]["Properties"]["LogGroupName"]


def _api_gateway_roles(s: _Stack) -> list[str]:
    return [
        name
        for name, role in s.of_type("AWS::IAM::Role").items()
        if "apigateway.amazonaws.com" in json.dumps(role["AssumeRolePolicyDocument"])
    ]


def test_a_second_stack_leaves_the_regions_api_gateway_cloudwatch_role_as_the_first_set_it() -> None:
    # Given production, deployed first with the defaults, and staging beside it told not to set the
    # region's API Gateway CloudWatch role (one setting per account and region, whichever stack wrote last)
    production = stack(PRODUCTION)
    staging = stack(STAGING, SetApiGatewayCloudWatchRole="false")

    # Then production creates the role, keeps it on deletion, and sets it before either API is created
    assert _api_gateway_roles(production) == ["ApiGatewayCloudWatchRole"]
    assert production.created["ApiGatewayCloudWatchRole"]["DeletionPolicy"] == "Retain"
    (account,) = production.of_type("AWS::ApiGateway::Account").values()
    assert account["CloudWatchRoleArn"] == production.physical_id("ApiGatewayCloudWatchRole", "Arn")
    for api in ("BuyerApi", "ShopApi", "BuyerApiStage", "ShopApiStage"):
        assert "ApiGatewayAccount" in production.dependencies(api), api
    # And staging neither sets the setting nor leaves a role of its own behind: production's APIs log with
    # production's role whatever becomes of staging, and two deployments never write the setting at once
    assert staging.of_type("AWS::ApiGateway::Account") == {}
    assert _api_gateway_roles(staging) == []
    # And everything staging's resources depend on is created (CloudFormation refuses the template otherwise)
    for logical_id in staging.created:
        staging.dependencies(logical_id)
