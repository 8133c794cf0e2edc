"""MG304-MG307: rollouts (``services[].rollout``), in the operations family with the other checks of
how a version reaches and stays in production.

A rollout controller (Flagger, Argo Rollouts) promotes a canary when its analysis passes: the
mesh's request metrics, queried from Prometheus at every ``rollout.interval`` over a window of
that interval (the ``${interval}`` of :class:`meshgen.delivery.support.RequestMetrics`). These
checks find analyses that pass what the intent's own alerts call an incident (MG304), windows
too short for the scrape interval to yield a rate (MG305), first steps that expose most users
before any check ran (MG306), and canaries nobody sends a request to (MG307).

When nothing measures requests on the target (``Platform.delivery.metrics`` is None: no mesh),
the analysis itself is lost (the controller planners report it), so MG304, MG305 and MG307,
which are about that analysis, stay quiet there.
"""

from __future__ import annotations

from collections.abc import Iterator

from meshgen.analyze.graph import CallGraph
from meshgen.analyze.registry import Finding, Severity, analyzer
from meshgen.intent.types import Duration

#: How often meshgen's monitors scrape the request metrics a rollout's analysis reads, at the
#: longest of any target: 15s in the PodMonitors/ServiceMonitors meshgen writes for Istio
#: (sidecar and ambient), Linkerd and Consul (``podMetricsEndpoints[].interval`` /
#: ``endpoints[].interval``); 10s on Cilium, whose chart's Hubble ServiceMonitor meshgen turns
#: on with the chart's default ``hubble.metrics.serviceMonitor.interval: "10s"``.
#: tests/test_analyze_rollouts.py renders every platform and fails when a monitor scrapes slower.
SCRAPE_INTERVAL = Duration(15_000)

#: The share of traffic above which a first canary step is reported (MG306), percent.
FIRST_STEP_MAX = 50


def _analysis_measured(graph: CallGraph) -> bool:
    """Whether the target measures requests at all (else the rollout analysis is lost there)."""
    from meshgen.platforms import get_platform

    return get_platform(graph.platform or graph.intent.spec.platform).delivery.metrics is not None


def _rollouts(graph: CallGraph):
    """``(index, service, rollout)`` of every service with a rollout, in intent order."""
    for i, svc in enumerate(graph.services):
        if svc.rollout is not None:
            yield i, svc, svc.rollout


@analyzer(
    "MG304",
    "rollout-looser-than-alerts",
    "A rollout's analysis passes a canary at an error rate or p99 latency the service's alerts fire on.",
)
def rollout_looser_than_alerts(graph: CallGraph) -> Iterator[Finding]:
    """The canary passes, is promoted, and the alert meshgen wrote for the same service pages the on-call.

    Compared with the rules of the PrometheusRule meshgen renders (:mod:`meshgen.platforms.prometheus`,
    present while ``telemetry.alerts.enabled``):

    * ``MeshServiceErrorRateHigh`` fires above ``telemetry.alerts.errorRatePercent`` of 5xx/failed
      gRPC responses; the analysis passes down to ``analysis.successRate`` percent of successes,
      so a ``successRate`` below ``100 - errorRatePercent`` promotes canaries that page;
    * ``MeshServiceLatencyAboveTimeout`` fires when p99 exceeds the service's ``timeout`` (only
      written when it has one); ``analysis.latencyP99`` above it, or ``null`` (not checked),
      promotes canaries whose p99 pages.

    ``context.latencySlo`` is not compared: it is the budget the *mesh* may add along the longest
    call path (read by ``meshgen advise``), not a service's end-to-end p99.
    """
    alerts = graph.intent.spec.telemetry.alerts
    if not alerts.enabled or not _analysis_measured(graph):
        return
    page = float(alerts.error_rate_percent)
    for i, svc, rollout in _rollouts(graph):
        where = ("spec", "services", i, "rollout", "analysis")
        rate = float(rollout.analysis.success_rate)
        if rate < 100 - page - 1e-9:  # 100 - 0.1 is not exactly 99.9 in binary
            yield Finding(
                "MG304",
                Severity.warning,
                f"{graph.name(i)}'s rollout passes a canary at a {rate:g}% success rate (up to {100 - rate:g}% "
                f"errors) but MeshServiceErrorRateHigh pages above {page:g}% (telemetry.alerts.errorRatePercent): "
                f"a canary failing {page:g}-{100 - rate:g}% of requests is promoted and then pages; "
                f"raise analysis.successRate to {100 - page:g} or more",
                (*where, "successRate"),
                graph.key(i),
            )
        if svc.timeout is None:
            continue
        p99 = rollout.analysis.latency_p99
        if p99 is None:
            yield Finding(
                "MG304",
                Severity.warning,
                f"{graph.name(i)}'s rollout does not check latency (analysis.latencyP99: null) but "
                f"MeshServiceLatencyAboveTimeout fires when its p99 exceeds its timeout {svc.timeout}: a canary "
                f"slower than that is promoted and then pages; set analysis.latencyP99 to {svc.timeout} or less",
                (*where, "latencyP99"),
                graph.key(i),
            )
        elif p99.ms > svc.timeout.ms:
            yield Finding(
                "MG304",
                Severity.warning,
                f"{graph.name(i)}'s rollout passes a canary with a p99 latency up to {p99} but "
                f"MeshServiceLatencyAboveTimeout fires above its timeout {svc.timeout}: a canary with a p99 between "
                f"{svc.timeout} and {p99} is promoted and then pages (and 1% of its calls time out); "
                f"lower analysis.latencyP99 to {svc.timeout} or less",
                (*where, "latencyP99"),
                graph.key(i),
            )


