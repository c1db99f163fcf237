"""The single Logger, Tracer and Metrics of the gateway, and the redaction of secrets in logs.

Every handler uses the same decorator stack. Log lines pass through ``redact`` before they are
written, so a secret that slips into a message or an extra key never reaches CloudWatch.
"""

from __future__ import annotations

import logging
import re
import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

NAMESPACE = "PunchOutGateway"

_SECRET_PATTERNS = (
    # <SharedSecret>...</SharedSecret> in any cXML fragment, with a namespace prefix too (a sender may use one)
    (
        re.compile(
            r"(<(?:[\w.-]+:)?SharedSecret\b[^>]*>).*?(</(?:[\w.-]+:)?SharedSecret\s*>)", re.IGNORECASE | re.DOTALL
        ),
        r"\1[redacted]\2",
    ),
    # PCard number="4111..." -> keep the last four digits; buyers also send them grouped ("4111 1111 ...")
    (
        re.compile(r'(number\s*=\s*\\?["\'])[\d\s-]*?((?:\d[\s-]*){3}\d)([\s-]*\\?["\'])', re.IGNORECASE),
        r"\1************\2\3",
    ),
    # "x-api-key": "...", "shared_secret": "...", "secret": "..." in JSON-ish text
    (
        re.compile(
            r'("(?:x-api-key|api[_-]?key|shared[_-]?secret|secret|password|authorization)"\s*:\s*")[^"]*(")',
            re.IGNORECASE,
        ),
        r"\1[redacted]\2",
    ),
)


def redact(text: str) -> str:
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFormatter(LambdaPowertoolsFormatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


logger = Logger(logger_formatter=RedactingFormatter())
# Only botocore is patched (the functions make no other calls worth a subsegment): patch_all would
# import sqlite3, http.client and every other supported library at every cold start.
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics(namespace=NAMESPACE)
# Pages, GET routes and ProfileRequest count nothing, which is normal here; Powertools would warn
# "No application metrics to publish" on stderr at the first such request of every environment.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
