"""Browser tier: headless Chromium (Debian's /usr/bin/chromium) through Playwright, against the local stack.

The stack runs as `python -m infra.local.stack --port 0 --in-memory --state-dir <tmp>` in a subprocess,
exactly as `make dev` runs it (demo partners, buyer simulator, demo shop), once per test process. A
subprocess rather than the in-process `local_stack` fixture: moto keeps its state process-wide, so an
in-process stack would interleave with the unit tests' `mock_aws` in the same xdist worker; and the
browser tests must not touch a developer's running `make dev` (its own `.local/`).

On a failed test, every page of its browser context is saved under `test-results/<test>/` (a
screenshot and the HTML), and the end of the stack's log is attached to the report.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-results"
CHROMIUM = Path("/usr/bin/chromium")
# `playwright install` cannot fetch browsers here: Debian's chromium, without its background services.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STACK_START_SECONDS = 180  # a clean checkout first fetches DynamoDB Local through npm
STACK_STOP_SECONDS = 30
REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@dataclass(frozen=True)
class DevStack:
    """The running local stack, as its stack.json describes it."""

    state: dict[str, Any]
    log: Path

    @property
    def base_url(self) -> str:
        return str(self.state["base_url"])

    def partner(self, partner_id: str) -> dict[str, Any]:
        return next(p for p in self.state["demo_partners"] if p["id"] == partner_id)


def _die_with_parent() -> Callable[[], None] | None:
    """Ask Linux to SIGTERM the stack if this test process dies, even by SIGKILL (no orphaned stack)."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def set_parent_death_signal() -> None:
        prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG

    return set_parent_death_signal


def _tail(log: Path, characters: int = 4000) -> str:
    try:
        return log.read_text(errors="replace")[-characters:]
    except FileNotFoundError:
        return ""


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # what Ctrl-C does to `make dev`
        try:
            process.wait(timeout=STACK_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def dev_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevStack]:
    state_dir = tmp_path_factory.mktemp("dev-stack")
    state_file, log = state_dir / "stack.json", state_dir / "stack.log"
    environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
    environment.pop("PORT", None)
    command = [sys.executable, "-m", "infra.local.stack", "--port", "0", "--in-memory", "--state-dir", str(state_dir)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent(),
        )
    try:
        deadline = time.monotonic() + STACK_START_SECONDS
        while not state_file.exists():
            if process.poll() is not None:
                pytest.fail(f"the local stack exited with {process.returncode}:\n{_tail(log)}", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"the local stack did not start in {STACK_START_SECONDS} s:\n{_tail(log)}", pytrace=False)
            time.sleep(0.2)
        yield DevStack(state=json.loads(state_file.read_text()), log=log)
    finally:
        _stop(process)
    assert process.returncode == 0, f"the local stack stopped with {process.returncode}:\n{_tail(log)}"
    assert not state_file.exists(), "the stopped stack left its stack.json behind"


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)", pytrace=False)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser, request: pytest.FixtureRequest, dev_stack: DevStack) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=dev_stack.base_url)
    context.set_default_timeout(15_000)
    yield context
    reports = request.node.stash.get(REPORTS, {})
    if any(report.failed for report in reports.values()):
        _save_artifacts(request.node, context, dev_stack)
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def _save_artifacts(item: pytest.Item, context: BrowserContext, dev_stack: DevStack) -> None:
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid)
    folder.mkdir(parents=True, exist_ok=True)
    for number, open_page in enumerate(context.pages, 1):
        try:
            open_page.screenshot(path=str(folder / f"page-{number}.png"), full_page=True)
            (folder / f"page-{number}.html").write_text(open_page.content(), encoding="utf-8")
            (folder / f"page-{number}.url").write_text(open_page.url + "\n", encoding="utf-8")
        except Exception as error:  # a page that crashed or closed: save what can be saved
            (folder / f"page-{number}.error").write_text(repr(error), encoding="utf-8")
    (folder / "stack.log").write_text(_tail(dev_stack.log, 20_000), encoding="utf-8")
    item.add_report_section("teardown", "artifacts", f"saved under {folder}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Each phase's report, for the context fixture to see whether the test failed.
    report = yield
    item.stash.setdefault(REPORTS, {})[report.when] = report
    return report