@analyzer(
    "MG305",
    "rollout-interval-below-scrape",
    f"A rollout interval under twice the {SCRAPE_INTERVAL} scrape interval: its rate() windows hold too few samples.",
    Severity.warning,
    Severity.error,
)
def rollout_interval_below_scrape(graph: CallGraph) -> Iterator[Finding]:
    """Every check queries ``rate(...[interval])``; ``rate()`` needs two samples in its window.

    Prometheus drops a series with fewer than two samples in the range from ``rate()``
    (``extrapolatedRate``: "No sense in trying to compute a rate without at least two points",
    https://github.com/prometheus/prometheus/blob/main/promql/functions.go;
    https://prometheus.io/docs/prometheus/latest/querying/functions/#rate), so the query returns
    nothing: Flagger records "Halt advancement no values found" and counts a failed check
    (fluxcd/flagger pkg/controller/scheduler_metrics.go, pkg/controller/scheduler.go
    ``SetStatusFailedChecks``), Argo Rollouts gets an empty result ``[]``.

    With samples every ``S`` = :data:`SCRAPE_INTERVAL`, a window of length ``W`` holds
    ``floor(W/S)`` or ``floor(W/S) + 1`` of them depending on where it starts:

    * ``W <= S``: at most one (exactly one at ``W == S``): no check can ever pass, every rollout
      rolls back after ``failureLimit`` checks: **error**;
    * ``S < W < 2S``: one or two: a share ``(2S - W) / S`` of the checks fails for no reason: **warning**;
    * ``W >= 2S``: always two or more: quiet. The message still advises ``4S`` (Grafana's
      ``$__rate_interval`` rule), which survives one missed scrape.

    The threshold is therefore 2x, not 1x: at 1x a window is never guaranteed a second sample.
    Quiet when ``telemetry.metrics`` is false: meshgen then writes no monitors and the scrape
    interval is the team's own Prometheus's.
    """
    if not graph.intent.spec.telemetry.metrics or not _analysis_measured(graph):
        return
    scrape = SCRAPE_INTERVAL.ms
    for i, _svc, rollout in _rollouts(graph):
        window = rollout.interval.ms
        if window >= 2 * scrape:
            continue
        advice = f"use interval {Duration(2 * scrape)} or more ({Duration(4 * scrape)} survives a missed scrape)"
        if window <= scrape:
            yield Finding(
                "MG305",
                Severity.error,
                f"{graph.name(i)}'s rollout interval {rollout.interval} is not longer than the {SCRAPE_INTERVAL} "
                f"scrape interval: each check's rate() window holds at most one sample and returns no value, so "
                f"every check fails and every rollout rolls back after {rollout.analysis.failure_limit} failed checks; "
                f"{advice}",
                ("spec", "services", i, "rollout", "interval"),
                graph.key(i),
            )
        else:
            share = round(100 * (2 * scrape - window) / scrape)
            yield Finding(
                "MG305",
                Severity.warning,
                f"{graph.name(i)}'s rollout interval {rollout.interval} is shorter than twice the {SCRAPE_INTERVAL} "
                f"scrape interval: about {share}% of its rate() windows hold one sample and return no value, "
                f"failing those checks for no reason; {advice}",
                ("spec", "services", i, "rollout", "interval"),
                graph.key(i),
            )


