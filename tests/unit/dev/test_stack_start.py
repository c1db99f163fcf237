"""`make dev` refusing to start beside a running stack or on a busy port, in one line."""

from __future__ import annotations

import logging
import socket
import warnings
from pathlib import Path

import pytest

from infra.local import stack


def test_a_second_stack_on_the_same_state_directory_is_refused(tmp_path: Path) -> None:
    # Given a stack holding its state directory
    first = stack._lock_state_dir(tmp_path)
    try:
        # When a second one starts with the same directory
        with pytest.raises(SystemExit) as refused:
            stack._lock_state_dir(tmp_path)
        # Then it is refused, saying what to do
        assert "--state-dir" in str(refused.value.code)
        # And another directory is fine
        stack._lock_state_dir(tmp_path / "other").close()
    finally:
        first.close()
    # And once the first stops, the directory can be used again
    stack._lock_state_dir(tmp_path).close()


def test_a_busy_port_is_refused_before_anything_starts() -> None:
    # Given a port somebody listens on
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # When the stack checks it
        with pytest.raises(SystemExit) as refused:
            stack._check_port(port)
    # Then it stops with one line naming another port
    assert str(refused.value.code) == f"Port {port} is in use: start on another one, e.g. PORT={port + 1} make dev"


def test_warnings_print_as_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    # Given main()'s way of showing warnings
    caplog.set_level(logging.WARNING, logger=stack.logger.name)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = stack._plain_warning
        # When the stack warns (as when Java is missing)
        warnings.warn("DynamoDB Local is unavailable (java is not on PATH)", RuntimeWarning, stacklevel=1)
    # Then it is one log line with the message alone
    assert [r.getMessage() for r in caplog.records] == ["DynamoDB Local is unavailable (java is not on PATH)"]


def test_resetting_the_data_of_a_running_stack_is_refused(tmp_path: Path) -> None:
    # Given a stack running on a state directory that holds DynamoDB data
    data = tmp_path / "dynamodb"
    data.mkdir()
    (data / "shared-local-instance.db").write_bytes(b"kept")
    running = stack._lock_state_dir(tmp_path)
    try:
        # When `make dev-reset` runs beside it
        with pytest.raises(SystemExit) as refused:
            stack.main(["--reset", "--state-dir", str(tmp_path)])
        # Then it is refused, saying to stop the stack first, and the data is untouched (deleting it
        # under DynamoDB Local would reset nothing it serves and lose what it writes next)
        assert "stop it first" in str(refused.value.code)
        assert (data / "shared-local-instance.db").read_bytes() == b"kept"
    finally:
        running.close()

    # And once the stack has stopped, the reset forgets the data
    stack.main(["--reset", "--state-dir", str(tmp_path)])
    assert not data.exists()


@pytest.mark.parametrize(
    ("argv", "environ"),
    [([], {"PORT": "abc"}), ([], {"PORT": "70000"}), (["--port", "-1"], {}), (["--port", "3o00"], {})],
    ids=["PORT not a number", "PORT too large", "--port negative", "--port not a number"],
)
def test_a_port_that_is_not_one_is_refused_in_one_line(
    argv: list[str], environ: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # When the stack is started with a port no socket can have (`PORT=abc make dev`)
    with pytest.raises(SystemExit) as refused:
        stack.main([*argv, "--state-dir", str(tmp_path)], environ=environ)
    # Then it is a usage error naming the value, before anything starts, not a traceback
    assert refused.value.code == 2
    error = capsys.readouterr().err
    assert "is not a port (0-65535)" in error
    assert not (tmp_path / "stack.lock").exists()


def test_a_state_directory_that_cannot_be_one_is_refused_in_one_line(tmp_path: Path) -> None:
    # Given a --state-dir naming a file
    not_a_directory = tmp_path / "stack-state"
    not_a_directory.write_text("")
    # When the stack (or `--reset`) takes it
    with pytest.raises(SystemExit) as refused:
        stack._lock_state_dir(not_a_directory)
    # Then it stops with one line naming the directory and the reason
    assert str(refused.value.code) == f"Cannot use {not_a_directory} as the state directory: File exists"
