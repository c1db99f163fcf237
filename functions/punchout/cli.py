"""``punchout``: manage trading partners, their shared secrets, the shop's API keys, and received orders.

Works against the local stack (``.local/stack.json`` of the current folder or the nearest one above it
that has one; ``--state-dir DIR`` for one started with that
option) and a deployed stack (``--stack`` reads the table name, and the order queue's URL, from the
CloudFormation outputs; boto3 honours ``AWS_ENDPOINT_URL``). A generated secret
or API key is printed once, when created; stored secrets are hashes and are never printed.
"""

from __future__ import annotations

import argparse
import getpass
import json
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)
from pydantic import ValidationError

from .orders import as_published
from .partners import (
    MAX_ACTIVE_SECRETS,
    CartEncoding,
    Classification,
    CredentialRef,
    CredentialSet,
    TradingPartner,
    generate_secret,
    hash_generated_secret,
    hash_secret,
)
from .store.api_keys import ApiKeyRepository
from .store.dynamo import ChunksMissing, Table, now
from .store.gateway_keys import GatewayKeys
from .store.orders import OrderRecord, OrderRepository, StoredOrder, UnnamedPayloads
from .store.partners import PartnerConflict, PartnerRepository
from .store.queue import OrderQueue, group_id, queue_body, requeue_deduplication_id

LOCAL_STATE_DIR = Path(".local")  # `python -m infra.local.stack`'s default --state-dir
LOCAL_STACK = LOCAL_STATE_DIR / "stack.json"
TABLE_LOGICAL_ID = "PunchOutTable"  # template.yaml
QUEUE_LOGICAL_ID = "OrderQueue"  # template.yaml; its URL is the stack's output OrderQueueUrl


class CliError(Exception):
    pass


# --- where the table is ---------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _stack_outputs(stack: str) -> dict[str, str]:
    import boto3

    outputs = boto3.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    return {output["OutputKey"]: output["OutputValue"] for output in outputs if "OutputKey" in output}


def _stack_output(stack: str, key: str) -> str:
    value = _stack_outputs(stack).get(key)
    if not value:
        raise CliError(f"stack {stack} has no output {key}")
    return value


def _stack_output_of_its_table(arguments: argparse.Namespace, key: str) -> str:
    """An output of --stack for what a command does beside the table (its queue, its usage plan): refused
    when --table names another table, which would be another stack's (staging's orders to production's
    queue, a key in one stack's table and in the other's usage plan)."""
    name = _stack_output(arguments.stack, "TableName")
    if arguments.table and arguments.table != name and not arguments.table.endswith(f":table/{name}"):
        raise CliError(
            f"--table {arguments.table} is not the table of stack {arguments.stack} (its TableName output is "
            f"{name}): name one stack, with --stack alone or --table alone (and --queue-url to requeue)"
        )
    return _stack_output(arguments.stack, key)


def resolve_table(arguments: argparse.Namespace) -> Table:
    if arguments.state_dir is not None and (arguments.table or arguments.stack):
        raise CliError("--state-dir names a local stack's table: give it without --table and --stack")
    if arguments.table:
        return Table(arguments.table)
    if arguments.stack:
        return Table(_stack_output(arguments.stack, "TableName"))
    if arguments.state_dir is not None:
        state_file = arguments.state_dir / "stack.json"
        if not state_file.is_file():
            raise CliError(
                f"no local stack runs with the state directory {arguments.state_dir} (no {state_file}): start it "
                f"with `.venv/bin/python -m infra.local.stack --state-dir {arguments.state_dir}`"
            )
        return _local_table(state_file)
    if os.environ.get("TABLE_NAME"):
        return Table(os.environ["TABLE_NAME"])
    local_stack = _find_local_stack(Path.cwd())
    if local_stack is not None:
        return _local_table(local_stack)
    raise CliError(
        "no table: pass --table, --stack or --state-dir, set TABLE_NAME, or run `make dev` for the local stack"
    )


def _find_local_stack(folder: Path) -> Path | None:
    """The running local stack's ``.local/stack.json`` in ``folder`` or the nearest folder above it that
    has one: the CLI finds the checkout's stack from any of its folders (functions/, infra/...)."""
    for candidate in (folder, *folder.parents):
        if (candidate / LOCAL_STACK).is_file():
            return candidate / LOCAL_STACK
    return None


