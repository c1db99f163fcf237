"""Trading partners and the credential index that finds them.

Items: ``PARTNER#<id>/PROFILE`` holds the partner; ``CREDENTIAL#<mode>#<domain>#<identity>/CREDENTIAL``
points a From credential (domain lower-cased) of one deployment mode at its partner. Both are
written in one transaction, so a credential can never belong to two partners.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ..cxml.models import DeploymentMode
from ..partners import TradingPartner
from .dynamo import ConditionFailed, Item, Table, key, n, s

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

PROFILE = "PROFILE"


class PartnerConflict(Exception):
    """The partner exists already, changed meanwhile, or claims a credential another partner has."""


# DynamoDB's limit on a partition key.
MAX_KEY_BYTES = 2048


def _partner_pk(partner_id: str) -> str:
    return f"PARTNER#{partner_id}"


def _credential_pk(mode: str, domain: str, identity: str) -> str:
    return f"CREDENTIAL#{mode}#{domain.strip().lower()}#{identity.strip()}"


def _credential_keys(partner: TradingPartner) -> set[str]:
    return {
        _credential_pk(mode, ref.domain, ref.identity)
        for mode, credential_set in partner.credentials.items()
        for ref in credential_set.from_credentials
    }


class PartnerRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, partner_id: str) -> TradingPartner | None:
        item = self.table.get(_partner_pk(partner_id), PROFILE)
        return None if item is None else TradingPartner.model_validate_json(item["data"]["S"])

    def find_partner_id(self, mode: DeploymentMode, domain: str, identity: str) -> str | None:
        pk = _credential_pk(mode, domain, identity)
        if len(pk.encode("utf-8")) > MAX_KEY_BYTES:  # DynamoDB would refuse the key: none is registered
            return None
        item = self.table.get(pk, "CREDENTIAL")
        return None if item is None else item["partner_id"]["S"]

    def list(self) -> list[TradingPartner]:
        partners = [
            TradingPartner.model_validate_json(item["data"]["S"])
            for item in self.table.scan_prefix("PARTNER#", PROFILE)
        ]
        return sorted(partners, key=lambda p: p.id)

    def create(self, partner: TradingPartner) -> TradingPartner:
        stamp = datetime.now(UTC)
        partner = partner.model_copy(update={"created_at": stamp, "updated_at": stamp, "revision": 1})
        writes: list[TransactWriteItemTypeDef] = [
            {
                "Put": {
                    "TableName": self.table.name,
                    "Item": self._item(partner),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        ]
        writes += [self._claim(pk, partner.id) for pk in sorted(_credential_keys(partner))]
        try:
            self.table.transact(writes)
        except ConditionFailed:
            if self.get(partner.id) is not None:
                raise PartnerConflict(f"partner {partner.id} exists already") from None
            raise PartnerConflict(self._credential_conflict(partner)) from None
        return partner

    def update(self, partner: TradingPartner) -> TradingPartner:
        """Store a changed partner; fails if it changed meanwhile (optimistic, by revision)."""
        current = self.get(partner.id)
        if current is None:
            raise PartnerConflict(f"partner {partner.id} does not exist")
        updated = partner.model_copy(
            update={"updated_at": datetime.now(UTC), "revision": current.revision + 1, "created_at": current.created_at}
        )
        writes: list[TransactWriteItemTypeDef] = [
            {
                "Put": {
                    "TableName": self.table.name,
                    "Item": self._item(updated),
                    "ConditionExpression": "revision = :revision",
                    "ExpressionAttributeValues": {":revision": n(partner.revision)},
                }
            }
        ]
        old, new = _credential_keys(current), _credential_keys(updated)
        writes += [self._claim(pk, partner.id) for pk in sorted(new - old)]
        writes += [{"Delete": {"TableName": self.table.name, "Key": key(pk, "CREDENTIAL")}} for pk in sorted(old - new)]
        try:
            self.table.transact(writes)
        except ConditionFailed:
            latest = self.get(partner.id)
            if latest is None or latest.revision != partner.revision:
                raise PartnerConflict(f"partner {partner.id} changed meanwhile; run the command again") from None
            raise PartnerConflict(self._credential_conflict(partner)) from None
        return updated

    def _credential_conflict(self, partner: TradingPartner) -> str:
        """Which From credential another partner owns (read after the transaction refused it)."""
        for mode, credential_set in partner.credentials.items():
            for ref in credential_set.from_credentials:
                owner = self.find_partner_id(mode, ref.domain, ref.identity)
                if owner is not None and owner != partner.id:
                    return f"the {mode} From credential {ref.domain}:{ref.identity} belongs to partner {owner}"
        # Released meanwhile (the owner changed its credentials): the same command may succeed now.
        return f"a From credential of {partner.id} belonged to another partner; run the command again"

    def _claim(self, pk: str, partner_id: str) -> TransactWriteItemTypeDef:
        return {
            "Put": {
                "TableName": self.table.name,
                "Item": {**key(pk, "CREDENTIAL"), "partner_id": s(partner_id)},
                "ConditionExpression": "attribute_not_exists(pk) OR partner_id = :partner",
                "ExpressionAttributeValues": {":partner": s(partner_id)},
            }
        }

    @staticmethod
    def _item(partner: TradingPartner) -> Item:
        return {
            **key(_partner_pk(partner.id), PROFILE),
            "data": s(partner.model_dump_json()),
            "revision": n(partner.revision),
        }
