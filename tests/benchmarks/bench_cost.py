"""What one million PunchOut round trips cost on AWS, from measured handler work and public prices.

Run from the repository root: ``python -m tests.benchmarks.bench_cost`` (or ``make bench``).

A round trip is the seven requests of tests/support/round_trip.py: setup, start link, the shop reading
the session, a 10-line cart PUT, transfer, the return page, and a 10-line OrderRequest. They run
through the three handlers **in this process** (warm, as in a busy deployment: the partner's secret is
derived once per environment and cached) against **moto's server in a child process** on loopback.
For each step it measures the handler's CPU time (this thread only: moto's work is not counted),
records every DynamoDB and SQS call with the capacity units the items touched would consume
(tests/support/round_trip.py: DynamoDB's size rules), and counts the log bytes written.

Lambda bills wall time, and below 1,769 MB a function gets that fraction of one vCPU, so the billed
duration is modelled as ``CPU ms x max(1, 1769 / memory MB) + DynamoDB calls x DDB_LATENCY_MS + SQS
calls x SQS_LATENCY_MS``. CPU was measured on this machine's core, not on Graviton; the latencies are
assumptions for in-region calls. Free tiers are ignored. Figures are printed, never asserted.

Two costs depend on more than the handlers' work:

- API Gateway writes one access log line per request on both APIs, in the format of the API's
  ``AccessLogSetting`` in template.yaml: each step's line is that format filled with the step's method,
  route, status and answer length and representative values for the rest (``ACCESS_LOG_VALUES``).
- X-Ray's default sampling rule traces the first request of every second (the reservoir), then 5 % of
  the others, so the share of requests traced depends on the monthly volume. It is computed for traffic
  spread evenly over a 30-day month, the upper bound: traffic bunched into business hours fills the
  reservoir in fewer seconds, and other services of the account using the default rule share it.
"""

from __future__ import annotations

import math
import os
import re
import statistics
import warnings
from dataclasses import dataclass
from functools import cache
from typing import Any

from infra.local.template import Intrinsics, functions
from punchout.partners import hash_secret
from punchout.store.api_keys import ApiKeyRepository
from punchout.store.dynamo import Table, dynamodb_client
from punchout.store.partners import PartnerRepository
from punchout.store.queue import sqs_client
from tests.support import builders
from tests.support.built_lambda import (
    MotoProcess,
    function_handlers,
    provision,
    sdk_environment,
    template,
    template_variables,
)
from tests.support.round_trip import STEPS, Recorder, RoundTrip, StepResult

# --- public prices, us-east-1, as published by AWS (list prices known on 2025-06-01; not re-checked
# since: verify on the pricing pages before quoting a figure) -------------------------------------
PRICES_AS_OF = "2025-06-01"
LAMBDA_ARM_PER_GB_SECOND = 0.0000133334  # arm64, first 7.5 billion GB-s a month
LAMBDA_PER_REQUEST = 0.20 / 1e6
API_GATEWAY_REST_PER_REQUEST = 3.50 / 1e6  # REST API, first 333 million a month
DYNAMODB_PER_WRU = 0.625 / 1e6  # on-demand, since the 2024-11-01 price reduction
DYNAMODB_PER_RRU = 0.125 / 1e6
SQS_FIFO_PER_REQUEST = 0.50 / 1e6  # each 64 KiB of a message is one request
CLOUDWATCH_LOGS_PER_GB = 0.50  # ingestion (standard class); storage extra
XRAY_PER_TRACE = 5.00 / 1e6  # traces recorded
DATA_TRANSFER_OUT_PER_GB = 0.09  # to the internet, first 10 TB a month

# --- model assumptions ----------------------------------------------------------------------------
FULL_VCPU_MB = 1769  # Lambda: one vCPU's worth of CPU at 1,769 MB, proportionally less below
DDB_LATENCY_MS = 5.0  # one DynamoDB call, in-region
SQS_LATENCY_MS = 15.0  # one SendMessage to a FIFO queue
PLATFORM_LOG_BYTES = 400  # START, END and REPORT lines Lambda writes per invocation
XRAY_RESERVOIR_PER_SECOND = 1.0  # the default sampling rule: the first request of each second ...
XRAY_FIXED_RATE = 0.05  # ... then 5 % of the others
MONTH_SECONDS = 30 * 86400
MONTHLY_ROUND_TRIPS = 1_000_000  # the volume the cost table assumes (X-Ray's traced share depends on it)
XRAY_VOLUMES = (10_000, 100_000, 1_000_000, 10_000_000)  # round trips a month, for the X-Ray table
MEMORY_SIZES = (256, 512, 1024)

