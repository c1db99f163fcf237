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
"""

from __future__ import annotations

import math
import os
import statistics
import warnings
from dataclasses import dataclass
from typing import Any

from punchout.partners import hash_secret
from punchout.store.api_keys import ApiKeyRepository
from punchout.store.dynamo import Table, dynamodb_client
from punchout.store.partners import PartnerRepository
from punchout.store.queue import sqs_client
from tests.support import builders
from tests.support.built_lambda import MotoProcess, function_handlers, provision, sdk_environment, template_variables
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
XRAY_SAMPLED = 0.05  # the default sampling rule: 1 request a second, then 5 %
MEMORY_SIZES = (256, 512, 1024)
WARMUP, RUNS = 3, 20


@dataclass(frozen=True)
class StepFigures:
    step: str
    function: str
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


def costs(figures: list[StepFigures], memory_mb: int) -> dict[str, float]:
    """Dollars per one million round trips, by service."""
    million = 1e6
    requests = len(figures)
    gb_seconds = sum(f.billed_ms(memory_mb) for f in figures) / 1000 * memory_mb / 1024
    log_gb = sum(f.log_bytes + PLATFORM_LOG_BYTES for f in figures) / 2**30
    out_gb = sum(f.response_bytes for f in figures) / 2**30
    return {
        "Lambda compute": million * gb_seconds * LAMBDA_ARM_PER_GB_SECOND,
        "Lambda requests": million * requests * LAMBDA_PER_REQUEST,
        "API Gateway (REST)": million * requests * API_GATEWAY_REST_PER_REQUEST,
        "DynamoDB writes": million * sum(f.wru for f in figures) * DYNAMODB_PER_WRU,
        "DynamoDB reads": million * sum(f.rru for f in figures) * DYNAMODB_PER_RRU,
        "SQS FIFO": million * sum(f.sqs_requests for f in figures) * SQS_FIFO_PER_REQUEST,
        "CloudWatch Logs": million * log_gb * CLOUDWATCH_LOGS_PER_GB,
        f"X-Ray ({XRAY_SAMPLED:.0%} traced)": million * requests * XRAY_SAMPLED * XRAY_PER_TRACE,
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
        f"{'SQS':>4} {'log B':>6} {'out B':>6}  billed ms at " + "/".join(f"{m}" for m in MEMORY_SIZES) + " MB"
    )
    for f in figures:
        billed = "/".join(str(f.billed_ms(m)) for m in MEMORY_SIZES)
        print(
            f"{f.step:9} {f.function:21} {f.cpu_ms:7.1f} {f.wall_ms:8.1f} {f.ddb_calls:4.0f} {f.rru:5.1f} {f.wru:5.1f} "
            f"{f.sqs_requests:4.0f} {f.log_bytes:6.0f} {f.response_bytes:6.0f}  {billed}"
        )
    table = {memory: costs(figures, memory) for memory in MEMORY_SIZES}
    print()
    print(f"Cost of 1,000,000 round trips (7 requests each), USD, us-east-1 list prices as of {PRICES_AS_OF}:")
    print(f"{'':26}" + "".join(f"{f'{m} MB':>10}" for m in MEMORY_SIZES))
    for item in table[MEMORY_SIZES[0]]:
        print(f"{item:26}" + "".join(f"{table[m][item]:10.2f}" for m in MEMORY_SIZES))
    print(f"{'total':26}" + "".join(f"{sum(table[m].values()):10.2f}" for m in MEMORY_SIZES))
    print(
        f"model: billed ms = CPU ms x max(1, {FULL_VCPU_MB}/MB) + {DDB_LATENCY_MS:g} ms per DynamoDB call"
        f" + {SQS_LATENCY_MS:g} ms per SQS call; {PLATFORM_LOG_BYTES} B of platform log lines per invocation;"
        " free tiers, cold starts, alarms, log storage and the fixed monthly costs are not included"
    )
    print("command: .venv/bin/python -m tests.benchmarks.bench_cost  (part of make bench)")


if __name__ == "__main__":
    main()
