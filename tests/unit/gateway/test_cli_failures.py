"""``punchout`` when things go wrong: one line on stderr and a non-zero exit code, never a traceback.

Each test drives ``cli.main`` with argv, as the console script does, against the moto table
(``TABLE_NAME`` names it, as a shell may), and checks what an operator sees: the exit code, stdout and
stderr. What AWS answers (no credentials, AccessDenied, throttling, a missing table or stack) already
ends as ``punchout: AWS: ...`` with exit 1; these are the failures that did not.
"""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, NoReturn

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from punchout import cli
from punchout.orders import OrderKey
from punchout.partners import hash_secret
from punchout.store import aws
from punchout.store.dynamo import Table, dynamodb_client
from punchout.store.orders import OrderRepository, StoredAttachment
from punchout.store.partners import PartnerRepository

ADD = ["partners", "add", "mueller", "--name", "Müller Bürobedarf", "--from", "NetworkID:AN01"]


@pytest.fixture(autouse=True)
def _fast_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    # PBKDF2 with 1,000 rounds instead of 120,000: the hash is the same kind, only faster.
    monkeypatch.setattr(cli, "hash_secret", partial(hash_secret, iterations=1000))


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        code = cli.main(list(argv))
    except KeyboardInterrupt:  # caught here: escaping, it would stop pytest itself
        pytest.fail("Ctrl-C escaped main() as a KeyboardInterrupt (a traceback)")
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """argparse's refusal: exit 2 and its usage line; what it wrote on stderr."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        cli.main(list(argv))
    assert exit_.value.code == 2
    return capsys.readouterr().err


def one_error_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("punchout: "), err
    return lines[0]


def raising(error: BaseException) -> Callable[..., NoReturn]:
    def fail(*_: Any, **__: Any) -> NoReturn:
        raise error

    return fail


# --- the terminal -----------------------------------------------------------------------------------


class ClosedPipe(io.TextIOBase):
    """stdout read by `head -1`, which has exited: every write fails."""

    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_output_piped_into_a_reader_that_stopped_ends_quietly(
    table: Table, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given partners to list, and stdout a pipe whose reader has gone (`punchout partners list | head -1`)
    assert run(capsys, *ADD)[0] == 0
    monkeypatch.setattr("sys.stdout", ClosedPipe())
    # When the operator lists them
    code = cli.main(["partners", "list"])
    # Then the command stops as a process killed by SIGPIPE would, with nothing on stderr (no traceback)
    assert code == 141
    assert capsys.readouterr().err == ""


class ClosedPipeOnFlush(io.TextIOBase):
    """stdout read by a reader that has exited, of an output small enough to wait in the buffer until the
    interpreter flushes it at exit ("Exception ignored ... BrokenPipeError", exit 120)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        raise BrokenPipeError(32, "Broken pipe")