# Access log values the round trip does not decide, at the lengths API Gateway writes them.
ACCESS_LOG_VALUES = {
    "$context.requestId": "c0a1b2c3-d4e5-4f60-8a9b-0c1d2e3f4a5b",
    "$context.identity.sourceIp": "203.0.113.10",
    "$context.requestTime": "27/Nov/2026:03:59:46 +0000",
    "$context.integrationStatus": "200",
    "$context.error.responseType": "-",  # no error: API Gateway writes "-" for an empty value
    "$context.identity.apiKeyId": "a1b2c3d4e5",
    "$context.apiId": "k3x9p2m7qa",  # ten characters, as API Gateway's ids
    "$context.xrayTraceId": "Root=1-6746a0f2-0123456789abcdef01234567",
}
PROCUREMENT_AGENT = "Apache-HttpClient/4.5.14 (Java/17.0.9)"
BROWSER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
# Each step's route in template.yaml and the user agent that sends it (ShopApi's lines log the API key
# id instead of a user agent).
STEP_ROUTES = {
    "setup": ("POST", "/cxml/setup", PROCUREMENT_AGENT),
    "start": ("GET", "/punchout/start/{token}", BROWSER_AGENT),
    "session": ("GET", "/shop/sessions/{id}", ""),
    "cart": ("PUT", "/shop/sessions/{id}/cart", ""),
    "transfer": ("POST", "/shop/sessions/{id}/transfer", ""),
    "return": ("GET", "/punchout/return/{token}", BROWSER_AGENT),
    "order": ("POST", "/cxml/order", PROCUREMENT_AGENT),
}
_CONTEXT_VARIABLE = re.compile(r"\$context\.[A-Za-z.]+")
WARMUP, RUNS = 3, 20


@dataclass(frozen=True)
class StepFigures:
    step: str
    function: str
    status: int
    cpu_ms: float
    wall_ms: float
    ddb_calls: float
    sqs_calls: float
    rru: float
    wru: float
    sqs_requests: float
    log_bytes: float
    response_bytes: float

    def billed_ms(self, memory_mb: int) -> int:
        scale = max(1.0, FULL_VCPU_MB / memory_mb)
        return math.ceil(self.cpu_ms * scale + self.ddb_calls * DDB_LATENCY_MS + self.sqs_calls * SQS_LATENCY_MS)

    def access_log_bytes(self) -> int:
        return len(access_log_line(self.step, self.status, round(self.response_bytes), round(self.wall_ms)).encode())


@cache
def _api_of(method: str, path: str) -> str:
    """The logical id of the API that serves a route of template.yaml."""
    for spec in functions(template(), Intrinsics(template())).values():
        for event in spec.events.values():
            route = event["Properties"]
            if (route["Method"].upper(), route["Path"]) == (method, path):
                return str(route["RestApiId"]["Ref"])
    raise KeyError(f"template.yaml has no route {method} {path}")


def access_log_line(step: str, status: int, response_bytes: int, latency_ms: int) -> str:
    """The access log line API Gateway writes for a step, in the format its API's template declares."""
    method, path, user_agent = STEP_ROUTES[step]
    api = template()["Resources"][_api_of(method, path)]["Properties"]
    values = {
        **ACCESS_LOG_VALUES,
        "$context.httpMethod": method,
        "$context.resourcePath": path,
        "$context.status": str(status),
        "$context.responseLength": str(response_bytes),
        "$context.responseLatency": str(latency_ms),
        "$context.integrationLatency": str(latency_ms),
        "$context.identity.userAgent": user_agent,
    }
    # A variable the template adds and this table lacks is a KeyError: the line would be guessed.
    return _CONTEXT_VARIABLE.sub(lambda match: values[match.group(0)], api["AccessLogSetting"]["Format"])


