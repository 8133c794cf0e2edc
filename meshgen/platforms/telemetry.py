"""Observability (``spec.telemetry``): tracing, access logs, and getting proxy metrics scraped.

* Istio: a mesh-wide ``Telemetry`` (``telemetry.istio.io/v1``) in the control-plane namespace
  (Istio's root namespace) with ``tracing[].randomSamplingPercentage`` and ``accessLogging``; the
  OpenTelemetry provider and access-log encoding in istiod's ``meshConfig``
  (``extensionProviders``, ``accessLogFile``, ``accessLogEncoding``). Metrics: a PodMonitor per
  application namespace scraping the sidecars' merged endpoint (Istio's
  samples/addons/extras/prometheus-operator.yaml) and a ServiceMonitor for istiod.
  Sources: https://istio.io/latest/docs/reference/config/telemetry/, platform-matrix.md 13.1.
* Linkerd: ``proxy.tracing`` values (spans exported; Linkerd has no sampling rate), the
  ``config.linkerd.io/access-log`` Namespace annotation, PodMonitors for the proxies
  (``linkerd-admin`` port) and the controllers (``admin-http`` port).
  Sources: https://linkerd.io/2.19/tasks/distributed-tracing/, .../features/access-logging/.
* Cilium (Hubble): agent, operator and Hubble metrics with the chart's own ServiceMonitors,
  Hubble flow export for access logs, Hubble Relay. Cilium makes no spans.
  Source: https://docs.cilium.io/en/stable/observability/metrics/.
"""

from __future__ import annotations

from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.base import PlannedObject
from meshgen.platforms.control_plane import anti_affinity
from meshgen.platforms.ops_base import Section, control_plane_namespace

MONITORING = "monitoring.coreos.com/v1"

#: Hubble metrics meshgen turns on; httpV2 labelled by workload so alerts can pick a service.
HUBBLE_METRICS = [
    "dns",
    "drop",
    "tcp",
    "flow",
    "httpV2:labelsContext=source_namespace,source_workload,destination_namespace,destination_workload,traffic_direction",
]


def plan_telemetry(platform: str, intent: MeshIntent, report: Report) -> Section:
    """Telemetry objects and values of ``intent`` on ``platform``. Raises KeyError for an unknown platform."""
    return {"istio": istio_telemetry, "linkerd": linkerd_telemetry, "cilium": cilium_telemetry}[platform](intent, report)


def _labels(intent: MeshIntent) -> dict[str, str]:
    return {**gapi.labels_for(intent), **intent.spec.telemetry.monitor_labels}


def _pod_monitor(name: str, ns: str, labels: dict[str, str], job_label: str, selector: dict[str, Any], endpoints: list) -> PlannedObject:
    """A prometheus-operator PodMonitor for the pods ``selector`` matches in ``ns``."""
    values = {"labels": labels, "job_label": job_label, "selector": selector, "namespaces": [], "endpoints": endpoints}
    return PlannedObject("prometheus/pod-monitor.yaml.j2", MONITORING, "PodMonitor", name, ns, values)


def _split_endpoint(endpoint: str) -> tuple[str, int] | None:
    host, _, port = endpoint.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)


# --- Istio --------------------------------------------------------------------------------


