"""Trading partners (buyer connections) and how their shared secrets are kept.

A partner is identified by any of its ``From`` credentials and proves itself with a ``Sender``
SharedSecret. Secrets are stored only as salted hashes, at most two at a time, so that a secret can
be rotated without downtime: add the new one, let the buyer switch, retire the old one.
"""

# No `from __future__ import annotations`: see punchout.cxml.models (pydantic models are created faster).

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import ConfigDict, Field, field_validator, model_validator

from .cxml.models import DeploymentMode, OperationAllowed, empty_dict, empty_list
from .model import GatewayModel

MAX_ACTIVE_SECRETS = 2
# PBKDF2-HMAC-SHA256 for secrets chosen by people (generated ones need no slow hash, see
# hash_generated_secret); the count is stored with each hash and can be raised without invalidating old ones.
PBKDF2_ITERATIONS = 120_000
GENERATED_SECRET_LENGTH = 43  # secrets.token_urlsafe(32)
CartEncoding = Literal["urlencoded", "base64"]
_PLAIN_AUTHORITY = re.compile(r"[A-Za-z0-9.-]+(:\d{1,5})?")


class CredentialRef(GatewayModel):
    """A (domain, identity) pair. Domains are compared case-insensitively (PROTOCOL.md section 2)."""

    model_config = ConfigDict(frozen=True)

    domain: str = Field(min_length=1)
    identity: str = Field(min_length=1)

    # Before the length check: a value of spaces only is empty, never stored as "" (no buyer could be
    # told apart by it, and the stored partner would fail to validate when read back).
    @field_validator("domain", "identity", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    def matches(self, domain: str, identity: str) -> bool:
        return self.domain.lower() == domain.strip().lower() and self.identity == identity.strip()


class CredentialSet(GatewayModel):
    """What one deployment mode (``production`` or ``test``) of a partner authenticates with."""

    from_credentials: list[CredentialRef] = Field(min_length=1)
    # Empty: any Sender identity may present the secret. Ariba: ``AribaNetworkUserId`` identities.
    sender_identities: list[CredentialRef] = empty_list()
    secret_hashes: list[str] = empty_list(max_length=MAX_ACTIVE_SECRETS)
    # Networks (CIDR) the buyer's system sends from. With secrets: both must match. Without: the
    # only proof, for buyers that send no SharedSecret (they authenticate by network).
    source_networks: list[str] = empty_list()

    @field_validator("source_networks")
    @classmethod
    def _networks(cls, networks: list[str]) -> list[str]:
        return [str(ipaddress.ip_network(n.strip(), strict=False)) for n in networks if n.strip()]

    @model_validator(mode="after")
    def _some_proof(self) -> Self:
        if not self.secret_hashes and not self.source_networks:
            raise ValueError("a credential set needs a shared secret or source networks")
        return self

    def allows_source(self, address: str | None) -> bool:
        if not self.source_networks:
            return True
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in ipaddress.ip_network(network) for network in self.source_networks)


class Classification(GatewayModel):
    domain: str = "UNSPSC"
    value: str = Field(min_length=1)