@analyzer(
    "MG306",
    "first-step-over-half",
    f"A canary's first step sends more than {FIRST_STEP_MAX}% of traffic to a version no check has passed yet.",
)
def first_step_over_half(graph: CallGraph) -> Iterator[Finding]:
    """The first step is taken before any analysis: its weight is the share of users a broken
    version reaches for one whole interval (Flagger ``stepWeights[0]``, Argo ``steps[0].setWeight``).
    Above half, the canary carries most of the traffic on trust, which is what a canary avoids."""
    for i, _svc, rollout in _rollouts(graph):
        if rollout.strategy != "canary" or not rollout.steps:
            continue
        first = rollout.steps[0]
        if first.weight > FIRST_STEP_MAX:
            yield Finding(
                "MG306",
                Severity.warning,
                f"{graph.name(i)}'s first rollout step sends {first.weight}% of its traffic to the canary before any "
                f"check has passed: a broken version fails most requests for {rollout.pause_of(first)}; start at "
                f"{FIRST_STEP_MAX}% or less (e.g. 10) and raise the weight in later steps",
                ("spec", "services", i, "rollout", "steps", 0, "weight"),
                graph.key(i),
            )


@analyzer(
    "MG307",
    "rollout-without-traffic",
    "A rollout whose canary gets no requests to analyse: no load test, and blue-green or no caller allowed.",
)
def rollout_without_traffic(graph: CallGraph) -> Iterator[Finding]:
    """Without requests the analysis queries return no value: Flagger halts ("Halt advancement no
    values found ... probably <name>.<namespace> is not receiving traffic", fluxcd/flagger
    pkg/controller/scheduler_metrics.go) and counts a failed check, so the rollout rolls back
    after ``failureLimit`` checks however good the version is.

    Reported when ``webhooks.loadTest`` is not set and either

    * the strategy is blue-green: the canary (green) gets live traffic only after its analysis
      passed ("run load tests and metric checks for the canary pods ... route traffic to canary",
      fluxcd/flagger docs/gitbook/usage/deployment-strategies.md, Blue/Green Deployments; Argo
      Rollouts' preview Service likewise has no live traffic before promotion); or
    * nothing in the intent may call the service: no ``allowFrom`` entry of any kind and no
      gateway route, under ``mesh.defaultDeny`` with the service's access rules enforced (in
      audit mode, or without default deny, unlisted callers may exist).
    """
    if not _analysis_measured(graph):
        return
    mesh = graph.intent.spec.mesh
    routed = {e.callee for e in graph.gateway_edges}
    for i, svc, rollout in _rollouts(graph):
        if rollout.webhooks.load_test is not None:
            continue
        where = ("spec", "services", i, "rollout", "webhooks", "loadTest")
        limit = rollout.analysis.failure_limit
        fails = f"so every check finds no value and the rollout rolls back after {limit} failed checks"
        if rollout.strategy == "blue-green":
            yield Finding(
                "MG307",
                Severity.warning,
                f"{graph.name(i)}'s blue-green rollout has no load test: the new version gets live traffic only once "
                f"its analysis has passed, {fails}; add webhooks.loadTest",
                where,
                graph.key(i),
            )
            continue
        enforced = (svc.enforcement or mesh.enforcement) == "enforce"
        if mesh.default_deny and enforced and not svc.allow_from and i not in routed:
            yield Finding(
                "MG307",
                Severity.warning,
                f"nobody may call {graph.name(i)} (no allowFrom, no gateway route, defaultDeny) and its rollout has "
                f"no load test: the canary receives no requests, {fails}; add webhooks.loadTest or allowFrom for its "
                "callers",
                where,
                graph.key(i),
            )