def istio_telemetry(intent: MeshIntent, report: Report) -> Section:
    """Telemetry resource, meshConfig providers, and monitors for sidecars and istiod."""
    out = Section()
    tel = intent.spec.telemetry
    cp_ns = control_plane_namespace("istio", intent)
    tracing: list[dict[str, Any]] = []
    access: list[dict[str, Any]] = []
    if tel.tracing is not None:
        report.use(Feature.TRACING, "mesh")
        tracing = [{"providers": [{"name": tel.tracing.provider}], "randomSamplingPercentage": float(tel.tracing.sampling_percent)}]
        target = _split_endpoint(tel.tracing.endpoint) if tel.tracing.endpoint else None
        if target is not None:
            out.add_values(
                "istiod",
                {"meshConfig": {"extensionProviders": [{"name": tel.tracing.provider, "opentelemetry": {"service": target[0], "port": target[1]}}]}},
            )
        else:
            report.approximated(
                Feature.TRACING, "mesh",
                f"no usable telemetry.tracing.endpoint (host:port): the provider {tel.tracing.provider!r} must already be "
                "defined in istiod's meshConfig.extensionProviders, or the Telemetry resource traces nothing",
            )
    if tel.access_logs is not None:
        report.use(Feature.ACCESS_LOGS, "mesh")
        if tel.access_logs.enabled:
            # The built-in "envoy" provider writes meshConfig.accessLogFile with accessLogEncoding.
            access = [{"providers": [{"name": "envoy"}]}]
            out.add_values("istiod", {"meshConfig": {"accessLogFile": "/dev/stdout", "accessLogEncoding": tel.access_logs.format.upper()}})
        else:
            access = [{"disabled": True}]
    if tracing or access:
        out.objects.append(
            PlannedObject(
                "istio/telemetry.yaml.j2", "telemetry.istio.io/v1", "Telemetry", "mesh-default", cp_ns,
                {"labels": gapi.labels_for(intent), "tracing": tracing, "access_logging": access},
            )
        )
    if tel.metrics:
        report.use(Feature.METRICS, "mesh")
        labels = _labels(intent)
        for ns in intent.namespaces():
            out.objects.append(
                _pod_monitor(
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
                                {"action": "keep", "sourceLabels": ["__meta_kubernetes_pod_container_name"], "regex": "istio-proxy"},
                                {"action": "keep", "sourceLabels": ["__meta_kubernetes_pod_annotationpresent_prometheus_io_scrape"]},
                                {
                                    "action": "replace",
                                    "sourceLabels": ["__address__", "__meta_kubernetes_pod_annotation_prometheus_io_port"],
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
                "prometheus/service-monitor.yaml.j2", MONITORING, "ServiceMonitor", "istiod", cp_ns,
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


# --- Linkerd ------------------------------------------------------------------------------


def linkerd_telemetry(intent: MeshIntent, report: Report) -> Section:
    """proxy.tracing values, access-log annotations, PodMonitors for proxies and controllers."""
    out = Section()
    tel = intent.spec.telemetry
    cp_ns = control_plane_namespace("linkerd", intent)
    if tel.tracing is not None:
        report.use(
            Feature.TRACING, "mesh",
            f"samplingPercent {tel.tracing.sampling_percent:g} is not applied: Linkerd proxies follow the sampling decision "
            "in the incoming trace context, so the ingress or the application decides",
        )
        tracing: dict[str, Any] = {"enabled": True}
        if tel.tracing.endpoint and _split_endpoint(tel.tracing.endpoint):
            tracing["collector"] = {"endpoint": tel.tracing.endpoint}
        else:
            report.approximated(Feature.TRACING, "mesh", "no usable telemetry.tracing.endpoint (host:port): set proxy.tracing.collector.endpoint yourself, or no span leaves the proxies")
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
        labels = _labels(intent)
        for ns in intent.namespaces():
            out.objects.append(
                _pod_monitor(
                    "linkerd-proxies",
                    ns,
                    labels,
                    "linkerd-proxy",
                    {"matchExpressions": [{"key": "linkerd.io/control-plane-ns", "operator": "Exists"}]},
                    [{"port": "linkerd-admin", "path": "/metrics", "interval": "15s"}],
                )
            )
        out.objects.append(
            _pod_monitor(
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


# --- Cilium -------------------------------------------------------------------------------


def cilium_telemetry(intent: MeshIntent, report: Report) -> Section:
    """Metrics with the chart's ServiceMonitors, Hubble flow export and Relay."""
    out = Section()
    tel = intent.spec.telemetry
    cp = intent.spec.mesh.control_plane
    if tel.tracing is not None:
        report.use(Feature.TRACING, "mesh", "Cilium makes no spans (Hubble records flows): telemetry.tracing is not applied")
    if tel.metrics:
        report.use(Feature.METRICS, "mesh")
        monitor = {"enabled": True, "labels": dict(tel.monitor_labels)}
        out.add_values(
            "cilium",
            {
                "prometheus": {"enabled": True, "serviceMonitor": monitor},
                "operator": {"prometheus": {"enabled": True, "serviceMonitor": monitor}},
                "hubble": {"enabled": True, "metrics": {"enabled": list(HUBBLE_METRICS), "serviceMonitor": monitor}},
            },
        )
    if tel.access_logs is not None:
        report.use(Feature.ACCESS_LOGS, "mesh")
        if tel.access_logs.enabled:
            if tel.access_logs.format == "text":
                report.approximated(Feature.ACCESS_LOGS, "mesh", "Hubble exports flows as JSON only: format text is not applied")
            relay: dict[str, Any] = {"enabled": True, "replicas": cp.replicas}
            if cp.replicas > 1:
                relay["podDisruptionBudget"] = {"enabled": True, "maxUnavailable": 1}
                # Keep the chart's default podAffinity (next to a Cilium agent) and spread the replicas.
                relay["affinity"] = {
                    "podAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": [
                            {"labelSelector": {"matchLabels": {"k8s-app": "cilium"}}, "topologyKey": "kubernetes.io/hostname"}
                        ]
                    },
                    **anti_affinity({"k8s-app": "hubble-relay"}),
                }
            out.add_values(
                "cilium",
                {
                    "hubble": {
                        "enabled": True,
                        "export": {"static": {"enabled": True, "filePath": "/var/run/cilium/hubble/events.log"}},
                        "relay": relay,
                    }
                },
            )
    return out
