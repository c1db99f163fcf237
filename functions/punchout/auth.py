"""Authentication of every cXML request: who is the buyer, and did it prove it.

The buyer is found by any ``From`` credential; the secret is checked on ``Sender`` (a hub such as
the Ariba Network sends as itself, PROTOCOL.md section 2). Unknown partner, wrong secret and missing
credential all get the same 401 text, so an answer never tells which part was wrong; the refusal
carries the cause for the log only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from .cxml.errors import Forbidden, Unauthorized
from .cxml.models import Credential, DeploymentMode, Header
from .partners import CredentialSet, TradingPartner, matching_secret

UNAUTHORIZED_TEXT = "Authentication failed: credentials or shared secret not recognised"
# Why a request was refused, for the operator (logged as ``auth_failure``), never for the buyer.
AuthFailure = Literal[
    "no_from_credential",  # no Header, or no From credential in it
    "unknown_identity",  # no partner has a From credential of the request (in its deploymentMode)
    "no_secret",  # the partner has secrets, no Sender credential presented one
    "sender_not_allowed",  # secrets presented only by Sender identities the partner does not allow
    "wrong_secret",
    "source_not_allowed",  # the request came from outside the partner's source networks
    "disabled",
]
# Senders present one SharedSecret. Each one presented is checked against every stored hash (PBKDF2
# for secrets a person chose), so a document repeating Sender credentials could buy seconds of CPU
# with the partner's public identity alone: only the first ones are checked.
MAX_PRESENTED_SECRETS = 2


class AuthenticationFailed(Unauthorized):
    """A 401 whose text is the same whatever the cause; the cause and the partner are for the log."""

    def __init__(self, cause: AuthFailure, partner_id: str | None = None) -> None:
        super().__init__(UNAUTHORIZED_TEXT)
        self.cause: AuthFailure = cause
        self.partner_id = partner_id


class PartnerDisabled(Forbidden):
    cause: AuthFailure = "disabled"

    def __init__(self, partner_id: str) -> None:
        super().__init__(f"Trading partner {partner_id} is disabled")
        self.partner_id: str | None = partner_id


class PartnerLookup(Protocol):
    def find_partner_id(self, mode: DeploymentMode, domain: str, identity: str) -> str | None: ...

    def get(self, partner_id: str) -> TradingPartner | None: ...


@dataclass(frozen=True)
class Authenticated:
    partner: TradingPartner
    credentials: CredentialSet
    from_credential: Credential  # the From credential the partner was recognised by
    # Which stored secret was presented: "newest" or "older" (a rotation the buyer has not followed
    # yet); None for a partner authenticated by its network alone.
    secret: Literal["newest", "older"] | None = None


def _presented_secrets(header: Header, credentials: CredentialSet | None) -> list[str]:
    allowed = credentials.sender_identities if credentials else []
    return [
        c.shared_secret.get_secret_value()
        for c in header.sender_credentials
        if c.shared_secret is not None and (not allowed or any(ref.matches(c.domain, c.identity) for ref in allowed))
    ][:MAX_PRESENTED_SECRETS]


# Real buyers send one to four From credentials (NetworkID, DUNS, their system's ids).
MAX_FROM_LOOKUPS = 8


def authenticate(
    header: Header | None, mode: DeploymentMode, partners: PartnerLookup, source_ip: str | None = None
) -> Authenticated:
    partner: TradingPartner | None = None
    matched: Credential | None = None
    # Each From credential is a lookup before anyone is authenticated: a few are looked up, not thousands.
    for credential in (header.from_credentials if header else [])[:MAX_FROM_LOOKUPS]:
        partner_id = partners.find_partner_id(mode, credential.domain, credential.identity)
        if partner_id is not None:
            partner, matched = partners.get(partner_id), credential
            break
    credentials = partner.credentials.get(mode) if partner else None
    presented = _presented_secrets(header, credentials) if header else []
    hashes = credentials.secret_hashes if credentials else []
    # Every presented secret is checked against every hash (or a dummy), whatever the outcome.
    matches = [matching_secret(secret, hashes) for secret in presented or [""]]
    index = next((found for found in matches if found is not None), None)
    if credentials is not None and not hashes:
        proven = credentials.allows_source(source_ip)  # a partner that authenticates by network only
    else:
        proven = (
            bool(presented) and index is not None and credentials is not None and credentials.allows_source(source_ip)
        )
    if partner is None or credentials is None or matched is None:
        raise AuthenticationFailed("unknown_identity" if header and header.from_credentials else "no_from_credential")
    if not proven:
        raise AuthenticationFailed(_cause(header, hashes, presented, index), partner.id)
    if not partner.enabled:
        raise PartnerDisabled(partner.id)
    secret: Literal["newest", "older"] | None = None
    if index is not None:
        secret = "newest" if index == len(hashes) - 1 else "older"
    return Authenticated(partner=partner, credentials=credentials, from_credential=matched, secret=secret)


def _cause(header: Header | None, hashes: list[str], presented: list[str], index: int | None) -> AuthFailure:
    """Why a known partner was not proven (checked in the order authenticate() checks)."""
    if not hashes or (presented and index is not None):
        return "source_not_allowed"  # network-only partner, or the right secret from elsewhere
    if presented:
        return "wrong_secret"
    offered = any(c.shared_secret is not None for c in header.sender_credentials) if header else False
    return "sender_not_allowed" if offered else "no_secret"