def traced_share(requests_per_month: float) -> float:
    """The share of requests X-Ray's default sampling rule traces, traffic spread evenly over a month."""
    rate = requests_per_month / MONTH_SECONDS
    traced = min(rate, XRAY_RESERVOIR_PER_SECOND) + XRAY_FIXED_RATE * max(0.0, rate - XRAY_RESERVOIR_PER_SECOND)
    return traced / rate


def _median(results: list[StepResult], value: Any) -> float:
    return float(statistics.median(value(result) for result in results))


def summarise(rounds: list[list[StepResult]]) -> list[StepFigures]:
    figures = []
    for index, step in enumerate(STEPS):
        results = [trip[index] for trip in rounds]
        figures.append(
            StepFigures(
                step=step,
                function=results[0].function,
                status=results[0].status,
                cpu_ms=_median(results, lambda r: r.cpu_ms),
                wall_ms=_median(results, lambda r: r.wall_ms),
                ddb_calls=_median(results, lambda r: sum(a.startswith("dynamodb:") for a in r.usage.actions)),
                sqs_calls=_median(results, lambda r: sum(a.startswith("sqs:") for a in r.usage.actions)),
                rru=_median(results, lambda r: r.usage.rru),
                wru=_median(results, lambda r: r.usage.wru),
                sqs_requests=_median(results, lambda r: r.usage.sqs_requests),
                log_bytes=_median(results, lambda r: r.log_bytes),
                response_bytes=_median(results, lambda r: r.response_bytes),
            )
        )
    return figures


def xray_cost(requests_per_round_trip: int, monthly_round_trips: float) -> tuple[float, float]:
    """The traced share, and X-Ray's dollars per one million round trips, at a monthly volume."""
    share = traced_share(requests_per_round_trip * monthly_round_trips)
    return share, 1e6 * requests_per_round_trip * share * XRAY_PER_TRACE


def costs(figures: list[StepFigures], memory_mb: int) -> dict[str, float]:
    """Dollars per one million round trips, by service, at MONTHLY_ROUND_TRIPS a month."""
    million = 1e6
    requests = len(figures)
    gb_seconds = sum(f.billed_ms(memory_mb) for f in figures) / 1000 * memory_mb / 1024
    log_gb = sum(f.log_bytes + PLATFORM_LOG_BYTES for f in figures) / 2**30
    access_log_gb = sum(f.access_log_bytes() for f in figures) / 2**30
    out_gb = sum(f.response_bytes for f in figures) / 2**30
    share, xray = xray_cost(requests, MONTHLY_ROUND_TRIPS)
    return {
        "Lambda compute": million * gb_seconds * LAMBDA_ARM_PER_GB_SECOND,
        "Lambda requests": million * requests * LAMBDA_PER_REQUEST,
        "API Gateway (REST)": million * requests * API_GATEWAY_REST_PER_REQUEST,
        "DynamoDB writes": million * sum(f.wru for f in figures) * DYNAMODB_PER_WRU,
        "DynamoDB reads": million * sum(f.rru for f in figures) * DYNAMODB_PER_RRU,
        "SQS FIFO": million * sum(f.sqs_requests for f in figures) * SQS_FIFO_PER_REQUEST,
        "CloudWatch Logs (functions)": million * log_gb * CLOUDWATCH_LOGS_PER_GB,
        "CloudWatch Logs (API access)": million * access_log_gb * CLOUDWATCH_LOGS_PER_GB,
        f"X-Ray ({share:.0%} traced)": xray,
        "Data transfer out": million * out_gb * DATA_TRANSFER_OUT_PER_GB,
    }


