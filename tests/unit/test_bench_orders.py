"""The order benchmark's memory figure is the order handler's: its child process loads nothing else."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

# Not imported from the benchmark: at import it opens the handler's log sink, which would stay open here.
REPO_ROOT = Path(__file__).resolve().parents[2]

# Tooling the handler never loads (cfn-lint, which parses template.yaml for the local stack, brings
# sympy and networkx): ~60 MB of RSS that would count against the 256 MB target.
NOT_THE_HANDLERS = ("cfnlint", "samtranslator", "sympy", "networkx")

CHILD = """
import json, sys
from tests.benchmarks import bench_orders
bench_orders.event(bench_orders.order_document(bench_orders.new_order_id(1), 1))
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in NAMES)))
"""


def test_the_memory_childs_event_and_document_load_no_local_stack_tooling() -> None:
    # Given the benchmark's memory child, which builds the order's event before measuring the handler
    code = f"NAMES = {NOT_THE_HANDLERS!r}\n{CHILD}"
    # When it builds a document and its event in a fresh interpreter
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    # Then none of the tooling is loaded (its memory would be counted as the order's)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []
