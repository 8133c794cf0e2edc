"""Observability on Linkerd (``spec.telemetry``).

* Linkerd: ``proxy.tracing`` values (spans exported; Linkerd has no sampling rate), the
  ``config.linkerd.io/access-log`` Namespace annotation, PodMonitors for the proxies
  (``linkerd-admin`` port) and the controllers (``admin-http`` port).
  Sources: https://linkerd.io/2.19/tasks/distributed-tracing/, .../features/access-logging/.
"""

from __future__ import annotations

from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent
from meshgen.platforms.prometheus import monitor_labels, pod_monitor, split_endpoint
from meshgen.platforms.sections import Section


def plan_telemetry(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """proxy.tracing values, access-log annotations, PodMonitors for proxies and controllers."""
    out = Section()
    tel = intent.spec.telemetry
    if tel.tracing is not None:
        report.use(
            Feature.TRACING,
            "mesh",
            f"samplingPercent {tel.tracing.sampling_percent:g} is not applied: Linkerd proxies follow the sampling decision "
            "in the incoming trace context, so the ingress or the application decides",
        )
        tracing: dict[str, Any] = {"enabled": True}
        if tel.tracing.endpoint and split_endpoint(tel.tracing.endpoint):
            tracing["collector"] = {"endpoint": tel.tracing.endpoint}
        else:
            report.approximated(
                Feature.TRACING,
                "mesh",
                "no usable telemetry.tracing.endpoint (host:port): set proxy.tracing.collector.endpoint yourself, or no span leaves the proxies",
            )
        out.add_values("linkerd-control-plane", {"proxy": {"tracing": tracing}})
    if tel.access_logs is not None:
        report.use(Feature.ACCESS_LOGS, "mesh")
        if tel.access_logs.enabled:
            # Read when the proxy starts: pods need a restart after the Namespace changes.
            value = "json" if tel.access_logs.format == "json" else "apache"
            for ns in intent.namespaces():
                out.namespace_annotations[ns] = {"config.linkerd.io/access-log": value}
    if tel.metrics:
        report.use(Feature.METRICS, "mesh")
        labels = monitor_labels(intent)
        for ns in intent.namespaces():
            out.objects.append(
                pod_monitor(
                    "linkerd-proxies",
                    ns,
                    labels,
                    "linkerd-proxy",
                    {"matchExpressions": [{"key": "linkerd.io/control-plane-ns", "operator": "Exists"}]},
                    [{"port": "linkerd-admin", "path": "/metrics", "interval": "15s"}],
                )
            )
        out.objects.append(
            pod_monitor(
                "linkerd-controllers",
                cp_ns,
                labels,
                "linkerd.io/control-plane-component",
                {"matchExpressions": [{"key": "linkerd.io/control-plane-component", "operator": "Exists"}]},
                # admin-http serves the controllers' own metrics (issuer_cert_ttl_seconds on identity).
                [{"port": "admin-http", "path": "/metrics", "interval": "15s"}],
            )
        )
    return out
