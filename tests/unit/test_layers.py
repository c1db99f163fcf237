"""The import graph keeps the layers one-way (README, Layout).

Every import of every module under functions/ and infra/ counts, including those inside functions
and under ``TYPE_CHECKING``. From the top: entry points, use cases, the gateway's PunchOut logic,
data access (``punchout.store``), the domain models the store persists, the platform helpers, and
pure cXML. A module imports from its own layer or the ones below it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"

ENTRY_POINTS = {"setup_request.handler", "order_message.handler", "order_request.handler", "punchout.cli"}
USE_CASES = {
    "setup_request.service",
    "order_message.service",
    "order_message.openapi",
    "order_request.service",
    "order_request.schema",
}
# The store reads and writes these: it may import them, and they never import the store.
DOMAIN_MODELS = {"punchout.sessions", "punchout.partners", "punchout.orders", "punchout.currencies"}
PLATFORM = {
    "punchout.model",
    "punchout.settings",
    "punchout.observability",
    "punchout.http",
    "punchout.mime",
    "punchout.coldstart",
}
LAYERS = ["entry point", "use case", "gateway", "store", "domain model", "platform", "cxml"]
AWS_LIBRARIES = {"boto3", "botocore", "aws_lambda_powertools", "mypy_boto3_dynamodb", "mypy_boto3_sqs"}


def _module_name(path: Path, base: Path) -> str:
    parts = list(path.relative_to(base).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    found = {_module_name(path, FUNCTIONS): path for path in FUNCTIONS.rglob("*.py")}
    found.update({_module_name(path, ROOT): path for path in (ROOT / "infra").rglob("*.py")})
    return found


def _type_checking_only(tree: ast.Module) -> set[ast.AST]:
    guarded: set[ast.AST] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in {"TYPE_CHECKING", "typing.TYPE_CHECKING"}:
            guarded.update(child for statement in node.body for child in ast.walk(statement))
    return guarded


def _imported(module: str, path: Path, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    if node.level:
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        package = package[: len(package) - node.level + 1]
        base = ".".join([*package, node.module] if node.module else package)
    else:
        base = node.module or ""
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        yield submodule if submodule in modules() else base


@cache
def edges() -> frozenset[tuple[str, str, bool]]:
    """(importer, imported, at run time): imported is a module of ours, or a third-party top-level name."""
    found = set()
    for module, path in modules().items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = _type_checking_only(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for name in _imported(module, path, node):
                    while name not in modules() and "." in name:
                        name = name.rpartition(".")[0]
                    found.add((module, name, node not in typing_only))
    return frozenset(found)


def layer(module: str) -> str:
    if module in ENTRY_POINTS:
        return "entry point"
    if module in USE_CASES:
        return "use case"
    if module.startswith("punchout.cxml"):
        return "cxml"
    if module.startswith("punchout.store"):
        return "store"
    if module in DOMAIN_MODELS:
        return "domain model"
    if module in PLATFORM:
        return "platform"
    assert module.startswith("punchout."), f"{module}: which layer? (add it to this test)"
    return "gateway"


def _ours(module: str) -> bool:
    return module in modules() and not module.startswith("infra")


def test_every_function_module_has_a_layer() -> None:
    # Given every module under functions/, when each is placed, then none is left out (layer() asserts).
    placed = {module: layer(module) for module in modules() if _ours(module) and "." in module}
    assert set(placed.values()) == set(LAYERS)


def test_no_import_goes_up_a_layer() -> None:
    # Given the import graph, when each import between our modules is ranked, then none goes upwards.
    upwards = sorted(
        f"{importer} ({layer(importer)}) imports {imported} ({layer(imported)})"
        for importer, imported, _ in edges()
        if _ours(importer) and _ours(imported) and "." in importer and "." in imported
        if LAYERS.index(layer(imported)) < LAYERS.index(layer(importer))
    )
    assert upwards == []


def test_functions_never_import_infra_or_tests() -> None:
    # Given the Lambda code root, when its imports are listed, then none reaches infra/ or tests/.
    reaching = sorted(
        f"{importer} imports {imported}"
        for importer, imported, _ in edges()
        if _ours(importer) and imported.split(".")[0] in {"infra", "tests"}
    )
    assert reaching == []


def test_cxml_has_no_aws_and_no_environment() -> None:
    # Given punchout.cxml, when its imports and names are read, then it uses no AWS library, no
    # other gateway module and no environment variable.
    cxml = {module for module in modules() if module.startswith("punchout.cxml")}
    outside = sorted(
        f"{importer} imports {imported}"
        for importer, imported, _ in edges()
        if importer in cxml and not imported.startswith("punchout.cxml")
        if imported.split(".")[0] in AWS_LIBRARIES | {"punchout"} | set(modules())
    )
    environment = sorted(
        f"{module}: {ast.unparse(node)}"
        for module in cxml
        for node in ast.walk(ast.parse(modules()[module].read_text(encoding="utf-8")))
        if _name(node) in {"environ", "getenv", "putenv"}
    )
    assert (outside, environment) == ([], [])


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def test_only_the_store_talks_to_dynamodb_and_sqs() -> None:
    # Given the gateway's modules, when their AWS SDK imports are listed, then only punchout.store has
    # them (the CLI, an operator's tool, also reads CloudFormation outputs and API Gateway keys).
    sdk = sorted(
        f"{importer} imports {imported}"
        for importer, imported, _ in edges()
        if _ours(importer) and imported.split(".")[0] in AWS_LIBRARIES - {"aws_lambda_powertools"}
        if layer(importer) != "store" and importer != "punchout.cli"
    )
    assert sdk == []


def test_no_import_cycle() -> None:
    # Given the run-time import graph (a TYPE_CHECKING import for a hook's annotation is no cycle),
    # when its strongly connected parts are found, then each is a single module.
    graph: dict[str, set[str]] = {module: set() for module in modules()}
    for importer, imported, at_run_time in edges():
        if at_run_time and imported in graph and importer != imported:
            graph[importer].add(imported)
    cycles = [part for part in _strongly_connected(graph) if len(part) > 1]
    assert cycles == []


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    parts: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            part = [stack.pop()]
            while part[-1] != node:
                part.append(stack.pop())
            parts.append(sorted(part))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return parts
