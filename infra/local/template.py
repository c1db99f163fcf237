"""template.yaml as the local stack reads it: parsed by cfn-lint, intrinsic functions resolved on demand.

The template is the single source of truth for the local tables, queues, routes and function
environments, so it is parsed the way CloudFormation tooling parses it: cfn-lint's decoder turns the
short tags (`!Ref`, `!GetAtt X.Arn`, `!Sub`) into their long forms (`{"Ref": ...}`,
`{"Fn::GetAtt": ["X", "Arn"]}`, ...). Stripping the tags instead would silently turn references into
literal strings.

Only what a local stack can know is resolved: parameters (defaults or overrides), pseudo parameters,
conditions, mappings, and the `Ref`/`GetAtt` values of the resources created locally (bound with
`Intrinsics.bind`). Anything else raises `Unresolved`, and each caller decides whether to skip the
value or to fail.
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

REGION: Final = "us-east-1"
# moto's default account: local ARNs built here then agree with the ones moto returns.
ACCOUNT_ID: Final = "123456789012"
LOCAL_STACK_NAME: Final = "punchout-local"

# SAM's defaults when neither the function nor Globals set them.
_DEFAULT_MEMORY_MB: Final = 128
_DEFAULT_TIMEOUT_S: Final = 3

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")

logger = logging.getLogger(__name__)

Template = dict[str, Any]


class TemplateError(Exception):
    """template.yaml cannot be read, or describes something the local stack cannot build."""


class Unresolved(Exception):
    """An intrinsic function whose value the local stack cannot know."""


class _NoValue(enum.Enum):
    NO_VALUE = "AWS::NoValue"


# `!Ref AWS::NoValue`: the property is absent. Containers drop it; a caller may receive it at top level.
NO_VALUE: Final = _NoValue.NO_VALUE


def load_template(path: Path) -> Template:
    # Imported here: cfn-lint brings sympy and networkx (~60 MB, ~1 s), which the modules that only
    # take this module's names (the local gateway's limits, the tests' events) need not load.
    from cfnlint.decode import decode

    parsed, errors = decode(str(path))
    if errors or parsed is None:
        raise TemplateError(f"{path}: " + "; ".join(str(error) for error in errors))
    return cast(Template, _plain(parsed))


def _plain(value: Any) -> Any:
    # cfn-lint's nodes subclass dict/str/list to carry line marks; plain types compare and serialise
    # without surprises.
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, str):
        return str(value)
    return value


def resources_of_type(template: Template, *types: str) -> dict[str, dict[str, Any]]:
    """Logical id → resource, for the resources of the given types, in template order."""
    resources: dict[str, dict[str, Any]] = template.get("Resources") or {}
    return {logical_id: r for logical_id, r in resources.items() if r.get("Type") in types}


@dataclass(frozen=True)
class FunctionSpec:
    """An `AWS::Serverless::Function` with `Globals.Function` merged in (intrinsics not resolved)."""

    logical_id: str
    handler: str
    memory_size: int
    timeout: int
    variables: Mapping[str, Any]
    events: Mapping[str, Any]


def functions(template: Template, intrinsics: Intrinsics) -> dict[str, FunctionSpec]:
    globals_: dict[str, Any] = (template.get("Globals") or {}).get("Function") or {}
    specs: dict[str, FunctionSpec] = {}
    for logical_id, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        properties = {**globals_, **(resource.get("Properties") or {})}
        handler = intrinsics.resolve(properties.get("Handler"))
        if not isinstance(handler, str):
            raise TemplateError(f"{logical_id}: Handler must be a string, got {handler!r}")
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            handler=handler,
            memory_size=int(intrinsics.resolve(properties.get("MemorySize", _DEFAULT_MEMORY_MB))),
            timeout=int(intrinsics.resolve(properties.get("Timeout", _DEFAULT_TIMEOUT_S))),
            # Environment is merged variable by variable, as SAM merges Globals.
            variables={
                **((globals_.get("Environment") or {}).get("Variables") or {}),
                **(((resource.get("Properties") or {}).get("Environment") or {}).get("Variables") or {}),
            },
            events=properties.get("Events") or {},
        )
    return specs


def function_environment(template: Template, intrinsics: Intrinsics) -> dict[str, str]:
    """Every function's resolved `Environment.Variables`, in one map.

    The local stack runs all functions in one process, so their variables share one environment: a
    name that two functions set differently cannot be honoured for both (the first one wins, with a
    warning). A variable that cannot be resolved locally is left unset, with a warning.
    """
    environment: dict[str, str] = {}
    for spec in functions(template, intrinsics).values():
        for name, raw in spec.variables.items():
            try:
                value = intrinsics.resolve(raw)
                if value is NO_VALUE:
                    continue
                text = _text(value)
            except Unresolved as error:
                logger.warning("%s: %s left unset (%s)", spec.logical_id, name, error)
                continue
            if environment.setdefault(name, text) != text:
                logger.warning(
                    "%s sets %s=%r but another function set %r; keeping that",
                    spec.logical_id,
                    name,
                    text,
                    environment[name],
                )
    return environment


class Intrinsics:
    """Resolves intrinsic functions against what the local stack knows."""

    def __init__(self, template: Template, *, parameters: Mapping[str, str] | None = None) -> None:
        """``parameters``: values a deployment would give the template's parameters (their defaults otherwise)."""
        self._template = template
        self._refs: dict[str, Any] = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": LOCAL_STACK_NAME,
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{LOCAL_STACK_NAME}/local",
            "AWS::NoValue": NO_VALUE,
        }
        for name, declaration in (template.get("Parameters") or {}).items():
            if "Default" in declaration:
                self._refs[name] = _text(declaration["Default"])
        self._refs.update(parameters or {})
        self._attributes: dict[tuple[str, str], str] = {}

    def bind(self, logical_id: str, ref: str, **attributes: str) -> None:
        """Record what `!Ref logical_id` and `!GetAtt logical_id.<name>` are locally."""
        self._refs[logical_id] = ref
        for name, value in attributes.items():
            self._attributes[(logical_id, name)] = value

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic in `value`; raise `Unresolved` if any cannot be."""
        return self._resolve(value, strict=True)

    def resolve_known(self, value: Any) -> Any:
        """Resolve what can be, leaving out the map entries and list items that cannot.

        For resource properties: an unresolvable property is usually one that means nothing locally
        (KMS keys, tags, conditions on production-only settings), and the service default is right.
        """
        try:
            return self._resolve(value, strict=False)
        except Unresolved as error:
            logger.debug("left out: %s", error)
            return NO_VALUE

    def _resolve(self, value: Any, *, strict: bool) -> Any:
        if isinstance(value, list):
            return [
                item
                for item in (self._resolve_item(v, strict=strict, where=f"[{i}]") for i, v in enumerate(value))
                if item is not NO_VALUE
            ]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self._ref(argument)
            if key.startswith("Fn::"):
                return self._function(key, argument, strict=strict)
        resolved = {key: self._resolve_item(item, strict=strict, where=key) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def _resolve_item(self, value: Any, *, strict: bool, where: str) -> Any:
        try:
            return self._resolve(value, strict=strict)
        except Unresolved as error:
            if strict:
                raise
            logger.debug("left out %s: %s", where, error)
            return NO_VALUE

    def _ref(self, name: Any) -> Any:
        if not isinstance(name, str) or name not in self._refs:
            raise Unresolved(f"Ref {name!r} is not known locally")
        return self._refs[name]

    def _get_att(self, argument: Any) -> str:
        # `!GetAtt X.Arn` decodes to ["X", "Arn"]; the long form may still be the dotted string.
        if isinstance(argument, str):
            argument = argument.split(".", 1)
        if not (isinstance(argument, list) and len(argument) == 2):
            raise Unresolved(f"Fn::GetAtt {argument!r} is malformed")
        logical_id, attribute = (_text(self.resolve(part)) for part in argument)
        try:
            return self._attributes[(logical_id, attribute)]
        except KeyError:
            raise Unresolved(f"Fn::GetAtt {logical_id}.{attribute} is not known locally") from None

    def _function(self, name: str, argument: Any, *, strict: bool) -> Any:
        match name, argument:
            case "Fn::GetAtt", _:
                return self._get_att(argument)
            case "Fn::Sub", str():
                return self._sub(argument, {})
            case "Fn::Sub", [str() as text, dict() as variables]:
                return self._sub(text, variables)
            case "Fn::If", [str() as condition, when_true, when_false]:
                chosen = when_true if self.condition(condition) else when_false
                return self._resolve(chosen, strict=strict)
            case "Fn::Join", [str() as delimiter, items]:
                return delimiter.join(_text(item) for item in self.resolve(items))
            case "Fn::Select", [index, items]:
                return self.resolve(items)[int(self.resolve(index))]
            case "Fn::FindInMap", [map_name, top_key, second_key]:
                mappings: dict[str, Any] = self._template.get("Mappings") or {}
                keys = [_text(self.resolve(key)) for key in (map_name, top_key, second_key)]
                try:
                    return mappings[keys[0]][keys[1]][keys[2]]
                except KeyError:
                    raise Unresolved(f"Fn::FindInMap {keys} has no value") from None
        raise Unresolved(f"{name} {argument!r} is not resolved locally")

    def _sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def substitute(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name.startswith("!"):  # `${!Literal}` is the escape for a literal `${Literal}`
                return "${" + name[1:] + "}"
            if name in variables:
                return _text(self.resolve(variables[name]))
            if "." in name:
                return self._get_att(name)
            return _text(self._ref(name))

        return _SUB_VARIABLE.sub(substitute, text)

    def condition(self, name: str) -> bool:
        conditions: dict[str, Any] = self._template.get("Conditions") or {}
        if name not in conditions:
            raise Unresolved(f"condition {name!r} is not defined")
        return self._condition_value(conditions[name])

    def _condition_value(self, expression: Any) -> bool:
        match expression:
            case {"Condition": str() as name}:
                return self.condition(name)
            case {"Fn::Equals": [left, right]}:
                return _text(self.resolve(left)) == _text(self.resolve(right))
            case {"Fn::Not": [operand]}:
                return not self._condition_value(operand)
            case {"Fn::And": list() as operands}:
                return all(self._condition_value(operand) for operand in operands)
            case {"Fn::Or": list() as operands}:
                return any(self._condition_value(operand) for operand in operands)
        raise Unresolved(f"condition {expression!r} is not evaluated locally")


def _text(value: Any) -> str:
    # CloudFormation stringifies scalars the way JSON spells them.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise Unresolved(f"{value!r} is not a scalar")
