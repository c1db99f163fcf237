"""The cXML core (`punchout/cxml/`) stands alone: no AWS, no environment access, nothing of the gateway
around it. Its callers pass what it needs (limits, version, payloadID host) as arguments."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import punchout.cxml

CXML_DIR = Path(punchout.cxml.__file__).resolve().parent
FUNCTIONS_DIR = CXML_DIR.parents[1]
ROOT = FUNCTIONS_DIR.parent

# A document read and rendered in a fresh interpreter after importing every module of the package.
EXERCISE = """
import importlib, json, pkgutil, sys
import punchout.cxml as cxml
for module in pkgutil.iter_modules(cxml.__path__):
    importlib.import_module("punchout.cxml." + module.name)
from tests.unit.cxml._support import order_request_xml
cxml.render(cxml.read_document(order_request_xml().encode()))
print(json.dumps(sorted(sys.modules)))
"""


def test_the_cxml_core_loads_no_aws_library_and_nothing_of_the_gateway_around_it() -> None:
    # Given a fresh interpreter
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(FUNCTIONS_DIR), str(ROOT)])}

    # When it imports every module of the cXML core, reads a document and renders it
    done = subprocess.run(
        [sys.executable, "-c", EXERCISE], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)

    # Then no AWS library was loaded, and of the gateway only the cXML package itself
    aws = [name for name in loaded if name.split(".")[0] in ("boto3", "botocore", "aws_lambda_powertools")]
    assert aws == []
    gateway = [name for name in loaded if name.split(".")[0] == "punchout" and name != "punchout"]
    assert [name for name in gateway if not name.startswith("punchout.cxml")] == []


def environment_reads(source: str) -> list[str]:
    """Where ``source`` touches the process environment: ``os.environ``, ``getenv``, ``putenv``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        name = node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else None
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            name = next((a.name for a in node.names if a.name in ("environ", "environb", "getenv", "putenv")), None)
        if name in ("environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"):
            found.append(f"line {node.lineno}: {name}")  # type: ignore[attr-defined]
    return found


def test_the_cxml_core_reads_no_environment_variable() -> None:
    # Given every module of the cXML core
    modules = sorted(CXML_DIR.glob("*.py"))
    assert len(modules) > 5

    # Then none reads or sets the environment: settings come from its callers
    reads = {path.name: environment_reads(path.read_text(encoding="utf-8")) for path in modules}
    assert {name: where for name, where in reads.items() if where} == {}


def test_an_environment_read_is_found() -> None:
    # The check above can fail: each way of reading the environment is found
    assert environment_reads("import os\nos.environ.get('X')") == ["line 2: environ"]
    assert environment_reads("import os\nos.getenv('X')") == ["line 2: getenv"]
    assert environment_reads("from os import environ") == ["line 1: environ"]