def _local_state(state_file: Path, service: str) -> dict[str, Any]:
    """What `state_file` says of the local stack, with the endpoint of ``service`` (``dynamodb``, ``sqs``)
    and dummy credentials set for boto3 (an endpoint or credentials set in the environment win)."""
    # As `LocalStack.describe()` writes it: {"dynamodb": {"endpoint_url"}, "sqs": {"endpoint_url"},
    # "tables": {"PunchOutTable": {"name"}}, "queues": {"OrderQueue": {"url"}}}.
    try:
        stack: dict[str, Any] = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CliError(f"cannot read {state_file}: {error}") from None
    endpoint = _state_field(stack, state_file, service, "endpoint_url")
    variable = f"AWS_ENDPOINT_URL_{service.upper()}"
    if endpoint and not os.environ.get("AWS_ENDPOINT_URL") and not os.environ.get(variable):
        os.environ[variable] = endpoint
    for name, value in {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("AWS_DEFAULT_REGION", _state_field(stack, state_file, "region") or "us-east-1")
    return stack


def _state_field(stack: Any, state_file: Path, *path: str) -> str | None:
    """The text at ``path`` in a stack.json (None when a part is missing or empty); a file of another shape (an
    object where text belongs, or the other way round) is an error that names it, not a traceback."""
    value = stack
    for name in path:
        if not isinstance(value, dict):
            break
        value = value.get(name)
        if value is None or value == "":
            return None
    else:
        if isinstance(value, str):
            return value
    raise CliError(
        f"{state_file} is not a local stack's description (no text at {'.'.join(path)}): restart the local "
        "stack (`make dev`)"
    )


class LocalTable(Table):
    """A local stack's table: a connection refused means that stack does not run (any more)."""

    def __init__(self, name: str, state_file: Path, endpoints: Sequence[str]) -> None:
        super().__init__(name)
        self.state_file = state_file
        self.endpoints = tuple(endpoints)  # the stack's DynamoDB and SQS


def _local_table(state_file: Path) -> Table:
    """The table of the local stack that `state_file` describes, with its DynamoDB endpoint."""
    stack = _local_state(state_file, "dynamodb")
    table = _state_field(stack, state_file, "tables", TABLE_LOGICAL_ID, "name")
    if not table:
        raise CliError(f"{state_file} names no {TABLE_LOGICAL_ID}: restart the local stack (`make dev`)")
    endpoints = [_state_field(stack, state_file, service, "endpoint_url") for service in ("dynamodb", "sqs")]
    return LocalTable(table, state_file, [endpoint for endpoint in endpoints if endpoint])


def _local_queue(state_file: Path) -> OrderQueue:
    """The order queue of the local stack that `state_file` describes, with its SQS endpoint."""
    stack = _local_state(state_file, "sqs")
    url = _state_field(stack, state_file, "queues", QUEUE_LOGICAL_ID, "url")
    if not url:
        raise CliError(f"{state_file} names no {QUEUE_LOGICAL_ID}: restart the local stack (`make dev`)")
    return OrderQueue(url)


def resolve_queue(arguments: argparse.Namespace) -> OrderQueue:
    """The order queue of the stack whose table the command reads: the same source names both, so that
    orders of one stack never go to another's queue."""
    if arguments.queue_url:
        return OrderQueue(arguments.queue_url)
    if arguments.stack:
        return OrderQueue(_stack_output_of_its_table(arguments, "OrderQueueUrl"))
    if arguments.state_dir is not None:
        return _local_queue(arguments.state_dir / "stack.json")  # resolve_table found it
    if arguments.table or os.environ.get("TABLE_NAME"):
        if os.environ.get("ORDER_QUEUE_URL"):
            return OrderQueue(os.environ["ORDER_QUEUE_URL"])
        raise CliError(
            "no order queue for that table: pass --queue-url (the stack's OrderQueueUrl output) or set "
            "ORDER_QUEUE_URL, or name the stack with --stack"
        )
    local_stack = _find_local_stack(Path.cwd())
    if local_stack is not None:
        return _local_queue(local_stack)
    raise CliError("no order queue: pass --queue-url, --stack or --state-dir, or run `make dev` for the local stack")


# --- output ---------------------------------------------------------------------------------------


def describe(partner: TradingPartner) -> dict[str, Any]:
    """A partner for display: secrets are reported by count only."""
    shown = partner.model_dump(mode="json")
    for mode, credential_set in partner.credentials.items():
        shown["credentials"][mode].pop("secret_hashes")
        shown["credentials"][mode]["active_secrets"] = len(credential_set.secret_hashes)
        shown["credentials"][mode]["rotation_in_progress"] = _rotating(credential_set)
    return shown


def _rotating(credential_set: CredentialSet) -> bool:
    """Two active secrets: a rotation the buyer has not finished (or not been told about) yet."""
    return len(credential_set.secret_hashes) >= MAX_ACTIVE_SECRETS


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


# A domain may be a URL (the Punchout Cloud Simulator's is "http://host:port"): split those at the last ":".
_URL_DOMAIN = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def _credential(text: str) -> CredentialRef:
    domain, separator, identity = text.rpartition(":") if _URL_DOMAIN.match(text) else text.partition(":")
    if not separator or not domain.strip() or not identity.strip():  # stored trimmed: neither may be empty
        raise argparse.ArgumentTypeError(f"expected DOMAIN:IDENTITY, got {text!r}")
    if "#" in domain:  # keys join mode, domain and identity with "#": a:b#c and a#b:c would share one
        raise argparse.ArgumentTypeError(f"a credential domain cannot hold '#', got {domain!r}")
    return CredentialRef(domain=domain, identity=identity)


def _url(text: str) -> str:
    # Sent to browsers as it is (a Location header, a form's action): a space or control would break them.
    if any(character.isspace() or not character.isprintable() for character in text):
        raise argparse.ArgumentTypeError(f"a URL cannot hold spaces or control characters, got {text!r}")
    return text


# A secret chosen by people (the buyer's system may dictate one) is hashed with PBKDF2, which slows
# guessing but cannot make a short secret strong; generated ones have 43 characters.
MIN_CHOSEN_SECRET_LENGTH = 16
# Segment, family, class and commodity (2 digits each); 2 more name a business function.
_UNSPSC = re.compile(r"\d{8}(\d{2})?")


def _secret_from_stdin() -> str:
    """``--secret -``: the secret typed (not echoed) or piped in, out of the shell's history and the
    process list, where a secret on the command line would be."""
    if sys.stdin.isatty():
        return getpass.getpass("Shared secret: ")
    try:
        line = sys.stdin.readline()
    except UnicodeDecodeError:  # a ValueError: argparse would call it an "invalid value"
        raise argparse.ArgumentTypeError(_NOT_TEXT) from None
    if not line.strip():
        raise argparse.ArgumentTypeError("no secret on standard input (--secret - reads its first line)")
    return line


# Never with the secret: argparse would show it (its errors repeat a value only for ValueError and TypeError).
_NOT_TEXT = "a shared secret must be UTF-8 text (the buyer's cXML document carries it as text)"


def _chosen_secret(text: str) -> str:
    if text == "-":
        text = _secret_from_stdin()
    try:
        text.encode("utf-8")  # bytes that are not UTF-8 (a file, argv) reach Python as lone surrogates
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError(_NOT_TEXT) from None
    if not text.strip():
        raise argparse.ArgumentTypeError("a shared secret cannot be blank; leave out --secret to generate one")
    return text.strip()  # the gateway reads a SharedSecret trimmed: a hash of the spaces would never match


def _check_secret_length(options: argparse.ArgumentParser, arguments: argparse.Namespace) -> None:
    """A chosen secret shorter than MIN_CHOSEN_SECRET_LENGTH only with --short-secret: some buyers' systems
    dictate one (Ariba's example is "coyote"), and such a buyer cannot be served otherwise."""
    secret = getattr(arguments, "secret", None)
    if secret and len(secret) < MIN_CHOSEN_SECRET_LENGTH and not getattr(arguments, "short_secret", False):
        # The message never repeats the secret: it would end up in a terminal's scrollback.
        options.error(
            f"argument --secret: a shared secret needs at least {MIN_CHOSEN_SECRET_LENGTH} characters; leave out "
            "--secret to generate one, or add --short-secret when the buyer's system dictates a shorter one"
        )


def _unspsc(text: str) -> str:
    if not _UNSPSC.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(
            f"an UNSPSC code is 8 digits (10 with a business function), e.g. 44120000; got {text!r}"
        )
    return text.strip()


def _named(what: str) -> Callable[[str], str]:
    """A name that cannot be blank: `--table "$TABLE"` with $TABLE unset would otherwise fall through to
    $TABLE_NAME or the local stack, and act on another table than the operator meant."""

    def named(text: str) -> str:
        if not text.strip():
            raise argparse.ArgumentTypeError(f"{what} cannot be blank")
        return text.strip()

    return named


# time.sleep() takes no NaN, nor ~300 years or more; a delivery runs for 25 s.
MAX_WAIT_SECONDS = 86_400.0


def _seconds(text: str) -> float:
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= MAX_WAIT_SECONDS:  # False for NaN too
        raise argparse.ArgumentTypeError(f"expected a number of seconds up to {MAX_WAIT_SECONDS:.0f}, got {text!r}")
    return seconds


# Buyers read the cart by its field's name: `cxml-urlencoded` holds the document, `cxml-base64` its base64.
_CONVENTIONAL_PREFIX = "cxml-"
_ENCODINGS: tuple[CartEncoding, ...] = ("urlencoded", "base64")


def _conventional_encoding(field_name: str) -> CartEncoding | None:
    """The encoding a conventional field name (any case) stands for; None for a name of the buyer's own."""
    return next((e for e in _ENCODINGS if field_name.lower() == _CONVENTIONAL_PREFIX + e), None)


def _check_cart_form(options: argparse.ArgumentParser, arguments: argparse.Namespace) -> None:
    """A conventional field name with the other encoding: the buyer would read the cart as a broken document."""
    name, encoding = getattr(arguments, "field_name", None), getattr(arguments, "encoding", None)
    named = _conventional_encoding(name) if name is not None and encoding is not None else None
    if named is not None and named != encoding:
        options.error(
            f"argument --encoding: {name} holds the cart {named}, as buyers read it; leave out --encoding, or "
            "name a field of the buyer's own"
        )


def _cart_form(fields: dict[str, Any], current: TradingPartner | None) -> None:
    """Given only one of field name and encoding, the other follows when the field's name is conventional."""
    name, encoding = fields.get("cart_field_name"), fields.get("cart_encoding")
    if name is not None and encoding is None:
        named = _conventional_encoding(name)
        if named is not None:
            fields["cart_encoding"] = named
    elif encoding is not None and name is None:
        kept = current.cart_field_name if current is not None else _CONVENTIONAL_PREFIX + "urlencoded"
        if _conventional_encoding(kept) is not None:  # in the spelling the buyer had (cXML-, CXML-...)
            fields["cart_field_name"] = kept[: len(_CONVENTIONAL_PREFIX)] + encoding


def _mapping(text: str) -> tuple[str, str]:
    shop, separator, buyer = text.partition("=")
    shop, buyer = shop.strip(), buyer.strip()
    # Cart lines' units are required text (the shop API refuses a blank one): a blank side would send the
    # buyer an empty UnitOfMeasure, or map a unit no cart has.
    if not separator or not shop or not buyer or not (shop + buyer).isprintable():
        raise argparse.ArgumentTypeError(
            f"expected SHOP=BUYER, got {text!r}: two units of measure, neither blank (e.g. EA=H87)"
        )
    return shop, buyer


# --- commands -------------------------------------------------------------------------------------


def _new_secret(arguments: argparse.Namespace) -> tuple[str, str, bool]:
    """The secret, its stored hash, and whether it was generated (and must be shown once)."""
    if arguments.secret:
        return arguments.secret, hash_secret(arguments.secret), False
    secret = generate_secret()
    return secret, hash_generated_secret(secret), True


def _settings(arguments: argparse.Namespace) -> dict[str, Any]:
    """The partner fields given on the command line (only those given)."""
    fields: dict[str, Any] = {}
    simple = {
        "name": "name",
        "shop_url": "shop_url",
        "default_return_url": "default_return_url",
        "field_name": "cart_field_name",
        "encoding": "cart_encoding",
        "cxml_version": "cxml_version",
        "operation_allowed": "operation_allowed",
        "currency": "default_currency",
    }
    for option, field in simple.items():
        if getattr(arguments, option, None) is not None:
            fields[field] = getattr(arguments, option)
    if arguments.post_host:
        fields["browser_form_post_hosts"] = arguments.post_host
    if arguments.allow_http is not None:
        fields["allow_http"] = arguments.allow_http
    if arguments.unspsc:
        fields["default_classification"] = Classification(value=arguments.unspsc)
    if arguments.uom:
        fields["unit_of_measure_map"] = dict(arguments.uom)
    return fields


def cmd_add(arguments: argparse.Namespace, partners: PartnerRepository) -> None:
    if arguments.no_secret and not arguments.source_network:
        raise CliError("--no-secret needs --source-network: the buyer must be authenticated somehow")
    secret, stored, generated = ("", "", False) if arguments.no_secret else _new_secret(arguments)
    credential_set = CredentialSet(
        from_credentials=arguments.from_credential,
        sender_identities=arguments.sender or [],
        secret_hashes=[stored] if stored else [],
        source_networks=arguments.source_network or [],
    )
    fields = _settings(arguments)
    _cart_form(fields, None)
    partner = TradingPartner(id=arguments.id, credentials={arguments.mode: credential_set}, **fields)
    created = partners.create(partner)
    _print(describe(created))
    if generated:
        sys.stdout.write(f"\nShared secret for {created.id} ({arguments.mode}), shown once:\n{secret}\n")


def _load(partners: PartnerRepository, partner_id: str) -> TradingPartner:
    partner = partners.get(partner_id)
    if partner is None:
        raise CliError(f"no partner {partner_id}")
    return partner


def cmd_update(arguments: argparse.Namespace, partners: PartnerRepository) -> None:
    partner = _load(partners, arguments.id)
    fields = _settings(arguments)
    _cart_form(fields, partner)
    credentials = dict(partner.credentials)
    secret, generated = None, False
    creating = arguments.mode not in credentials and bool(arguments.from_credential)
    if arguments.secret and not creating:
        if arguments.mode not in credentials:  # no rotate-secret either: there is nothing to rotate
            raise CliError(f"{arguments.mode} credentials need at least one --from")
        raise CliError(
            f"--secret sets the secret of new {arguments.mode} credentials only; "
            f"`partners rotate-secret {partner.id} --secret ...` changes an existing one"
        )
    if arguments.from_credential or arguments.sender is not None:
        current: CredentialSet | None = credentials.get(arguments.mode)
        if current is None:
            if not arguments.from_credential:
                raise CliError(f"{arguments.mode} credentials need at least one --from")
            secret, stored, generated = _new_secret(arguments)
            current = CredentialSet(from_credentials=arguments.from_credential, secret_hashes=[stored])
        credentials[arguments.mode] = current.model_copy(
            update={
                "from_credentials": arguments.from_credential or current.from_credentials,
                "sender_identities": current.sender_identities if arguments.sender is None else arguments.sender,
            }
        )
        fields["credentials"] = credentials
    if arguments.source_network is not None:
        current = credentials.get(arguments.mode)
        if current is None:
            raise CliError(f"{partner.id} has no {arguments.mode} credentials")
        credentials[arguments.mode] = CredentialSet.model_validate(
            {**current.model_dump(), "source_networks": arguments.source_network}
        )
        fields["credentials"] = credentials
    updated = partners.update(TradingPartner.model_validate({**partner.model_dump(), **fields}))
    if arguments.post_host and arguments.allow_http is None and updated.allow_http:
        # Typically the end of a local test (`--allow-http` for the simulator): restoring the real
        # hosts does not turn plain http off by itself.
        sys.stderr.write(
            f"punchout: {updated.id} still allows plain http for its BrowserFormPost hosts; "
            f"add --https-only unless that is meant\n"
        )
    _print(describe(updated))
    if generated and secret:
        sys.stdout.write(f"\nShared secret for {updated.id} ({arguments.mode}), shown once:\n{secret}\n")


def _mode_option(mode: str) -> str:
    return "" if mode == "production" else f" --mode {mode}"


def cmd_rotate_secret(arguments: argparse.Namespace, partners: PartnerRepository) -> None:
    partner = _load(partners, arguments.id)
    current = partner.credentials.get(arguments.mode)
    if current is None:
        raise CliError(f"{partner.id} has no {arguments.mode} credentials")
    if _rotating(current) and not arguments.replace:
        # A third secret would push out the oldest, which the buyer may still be using (the new one
        # may never have reached them): the operator decides which of the two stays first.
        option = _mode_option(arguments.mode)
        raise CliError(
            f"{partner.id} has two active {arguments.mode} secrets (a rotation in progress): finish it with "
            f"`partners retire-secrets {partner.id}{option}` once the buyer uses the new one, or drop a new one "
            f"that never reached them with `partners retire-secrets {partner.id}{option} --keep oldest` and "
            f"rotate again; `--replace` retires both now"
        )
    secret, stored, generated = _new_secret(arguments)
    # Keep the old secret alongside the new one (until --replace), so the buyer can switch.
    kept = [] if arguments.replace else current.secret_hashes
    credentials = {
        **partner.credentials,
        arguments.mode: current.model_copy(update={"secret_hashes": [*kept, stored]}),
    }
    updated = partners.update(partner.model_copy(update={"credentials": credentials}))
    _print(describe(updated))
    if generated:
        sys.stdout.write(f"\nNew shared secret for {updated.id} ({arguments.mode}), shown once:\n{secret}\n")


def cmd_retire_secrets(arguments: argparse.Namespace, partners: PartnerRepository) -> None:
    """Keep one secret: the newest at the end of a rotation, once the buyer uses it; the oldest to
    drop a new secret that never reached the buyer (and rotate again)."""
    partner = _load(partners, arguments.id)
    current = partner.credentials.get(arguments.mode)
    if current is None:
        raise CliError(f"{partner.id} has no {arguments.mode} credentials")
    if len(current.secret_hashes) > 1:
        kept = current.secret_hashes[-1:] if arguments.keep == "newest" else current.secret_hashes[:1]
        credentials = {**partner.credentials, arguments.mode: current.model_copy(update={"secret_hashes": kept})}
        partner = partners.update(partner.model_copy(update={"credentials": credentials}))
    _print(describe(partner))


def cmd_set_enabled(enabled: bool) -> Any:
    def command(arguments: argparse.Namespace, partners: PartnerRepository) -> None:
        partner = _load(partners, arguments.id)
        _print(describe(partners.update(partner.model_copy(update={"enabled": enabled}))))

    return command


def cmd_show(arguments: argparse.Namespace, partners: PartnerRepository) -> None:
    _print(describe(_load(partners, arguments.id)))


def cmd_list(arguments: argparse.Namespace, partners: PartnerRepository) -> None:
    rows = partners.list()
    if arguments.json:
        _print([describe(p) for p in rows])
        return
    for partner in rows:
        modes = ",".join(sorted(partner.credentials))
        state = "enabled" if partner.enabled else "DISABLED"
        rotating = ",".join(sorted(mode for mode, found in partner.credentials.items() if _rotating(found)))
        note = f"  (rotating: {rotating}, two active secrets)" if rotating else ""
        sys.stdout.write(f"{partner.id:<24} {state:<9} {modes:<16} {_terminal_safe(partner.name)}{note}\n")


@dataclass(frozen=True)
class ShopKeys:
    """Where the shop's API keys live: the table always; on a deployed stack (--stack) also API
    Gateway, whose usage plan must know the same value before a request reaches the function."""

    repository: ApiKeyRepository
    gateway: GatewayKeys | None = None


def resolve_gateway(arguments: argparse.Namespace) -> GatewayKeys | None:
    if not arguments.stack:
        return None  # the local stack (or a bare --table) has no usage plan
    import boto3

    usage_plan = _stack_output_of_its_table(arguments, "UsagePlanId")
    return GatewayKeys(boto3.client("apigateway"), usage_plan, arguments.stack)


def cmd_api_key_create(arguments: argparse.Namespace, keys: ShopKeys) -> None:
    bare_table = arguments.table or (os.environ.get("TABLE_NAME") and arguments.state_dir is None)
    if keys.gateway is None and bare_table:
        sys.stderr.write(
            "punchout: the key goes to the table only; a deployed ShopApi refuses it until its usage plan "
            "knows it too (create keys for a deployed stack with --stack)\n"
        )
    api_key, raw = keys.repository.create(arguments.name)
    if keys.gateway is not None:
        try:
            keys.gateway.create(api_key.id, raw, arguments.name)
        except Exception as error:
            keys.repository.revoke(api_key.id)  # half a key would be refused anyway: do not keep it
            refusal = _aws_error(error) if isinstance(error, BotoCoreError | ClientError) else str(error)
            raise CliError(f"API Gateway refused the key ({refusal}); it was revoked in the table too") from error
    _print(api_key.model_dump(mode="json"))
    sys.stdout.write(f"\nAPI key for the shop (x-api-key), shown once:\n{raw}\n")


def cmd_api_key_list(arguments: argparse.Namespace, keys: ShopKeys) -> None:
    _print([api_key.model_dump(mode="json") for _, api_key in keys.repository.list()])


def cmd_api_key_revoke(arguments: argparse.Namespace, keys: ShopKeys) -> None:
    try:
        revoked = keys.repository.revoke(arguments.key_id)
    except KeyError:
        raise CliError(f"no API key {arguments.key_id}") from None
    if keys.gateway is not None and not keys.gateway.disable(arguments.key_id):
        missing = keys.gateway.name(arguments.key_id)
        sys.stderr.write(f"punchout: API Gateway has no key {missing}; revoked in the table only\n")
    _print(revoked.model_dump(mode="json"))


# --- orders ---------------------------------------------------------------------------------------


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 date or time, e.g. 2026-11-27 or 2026-11-27T10:00:00Z; got {text!r}"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # UTC, as orders are stored


def _shown(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _listed(stored: StoredOrder) -> dict[str, Any]:
    record = stored.record
    shown: dict[str, Any] = {
        "message_id": record.message_id,
        "partner_id": record.partner_id,
        "deployment_mode": stored.deployment_mode,
        "order_id": record.order_id,
        "type": record.type,
        "version": record.version,
        "received_at": _shown(record.received_at),
        "status": record.status,
    }
    if stored.queued_at is not None:
        shown["queued_at"] = _shown(stored.queued_at)
    return shown


def _selected(arguments: argparse.Namespace, orders: OrderRepository) -> list[StoredOrder]:
    """The records the listing options select, newest first."""
    found = orders.listing(
        partner_id=arguments.partner,
        deployment_mode=arguments.mode,
        order_id=arguments.order_id,
        status=getattr(arguments, "status", None),
    )
    chosen = [
        stored
        for stored in found
        if (arguments.since is None or stored.record.received_at >= arguments.since)
        and (arguments.until is None or stored.record.received_at < arguments.until)
    ]
    return sorted(chosen, key=lambda stored: (stored.record.received_at, stored.record.message_id), reverse=True)


def _line(stored: StoredOrder) -> str:
    record = stored.record
    mode = "" if stored.deployment_mode == "production" else " (test)"
    return (
        f"{_shown(record.received_at)}  {record.status:<8}  {record.message_id}  {record.partner_id}{mode}  "
        f"{record.type} {_terminal_safe(record.version)}  {_terminal_safe(record.order_id)}\n"
    )


def _terminal_safe(text: str) -> str:
    """The buyer's text (an order id; a versionless order's version holds a payloadID): quoted when it holds
    what would garble a terminal line."""
    return text if text.isprintable() else repr(text)


# AWS's answer to a signature it cannot verify adds, after its first paragraph, the canonical request it
# expected: its signed headers, among them X-Amz-Security-Token (the session token of temporary credentials).
_SIGNED_REQUEST = re.compile(r"\n\s*\n.*|\s*The Canonical String.*", re.DOTALL)
_SECURITY_TOKEN = re.compile(r"(x-amz-security-token[:=]\s*)[^\s&'\"]+", re.IGNORECASE)


def _aws_error(error: BotoCoreError | ClientError) -> str:
    """An AWS error for the terminal: its first paragraph (what went wrong), never a credential it quotes."""
    return _SECURITY_TOKEN.sub(r"\1[redacted]", _SIGNED_REQUEST.sub("", str(error)))


def _aws_hint(error: BotoCoreError | ClientError, table: Table | None) -> str:
    """What the operator can do about the errors whose AWS message does not say which table or stack, or
    what to set."""
    if isinstance(error, NoRegionError):
        return " (set AWS_REGION to the stack's region, or a region in the AWS profile)"
    if isinstance(error, NoCredentialsError):
        return " (set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; after `aws sso login` for SSO)"
    if table is None:
        return ""
    if isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
        # DynamoDB names neither the table nor the region it looked in.
        region = table.client.meta.region_name
        return f" (no table {table.name} in {region}: check --table/--stack/TABLE_NAME and the region)"
    url = str(error.kwargs.get("endpoint_url", "")) if isinstance(error, EndpointConnectionError) else ""
    if isinstance(table, LocalTable) and url and url.startswith(table.endpoints):  # not a --queue-url's
        folder = table.state_file.parent
        default = folder.name == LOCAL_STATE_DIR.name
        start = "make dev" if default else f".venv/bin/python -m infra.local.stack --state-dir {folder}"
        return f" (the local stack of {table.state_file} is not running: start it with `{start}`)"
    return ""


def _one_line(text: str) -> str:
    """An error's text with what is not printable (a buyer's line break or control, within an order id it
    names) written as its escape, so the error stays one line a terminal only shows."""
    return "".join(character if character.isprintable() else repr(character)[1:-1] for character in text)


def cmd_orders_list(arguments: argparse.Namespace, orders: OrderRepository) -> None:
    rows = _selected(arguments, orders)
    if arguments.json:
        _print([_listed(stored) for stored in rows])
        return
    for stored in rows:
        sys.stdout.write(_line(stored))


def _stored_order(orders: OrderRepository, message_id: str) -> StoredOrder:
    stored = orders.stored(message_id)
    if stored is None:
        raise CliError(f"no order message {message_id}")
    return stored


def _stored_size(read: Callable[[], bytes]) -> int | None:
    """A stored payload's size; None when its chunks are gone, so that the record is shown all the same."""
    try:
        return len(read())
    except ChunksMissing:
        return None


def cmd_orders_show(arguments: argparse.Namespace, orders: OrderRepository) -> None:
    stored = _stored_order(orders, arguments.message_id)
    record = stored.record
    if arguments.raw:
        # As stored: the buyer's document with its secrets redacted (the gateway never stores them), in
        # the buyer's own encoding.
        sys.stdout.flush()
        sys.stdout.buffer.write(orders.raw(record))
        sys.stdout.buffer.flush()
        return
    shown = _listed(stored)
    if stored.lease_until is not None:
        shown["dispatch_lease_until"] = _shown(datetime.fromtimestamp(stored.lease_until, UTC))
    shown.update(
        # The end of the order's retention (ORDER_RETENTION_DAYS when it was received); null: kept forever.
        expires_at=_shown(None if stored.expires_at is None else datetime.fromtimestamp(stored.expires_at, UTC)),
        payload_id=record.payload_id,
        resent_payload_ids=list(stored.resent_as),
        content_hash=record.content_hash,
        stored={
            "message_bytes": _stored_size(lambda: orders.message(record)),
            "raw_document_bytes": _stored_size(lambda: orders.raw(record)),
            "attachments": [
                attachment.model_dump(mode="json", exclude={"chunks"}) for attachment in record.attachments
            ],
        },
    )
    _print(shown)


def _requeue(orders: OrderRepository, queue: OrderQueue, record: OrderRecord) -> dict[str, str]:
    """Send the order's message again as the gateway sends it: its stored message (whole, or the same
    claim check; one stored by an older version with the fields added since), in its FIFO group, under a
    deduplication id of its own."""
    group = group_id(record.key.owner, record.order_id)
    deduplication_id = requeue_deduplication_id(record.message_id)
    body = queue_body(as_published(orders.message(record)))
    sqs_message_id = queue.send(body, group=group, deduplication_id=deduplication_id)
    return {
        "message_id": record.message_id,
        "order_id": record.order_id,
        "sqs_message_id": sqs_message_id,
        "message_group_id": group,
        "deduplication_id": deduplication_id,
    }


def _confirmed(chosen: list[StoredOrder], queue: OrderQueue) -> bool:
    for stored in chosen:
        sys.stderr.write(_line(stored))
    sys.stderr.write(f"Send these {len(chosen)} order messages to {queue.url} again? [y/N] ")
    sys.stderr.flush()
    answer = sys.stdin.readline()
    if not sys.stdin.isatty():  # not echoed: end the prompt's line
        sys.stderr.write("\n")
    return answer.strip().lower() in {"y", "yes"}


def cmd_orders_requeue(arguments: argparse.Namespace, orders: OrderRepository) -> None:
    selection = [arguments.since, arguments.until, arguments.partner, arguments.mode, arguments.order_id]
    selecting = any(option is not None for option in selection)
    if arguments.message_id and selecting:
        raise CliError("give message ids or --since/--until/--partner/--mode/--order-id, not both")
    if arguments.message_id:
        chosen = [_stored_order(orders, message_id) for message_id in dict.fromkeys(arguments.message_id)]
    elif selecting:
        chosen = _selected(arguments, orders)
        if not chosen:
            raise CliError("no order matches the selection: nothing sent")
    else:
        raise CliError(
            "name the orders: message ids, or a selection with --since/--until/--partner/--mode/--order-id "
            "(`orders list` with the same options shows it)"
        )
    moment = now()
    busy = [stored for stored in chosen if stored.dispatching(moment)]
    if busy:
        names = ", ".join(stored.record.message_id for stored in busy)
        raise CliError(
            f"the gateway is sending {names} now (its dispatch lease is active): nothing sent; "
            f"`orders show` says queued once it is done"
        )
    queue = resolve_queue(arguments)
    # Oldest first: the versions of one order keep their order in their FIFO group.
    chosen.sort(key=lambda stored: (stored.record.received_at, stored.record.message_id))
    if selecting and not arguments.yes and not _confirmed(chosen, queue):
        raise CliError("not confirmed: nothing sent")
    sent: list[dict[str, str]] = []
    try:
        for stored in chosen:
            sent.append(_requeue(orders, queue, stored.record))
    finally:  # what went out, also when a later send failed
        _print({"queue_url": queue.url, "sent": sent})


# template.yaml's OrderRequestFunction Timeout: a delivery runs no longer.
_ORDER_FUNCTION_TIMEOUT_SECONDS = 25


def cmd_orders_orphans(arguments: argparse.Namespace, orders: OrderRepository) -> None:
    if arguments.wait < _ORDER_FUNCTION_TIMEOUT_SECONDS:
        raise CliError(
            f"--wait must be at least the order function's timeout ({_ORDER_FUNCTION_TIMEOUT_SECONDS} s): a delivery "
            "still running could yet name its payloads"
        )
    found = orders.unnamed_payloads(arguments.wait)
    deleted: list[UnnamedPayloads] = []
    try:
        if arguments.delete:
            for payloads in found:
                orders.delete_unnamed(payloads)
                deleted.append(payloads)
    finally:  # what was deleted, also when a later delete failed
        _print(
            {
                "unnamed_payloads": [{"partition": p.partition, "attempt": p.attempt, "items": p.items} for p in found],
                "deleted_items": sum(p.items for p in deleted),
            }
        )


# --- argument parsing -----------------------------------------------------------------------------


def _secret_options(parser: argparse.ArgumentParser) -> None:
    """--secret and --short-secret, for each command that sets a partner's shared secret."""
    parser.add_argument(
        "--secret",
        type=_chosen_secret,
        help=f"use this shared secret (at least {MIN_CHOSEN_SECRET_LENGTH} characters) instead of generating one; "
        "- reads it from standard input",
    )
    parser.add_argument(
        "--short-secret",
        action="store_true",
        help=f"accept a --secret shorter than {MIN_CHOSEN_SECRET_LENGTH} characters, when the buyer's system "
        "dictates one (easier to guess: prefer a generated secret)",
    )


def _partner_options(parser: argparse.ArgumentParser, *, adding: bool) -> None:
    parser.add_argument("--name", required=adding)
    parser.add_argument("--mode", choices=["production", "test"], default="production", help="deploymentMode")
    parser.add_argument(
        "--from",
        dest="from_credential",
        action="append",
        type=_credential,
        required=adding,
        metavar="DOMAIN:IDENTITY",
        help="a From credential that identifies the buyer (repeatable); a DOMAIN that is a URL ends at the last ':'",
    )
    parser.add_argument(
        "--sender",
        action="append",
        type=_credential,
        metavar="DOMAIN:IDENTITY",
        help="a Sender identity allowed to present the secret, e.g. AribaNetworkUserId:sysadmin@ariba.com",
    )
    _secret_options(parser)
    parser.add_argument(
        "--source-network",
        action="append",
        metavar="CIDR",
        help="network the buyer sends from (repeatable); requests from elsewhere are refused",
    )
    if adding:
        parser.add_argument(
            "--no-secret", action="store_true", help="the buyer sends no SharedSecret (needs --source-network)"
        )
    parser.add_argument(
        "--shop-url",
        type=_url,
        help="the shop's PunchOut entry URL (default: the stack's ShopEntryUrl, DEFAULT_SHOP_URL)",
    )
    parser.add_argument(
        "--post-host", action="append", metavar="HOST", help="allowed BrowserFormPost host (repeatable)"
    )
    http = parser.add_mutually_exclusive_group()
    http.add_argument(
        "--allow-http", dest="allow_http", action="store_true", default=None, help="carts may go to http:// too"
    )
    http.add_argument("--https-only", dest="allow_http", action="store_false", help="turn --allow-http off again")
    parser.add_argument("--default-return-url", type=_url, help="where carts go when a request has no BrowserFormPost")
    parser.add_argument(
        "--field-name",
        type=_named("the cart's field name (e.g. cxml-urlencoded or cXML-base64)"),  # browsers post no nameless field
        help="the cart's form field name, e.g. cxml-urlencoded or cXML-base64 (alone, either sets the encoding too)",
    )
    parser.add_argument(
        "--encoding",
        choices=["urlencoded", "base64"],
        help="how the cart is put in that field (alone, it renames a cxml-urlencoded or cxml-base64 field to match)",
    )
    parser.add_argument("--cxml-version", help="the cXML version to declare, e.g. 1.2.014")
    parser.add_argument("--operation-allowed", choices=["create", "inspect", "edit"])
    parser.add_argument("--currency", help="default currency (ISO 4217)")
    parser.add_argument(
        "--unspsc",
        type=_unspsc,
        help="default UNSPSC code (8 digits, 10 with a business function) for lines without a classification",
    )
    parser.add_argument("--uom", action="append", type=_mapping, metavar="SHOP=BUYER", help="unit-of-measure mapping")


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="punchout",
        description=__doc__.splitlines()[0] if __doc__ else None,
        epilog="The table: --table, else --stack, else --state-dir's stack.json, else $TABLE_NAME, else the local "
        "stack's .local/stack.json, in this folder or the nearest above it (while `make dev` runs).",
    )
    root.add_argument("--table", type=_named("a table name"), help="DynamoDB table name")
    root.add_argument(
        "--stack",
        type=_named("a stack name"),
        help="a deployed stack: its TableName output, for api-keys its UsagePlanId (keys go to API Gateway too), "
        "for orders requeue its OrderQueueUrl",
    )
    root.add_argument(
        "--state-dir",
        type=Path,
        metavar="DIR",
        help="a local stack started with --state-dir DIR (e.g. a second one, .local2): its table and DynamoDB "
        "endpoint, from DIR/stack.json",
    )
    groups = root.add_subparsers(dest="group", required=True)

    partners = groups.add_parser("partners", help="trading partners").add_subparsers(dest="command", required=True)
    add = partners.add_parser("add", help="register a trading partner")
    add.add_argument("id")
    _partner_options(add, adding=True)
    add.set_defaults(run=cmd_add)
    update = partners.add_parser("update", help="change a trading partner")
    update.add_argument("id")
    _partner_options(update, adding=False)
    update.set_defaults(run=cmd_update)
    rotate = partners.add_parser(
        "rotate-secret",
        help="add a new shared secret, keeping the previous one (refused while two are active, unless --replace)",
    )
    rotate.add_argument("id")
    rotate.add_argument("--mode", choices=["production", "test"], default="production")
    _secret_options(rotate)
    rotate.add_argument(
        "--replace",
        action="store_true",
        help="the new secret replaces every older one at once (a leaked secret): the old ones stop working now",
    )
    rotate.set_defaults(run=cmd_rotate_secret)
    retire = partners.add_parser("retire-secrets", help="end a rotation: keep one of the two active secrets")
    retire.add_argument("id")
    retire.add_argument("--mode", choices=["production", "test"], default="production")
    retire.add_argument(
        "--keep",
        choices=["newest", "oldest"],
        default="newest",
        help="newest (default): the buyer uses the new secret; oldest: the new one never reached the buyer",
    )
    retire.set_defaults(run=cmd_retire_secrets)
    for name, enabled in (("disable", False), ("enable", True)):
        toggle = partners.add_parser(name, help=f"{name} a trading partner")
        toggle.add_argument("id")
        toggle.set_defaults(run=cmd_set_enabled(enabled))
    show = partners.add_parser("show", help="show a trading partner (never its secrets)")
    show.add_argument("id")
    show.set_defaults(run=cmd_show)
    listing = partners.add_parser("list", help="list trading partners")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=cmd_list)

    keys = groups.add_parser("api-keys", help="the shop's API keys").add_subparsers(dest="command", required=True)
    create = keys.add_parser("create", help="create an API key (printed once)")
    create.add_argument("--name", required=True)
    create.set_defaults(run=cmd_api_key_create, keys=True)
    key_list = keys.add_parser("list", help="list API keys")
    key_list.set_defaults(run=cmd_api_key_list, keys=True)
    revoke = keys.add_parser("revoke", help="revoke an API key")
    revoke.add_argument("key_id")
    revoke.set_defaults(run=cmd_api_key_revoke, keys=True)

    orders = groups.add_parser("orders", help="received orders (read from the table)").add_subparsers(
        dest="command", required=True
    )
    order_list = orders.add_parser(
        "list",
        help="list the order records, newest first (scans the whole table unless --partner and --order-id)",
        description="List the order records (never their payloads), newest first. Without both --partner and "
        "--order-id this scans the WHOLE table (no index orders them by time): each run reads and bills every item "
        "of it, about its size / 4 KB read units, halved as the scan reads eventually consistent (a 1 GB table: "
        "~130,000 read request units).",
    )
    _order_selection(order_list)
    order_list.add_argument("--status", choices=["received", "queued"], help="queued: the gateway sent it to the queue")
    order_list.add_argument("--json", action="store_true")
    order_list.set_defaults(run=cmd_orders_list, orders=True)
    order_show = orders.add_parser(
        "show", help="an order record: its status and what is stored (sizes, attachments), never secrets"
    )
    order_show.add_argument("message_id")
    order_show.add_argument(
        "--raw", action="store_true", help="print the buyer's document as stored instead (its secrets redacted)"
    )
    order_show.set_defaults(run=cmd_orders_show, orders=True)
    requeue = orders.add_parser(
        "requeue",
        help="send orders' messages to the order queue again (SQS deleted them, or the shop lost them)",
        description="Send the stored message of each order to the order queue again, as the gateway sent it (the "
        "whole order or the same claim check), in the order's FIFO message group, under a new deduplication id; "
        "the record is left as it is. Refused, nothing sent, while the gateway is sending one of them. A selection "
        "scans the whole table, as `orders list` does, and asks before sending unless --yes.",
    )
    requeue.add_argument("message_id", nargs="*", help="the orders' message ids (`orders list` shows them)")
    _order_selection(requeue)
    requeue.add_argument("--yes", action="store_true", help="send a selection without asking")
    requeue.add_argument(
        "--queue-url",
        type=_named("a queue URL"),
        help="the order queue (default: the OrderQueueUrl output of --stack, the local stack's queue, or "
        "$ORDER_QUEUE_URL with --table or $TABLE_NAME)",
    )
    requeue.set_defaults(run=cmd_orders_requeue, orders=True)
    orphans = orders.add_parser(
        "orphans",
        help="order payloads no record names (a delivery stopped before its record); --delete deletes them",
        description="Find the order payload chunks no record names: a delivery that stopped (its timeout, the "
        "runtime dying) between writing the payloads and the record leaves them, and they never expire. Scans the "
        "WHOLE table (keys only), waits --wait seconds so that no delivery still running could name them, and reads "
        "each suspect order again. --delete deletes what it found (dynamodb:BatchWriteItem).",
    )
    orphans.add_argument(
        "--wait",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help=f"between the scan and the check (default 60; at least the timeout, {_ORDER_FUNCTION_TIMEOUT_SECONDS} s)",
    )
    orphans.add_argument("--delete", action="store_true", help="delete the payloads found")
    orphans.set_defaults(run=cmd_orders_orphans, orders=True)
    return root


