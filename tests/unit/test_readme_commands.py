"""The commands README.md tells a reader to type exist as written: every `punchout ...` and
`python -m infra.local.stack ...` command line is one its argparse parser takes (subcommands, options,
their choices and value types), every `make <target>` is a target of the Makefile, the route table is
template.yaml's routes, and the answers table pairs each cXML code with the HTTP status it is sent with.

Command lines are read from fenced blocks and from inline code spans. Fenced lines are complete commands
and are parsed whole (required arguments included); inline spans are often a reference to part of one
(`punchout api-keys create`, `partners update --post-host`), so only the names and values they show are
checked. Placeholders (`<message id>`) stand for any value, `[--raw]` for the option, a trailing `...`
for what the text leaves out, and `list | show acme` for each alternative.
"""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from infra.local import stack
from infra.local.template import load_template
from punchout import cli
from punchout.cxml.status import StatusCode

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^ *```[^\n]*\n(.*?)^ *```", re.DOTALL | re.MULTILINE)

PUNCHOUT = re.compile(r"^(?:\.venv/bin/)?punchout(?: |$)|^(?:partners|api-keys|orders) ")
LOCAL_STACK = re.compile(r"^(?:\.venv/bin/)?python -m infra\.local\.stack(?: |$)")


def _mentions() -> list[tuple[str, bool]]:
    """(command text, complete?) for every fenced line and every inline code span of README."""
    found = []
    for block in FENCE.findall(README):
        for line in block.replace("\\\n", " ").splitlines():
            found.append((" ".join(line.split("  #")[0].split()), True))
    prose = FENCE.sub("", README)
    found += [(" ".join(span.split()), False) for span in re.findall(r"`([^`]+)`", prose)]
    return found


def _alternatives(text: str, groups: set[str]) -> list[str]:
    """`punchout partners list | show acme` -> each command; `partners list/show` too."""
    words = text.split(" ")
    head = next((i for i, word in enumerate(words) if word in groups), None)
    if head is None or head + 1 >= len(words):
        return [text]
    prefix, rest = " ".join(words[: head + 1]), " ".join(words[head + 1 :])
    parts = [part.strip() for part in rest.split(" | ")]
    if len(parts) == 1 and "/" in words[head + 1] and "://" not in words[head + 1]:
        parts = [f"{name} {' '.join(words[head + 2 :])}".strip() for name in words[head + 1].split("/")]
    return [f"{prefix} {part}" for part in parts]


def _argv(text: str) -> tuple[list[str], bool]:
    """The words of a command line, placeholders filled in; and whether the text elides the rest."""
    elided = text.endswith("...") and not text.endswith(">...")
    text = text.removesuffix("...").strip()
    text = re.sub(r"<[^<>]+>(?:\.\.\.)?", "x", text)
    text = re.sub(r"\[(--[a-z-]+)\]", r"\1", text)
    return shlex.split(text), elided


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _check_names(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """Each subcommand and option named exists where it stands, and each value shown is one it takes."""
    words = iter(argv)
    for word in words:
        if word.startswith("-"):
            name, _, inline = word.partition("=")
            assert name in parser._option_string_actions, f"{parser.prog} has no option {name}"
            action = parser._option_string_actions[name]
            if action.nargs == 0:
                continue
            value = inline or next(words, None)
            if value is None:
                continue
            if action.choices is not None:
                assert value in action.choices, f"{parser.prog} {name}: {value!r} is not one of {action.choices}"
            if callable(action.type):
                action.type(value)  # an argparse.ArgumentTypeError or ValueError fails the test
        elif subcommands := _subparsers(parser):
            assert word in subcommands, f"{parser.prog} has no subcommand {word!r} (only {sorted(subcommands)})"
            parser = subcommands[word]


def _commands(pattern: re.Pattern[str], program: str, groups: set[str]) -> list[tuple[str, list[str], bool]]:
    commands = []
    for text, complete in _mentions():
        if not pattern.match(text):
            continue
        for command in _alternatives(text, groups):
            argv, elided = _argv(command)
            if argv[:2] in (["python", "-m"], [".venv/bin/python", "-m"]):
                argv = argv[3:]
            elif argv[0] in (program, f".venv/bin/{program}"):
                argv = argv[1:]
            commands.append((command, argv, complete and not elided))
    return commands


PUNCHOUT_COMMANDS = _commands(PUNCHOUT, "punchout", {"partners", "api-keys", "orders"})
LOCAL_STACK_COMMANDS = _commands(LOCAL_STACK, "python", set())


def test_the_readme_shows_commands_of_both_command_lines() -> None:
    # The patterns still find README's commands (a reworded README must not make the tests below vacuous)
    assert len([c for c in PUNCHOUT_COMMANDS if c[2]]) >= 15
    assert len(LOCAL_STACK_COMMANDS) >= 4


@pytest.mark.parametrize(("text", "argv", "complete"), PUNCHOUT_COMMANDS, ids=[c[0] for c in PUNCHOUT_COMMANDS])
def test_every_punchout_command_in_the_readme_is_one_the_cli_takes(text: str, argv: list[str], complete: bool) -> None:
    # Given a `punchout` command line as README shows it
    parser = cli.parser()
    # Then its subcommands and options exist, with the values shown
    _check_names(parser, argv)
    # And a complete one parses as a whole (required arguments present)
    if complete:
        parser.parse_args(argv)


@pytest.mark.parametrize(("text", "argv", "complete"), LOCAL_STACK_COMMANDS, ids=[c[0] for c in LOCAL_STACK_COMMANDS])
def test_every_local_stack_command_in_the_readme_is_one_the_stack_takes(
    text: str, argv: list[str], complete: bool
) -> None:
    # Given a `python -m infra.local.stack` command line as README shows it
    parser = stack.parser({})
    # Then its options exist and it parses
    _check_names(parser, argv)
    parser.parse_args([word for word in argv if word != "--help"])


def test_every_make_target_the_readme_names_exists() -> None:
    # Given the Makefile's targets and the `make <target>` README names
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.MULTILINE))
    named = {target for text, _ in _mentions() for target in re.findall(r"(?:^| )make ([a-z][a-z-]*)", text)}
    # Then each is a target
    assert named, "no `make` commands found: the pattern no longer matches README"
    assert named <= targets, sorted(named - targets)