class TradingPartner(GatewayModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    name: str = Field(min_length=1)
    enabled: bool = True
    credentials: dict[DeploymentMode, CredentialSet]
    # Hosts a cart may be posted to (exact, or "*.example.com" for subdomains).
    browser_form_post_hosts: list[str] = empty_list()
    allow_http: bool = False  # only for a partner explicitly marked so (test systems)
    default_return_url: str | None = None
    cart_field_name: str = "cxml-urlencoded"
    cart_encoding: CartEncoding = "urlencoded"
    cxml_version: str = Field(default="1.2.014", pattern=r"^1\.2\.\d{3}$")
    operation_allowed: OperationAllowed = "edit"
    default_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    default_classification: Classification | None = None
    unit_of_measure_map: dict[str, str] = empty_dict()
    # The shop's PunchOut entry URL; None: the deployment's default (DEFAULT_SHOP_URL).
    shop_url: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    revision: int = 0

    @field_validator("browser_form_post_hosts")
    @classmethod
    def _hosts(cls, hosts: list[str]) -> list[str]:
        cleaned = [h.strip().lower() for h in hosts if h.strip()]
        for host in cleaned:
            if not re.fullmatch(r"(\*\.)?[a-z0-9.-]+(:\d+)?", host):
                raise ValueError(f"not a host name: {host!r}")
        return cleaned

    @field_validator("shop_url", "default_return_url")
    @classmethod
    def _absolute_url(cls, url: str | None) -> str | None:
        if url is not None:
            parts = urlsplit(url)
            if parts.scheme not in ("https", "http") or not parts.netloc:
                raise ValueError(f"not an absolute http(s) URL: {url!r}")
        return url

    @model_validator(mode="after")
    def _return_url_allowed(self) -> Self:
        if self.default_return_url is not None and not self.allows_return_url(self.default_return_url):
            raise ValueError("default_return_url must be on browser_form_post_hosts (and https unless allow_http)")
        return self

    def allows_return_url(self, url: str) -> bool:
        """Whether a cart may be posted to ``url`` (the setup request's ``BrowserFormPost``)."""
        parts = urlsplit(url)
        if parts.scheme != "https" and not (self.allow_http and parts.scheme == "http"):
            return False
        # Browsers read the host differently from urlsplit when the authority holds user info or a
        # backslash (a browser posts "https://evil.example\@allowed.example/" to evil.example):
        # the authority must be a plain host name with an optional port.
        if not _PLAIN_AUTHORITY.fullmatch(parts.netloc):
            return False
        try:
            port = parts.port
        except ValueError:  # out of range
            return False
        host = (parts.hostname or "").lower()
        netloc = host if port is None else f"{host}:{port}"
        # A host listed without a port allows its scheme's default port only.
        default_port = port is None or port == {"https": 443, "http": 80}.get(parts.scheme)
        for allowed in self.browser_form_post_hosts:
            if allowed.startswith("*."):
                if host.endswith(allowed[1:]) and default_port:
                    return True
            elif allowed == netloc or (allowed == host and default_port):
                return True
        return False

    def unit_of_measure(self, unit: str) -> str:
        return self.unit_of_measure_map.get(unit, unit)

    def units_mapped(self, units: Iterable[str]) -> dict[str, str]:
        """The mapping's entries that change ``units`` (the shop's), as a cart of them is sent to the buyer."""
        return {unit: self.unit_of_measure(unit) for unit in units if self.unit_of_measure(unit) != unit}

    def money_currency(self, currency: str | None) -> str:
        return (currency or self.default_currency).upper()


# --- secrets --------------------------------------------------------------------------------------


def generate_secret() -> str:
    """A strong shared secret (256 random bits), printable and safe inside XML."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str, *, iterations: int = PBKDF2_ITERATIONS) -> str:
    """The stored form of a secret a person chose: salted PBKDF2, slow against dictionary guessing."""
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), salt, iterations)
    return "$".join(("pbkdf2_sha256", str(iterations), _b64(salt), _b64(digest)))


def hash_generated_secret(secret: str) -> str:
    """The stored form of a secret from ``generate_secret``: a salted HMAC-SHA256.

    256 random bits cannot be guessed, fast hash or slow (the same reasoning as for shop API keys),
    so a generated secret does not pay a PBKDF2 derivation on each cold start.
    """
    if len(secret) < GENERATED_SECRET_LENGTH:
        raise ValueError("not a generated secret: too short for the fast hash")
    salt = secrets.token_bytes(16)
    return "$".join(("hmac_sha256", _b64(salt), _b64(hmac.digest(salt, secret.encode("utf-8"), "sha256"))))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# A warm Lambda remembers derived keys so that a buyer's repeated requests do not pay the slow
# hash again. Keyed by an HMAC of the secret, never the secret itself.
_DERIVED: dict[tuple[bytes, bytes, int], bytes] = {}
_DERIVED_MAX = 256


def _derive(secret: str, salt: bytes, iterations: int) -> bytes:
    key = (hmac.digest(salt, secret.encode("utf-8"), "sha256"), salt, iterations)
    derived = _DERIVED.get(key)
    if derived is None:
        derived = hashlib.pbkdf2_hmac("sha256", secret.encode("utf-8"), salt, iterations)
        if len(_DERIVED) >= _DERIVED_MAX:
            _DERIVED.clear()
        _DERIVED[key] = derived
    return derived


def verify_secret(secret: str, stored: str) -> bool:
    """Constant-time check of ``secret`` against one stored hash (either scheme)."""
    try:
        match stored.split("$"):
            case ["hmac_sha256", salt, digest]:
                derived = hmac.digest(base64.b64decode(salt), secret.encode("utf-8"), "sha256")
            case ["pbkdf2_sha256", iterations, salt, digest]:
                derived = _derive(secret, base64.b64decode(salt), int(iterations))
            case _:
                return False
        expected = base64.b64decode(digest)
    except ValueError:
        return False
    return hmac.compare_digest(derived, expected)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_generated_secret(generate_secret())


def matching_secret(secret: str, stored_hashes: list[str]) -> int | None:
    """The index of the active hash ``secret`` matches, if any; every hash is checked, whatever the outcome."""
    # An unknown partner is still checked against a hash of the usual (generated) kind: timing does
    # not tell it from a wrong secret, and unknown From identities cannot make us run PBKDF2.
    results = [verify_secret(secret, stored) for stored in stored_hashes or [_dummy_hash()]]
    return next((index for index, matched in enumerate(results) if matched), None) if stored_hashes else None


def verify_any(secret: str, stored_hashes: list[str]) -> bool:
    """True if ``secret`` matches any active hash; every hash is checked, whatever the outcome."""
    return matching_secret(secret, stored_hashes) is not None
