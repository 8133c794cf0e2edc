"""Observability in ambient mode: Istio's Telemetry and istiod scrape, waypoints and ztunnel.

Istio's plan (:func:`meshgen.platforms.istio.telemetry.plan_telemetry`) applies as is: the
mesh-wide ``Telemetry`` (tracing and access logs, which only waypoints produce per request), the
meshConfig providers, and a PodMonitor per application namespace scraping ``istio-proxy``
containers, which in ambient are the waypoints (and gateways): they report
``istio_requests_total`` with ``reporter="waypoint"``. Added here: ztunnel's L4 metrics
(``istio_tcp_connections_opened_total``, ``istio_tcp_sent_bytes_total``, ...) on its
``ztunnel-stats`` port 15020, ``/metrics`` (istio/istio ``manifests/charts/ztunnel/templates/daemonset.yaml``;
https://istio.io/latest/docs/ambient/usage/troubleshoot-ztunnel/).
"""

from __future__ import annotations

from meshgen.capabilities import Report
from meshgen.intent.model import MeshIntent
from meshgen.platforms.istio.telemetry import plan_telemetry as istio_telemetry
from meshgen.platforms.prometheus import monitor_labels, pod_monitor
from meshgen.platforms.sections import Section


def plan_telemetry(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """Istio's telemetry plus a PodMonitor for ztunnel."""
    out = istio_telemetry(intent, report, cp_ns)
    if intent.spec.telemetry.metrics:
        out.objects.append(
            pod_monitor(
                "ztunnel",
                cp_ns,
                monitor_labels(intent),
                "app",
                {"matchLabels": {"app": "ztunnel"}},
                [{"port": "ztunnel-stats", "path": "/metrics", "interval": "15s"}],
            )
        )
    return out
