"""Amazon's DynamoDB Local, fetched through npm and run with Java.

Where the jar comes from
------------------------
Amazon distributes DynamoDB Local as a tarball on S3 and as a Docker image; neither is available to
this project's tooling (no Docker; only the npm, PyPI and Debian registries are reachable). The npm
package `amplify-dynamodb-simulator` (AWS Amplify CLI's emulator wrapper, Apache-2.0) ships the
contents of Amazon's `dynamodb_local_latest.tar.gz` unchanged. Version 2.9.30, pinned below:

    amplify-dynamodb-simulator-2.9.30.tgz      56.6 MB packed, 66.8 MB unpacked
      package/emulator/DynamoDBLocal.jar       DynamoDB Local 1.25.1 (2024-11-06; `-version` says so)
      package/emulator/DynamoDBLocal_lib/      its jars (Jetty 9.4, AWS SDK v2, sqlite4java.jar) and
                                               the sqlite4java native libraries:
                                                 libsqlite4java-linux-{amd64,aarch64,i386}.so
                                                 libsqlite4java-osx{,-x86_64,-aarch64}.dylib
                                                 sqlite4java-win32-{x64,x86}.dll
      package/emulator/sha256                  sha256 of the Amazon tarball it was built from
      package/index.js                         the Node wrapper (not used here)

`npm pack` downloads the tarball (into npm's cache and then `.local/cache/`, never committed) without
installing the package's Node dependencies; Python's tarfile unpacks it. `DYNAMODB_LOCAL_DIR`
overrides all of this with a directory that holds `DynamoDBLocal.jar` and `DynamoDBLocal_lib/` (for
example Amazon's own tarball, unpacked).

How it is run
-------------
    java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.library.path=<DynamoDBLocal_lib>
         -jar DynamoDBLocal.jar -port <port> -sharedDb -disableTelemetry (-inMemory | -dbPath <dir>)

- `-Djava.library.path` points sqlite4java at its native library (both the in-memory and the file
  store are SQLite). 1.25.1 also finds it next to sqlite4java.jar, but the flag is the documented form.
- `-sharedDb`: one database whatever the credentials and region of the caller (otherwise each
  access-key/region pair gets its own, and a developer's CLI would not see the handlers' tables).
- `-disableTelemetry`: since 1.24 DynamoDB Local reports usage to AWS; nothing here should phone home.
- It listens on every interface (1.25.1 has no bind-address option), so a dev machine's firewall, not
  this module, decides who else can reach it.
- Measured on x86_64 with OpenJDK 17.0.15: about 3 s from launch to the first answered `ListTables`.
"""

from __future__ import annotations

import atexit
import logging
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from infra.local.lifecycle import Service
from infra.local.npm import NpmMissing, NpmPackFailed, exclusive_lock, npm_pack

PACKAGE: Final = "amplify-dynamodb-simulator"
PACKAGE_VERSION: Final = "2.9.30"
DIRECTORY_ENV: Final = "DYNAMODB_LOCAL_DIR"
JAR_NAME: Final = "DynamoDBLocal.jar"
LIB_DIR_NAME: Final = "DynamoDBLocal_lib"

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
DEFAULT_CACHE_DIR: Final = REPO_ROOT / ".local" / "cache"

# DynamoDB Local accepts any credentials; only their shape is checked.
DUMMY_ACCESS_KEY_ID: Final = "testing"
DUMMY_SECRET_ACCESS_KEY: Final = "testing"  # noqa: S105 - a placeholder, not a secret
# A short-lived local database gains nothing from the optimising JIT or a parallel GC; without them
# the JVM starts faster and two test workers' JVMs share two cores better.
JAVA_OPTIONS: Final = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")

logger = logging.getLogger(__name__)


class DynamoDBLocalUnavailable(Exception):
    """DynamoDB Local cannot be run on this machine; the caller may fall back to moto."""


class JavaNotFound(DynamoDBLocalUnavailable):
    pass


class NpmNotFound(DynamoDBLocalUnavailable):
    pass


class DynamoDBLocalStartError(Exception):
    """Java ran, but DynamoDB Local did not come up (the message carries the end of its output)."""


@dataclass(frozen=True)
class Distribution:
    jar: Path
    lib_dir: Path


