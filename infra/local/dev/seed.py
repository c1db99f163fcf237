"""The local stack's demo data: trading partners the buyer simulator uses, and the demo shop's API key.

Seeded on every start and idempotent: what exists is reused and brought up to date (the port, and so
the partner's hosts and shop URL, may differ between runs). Generated secrets live only in local files
under the state directory: `demo-credentials.json` (kept across restarts, so a secret the developer
pasted into another tool stays valid, and so a persistent DynamoDB Local keeps matching it) and the
running stack's `stack.json`. They are never logged or printed.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from punchout.cxml.models import DeploymentMode
from punchout.partners import (
    CartEncoding,
    Classification,
    CredentialRef,
    CredentialSet,
    TradingPartner,
    generate_secret,
    hash_secret,
    verify_any,
)
from punchout.store.api_keys import ApiKeyRepository
from punchout.store.dynamo import Table
from punchout.store.partners import PartnerConflict, PartnerRepository

CREDENTIALS_FILE: Final = "demo-credentials.json"
DEMO_API_KEY_NAME: Final = "demo-shop (local stack)"
DEMO_UNSPSC: Final = "44120000"  # Office supplies: the default for lines the shop leaves unclassified
MODES: Final[tuple[DeploymentMode, ...]] = ("production", "test")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoPartnerSpec:
    id: str
    name: str
    domain: str
    identity: str  # production; the test system's is this + "-T", as Ariba names test accounts
    field_name: str
    encoding: CartEncoding

    def identity_for(self, mode: DeploymentMode) -> str:
        return self.identity if mode == "production" else f"{self.identity}-T"


# Two partners, one per cart encoding: the simulator (and the browser tests) exercise both, and the
# base64 one spells its field name the way Ariba does.
DEMO_PARTNERS: Final = (
    DemoPartnerSpec("demo-buyer", "Demo Buyer", "NetworkID", "AN-DEMO-BUYER", "cxml-urlencoded", "urlencoded"),
    DemoPartnerSpec(
        "demo-buyer-base64", "Demo Buyer (base64 carts)", "NetworkID", "AN-DEMO-BUYER-B64", "cXML-base64", "base64"
    ),
)


@dataclass(frozen=True)
class DemoCredential:
    domain: str
    identity: str
    secret: str


@dataclass(frozen=True)
class DemoPartner:
    id: str
    name: str
    field_name: str
    encoding: CartEncoding
    credentials: dict[DeploymentMode, DemoCredential]

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "cart_field_name": self.field_name,
            "cart_encoding": self.encoding,
            "credentials": {
                mode: {"domain": c.domain, "identity": c.identity, "shared_secret": c.secret}
                for mode, c in self.credentials.items()
            },
        }


@dataclass(frozen=True)
class DemoSeed:
    api_key: str
    api_key_id: str
    partners: list[DemoPartner]


def read_credentials(path: Path) -> dict[str, Any]:
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        logger.warning("%s is unreadable (%s); generating new demo credentials", path, type(error).__name__)
        return {}
    return stored if isinstance(stored, dict) else {}


def write_private(path: Path, content: str) -> None:
    """Write a file only its owner can read (it holds secrets), replacing it atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(content)
    temporary.replace(path)


def allowed_hosts(base_url: str) -> list[str]:
    """The local stack's own host as browsers may name it: the simulator receives carts there."""
    port = urlsplit(base_url).port
    return [f"127.0.0.1:{port}", f"localhost:{port}"] if port else ["127.0.0.1", "localhost"]


def _desired(spec: DemoPartnerSpec, base_url: str, secrets_by_mode: dict[DeploymentMode, str]) -> TradingPartner:
    return TradingPartner(
        id=spec.id,
        name=spec.name,
        credentials={
            mode: CredentialSet(
                from_credentials=[CredentialRef(domain=spec.domain, identity=spec.identity_for(mode))],
                secret_hashes=[hash_secret(secrets_by_mode[mode])],
            )
            for mode in MODES
        },
        browser_form_post_hosts=allowed_hosts(base_url),
        allow_http=True,  # the local stack has no TLS
        cart_field_name=spec.field_name,
        cart_encoding=spec.encoding,
        operation_allowed="edit",
        default_currency="USD",
        default_classification=Classification(domain="UNSPSC", value=DEMO_UNSPSC),
        shop_url=f"{base_url}/_dev/shop",
    )


