"""The rollout analyzers MG304-MG307: an intent that triggers each and one that does not, positions
counted by hand, and the scrape interval MG305 assumes checked against what every platform renders.

Each intent is HEAD (lines 1-4) followed by BODY, so ``platform`` is line 5 and ``rollout`` line 13.
Columns are 1-based: a value's column is where its first character is; a field that is not
written is reported at the nearest key that is (the loader's rule).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshgen.analyze.rollouts import SCRAPE_INTERVAL
from meshgen.intent.types import Duration
from meshgen.loader import load_intent
from meshgen.pipeline import render
from meshgen.platforms.registry import names
from tests.conftest import EXAMPLES, FIXTURES
from tests.test_analyze import found, messages
from tests.test_analyze_output import run, write

BODY = """\
  platform: {platform}
  telemetry: {telemetry}
  defaults: {{namespace: t}}
  services:
    - name: api
      timeout: 1s
      ports: [{{name: http, port: 80}}]
      allowFrom: [{allow}]
      rollout: {rollout}
"""
# "      rollout: " is 15 characters: the rollout's flow mapping starts at column 16 of line 13.


def body(rollout: str, telemetry: str = "{}", platform: str = "istio", allow: str = "{namespace: t}") -> str:
    return BODY.format(platform=platform, telemetry=telemetry, rollout=rollout, allow=allow)


CANARY = "{steps: [{weight: 10}, {weight: 50}], %s}"


# --- MG304 rollout looser than the alerts ------------------------------------------------------


def test_mg304_success_rate_below_what_the_error_rate_alert_allows(tmp_path):
    # "{steps: [{weight: 10}, {weight: 50}], analysis: {successRate: 90}}" from column 16:
    # "analysis" at 16+38 = 54, its "{" at 64, "successRate" at 65, the value 90 at 78.
    text = body(CANARY % "analysis: {successRate: 90}")
    assert found(tmp_path, text, "MG304") == ["13:78 warning"]
    message = messages(tmp_path, text, "MG304")[0]
    assert "t/api's rollout passes a canary at a 90% success rate (up to 10% errors)" in message
    assert "pages above 5% (telemetry.alerts.errorRatePercent)" in message
    assert "raise analysis.successRate to 95 or more" in message


def test_mg304_success_rate_boundary_and_alert_settings(tmp_path):
    # 95% success passes at most 5% errors, exactly where the alert starts: quiet.
    assert found(tmp_path, body(CANARY % "analysis: {successRate: 95}"), "MG304") == []
    assert found(tmp_path, body(CANARY % "analysis: {successRate: 94.9}"), "MG304") == ["13:78 warning"]
    # The default 99% is looser than an alert at 0.5%; successRate is not written: reported at "rollout".
    tight = body(CANARY % "interval: 1m", telemetry="{alerts: {errorRatePercent: 0.5}}")
    assert found(tmp_path, tight, "MG304") == ["13:7 warning"]
    assert "raise analysis.successRate to 99.5 or more" in messages(tmp_path, tight, "MG304")[0]
    # No PrometheusRule, nothing to be looser than.
    off = body(CANARY % "analysis: {successRate: 90}", telemetry="{alerts: {enabled: false}}")
    assert found(tmp_path, off, "MG304") == []


def test_mg304_latency_above_the_timeout_alert(tmp_path):
    # "analysis" at 54, "latencyP99" at 65, its value at 77.
    slow = body(CANARY % "analysis: {latencyP99: 2s}")
    assert found(tmp_path, slow, "MG304") == ["13:77 warning"]
    assert (
        "p99 latency up to 2s but MeshServiceLatencyAboveTimeout fires above its timeout 1s"
        in messages(tmp_path, slow, "MG304")[0]
    )
    assert found(tmp_path, body(CANARY % "analysis: {latencyP99: 1s}"), "MG304") == []
    unchecked = body(CANARY % "analysis: {latencyP99: null}")
    assert found(tmp_path, unchecked, "MG304") == ["13:77 warning"]
    assert "does not check latency (analysis.latencyP99: null)" in messages(tmp_path, unchecked, "MG304")[0]
    # Without a timeout meshgen writes no latency alert.
    assert found(tmp_path, slow.replace("      timeout: 1s\n", ""), "MG304") == []


def test_mg304_quiet_where_nothing_measures_requests(tmp_path):
    text = body(CANARY % "analysis: {successRate: 90, latencyP99: 2s}", platform="kubernetes")
    assert found(tmp_path, text, "MG304") == []


# --- MG305 interval against the scrape interval ------------------------------------------------


def test_scrape_interval_is_fifteen_seconds():
    assert SCRAPE_INTERVAL.ms == 15_000


def test_mg305_error_when_no_window_can_hold_two_samples(tmp_path):
    # "interval" at 16+38 = 54, its value at 64.
    for interval in ("15s", "10s", "1s"):
        text = body(CANARY % f"interval: {interval}")
        assert found(tmp_path, text, "MG305") == ["13:64 error"], interval
    message = messages(tmp_path, body(CANARY % "interval: 15s"), "MG305")[0]
    assert "interval 15s is not longer than the 15s scrape interval" in message
    assert "rolls back after 5 failed checks" in message
    assert "use interval 30s or more (1m survives a missed scrape)" in message


def test_mg305_warning_below_twice_the_scrape_interval(tmp_path):
    text = body(CANARY % "interval: 20s")
    assert found(tmp_path, text, "MG305") == ["13:64 warning"]
    # Windows of 20s over samples 15s apart hold two samples a third of the time: 2/3 hold one.
    assert "about 67% of its rate() windows hold one sample" in messages(tmp_path, text, "MG305")[0]
    assert found(tmp_path, body(CANARY % "interval: 29s"), "MG305") == ["13:64 warning"]
    assert found(tmp_path, body(CANARY % "interval: 30s"), "MG305") == []
    assert found(tmp_path, body(CANARY % "interval: 1m"), "MG305") == []


def test_mg305_quiet_without_meshgen_monitors_or_request_metrics(tmp_path):
    assert found(tmp_path, body(CANARY % "interval: 10s", telemetry="{metrics: false}"), "MG305") == []
    assert found(tmp_path, body(CANARY % "interval: 10s", platform="kubernetes"), "MG305") == []


def _monitor_intervals(objects: list[dict[str, Any]]) -> list[Duration]:
    """The scrape interval of every PodMonitor/ServiceMonitor endpoint (a missing one fails: it
    would be the Prometheus' global interval, which meshgen does not know)."""
    out = []
    for obj in objects:
        if not obj or obj.get("kind") not in ("PodMonitor", "ServiceMonitor"):
            continue
        endpoints = obj["spec"]["podMetricsEndpoints" if obj["kind"] == "PodMonitor" else "endpoints"]
        for endpoint in endpoints:
            assert "interval" in endpoint, f"{obj['kind']} {obj['metadata']['name']} has no scrape interval"
            out.append(Duration.parse(endpoint["interval"]))
    return out


def _chart_monitor_intervals(files) -> list[Duration]:
    """ServiceMonitors a chart creates from meshgen's Helm values (``serviceMonitor.enabled``): the
    interval meshgen sets, else the chart's default from tests/fixtures/charts/<chart>/values.yaml."""
    out = []
    for f in files:
        if not f.path.startswith("values/"):
            continue
        chart = Path(f.path).stem
        values = yaml.safe_load(f.text) or {}
        for path, monitor in _service_monitors(values, ()):
            interval = monitor.get("interval")
            if interval is None:
                defaults = FIXTURES / "charts" / chart / "values.yaml"
                assert defaults.exists(), (
                    f"{f.path} turns on a ServiceMonitor at {path}: add the chart's values to fixtures"
                )
                node = yaml.safe_load(defaults.read_text())
                for key in (*path, "interval"):
                    node = node[key]
                interval = node
            out.append(Duration.parse(interval))
    return out


def _service_monitors(node: Any, path: tuple) -> list[tuple[tuple, dict]]:
    if not isinstance(node, dict):
        return []
    found_here = []
    for key, value in node.items():
        if key == "serviceMonitor" and isinstance(value, dict) and value.get("enabled"):
            found_here.append(((*path, key), value))
        else:
            found_here.extend(_service_monitors(value, (*path, key)))
    return found_here


def _all_intervals(platform: str) -> list[Duration]:
    intent = load_intent(next(p for p in EXAMPLES if p.parent.name == "bookinfo"))
    rendering = render(intent, platform, "test")
    return _monitor_intervals(rendering.objects()) + _chart_monitor_intervals(rendering.files)


@pytest.mark.parametrize("platform", names())
def test_no_platform_scrapes_request_metrics_slower_than_mg305_assumes(platform):
    """MG305 compares rollout intervals with SCRAPE_INTERVAL: every monitor meshgen renders (or turns
    on in a chart) must scrape at least that often, or the check would pass windows that are too short."""
    slower = [str(i) for i in _all_intervals(platform) if i.ms > SCRAPE_INTERVAL.ms]
    assert slower == [], f"{platform} scrapes every {slower}: raise meshgen.analyze.rollouts.SCRAPE_INTERVAL"


def test_scrape_interval_is_the_slowest_any_platform_renders():
    """Not looser than needed either: some platform scrapes at exactly SCRAPE_INTERVAL."""
    intervals = {platform: _all_intervals(platform) for platform in names()}
    assert max(i.ms for found_ in intervals.values() for i in found_) == SCRAPE_INTERVAL.ms
    # The chart-default path is exercised: Cilium's Hubble ServiceMonitor scrapes every 10s.
    assert Duration.parse("10s") in intervals["cilium"]


# --- MG306 first step over half ------------------------------------------------------------------


def test_mg306_first_step_over_half(tmp_path):
    # "{steps: [{weight: 60}, {weight: 80}]}" from column 16: the first weight's value at 16+18 = 34.
    text = body("{steps: [{weight: 60}, {weight: 80}]}")
    assert found(tmp_path, text, "MG306") == ["13:34 warning"]
    message = messages(tmp_path, text, "MG306")[0]
    assert "first rollout step sends 60% of its traffic to the canary before any check has passed" in message
    assert "fails most requests for 1m" in message
    # Its own pause is how long the first step holds.
    assert "for 5m" in messages(tmp_path, body("{steps: [{weight: 60, pause: 5m}, {weight: 80}]}"), "MG306")[0]
    assert found(tmp_path, body("{steps: [{weight: 50}, {weight: 100}]}"), "MG306") == []
    assert (
        found(
            tmp_path, body("{strategy: blue-green, webhooks: {loadTest: {url: 'http://lt/', command: hey}}}"), "MG306"
        )
        == []
    )


# --- MG307 rollout without traffic -----------------------------------------------------------------

LOAD_TEST = "webhooks: {loadTest: {url: 'http://flagger-loadtester.t/', command: 'hey -z 1m http://api-canary.t/'}}"


def test_mg307_blue_green_without_a_load_test(tmp_path):
    text = body("{strategy: blue-green}")
    assert found(tmp_path, text, "MG307") == ["13:7 warning"]
    message = messages(tmp_path, text, "MG307")[0]
    assert "t/api's blue-green rollout has no load test" in message
    assert "rolls back after 5 failed checks; add webhooks.loadTest" in message
    assert found(tmp_path, body("{strategy: blue-green, %s}" % LOAD_TEST), "MG307") == []


def test_mg307_canary_nobody_may_call(tmp_path):
    # allowFrom: [] and no gateway: under defaultDeny nothing reaches the canary.
    lonely = body(CANARY % "interval: 1m", allow="")
    assert found(tmp_path, lonely, "MG307") == ["13:7 warning"]
    assert (
        "nobody may call t/api (no allowFrom, no gateway route, defaultDeny)" in messages(tmp_path, lonely, "MG307")[0]
    )
    assert found(tmp_path, body(CANARY % LOAD_TEST, allow=""), "MG307") == []
    # Any allowFrom entry, even one the call graph cannot resolve (a namespace), may send traffic.
    assert found(tmp_path, body(CANARY % "interval: 1m"), "MG307") == []
    routed = (
        lonely
        + "  gateways:\n    - name: gw\n      listeners: [{port: 80, protocol: HTTP}]\n      routes: [{service: api}]\n"
    )
    assert found(tmp_path, routed, "MG307") == []
    # Without default deny, or while access is only audited, callers outside allowFrom get through.
    open_mesh = lonely.replace("  defaults:", "  mesh: {defaultDeny: false}\n  defaults:")
    assert found(tmp_path, open_mesh, "MG307") == []
    audited = lonely.replace("  defaults:", "  mesh: {enforcement: audit}\n  defaults:")
    assert found(tmp_path, audited, "MG307") == []


def test_mg307_quiet_where_nothing_measures_requests(tmp_path):
    assert found(tmp_path, body("{strategy: blue-green}", platform="kubernetes"), "MG307") == []


# --- as a command ----------------------------------------------------------------------------------


def test_rollout_findings_in_json_sarif_and_render(tmp_path):
    path = write(tmp_path, body(CANARY % "interval: 10s"))
    doc = json.loads(run("analyze", str(path), "-o", "json").stdout)
    rows = [f for f in doc["findings"] if f["code"] == "MG305"]
    assert [(r["field"], r["line"], r["column"], r["severity"], r["service"]) for r in rows] == [
        ("spec.services[0].rollout.interval", 13, 64, "error", "t/api")
    ]
    sarif = json.loads(run("analyze", str(path), "-o", "sarif").stdout)["runs"][0]
    assert "MG305" in {rule["id"] for rule in sarif["tool"]["driver"]["rules"]}
    result = next(r for r in sarif["results"] if r["ruleId"] == "MG305")
    region = result["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"], result["level"]) == (13, 64, "error")
    # An analyzer error refuses the intent before anything is planned.
    rendered = run("render", str(path))
    assert rendered.exit_code == 1
    assert f"{path}:13:64: MG305 error:" in rendered.stderr


def test_rollout_findings_are_suppressed_per_service(tmp_path):
    text = body(CANARY % "interval: 20s").replace(
        "      timeout: 1s\n",
        "      timeout: 1s\n      suppress: [{code: MG305, reason: our Prometheus scrapes every 5s}]\n",
    )
    doc = json.loads(run("analyze", str(write(tmp_path, text)), "-o", "json").stdout)
    assert [f["code"] for f in doc["findings"] if f["code"] == "MG305"] == []
    assert [(f["code"], f["reason"]) for f in doc["suppressed"]] == [("MG305", "our Prometheus scrapes every 5s")]