def ensure_distribution(cache_dir: Path = DEFAULT_CACHE_DIR) -> Distribution:
    """DynamoDB Local's jar and libraries: from `DYNAMODB_LOCAL_DIR`, the cache, or npm (in that order)."""
    override = os.environ.get(DIRECTORY_ENV)
    if override:
        found = _distribution_in(Path(override))
        if found is None:
            raise DynamoDBLocalUnavailable(
                f"{DIRECTORY_ENV}={override} holds no {JAR_NAME} with a {LIB_DIR_NAME}/ beside it"
            )
        return found

    target = cache_dir / f"{PACKAGE}-{PACKAGE_VERSION}"
    if found := _distribution_in(target):
        return found
    cache_dir.mkdir(parents=True, exist_ok=True)
    # pytest-xdist workers start at the same time: one fetches, the others wait and reuse.
    with exclusive_lock(cache_dir / f".{PACKAGE}.lock"):
        if found := _distribution_in(target):
            return found
        with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".fetch-") as scratch:
            tarball = _npm_pack(Path(scratch))
            unpacked = Path(scratch) / "unpacked"
            with tarfile.open(tarball) as archive:
                archive.extractall(unpacked, filter="data")
            # A rename is atomic: an interrupted fetch never leaves a half-unpacked cache behind.
            unpacked.rename(target)
    found = _distribution_in(target)
    if found is None:
        raise DynamoDBLocalUnavailable(f"{PACKAGE}@{PACKAGE_VERSION} contains no {JAR_NAME} (see {target})")
    logger.info("DynamoDB Local unpacked into %s", target)
    return found


def _distribution_in(directory: Path) -> Distribution | None:
    if not directory.is_dir():
        return None
    for jar in sorted(directory.rglob(JAR_NAME)):
        if (jar.parent / LIB_DIR_NAME).is_dir():
            return Distribution(jar=jar, lib_dir=jar.parent / LIB_DIR_NAME)
    return None


def _npm_pack(destination: Path) -> Path:
    logger.info("Fetching DynamoDB Local: npm pack %s@%s (about 57 MB)", PACKAGE, PACKAGE_VERSION)
    try:
        return npm_pack(PACKAGE, PACKAGE_VERSION, destination, timeout=900)
    except NpmMissing:
        raise NpmNotFound(
            f"npm is not on PATH: it fetches DynamoDB Local (npm package {PACKAGE}). Install Node.js "
            f"and npm, or set {DIRECTORY_ENV} to a directory holding {JAR_NAME} and {LIB_DIR_NAME}/."
        ) from None
    except NpmPackFailed as error:
        raise DynamoDBLocalUnavailable(str(error)) from None


def find_java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (candidate := Path(java_home) / "bin" / "java").is_file():
        return str(candidate)
    java = shutil.which("java")
    if java is None:
        raise JavaNotFound(
            "java is not on PATH (and JAVA_HOME is not set): DynamoDB Local needs Java 8 or later (tested with 17)"
        )
    return java


# (platform.system(), platform.machine()) → the sqlite4java native library DynamoDB Local needs there.
_NATIVE_LIBRARIES: Final = {
    ("linux", "x86_64"): "libsqlite4java-linux-amd64.so",
    ("linux", "aarch64"): "libsqlite4java-linux-aarch64.so",
    ("linux", "i686"): "libsqlite4java-linux-i386.so",
    ("darwin", "x86_64"): "libsqlite4java-osx-x86_64.dylib",
    ("darwin", "arm64"): "libsqlite4java-osx-aarch64.dylib",
    ("windows", "amd64"): "sqlite4java-win32-x64.dll",
}


def native_library_name() -> str | None:
    """The sqlite4java native library this machine needs, or None when there is no known mapping."""
    return _NATIVE_LIBRARIES.get((platform.system().lower(), platform.machine().lower()))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def _port_is_free(port: int) -> bool:
    # DynamoDB Local binds every interface, so that is what must be free.
    with socket.socket() as probe:
        try:
            probe.bind(("0.0.0.0", port))  # noqa: S104 - a probe, closed at once
        except OSError:
            return False
        return True


_START_TIMEOUT_SECONDS = 60.0
_STOP_TIMEOUT_SECONDS = 10.0


