"""The cost benchmark's model of what does not come from the handlers: access logs and X-Ray sampling."""

from __future__ import annotations

import json

import pytest

from tests.benchmarks import bench_cost


@pytest.mark.parametrize("step", sorted(bench_cost.STEP_ROUTES))
def test_each_step_costs_one_access_log_line_in_its_api_format(step: str) -> None:
    # Given a step of the round trip and its API's access log format in template.yaml
    method, path, _ = bench_cost.STEP_ROUTES[step]

    # When its line is written
    line = json.loads(bench_cost.access_log_line(step, 200, 1234, 87))

    # Then every $context variable is filled, with the step's route and answer
    assert (line["method"], line["resource"], line["status"], line["responseLength"]) == (method, path, "200", "1234")
    assert not any("$context" in value for value in line.values())
    # And the shop's calls carry its API key id, the buyer's their user agent
    assert ("apiKeyId" in line) == path.startswith("/shop/")
    assert ("userAgent" in line) != path.startswith("/shop/")


def test_x_ray_traces_every_request_the_reservoir_holds_then_five_per_cent() -> None:
    month = bench_cost.MONTH_SECONDS

    # Below one request a second, the reservoir takes them all
    assert bench_cost.traced_share(0.5 * month) == 1.0
    # Above it, one a second and 5 % of the rest: at 21 a second, 1 + 1 of 21
    assert bench_cost.traced_share(21 * month) == pytest.approx(2 / 21)
    # And the cost follows the share: 7 requests a round trip at $5 per million traces
    share, dollars = bench_cost.xray_cost(7, 3 * month / 7)
    assert dollars == pytest.approx(1e6 * 7 * share * 5 / 1e6)
    assert share == pytest.approx((1 + 0.05 * 2) / 3)
