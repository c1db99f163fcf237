"""The local stack's demo data is seeded idempotently: credentials are kept, settings follow the port."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from cfnlint.decode import decode
from moto import mock_aws

from infra.local.api_keys import TableApiKeys
from infra.local.dev.seed import CREDENTIALS_FILE, DEMO_PARTNERS, seed
from punchout.partners import hash_secret, verify_any
from punchout.store.api_keys import ApiKeyRepository
from punchout.store.dynamo import Table, dynamodb_client
from punchout.store.partners import PartnerRepository

TEMPLATE = Path(__file__).resolve().parents[3] / "template.yaml"
TABLE = "punchout-seed-test"


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    template, problems = decode(str(TEMPLATE))
    assert template is not None and not problems
    properties = template["Resources"]["PunchOutTable"]["Properties"]
    dynamodb_client.cache_clear()
    try:
        with mock_aws():
            boto3.client("dynamodb").create_table(
                TableName=TABLE,
                AttributeDefinitions=properties["AttributeDefinitions"],
                KeySchema=properties["KeySchema"],
                BillingMode="PAY_PER_REQUEST",
            )
            yield TABLE
    finally:
        dynamodb_client.cache_clear()


def test_a_fresh_stack_gets_the_demo_partners_and_a_working_api_key(table: str, tmp_path: Path):
    demo = seed(table, "http://127.0.0.1:3000", tmp_path)

    partners = PartnerRepository(Table(table))
    assert [p.id for p in demo.partners] == [spec.id for spec in DEMO_PARTNERS]
    for described in demo.partners:
        stored = partners.get(described.id)
        assert stored is not None
        assert stored.browser_form_post_hosts == ["127.0.0.1:3000", "localhost:3000"]
        assert stored.allow_http and stored.shop_url == "http://127.0.0.1:3000/_dev/shop"
        assert stored.default_classification is not None and stored.default_classification.domain == "UNSPSC"
        for mode, credential in described.credentials.items():
            assert verify_any(credential.secret, stored.credentials[mode].secret_hashes)
    assert demo.api_key in TableApiKeys(table)
    assert TableApiKeys(table).get(demo.api_key) == demo.api_key_id
    # The secrets are kept in an owner-only file, for the next start
    kept = tmp_path / CREDENTIALS_FILE
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert json.loads(kept.read_text())["api_key"] == demo.api_key


def test_a_restart_reuses_the_credentials_and_follows_a_new_port(table: str, tmp_path: Path):
    first = seed(table, "http://127.0.0.1:3000", tmp_path)
    revision = PartnerRepository(Table(table)).get("demo-buyer")

    again = seed(table, "http://127.0.0.1:3000", tmp_path)
    moved = seed(table, "http://127.0.0.1:4000", tmp_path)

    assert again == first
    assert (moved.api_key, moved.partners) == (first.api_key, first.partners)
    stored = PartnerRepository(Table(table)).get("demo-buyer")
    assert stored is not None and revision is not None
    assert stored.revision == revision.revision + 1  # the unchanged restart wrote nothing
    assert stored.browser_form_post_hosts == ["127.0.0.1:4000", "localhost:4000"]
    assert stored.shop_url == "http://127.0.0.1:4000/_dev/shop"
    assert len(ApiKeyRepository(Table(table)).list()) == 1


def test_a_secret_changed_behind_its_back_is_set_back_to_the_kept_one(table: str, tmp_path: Path):
    demo = seed(table, "http://127.0.0.1:3000", tmp_path)
    partners = PartnerRepository(Table(table))
    stored = partners.get("demo-buyer")
    assert stored is not None
    rotated = stored.credentials["production"].model_copy(update={"secret_hashes": [hash_secret("rotated")]})
    partners.update(stored.model_copy(update={"credentials": {**stored.credentials, "production": rotated}}))

    seed(table, "http://127.0.0.1:3000", tmp_path)

    restored = partners.get("demo-buyer")
    assert restored is not None
    secret = demo.partners[0].credentials["production"].secret
    assert verify_any(secret, restored.credentials["production"].secret_hashes)


def test_a_revoked_demo_key_is_replaced(table: str, tmp_path: Path):
    first = seed(table, "http://127.0.0.1:3000", tmp_path)
    ApiKeyRepository(Table(table)).revoke(first.api_key_id)

    second = seed(table, "http://127.0.0.1:3000", tmp_path)

    assert second.api_key != first.api_key
    assert second.api_key in TableApiKeys(table) and first.api_key not in TableApiKeys(table)