def test_the_route_table_is_the_templates_routes() -> None:
    # Given README's route table: API, method and path, function
    rows = re.findall(r"^\| (\w+Api) \| `([A-Z]+) (/[^`]*)` \| (\w+) \|", README, re.MULTILINE)
    documented = {(api, method, path, function) for api, method, path, function in rows}
    # And every Api event of the template, with its function's package
    template = load_template(ROOT / "template.yaml")
    routes = set()
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        package = resource["Properties"]["Handler"].split(".")[0]
        for event in resource["Properties"].get("Events", {}).values():
            if event["Type"] == "Api":
                route = event["Properties"]
                routes.add((route["RestApiId"]["Ref"], route["Method"], route["Path"], package))
    # Then the table lists exactly those
    assert routes
    assert documented == routes


def _answers_table() -> list[tuple[str, list[tuple[int, int]]]]:
    """README's *Answers to procurement systems*: (situation, [(cXML code, HTTP status), ...]) per row."""
    start = README.index("| situation | cXML | HTTP |")
    rows = []
    for line in README[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        situation, cxml_codes, http_statuses = (cell.strip() for cell in line.strip("|").rsplit("|", 2))
        pairs = list(zip(map(int, cxml_codes.split(" / ")), map(int, http_statuses.split(" / ")), strict=True))
        rows.append((situation, pairs))
    return rows


def test_the_answers_table_pairs_each_cxml_code_with_the_http_status_it_is_sent_with() -> None:
    # Given README's table of answers to procurement systems
    rows = _answers_table()
    # And what BuyerApi's gateway responses send: the body's Status@code with the response's HTTP status
    # (API Gateway's own for DEFAULT_5XX, which sets none: 502 for a function that failed)
    template = load_template(ROOT / "template.yaml")
    sent = set()
    for name, response in template["Resources"]["BuyerApi"]["Properties"]["GatewayResponses"].items():
        code = int(re.findall(r'<Status code="(\d+)"', response["ResponseTemplates"]["text/xml"])[0])
        sent.add((code, int(response.get("StatusCode", 502 if name == "DEFAULT_5XX" else 0))))
    # Then the function's rows pair each code with the HTTP status the functions send it with
    functions = [pair for situation, pairs in rows if not situation.startswith("API Gateway:") for pair in pairs]
    assert len(functions) >= 10
    assert {(code, StatusCode(code).http_status) for code, _ in functions} == set(functions)
    # And API Gateway's rows are pairs one of its gateway responses sends
    gateway = {pair for situation, pairs in rows if situation.startswith("API Gateway:") for pair in pairs}
    assert gateway
    assert gateway <= sent, sorted(gateway - sent)


def test_the_parameters_table_is_the_templates_parameters_with_their_defaults() -> None:
    # Given README's parameters table (Deploying): parameter and default
    rows = re.findall(r"^\| `([A-Z][A-Za-z]+)` \| (`[^`]+`|empty) \|", README, re.MULTILINE)
    documented = {name: "" if default == "empty" else default.strip("`") for name, default in rows}
    # And the template's parameters
    template = load_template(ROOT / "template.yaml")
    defaults = {name: str(declaration.get("Default", "")) for name, declaration in template["Parameters"].items()}
    # Then each is documented once, with its default
    assert len(rows) == len(documented)
    assert documented == defaults