def _reconciled(
    existing: TradingPartner, desired: TradingPartner, secrets_by_mode: dict[DeploymentMode, str]
) -> TradingPartner:
    """`existing` with the demo settings of `desired`; its secret hashes stay while they still match.

    A stored hash that no longer matches the kept secret (rotated with the CLI, or a reset credentials
    file) is replaced by the demo secret's, so that stack.json stays the truth.
    """
    credentials = {}
    for mode, wanted in desired.credentials.items():
        current = existing.credentials.get(mode)
        still_valid = (
            current is not None
            and current.from_credentials == wanted.from_credentials
            and verify_any(secrets_by_mode[mode], current.secret_hashes)
        )
        credentials[mode] = current if still_valid and current is not None else wanted
    return existing.model_copy(
        update={
            "credentials": credentials,
            "browser_form_post_hosts": desired.browser_form_post_hosts,
            "allow_http": desired.allow_http,
            "cart_field_name": desired.cart_field_name,
            "cart_encoding": desired.cart_encoding,
            "shop_url": desired.shop_url,
            "default_classification": desired.default_classification,
            "enabled": True,
        }
    )


def seed_partner(
    partners: PartnerRepository, spec: DemoPartnerSpec, base_url: str, secrets_by_mode: dict[DeploymentMode, str]
) -> None:
    existing = partners.get(spec.id)
    desired = _desired(spec, base_url, secrets_by_mode)
    if existing is None:
        partners.create(desired)
        return
    updated = _reconciled(existing, desired, secrets_by_mode)
    if updated != existing:
        partners.update(updated)


def seed(table_name: str, base_url: str, state_dir: Path) -> DemoSeed:
    """Create or refresh the demo partners and the shop's API key; returns their credentials."""
    credentials_path = state_dir / CREDENTIALS_FILE
    stored = read_credentials(credentials_path)
    table = Table(table_name)
    partners = PartnerRepository(table)
    stored_partners = stored.get("partners")
    stored_secrets: dict[str, Any] = stored_partners if isinstance(stored_partners, dict) else {}
    demo_partners: list[DemoPartner] = []
    kept: dict[str, dict[DeploymentMode, str]] = {}
    for spec in DEMO_PARTNERS:
        previous = stored_secrets.get(spec.id)
        previous = previous if isinstance(previous, dict) else {}
        secrets_by_mode: dict[DeploymentMode, str] = {}
        for mode in MODES:
            kept_secret = previous.get(mode)
            secrets_by_mode[mode] = kept_secret if isinstance(kept_secret, str) and kept_secret else generate_secret()
        try:
            seed_partner(partners, spec, base_url, secrets_by_mode)
        except PartnerConflict as error:
            logger.warning("demo partner %s not seeded: %s", spec.id, error)
            continue
        kept[spec.id] = dict(secrets_by_mode)
        demo_partners.append(
            DemoPartner(
                id=spec.id,
                name=spec.name,
                field_name=spec.field_name,
                encoding=spec.encoding,
                credentials={
                    mode: DemoCredential(spec.domain, spec.identity_for(mode), secret)
                    for mode, secret in secrets_by_mode.items()
                },
            )
        )

    keys = ApiKeyRepository(table)
    raw_key = stored.get("api_key") if isinstance(stored.get("api_key"), str) else None
    api_key = keys.verify(raw_key)
    if api_key is None or raw_key is None:
        api_key, raw_key = keys.create(DEMO_API_KEY_NAME)
    write_private(credentials_path, json.dumps({"api_key": raw_key, "partners": kept}, indent=2) + "\n")
    return DemoSeed(api_key=raw_key, api_key_id=api_key.id, partners=demo_partners)
