"""Stored forms of shared secrets: PBKDF2 for chosen secrets, a salted HMAC for generated ones."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from punchout.partners import (
    GENERATED_SECRET_LENGTH,
    CredentialRef,
    CredentialSet,
    generate_secret,
    hash_generated_secret,
    hash_secret,
    verify_any,
    verify_secret,
)

CHOSEN = "correct horse battery staple"


def test_chosen_secret_verifies_against_its_pbkdf2_hash() -> None:
    # Given a secret a person chose, stored with PBKDF2
    stored = hash_secret(CHOSEN, iterations=1000)
    # When it and a near miss are checked
    # Then only the secret itself matches
    assert stored.startswith("pbkdf2_sha256$1000$")
    assert verify_secret(CHOSEN, stored)
    assert not verify_secret(CHOSEN + " ", stored)


def test_a_chosen_secret_is_stored_with_120000_pbkdf2_iterations_and_a_generated_one_has_43_characters() -> None:
    # Given a chosen secret stored with the default work factor, and a generated secret
    stored, generated = hash_secret(CHOSEN), generate_secret()
    # Then the stored form names the 120,000 iterations README documents, and the secret verifies against it
    assert stored.startswith("pbkdf2_sha256$120000$")
    assert verify_secret(CHOSEN, stored)
    # And a generated secret is 43 URL-safe characters (256 random bits)
    assert len(generated) == 43 and generated.replace("-", "").replace("_", "").isalnum()


def test_generated_secret_verifies_against_its_hmac_hash() -> None:
    # Given a generated secret, stored with the salted HMAC
    secret = generate_secret()
    stored = hash_generated_secret(secret)
    # When it, another generated secret, a truncated and a padded copy are checked
    # Then only the secret itself matches
    assert stored.startswith("hmac_sha256$")
    assert verify_secret(secret, stored)
    assert not verify_secret(generate_secret(), stored)
    assert not verify_secret(secret[:-1], stored)
    assert not verify_secret(secret + " ", stored)


def test_each_hash_has_its_own_salt() -> None:
    # Given one secret hashed twice with each scheme
    secret = generate_secret()
    # Then the stored forms differ (equal secrets are not visible as equal hashes)
    assert hash_generated_secret(secret) != hash_generated_secret(secret)
    assert hash_secret(secret, iterations=1000) != hash_secret(secret, iterations=1000)


@pytest.mark.parametrize("secret", [CHOSEN, "x" * (GENERATED_SECRET_LENGTH - 1)], ids=["chosen", "one-short"])
def test_fast_hash_refuses_a_secret_too_short_to_be_generated(secret: str) -> None:
    # Given a short, possibly human-chosen secret, down to one character shorter than a generated one
    # When it is offered to the fast hash
    # Then it is refused: only generated secrets may skip the slow hash
    with pytest.raises(ValueError, match="not a generated secret"):
        hash_generated_secret(secret)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "plain text",
        "md5$abc$def",
        "hmac_sha256$only-one-part",
        "hmac_sha256$!!!$!!!",
        "pbkdf2_sha256$many$c2FsdA==$ZGlnZXN0",
        "pbkdf2_sha256$1000$c2FsdA==",
    ],
)
def test_malformed_stored_hash_never_matches(stored: str) -> None:
    # Given a stored value that is not one of our hashes
    # When any secret is checked against it
    # Then it does not match, and nothing is raised
    assert verify_secret(CHOSEN, stored) is False


def test_partner_without_hashes_accepts_nothing() -> None:
    # Given a credential set with no active secret
    # When a secret is presented
    # Then it is refused (the dummy hash it is checked against never counts)
    assert verify_any(CHOSEN, []) is False
    assert verify_any("", []) is False


def test_either_active_secret_matches() -> None:
    # Given two active secrets, one of each kind (a rotation from a chosen to a generated secret)
    generated = generate_secret()
    hashes = [hash_secret(CHOSEN, iterations=1000), hash_generated_secret(generated)]
    # Then each of them matches, and nothing else does
    assert verify_any(CHOSEN, hashes)
    assert verify_any(generated, hashes)
    assert not verify_any(generate_secret(), hashes)


def test_a_credential_set_holds_at_most_two_active_secrets() -> None:
    # Given a credential set in a rotation (two active secrets)
    hashes = [hash_secret(CHOSEN, iterations=1000), hash_generated_secret(generate_secret())]
    from_credentials = [CredentialRef(domain="NetworkID", identity="AN01000000001")]
    CredentialSet(from_credentials=from_credentials, secret_hashes=hashes)
    # When a third secret is added
    # Then the set is refused (a rotation retires one before adding another)
    with pytest.raises(ValidationError, match="at most 2 items"):
        CredentialSet(from_credentials=from_credentials, secret_hashes=[*hashes, hash_secret(CHOSEN, iterations=1000)])
