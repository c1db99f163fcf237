"""What template.yaml grants each function, and moto made to refuse the rest as IAM would.

moto does not enforce IAM: a call outside a function's grant passes every test and fails only when
deployed (AccessDenied, often inside a path that swallows errors).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from fnmatch import fnmatchcase as fnmatch
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from cfnlint.decode import decode

from tests.support.calls import checking_calls
from tests.support.round_trip import iam_actions

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
# The policy templates SAM expands, as shipped with the translator sam validate and sam build use.
_TRANSLATOR = find_spec("samtranslator")
assert _TRANSLATOR is not None and _TRANSLATOR.origin is not None
POLICY_TEMPLATES = Path(_TRANSLATOR.origin).parent / "policy_templates_data" / "policy_templates.json"


@cache
def granted_actions() -> dict[str, frozenset[str]]:
    """Function logical id → the actions its Policies (SAM policy templates) allow."""
    template, problems = decode(str(TEMPLATE))
    assert not problems, problems
    assert template is not None
    definitions = json.loads(POLICY_TEMPLATES.read_text(encoding="utf-8"))["Templates"]
    granted: dict[str, frozenset[str]] = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        actions: set[str] = set()
        for policy in resource["Properties"].get("Policies", []):
            assert isinstance(policy, dict) and len(policy) == 1, f"{name}: only policy templates are expected"
            (policy_template,) = policy
            for statement in definitions[policy_template]["Definition"]["Statement"]:
                listed = statement["Action"]
                actions.update([listed] if isinstance(listed, str) else listed)
        granted[name] = frozenset(actions)
    return granted


@contextmanager
def only_granted(client: Any, function: str) -> Iterator[None]:
    """Calls through ``client`` that ``function``'s policies do not grant fail as AWS fails them."""
    granted = granted_actions()[function]

    def check(model: Any, params: dict[str, Any], **_: Any) -> None:
        for action in iam_actions(f"{model.service_model.endpoint_prefix}:{model.name}", params):
            if not any(fnmatch(action, grant) for grant in granted):
                denied = f"{function} may not {action}"
                raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": denied}}, model.name)

    with checking_calls(client, check):
        yield