def measure() -> list[list[StepResult]]:
    # Requests that publish no business metric (the start link, reading the session) are normal here.
    warnings.filterwarnings("ignore", "No application metrics to publish")
    saved = dict(os.environ)
    try:
        with MotoProcess() as moto:
            aws = provision(moto)
            os.environ.update(sdk_environment(aws.endpoint_url))
            for function in function_handlers():
                os.environ.update(template_variables(function, aws))
            os.environ.update({"POWERTOOLS_TRACE_DISABLED": "true", "POWERTOOLS_DEV": "false"})
            for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS", "AWS_PROFILE", "LAMBDA_TASK_ROOT"):
                os.environ.pop(name, None)
            dynamodb_client.cache_clear()
            sqs_client.cache_clear()
            table = Table(aws.table_name)
            partner = builders.partner()
            production = partner.credentials["production"].model_copy(
                update={"secret_hashes": [hash_secret(builders.SECRET)]}  # the production work factor
            )
            PartnerRepository(table).create(partner.model_copy(update={"credentials": {"production": production}}))
            _, key = ApiKeyRepository(table).create("bench")
            recorder = Recorder(aws.table_name)
            recorder.attach(dynamodb_client())
            recorder.attach(sqs_client())
            trip = RoundTrip(recorder, key)
            for _ in range(WARMUP):
                trip.run()
            return [trip.run() for _ in range(RUNS)]
    finally:
        os.environ.clear()
        os.environ.update(saved)
        dynamodb_client.cache_clear()
        sqs_client.cache_clear()


def main() -> None:
    figures = summarise(measure())
    print(f"One PunchOut round trip, {RUNS} warm runs (medians); handlers in-process, moto's server in a child process")
    print(
        f"{'step':9} {'function':21} {'CPU ms':>7} {'wall ms':>8} {'DDB':>4} {'RRU':>5} {'WRU':>5} "
        f"{'SQS':>4} {'log B':>6} {'acc B':>6} {'out B':>6}  billed ms at "
        + "/".join(f"{m}" for m in MEMORY_SIZES)
        + " MB"
    )
    for f in figures:
        billed = "/".join(str(f.billed_ms(m)) for m in MEMORY_SIZES)
        print(
            f"{f.step:9} {f.function:21} {f.cpu_ms:7.1f} {f.wall_ms:8.1f} {f.ddb_calls:4.0f} {f.rru:5.1f} {f.wru:5.1f} "
            f"{f.sqs_requests:4.0f} {f.log_bytes:6.0f} {f.access_log_bytes():6d} {f.response_bytes:6.0f}  {billed}"
        )
    table = {memory: costs(figures, memory) for memory in MEMORY_SIZES}
    print()
    print(
        f"Cost of 1,000,000 round trips (7 requests each), {MONTHLY_ROUND_TRIPS:,} a month, USD,"
        f" us-east-1 list prices as of {PRICES_AS_OF}:"
    )
    print(f"{'':30}" + "".join(f"{f'{m} MB':>10}" for m in MEMORY_SIZES))
    for item in table[MEMORY_SIZES[0]]:
        print(f"{item:30}" + "".join(f"{table[m][item]:10.2f}" for m in MEMORY_SIZES))
    print(f"{'total':30}" + "".join(f"{sum(table[m].values()):10.2f}" for m in MEMORY_SIZES))
    print()
    print(
        f"X-Ray, default sampling rule ({XRAY_RESERVOIR_PER_SECOND:g} request a second, then {XRAY_FIXED_RATE:.0%}),"
        " traffic spread evenly over a 30-day month (the most it traces):"
    )
    print(f"{'round trips a month':>20} {'requests/s':>11} {'traced':>7} {'USD per 1M round trips':>23}")
    for volume in XRAY_VOLUMES:
        share, dollars = xray_cost(len(figures), volume)
        print(f"{volume:20,} {len(figures) * volume / MONTH_SECONDS:11.3f} {share:7.1%} {dollars:23.2f}")
    print(
        f"model: billed ms = CPU ms x max(1, {FULL_VCPU_MB}/MB) + {DDB_LATENCY_MS:g} ms per DynamoDB call"
        f" + {SQS_LATENCY_MS:g} ms per SQS call; {PLATFORM_LOG_BYTES} B of platform log lines per invocation;"
        " one access log line per request (acc B); free tiers, cold starts, alarms, log storage and the fixed"
        " monthly costs are not included"
    )
    print("command: .venv/bin/python -m tests.benchmarks.bench_cost  (part of make bench)")


if __name__ == "__main__":
    main()