class DynamoDBLocal(Service):
    """One DynamoDB Local process: `with DynamoDBLocal() as db: db.endpoint_url`.

    `db_path=None` keeps the data in memory (tests); a directory keeps it across restarts (`make dev`).
    """

    def __init__(
        self,
        *,
        db_path: Path | None = None,
        port: int = 0,
        cache_dir: Path = DEFAULT_CACHE_DIR,
    ) -> None:
        # Absolute now: Java runs in the jar's folder, where a relative path would be taken to start.
        self.db_path = db_path.absolute() if db_path is not None else None
        self._requested_port = port
        self._cache_dir = cache_dir
        self._process: subprocess.Popen[bytes] | None = None
        self._output: IO[bytes] | None = None
        self.port = 0

    @property
    def endpoint_url(self) -> str:
        if self._process is None:
            raise RuntimeError("DynamoDB Local is not running")
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        java = find_java()
        distribution = ensure_distribution(self._cache_dir)
        native = native_library_name()
        if native and not (distribution.lib_dir / native).is_file():
            raise DynamoDBLocalUnavailable(f"{distribution.lib_dir} has no {native} for this machine")
        if self.db_path is not None:
            self.db_path.mkdir(parents=True, exist_ok=True)
        # A free port found here may be taken before Java binds it; the rare clash is retried.
        attempts = 1 if self._requested_port else 3
        for attempt in range(1, attempts + 1):
            self.port = self._requested_port or free_port()
            if not _port_is_free(self.port):
                # Otherwise the readiness probe would be answered by whatever already listens there.
                raise DynamoDBLocalStartError(f"port {self.port} is already in use")
            try:
                self._wait_until_ready(self._launch(java, distribution))
            except DynamoDBLocalStartError as error:
                self.stop()
                if attempt < attempts and "Address already in use" in str(error):
                    continue
                raise
            except BaseException:  # Ctrl-C while waiting included: no JVM left behind
                self.stop()
                raise
            break

    def _launch(self, java: str, distribution: Distribution) -> subprocess.Popen[bytes]:
        storage = ["-dbPath", str(self.db_path)] if self.db_path is not None else ["-inMemory"]
        command = [
            java,
            *JAVA_OPTIONS,
            f"-Djava.library.path={distribution.lib_dir}",
            "-jar",
            str(distribution.jar),
            "-port",
            str(self.port),
            "-sharedDb",
            "-disableTelemetry",
            *storage,
        ]
        self._output = tempfile.TemporaryFile()  # noqa: SIM115 - closed in stop()
        self._process = subprocess.Popen(  # noqa: S603 - java resolved by find_java, fixed arguments
            command,
            cwd=distribution.jar.parent,
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            # Its own session: Ctrl-C reaches only Python, which then stops Java in order.
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
        atexit.register(self.stop)  # a safety net if the owner forgets; stop() is idempotent
        logger.info("DynamoDB Local starting (pid %s, port %s)", self._process.pid, self.port)
        return self._process

    def _wait_until_ready(self, process: subprocess.Popen[bytes]) -> None:
        client = boto3.client(
            "dynamodb",
            endpoint_url=f"http://127.0.0.1:{self.port}",
            region_name="us-east-1",
            # One attempt per poll: botocore's own retries would back off for seconds.
            config=Config(retries={"total_max_attempts": 1}, connect_timeout=1, read_timeout=5),
            aws_access_key_id=DUMMY_ACCESS_KEY_ID,
            aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY,
        )
        started = time.monotonic()
        deadline = started + _START_TIMEOUT_SECONDS
        while True:
            if process.poll() is not None:
                raise DynamoDBLocalStartError(f"DynamoDB Local exited with {process.returncode}:\n{self._tail()}")
            if "BindException" in (output := self._tail()):
                # It logs the failed bind but does not exit (its other threads keep the JVM alive).
                raise DynamoDBLocalStartError(f"DynamoDB Local could not listen on port {self.port}:\n{output}")
            try:
                client.list_tables(Limit=1)
            except (BotoCoreError, ClientError):
                if time.monotonic() > deadline:
                    raise DynamoDBLocalStartError(
                        f"DynamoDB Local did not answer within {_START_TIMEOUT_SECONDS:.0f} s:\n{self._tail()}"
                    ) from None
                time.sleep(0.1)
            else:
                if "BindException" in self._tail():
                    continue  # someone else answered, and our JVM lost the port: reported above
                logger.info("DynamoDB Local ready in %.1f s at %s", time.monotonic() - started, self.endpoint_url)
                return

    def _tail(self) -> str:
        if self._output is None:
            return ""
        self._output.flush()
        self._output.seek(0)
        return self._output.read().decode(errors="replace")[-4000:]

    def stop(self) -> None:
        """Terminate (Java then flushes `-dbPath` data), and kill if it has not exited in time."""
        atexit.unregister(self.stop)
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=_STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                logger.warning("DynamoDB Local (pid %s) ignored SIGTERM; killing it", process.pid)
                process.kill()
                process.wait()
        if self._output is not None:
            self._output.close()
            self._output = None


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn asking Linux to SIGTERM the child when its parent dies, even by SIGKILL.

    Without it, a test run killed hard (timeout, OOM, a closed terminal) leaves a JVM behind holding a
    port. Linux ties the signal to the *thread* that forked, so start the stack from a thread that
    outlives it (the main thread, as pytest and `python -m infra.local.stack` do). The function only
    calls prctl, resolved before the fork, so it needs no lock in the child.
    """
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    pr_set_pdeathsig = 1
    sigterm = int(signal.SIGTERM)

    def set_parent_death_signal() -> None:
        prctl(pr_set_pdeathsig, sigterm)

    return set_parent_death_signal
