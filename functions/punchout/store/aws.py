"""The functions' AWS clients: botocore's, from one session, without importing boto3.

``boto3.client(...)`` returns this same botocore client, but importing boto3 also imports s3transfer
(and with it multiprocessing and concurrent.futures) and boto3's resource layer: ~70 ms of CPU at
every cold start, for nothing the functions use. Configuration is botocore's either way (region,
credentials, ``AWS_ENDPOINT_URL_<SERVICE>``). The CLI and the local stack keep using boto3.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

from botocore.config import Config
from botocore.session import Session, get_session

# Standard retries with a small budget: buyers wait for the answer, and a cXML 5xx makes them retry
# anyway. Short timeouts for the same reason.
CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=2, read_timeout=5)

# A botocore session is not thread-safe. Lambda runs one event at a time, but the local gateway runs
# the functions in threads, whose first requests may make clients at the same moment.
_creating = threading.Lock()


@lru_cache(maxsize=1)
def session() -> Session:
    """One session per process: a second client reuses the endpoint and partition data the first loaded."""
    return get_session()


def client(service_name: str) -> Any:
    """A client for ``service_name``; typed by the caller (``mypy_boto3_*``). Clients are thread-safe."""
    with _creating:
        return session().create_client(service_name, config=CLIENT_CONFIG)