def test_a_short_output_to_a_reader_that_stopped_ends_quietly_too(
    table: Table, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a partner, and stdout a pipe whose reader has gone (`punchout partners show acme | true`)
    assert run(capsys, *ADD)[0] == 0
    monkeypatch.setattr("sys.stdout", ClosedPipeOnFlush())
    # When the operator shows it, Then the command flushes its output itself and ends as for a longer one
    code = cli.main(["partners", "show", "mueller"])
    assert code == 141
    assert capsys.readouterr().err == ""


def test_a_partner_name_a_non_utf8_terminal_cannot_show_is_escaped(
    table: Table, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a partner whose name has non-ASCII letters, and a terminal whose encoding is ASCII
    # (PYTHONIOENCODING=ascii, or a locale Python does not coerce to UTF-8)
    assert run(capsys, *ADD)[0] == 0
    terminal = io.BytesIO()
    monkeypatch.setattr("sys.stdout", io.TextIOWrapper(terminal, encoding="ascii", write_through=True))
    # When the operator lists the partners
    code = cli.main(["partners", "list"])
    # Then the line is written, the letters the terminal cannot show escaped
    assert code == 0, capsys.readouterr().err
    assert "M\\xfcller B\\xfcrobedarf" in terminal.getvalue().decode("ascii")


# --- Ctrl-C -----------------------------------------------------------------------------------------


def test_ctrl_c_during_a_scan_is_one_line_and_exit_130(
    table: Table, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a scan the operator interrupts
    monkeypatch.setattr(PartnerRepository, "list", raising(KeyboardInterrupt()))
    # When it is interrupted, Then one line says so, with the shell's code for SIGINT
    code, _, err = run(capsys, "partners", "list")
    assert code == 130
    assert one_error_line(err) == "punchout: interrupted"


def test_ctrl_c_at_the_secret_prompt_is_one_line_and_exit_130(
    table: Table, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given `--secret -` at a terminal, whose prompt the operator interrupts (parsing the arguments)
    monkeypatch.setattr(cli, "_secret_from_stdin", raising(KeyboardInterrupt()))
    # When it is interrupted, Then one line says so
    code, _, err = run(capsys, *ADD, "--secret", "-")
    assert code == 130
    assert one_error_line(err) == "punchout: interrupted"


def test_an_unexpected_error_is_one_line_without_traceback(
    table: Table, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a failure the CLI knows nothing about (a bug, a library's surprise)
    monkeypatch.setattr(PartnerRepository, "list", raising(RuntimeError("boom")))
    monkeypatch.delenv("PUNCHOUT_TRACEBACK", raising=False)
    # When it happens, Then one line names it, exit 1
    code, _, err = run(capsys, "partners", "list")
    assert code == 1
    assert "RuntimeError: boom" in one_error_line(err)


# --- arguments argparse accepts ---------------------------------------------------------------------


@pytest.mark.parametrize("option", ["--table", "--stack"])
def test_a_blank_table_or_stack_is_refused_rather_than_another_table_used(
    table: Table, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    # Given TABLE_NAME in the environment (the moto table), and `--table "$TABLE"` with $TABLE unset
    # When the operator runs a command, Then it is refused: it does not act on $TABLE_NAME's table instead
    err = usage_error(capsys, option, "", "partners", "list")
    assert option in err


def test_a_blank_queue_url_is_refused(table: Table, capsys: pytest.CaptureFixture[str]) -> None:
    err = usage_error(capsys, "orders", "requeue", "--queue-url", " ", "m1")
    assert "--queue-url" in err


def _left_payloads(table: Table) -> None:
    """Payloads of a delivery that stopped before its record: `orders orphans` finds them, then waits."""
    attachment = StoredAttachment(content_id="a@b", content_type="text/plain", size=1, chunks=0)
    OrderRepository(table).store_payloads(
        OrderKey("acme", "PO-1", "new", "1", "production"), "0" * 32, b"{}", b"<cXML/>", [(attachment, b"x")]
    )


@pytest.mark.parametrize("wait", ["nan", "inf", "1e300"])
def test_an_orphans_wait_that_is_no_duration_is_refused(
    table: Table, capsys: pytest.CaptureFixture[str], wait: str
) -> None:
    # Given payloads no record names (the command scans, then waits --wait seconds)
    _left_payloads(table)
    # When the wait is not a number of seconds one can sleep, Then it is refused before the scan
    err = usage_error(capsys, "orders", "orphans", "--wait", wait)
    assert "--wait" in err


def test_a_secret_that_is_not_text_is_refused_without_repeating_it(
    table: Table, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a secret with bytes that are not UTF-8 (piped to `--secret -` or on the command line: Python
    # holds them as lone surrogates), which no cXML document can carry
    secret = "\udcff\udcfe" + "s3cr3t-from-a-latin1-file"
    # When the operator adds a partner with it, Then it is refused, and the message does not repeat it
    err = usage_error(capsys, *ADD, "--secret", secret)
    assert "--secret" in err and "s3cr3t" not in err


@pytest.mark.parametrize("content", ["[]", '{"dynamodb": "http://127.0.0.1:8000"}', '{"tables": ["PunchOutTable"]}'])
def test_a_stack_json_of_another_shape_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str
) -> None:
    # Given a --state-dir whose stack.json is JSON, but not a local stack's description
    monkeypatch.delenv("TABLE_NAME", raising=False)
    (tmp_path / "stack.json").write_text(content, encoding="utf-8")
    # When the operator runs a command on it, Then one line says what is wrong with which file
    code, _, err = run(capsys, "--state-dir", str(tmp_path), "partners", "list")
    assert code == 1
    assert str(tmp_path / "stack.json") in one_error_line(err)


def test_json_output_stays_ascii(table: Table, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a partner with non-ASCII letters, When it is shown, Then the JSON escapes them (any terminal shows it)
    code, out, _ = run(capsys, *ADD, "--secret", "a secret chosen by the buyer")
    assert code == 0
    assert json.loads(out)["name"] == "Müller Bürobedarf"
    assert out.isascii()


# --- AWS's answers ----------------------------------------------------------------------------------

SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE0SESSION0TOKEN0VALUE"
# What DynamoDB answers a request whose signature it cannot verify (a wrong secret key, a clock far off): the
# canonical request it expected, signed headers included, and botocore signs the session token's header.
BAD_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access "
    "Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for this "
    "request should have been\n'POST\n/\n\nhost:dynamodb.us-east-1.amazonaws.com\nx-amz-date:20261128T110000Z\n"
    f"x-amz-security-token:{SESSION_TOKEN}\nx-amz-target:DynamoDB_20120810.Scan\n\n"
    "host;x-amz-date;x-amz-security-token;x-amz-target\n0123'\n\nThe String-to-Sign should have been\n"
    "'AWS4-HMAC-SHA256\n20261128T110000Z\n20261128/us-east-1/dynamodb/aws4_request\n4567'\n"
)


def test_a_signature_error_does_not_print_the_session_token(
    table: Table, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given temporary credentials DynamoDB refuses the signature of, answering with its canonical request
    error = {"Error": {"Code": "InvalidSignatureException", "Message": BAD_SIGNATURE}}
    monkeypatch.setattr(PartnerRepository, "list", raising(ClientError(error, "Scan")))  # type: ignore[arg-type]
    # When the operator lists the partners
    code, _, err = run(capsys, "partners", "list")
    # Then the error says what AWS said, on one line, without the token
    assert code == 1
    line = one_error_line(err)
    assert "InvalidSignatureException" in line and "Check your AWS Secret Access Key" in line
    assert SESSION_TOKEN not in line


def test_a_table_that_does_not_exist_is_named_with_its_region(table: Table, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a table name with a typo (or the right name in another region)
    # When the operator runs a command on it
    code, _, err = run(capsys, "--table", "punchout-prd-table", "partners", "show", "acme")
    # Then the error names the table and the region it was looked for in, not only "Requested resource not found"
    assert code == 1
    line = one_error_line(err)
    assert "punchout-prd-table" in line and "us-east-1" in line and "ResourceNotFoundException" in line


def test_a_local_stack_that_is_not_running_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the stack.json of a local stack that stopped without removing it (killed): nobody listens on its port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed
    stack = {"dynamodb": {"endpoint_url": f"http://127.0.0.1:{port}"}, "tables": {"PunchOutTable": {"name": "t"}}}
    (tmp_path / "stack.json").write_text(json.dumps(stack), encoding="utf-8")
    monkeypatch.setattr("os.environ", {})
    dynamodb_client.cache_clear()
    try:
        # When the operator runs a command on it
        code, _, err = run(capsys, "--state-dir", str(tmp_path), "partners", "list")
    finally:
        dynamodb_client.cache_clear()  # no client of that endpoint for the next test
    # Then the error says the local stack does not run, and how to start it
    assert code == 1
    line = one_error_line(err)
    assert f"127.0.0.1:{port}" in line and "not running" in line and f"--state-dir {tmp_path}" in line


def test_a_queue_url_of_elsewhere_that_refuses_is_not_blamed_on_the_local_stack(
    table: Table, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a running local stack (here: its table in moto) and a --queue-url nobody listens on
    local = cli.LocalTable(table.name, tmp_path / "stack.json", ["http://127.0.0.1:1"])
    monkeypatch.setattr(cli, "resolve_table", lambda _: local)
    refused = EndpointConnectionError(endpoint_url="http://10.0.0.1:9324/")
    monkeypatch.setattr(cli, "cmd_orders_requeue", raising(refused))
    # When the send fails, Then the error does not say the local stack is down
    code, _, err = run(capsys, "orders", "requeue", "--queue-url", "http://10.0.0.1:9324/q", "m1")
    assert code == 1
    line = one_error_line(err)
    assert "10.0.0.1:9324" in line and "not running" not in line


@pytest.mark.parametrize("mapping", ["EA=", "=EA", "EA= ", "EA=E\x07A"])
def test_a_unit_of_measure_mapping_to_or_from_nothing_is_refused(
    table: Table, capsys: pytest.CaptureFixture[str], mapping: str
) -> None:
    # Given a mapping with a blank side (or a control character): carts with that unit would reach the buyer
    # with an empty UnitOfMeasure, which the shop API itself refuses in a cart ("" is 422)
    # When the operator adds a partner with it, Then it is refused
    err = usage_error(capsys, *ADD, "--uom", mapping)
    assert "--uom" in err


def test_a_unit_of_measure_mapping_is_stored_trimmed(table: Table, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(capsys, *ADD, "--uom", " EA = H87 ")
    assert code == 0
    stored = PartnerRepository(table).get("mueller")
    assert stored is not None and stored.unit_of_measure_map == {"EA": "H87"}


def test_a_partner_name_with_a_line_break_stays_on_its_line(table: Table, capsys: pytest.CaptureFixture[str]) -> None:
    # Given a partner whose name holds a line break and a terminal escape (pasted from a mail, a spreadsheet)
    assert run(capsys, "partners", "add", "acme", "--name", "Acme\nCorp\x1b[2J", "--from", "NetworkID:AN01")[0] == 0
    # When the operator lists the partners, Then it is one line, its name quoted
    code, out, _ = run(capsys, "partners", "list")
    assert code == 0
    assert out.count("\n") == 1 and "\x1b" not in out
    assert "'Acme\\nCorp\\x1b[2J'" in out


@pytest.mark.parametrize(
    ("unset", "said", "hint"),
    [
        (["AWS_DEFAULT_REGION", "AWS_REGION"], "You must specify a region", "AWS_REGION"),
        (["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], "Unable to locate credentials", "AWS_PROFILE"),
    ],
)
def test_no_region_or_no_credentials_says_what_to_set(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    unset: list[str],
    said: str,
    hint: str,
) -> None:
    # Given an operator's shell without a region, or without credentials (and no AWS config in $HOME)
    environment = {"HOME": str(tmp_path), "AWS_DEFAULT_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE"}
    environment["AWS_SECRET_ACCESS_KEY"] = "not-a-real-secret-key"
    environment["AWS_EC2_METADATA_DISABLED"] = "true"  # no instance metadata to ask for credentials either
    for name in unset:
        environment.pop(name, None)
    monkeypatch.setattr("os.environ", environment)
    aws.session.cache_clear()
    dynamodb_client.cache_clear()
    try:
        # When they run a command on a deployed table
        code, _, err = run(capsys, "--table", "punchout-prod-table", "partners", "list")
    finally:
        aws.session.cache_clear()
        dynamodb_client.cache_clear()
    # Then botocore's words come with what to set; the secret key is not repeated
    assert code == 1
    line = one_error_line(err)
    assert said in line and hint in line
    assert "not-a-real-secret-key" not in line
