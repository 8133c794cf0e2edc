"""Observability on Istio (``spec.telemetry``).

* Istio: a mesh-wide ``Telemetry`` (``telemetry.istio.io/v1``) in the control-plane namespace
  (Istio's root namespace) with ``tracing[].randomSamplingPercentage`` and ``accessLogging``; the
  OpenTelemetry provider and access-log encoding in istiod's ``meshConfig``
  (``extensionProviders``, ``accessLogFile``, ``accessLogEncoding``). Metrics: a PodMonitor per
  application namespace scraping the sidecars' merged endpoint (Istio's
  samples/addons/extras/prometheus-operator.yaml) and a ServiceMonitor for istiod.
  Sources: https://istio.io/latest/docs/reference/config/telemetry/, platform-matrix.md 13.1.
"""

from __future__ import annotations

from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.base import PlannedObject
from meshgen.platforms.prometheus import MONITORING, monitor_labels, pod_monitor, split_endpoint
from meshgen.platforms.sections import Section


def plan_telemetry(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """Telemetry resource, meshConfig providers, and monitors for sidecars and istiod."""
    out = Section()
    tel = intent.spec.telemetry
    tracing: list[dict[str, Any]] = []
    access: list[dict[str, Any]] = []
    if tel.tracing is not None:
        report.use(Feature.TRACING, "mesh")
        tracing = [
            {
                "providers": [{"name": tel.tracing.provider}],
                "randomSamplingPercentage": float(tel.tracing.sampling_percent),
            }
        ]
        target = split_endpoint(tel.tracing.endpoint) if tel.tracing.endpoint else None
        if target is not None:
            out.add_values(
                "istiod",
                {
                    "meshConfig": {
                        "extensionProviders": [
                            {"name": tel.tracing.provider, "opentelemetry": {"service": target[0], "port": target[1]}}
                        ]
                    }
                },
            )
        else:
            report.approximated(
                Feature.TRACING,
                "mesh",
                f"no usable telemetry.tracing.endpoint (host:port): the provider {tel.tracing.provider!r} must already be "
                "defined in istiod's meshConfig.extensionProviders, or the Telemetry resource traces nothing",
            )
    if tel.access_logs is not None:
        report.use(Feature.ACCESS_LOGS, "mesh")
        if tel.access_logs.enabled:
            # The built-in "envoy" provider writes meshConfig.accessLogFile with accessLogEncoding.
            access = [{"providers": [{"name": "envoy"}]}]
            out.add_values(
                "istiod",
                {"meshConfig": {"accessLogFile": "/dev/stdout", "accessLogEncoding": tel.access_logs.format.upper()}},
            )
        else:
            access = [{"disabled": True}]
    if tracing or access:
        out.objects.append(
            PlannedObject(
                "istio/telemetry.yaml.j2",
                "telemetry.istio.io/v1",
                "Telemetry",
                "mesh-default",
                cp_ns,
                {"labels": gapi.labels_for(intent), "tracing": tracing, "access_logging": access},
            )
        )
    if tel.metrics:
        report.use(Feature.METRICS, "mesh")
        labels = monitor_labels(intent)
        for ns in intent.namespaces():
            out.objects.append(
                pod_monitor(
                    "istio-proxies",
                    ns,
                    labels,
                    "envoy-stats",
                    {"matchExpressions": [{"key": "istio-prometheus-ignore", "operator": "DoesNotExist"}]},
                    [
                        {
                            # The merged endpoint (sidecar agent on the prometheus.io/port annotation, 15020)
                            # carries Envoy's istio_* metrics and the agent's istio_agent_* metrics.
                            "path": "/stats/prometheus",
                            "interval": "15s",
                            "relabelings": [
                                {
                                    "action": "keep",
                                    "sourceLabels": ["__meta_kubernetes_pod_container_name"],
                                    "regex": "istio-proxy",
                                },
                                {
                                    "action": "keep",
                                    "sourceLabels": ["__meta_kubernetes_pod_annotationpresent_prometheus_io_scrape"],
                                },
                                {
                                    "action": "replace",
                                    "sourceLabels": [
                                        "__address__",
                                        "__meta_kubernetes_pod_annotation_prometheus_io_port",
                                    ],
                                    "regex": "([^:]+)(?::\\d+)?;(\\d+)",
                                    "replacement": "$1:$2",
                                    "targetLabel": "__address__",
                                },
                                {"action": "labeldrop", "regex": "__meta_kubernetes_pod_label_(.+)"},
                            ],
                        }
                    ],
                )
            )
        out.objects.append(
            PlannedObject(
                "prometheus/service-monitor.yaml.j2",
                MONITORING,
                "ServiceMonitor",
                "istiod",
                cp_ns,
                {
                    "labels": labels,
                    "job_label": "istio",
                    "selector": {"matchLabels": {"istio": "pilot"}},
                    "namespaces": [],
                    "endpoints": [{"port": "http-monitoring", "interval": "15s"}],
                },
            )
        )
    return out
