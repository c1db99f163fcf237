"""``punchout --stack <name> api-keys ...`` against a deployed stack (moto): keys go to API Gateway too.

ShopApi checks the usage plan's API key before the function checks its hash in DynamoDB, so a key
must exist in both with the same value. The stack is a moto CloudFormation stack whose outputs name
the table and the usage plan, as template.yaml's do (TableName, UsagePlanId).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from punchout import cli
from punchout.store.api_keys import ApiKeyRepository
from punchout.store.dynamo import Table, dynamodb_client
from punchout.store.gateway_keys import GatewayKeys
from punchout.store.partners import PartnerRepository
from tests.unit.gateway.conftest import table_definition

STACK = "punchout-prod"
TABLE_NAME = "punchout-prod-table"
# A partner without --shop-url (the stack's ShopEntryUrl is its default).
ADD_ACME = [
    "partners",
    "add",
    "acme",
    "--name",
    "Acme",
    "--from",
    "NetworkID:AN01",
    "--secret",
    "a secret chosen by the buyer",
]


@dataclass
class DeployedStack:
    table: Table
    usage_plan_id: str
    apigateway: Any

    def gateway_keys(self) -> list[dict[str, Any]]:
        return list(self.apigateway.get_api_keys(includeValues=True)["items"])

    def plan_key_ids(self) -> set[str]:
        return {key["id"] for key in self.apigateway.get_usage_plan_keys(usagePlanId=self.usage_plan_id)["items"]}


def _stack_template(outputs: dict[str, str]) -> str:
    return json.dumps(
        {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}},
            "Outputs": {name: {"Value": value} for name, value in outputs.items()},
        }
    )


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[DeployedStack]:
    """A deployed stack in moto: its table (template.yaml's schema), a usage plan, and its outputs."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE", "TABLE_NAME"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        cli._stack_outputs.cache_clear()
        dynamodb_client.cache_clear()
        boto3.client("dynamodb").create_table(TableName=TABLE_NAME, **table_definition())
        apigateway = boto3.client("apigateway")
        api = apigateway.create_rest_api(name=f"{STACK}-shop")
        plan = apigateway.create_usage_plan(
            name=f"{STACK}-shop", apiStages=[{"apiId": api["id"], "stage": "prod"}], throttle={"rateLimit": 50}
        )
        boto3.client("cloudformation").create_stack(
            StackName=STACK, TemplateBody=_stack_template({"TableName": TABLE_NAME, "UsagePlanId": plan["id"]})
        )
        try:
            yield DeployedStack(Table(TABLE_NAME), plan["id"], apigateway)
        finally:
            cli._stack_outputs.cache_clear()
            dynamodb_client.cache_clear()


def punchout(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = cli.main(list(arguments))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def printed_key(out: str) -> str:
    match = re.search(r"shown once:\n(\S+)\n", out)
    assert match, out
    return match.group(1)


def printed_id(out: str) -> str:
    return str(json.loads(out[: out.index("\n\n")] if "\n\n" in out else out)["id"])


def test_create_registers_the_same_key_in_the_table_and_in_the_usage_plan(stack, capsys):
    # Given a deployed stack
    # When the supplier creates the shop's key against it
    code, out, err = punchout(capsys, "--stack", STACK, "api-keys", "create", "--name", "webshop")

    # Then the printed key is valid for the function (its hash is in the table) ...
    assert code == 0, err
    raw = printed_key(out)
    assert ApiKeyRepository(stack.table).verify(raw) is not None
    # ... and API Gateway has one enabled key of that very value, in the shop's usage plan
    (gateway_key,) = stack.gateway_keys()
    assert gateway_key["value"] == raw
    assert gateway_key["enabled"] is True
    assert gateway_key["name"] == f"{STACK}-shop-{printed_id(out)}"
    assert stack.plan_key_ids() == {gateway_key["id"]}


def test_the_key_is_alphanumeric_as_api_gateway_requires(stack, capsys):
    # Given a key created against the stack
    _, out, _ = punchout(capsys, "--stack", STACK, "api-keys", "create", "--name", "webshop")

    # Then its value is 20 to 128 letters and digits
    assert re.fullmatch(r"[A-Za-z0-9]{20,128}", printed_key(out))


def test_revoke_disables_the_key_in_both_places(stack, capsys):
    # Given a key created against the stack
    _, out, _ = punchout(capsys, "--stack", STACK, "api-keys", "create", "--name", "webshop")
    raw, key_id = printed_key(out), printed_id(out)

    # When it is revoked
    code, out, err = punchout(capsys, "--stack", STACK, "api-keys", "revoke", key_id)

    # Then the function refuses it and API Gateway has it disabled
    assert code == 0, err
    assert ApiKeyRepository(stack.table).verify(raw) is None
    (gateway_key,) = stack.gateway_keys()
    assert gateway_key["enabled"] is False


def test_revoking_a_key_api_gateway_does_not_know_still_revokes_it_in_the_table(stack, capsys):
    # Given a key that exists only in the table (created before the stack had a usage plan)
    api_key, raw = ApiKeyRepository(stack.table).create("old shop")

    # When it is revoked against the stack
    code, _, err = punchout(capsys, "--stack", STACK, "api-keys", "revoke", api_key.id)

    # Then it is revoked in the table, and the missing API Gateway key is reported
    assert code == 0
    assert ApiKeyRepository(stack.table).verify(raw) is None
    assert "API Gateway has no key" in err


def test_without_a_stack_keys_stay_in_the_table(stack, capsys):
    # Given a bare table (as for the local stack, which has no usage plan)
    # When a key is created against it
    code, out, err = punchout(capsys, "--table", TABLE_NAME, "api-keys", "create", "--name", "local shop")

    # Then the table has it and API Gateway does not
    assert code == 0, err
    assert ApiKeyRepository(stack.table).verify(printed_key(out)) is not None
    assert stack.gateway_keys() == []


class RefusingUsagePlan:
    """An API Gateway client whose usage plan refuses new keys (moto accepts any plan id)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def create_usage_plan_key(self, **arguments: Any) -> None:
        error = {"Error": {"Code": "NotFoundException", "Message": "Invalid Usage Plan ID specified"}}
        raise ClientError(error, "CreateUsagePlanKey")  # type: ignore[arg-type]


def test_a_key_api_gateway_refuses_is_not_left_valid_anywhere(stack, capsys, monkeypatch):
    # Given a stack whose usage plan refuses the key
    def refusing_gateway(arguments: Any) -> GatewayKeys:
        return GatewayKeys(RefusingUsagePlan(stack.apigateway), stack.usage_plan_id, STACK)  # type: ignore[arg-type]

    monkeypatch.setattr(cli, "resolve_gateway", refusing_gateway)

    # When a key is created against it
    code, out, err = punchout(capsys, "--stack", STACK, "api-keys", "create", "--name", "webshop")

    # Then the command fails, prints no key, and leaves no usable key anywhere
    assert code == 1
    assert "shown once" not in out
    assert "API Gateway refused the key" in err
    assert [key for _, key in ApiKeyRepository(stack.table).list() if key.enabled] == []
    assert stack.gateway_keys() == []


def test_a_stack_without_the_usage_plan_output_is_reported(stack, capsys):
    # Given a stack deployed from an older template (no UsagePlanId output)
    boto3.client("cloudformation").update_stack(
        StackName=STACK, TemplateBody=_stack_template({"TableName": TABLE_NAME})
    )

    # When a key is created against it
    code, _, err = punchout(capsys, "--stack", STACK, "api-keys", "create", "--name", "webshop")

    # Then the command names the missing output
    assert code == 1
    assert f"stack {STACK} has no output UsagePlanId" in err


def test_partners_added_against_the_stack_may_leave_the_shop_url_to_the_stack(stack, capsys):
    # Given a deployed stack (its ShopEntryUrl parameter is the default shop URL)
    # When a partner is added without --shop-url
    code, out, err = punchout(capsys, "--stack", STACK, *ADD_ACME)

    # Then it is stored in the stack's table without one
    assert code == 0, err
    assert json.loads(out)["shop_url"] is None


def test_a_table_named_on_the_command_line_wins_over_the_stacks(stack, capsys):
    # Given a deployed stack, and another table
    boto3.client("dynamodb").create_table(TableName="punchout-other-table", **table_definition())

    # When a partner is added naming both
    code, _, err = punchout(capsys, "--table", "punchout-other-table", "--stack", STACK, *ADD_ACME)

    # Then it is in the table named by --table, not in the stack's
    assert code == 0, err
    assert PartnerRepository(Table("punchout-other-table")).get("acme") is not None
    assert PartnerRepository(stack.table).get("acme") is None


def test_a_key_created_for_a_stack_warns_nothing_while_table_name_is_set(stack, capsys, monkeypatch):
    # Given a deployed stack, and a TABLE_NAME left in the shell
    monkeypatch.setenv("TABLE_NAME", "punchout-other-table")

    # When a key is created against the stack
    code, _, err = punchout(capsys, "--stack", STACK, "api-keys", "create", "--name", "webshop")

    # Then it goes to API Gateway too, without the warning that API Gateway lacks it
    assert (code, err) == (0, "")
    assert len(stack.gateway_keys()) == 1


def test_a_key_for_another_stacks_table_is_not_added_to_the_stacks_usage_plan(stack, capsys):
    # Given two stacks in one account: --stack names production, --table another stack's table (staging's)
    boto3.client("dynamodb").create_table(TableName="punchout-staging-table", **table_definition())

    # When a key is created naming both
    code, out, err = punchout(
        capsys, "--table", "punchout-staging-table", "--stack", STACK, "api-keys", "create", "--name", "webshop"
    )

    # Then it is refused: production's usage plan would admit a key whose hash only staging's table holds
    assert code == 1
    assert f"--table punchout-staging-table is not the table of stack {STACK}" in err
    assert "shown once" not in out
    assert stack.gateway_keys() == []
    assert stack.plan_key_ids() == set()
    assert ApiKeyRepository(Table("punchout-staging-table")).list() == []
