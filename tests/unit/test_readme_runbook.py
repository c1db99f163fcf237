"""What README's *Deploying* and *Runbook* name for the operator exists: metrics the functions emit,
and the template's resources, outputs and parameters."""

from __future__ import annotations

import re
from pathlib import Path

from infra.local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"


def _section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    return text[start : text.index("\n## ", start + 1)]


def _emitted_metrics() -> set[str]:
    """Every metric name the functions pass to Powertools' ``add_metric``."""
    names: set[str] = set()
    for source in (ROOT / "functions").rglob("*.py"):
        for call in re.findall(r"add_metric\(name=(.*?), unit=", source.read_text(encoding="utf-8")):
            names.update(re.findall(r'"([A-Za-z]+)"', call))
    return names


def test_the_runbook_lists_exactly_the_metrics_the_functions_emit() -> None:
    # Given the runbook's list of the gateway's own metrics
    runbook = " ".join(_section("Runbook").split())
    listed_text = runbook[runbook.index("Metrics: ") : runbook.index("The start link")]
    listed = set(re.findall(r"`([A-Z][A-Za-z]+)`", listed_text))
    # Then it names every metric a function emits, and no other
    assert _emitted_metrics() and listed == _emitted_metrics()


def test_every_resource_output_and_parameter_the_operator_is_pointed_to_exists() -> None:
    # Given the names README's Deploying and Runbook give the operator (alarms, log groups, outputs...)
    template = load_template(ROOT / "template.yaml")
    known = set(template["Resources"]) | set(template["Outputs"]) | set(template["Parameters"])
    text = _section("Deploying") + _section("Runbook")
    suffixes = "Alarm|LogGroup|Url|Arn|Seconds|Days|Protection|Queue|Table"
    named = set(re.findall(rf"`([A-Z][A-Za-z0-9]+(?:{suffixes}))`", text))
    # Then each is one of the template's
    assert named, "no names found: the pattern no longer matches README"
    assert named <= known, sorted(named - known)