def _order_selection(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--partner", metavar="ID", help="orders of this trading partner")
    parser.add_argument("--mode", choices=["production", "test"], help="deploymentMode the order was sent in")
    parser.add_argument("--order-id", metavar="ID", help="the buyer's orderID (with --partner: no scan)")
    parser.add_argument("--since", type=_moment, metavar="ISO", help="received at or after (UTC unless given)")
    parser.add_argument("--until", type=_moment, metavar="ISO", help="received before (UTC unless given)")


# Exit codes (README, "Trading partners and the `punchout` CLI").
EXIT_OK = 0
EXIT_FAILED = 1  # refused, not found, AWS answered an error or could not be reached
EXIT_USAGE = 2  # arguments argparse refuses, a partner the model refuses
EXIT_INTERRUPTED = 130  # 128 + SIGINT: Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: whoever read stdout (`| head -1`) stopped reading


def main(argv: Sequence[str] | None = None) -> int:
    """The command's exit code; every failure is one line on stderr (none for a closed pipe), no traceback
    (unless PUNCHOUT_TRACEBACK is set, for what the CLI does not expect)."""
    _escape_unencodable(sys.stdout)
    try:
        code = _main(argv)
        sys.stdout.flush()  # here, not at exit: a closed pipe is then this function's to report
        return code
    except KeyboardInterrupt:
        sys.stderr.write("punchout: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    except Exception as error:
        if os.environ.get("PUNCHOUT_TRACEBACK"):
            raise
        sys.stderr.write(
            f"punchout: unexpected error: {type(error).__name__}: {_one_line(str(error))} "
            "(PUNCHOUT_TRACEBACK=1 shows where)\n"
        )
        return EXIT_FAILED


def _main(argv: Sequence[str] | None) -> int:
    options = parser()
    arguments = options.parse_args(argv)
    _check_secret_length(options, arguments)
    _check_cart_form(options, arguments)
    table: Table | None = None
    try:
        table = resolve_table(arguments)
        target: ShopKeys | PartnerRepository | OrderRepository
        if getattr(arguments, "keys", False):
            target = ShopKeys(ApiKeyRepository(table), resolve_gateway(arguments))
        elif getattr(arguments, "orders", False):
            target = OrderRepository(table)
        else:
            target = PartnerRepository(table)
        arguments.run(arguments, target)
    except (CliError, PartnerConflict, ChunksMissing) as error:
        sys.stderr.write(f"punchout: {_one_line(str(error))}\n")
        return EXIT_FAILED
    except (BotoCoreError, ClientError) as error:
        sys.stderr.write(f"punchout: AWS: {_one_line(_aws_error(error) + _aws_hint(error, table))}\n")
        return EXIT_FAILED
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors(include_url=False))
        sys.stderr.write(f"punchout: invalid partner: {problems}\n")
        return EXIT_USAGE
    return EXIT_OK


def _escape_unencodable(stream: Any) -> None:
    """A terminal that is not UTF-8 (PYTHONIOENCODING=ascii, a locale Python does not coerce) shows what it
    cannot encode (a partner's name in another script) as escapes, instead of the command failing."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")


def _discard_stdout() -> None:
    """After a broken pipe: the interpreter flushes stdout when it exits, which would fail again
    ("Exception ignored ... BrokenPipeError"); the process's stdout goes to /dev/null instead."""
    stdout = sys.__stdout__
    if stdout is None or sys.stdout is not stdout:
        return  # replaced (tests): not the process's file descriptor
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
