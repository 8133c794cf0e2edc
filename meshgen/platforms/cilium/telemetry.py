"""Observability on Cilium (``spec.telemetry``).

* Cilium (Hubble): agent, operator and Hubble metrics with the chart's own ServiceMonitors,
  Hubble flow export for access logs, Hubble Relay. Cilium makes no spans.
  Source: https://docs.cilium.io/en/stable/observability/metrics/.
"""

from __future__ import annotations

from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent
from meshgen.platforms.high_availability import anti_affinity
from meshgen.platforms.sections import Section

#: Hubble metrics meshgen turns on; httpV2 labelled by workload so alerts can pick a service.
HUBBLE_METRICS = [
    "dns",
    "drop",
    "tcp",
    "flow",
    "httpV2:labelsContext=source_namespace,source_workload,destination_namespace,destination_workload,traffic_direction",
]


def plan_telemetry(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """Metrics with the chart's ServiceMonitors, Hubble flow export and Relay."""
    out = Section()
    tel = intent.spec.telemetry
    cp = intent.spec.mesh.control_plane
    if tel.tracing is not None:
        report.use(
            Feature.TRACING, "mesh", "Cilium makes no spans (Hubble records flows): telemetry.tracing is not applied"
        )
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
                report.approximated(
                    Feature.ACCESS_LOGS, "mesh", "Hubble exports flows as JSON only: format text is not applied"
                )
            relay: dict[str, Any] = {"enabled": True, "replicas": cp.replicas}
            if cp.replicas > 1:
                relay["podDisruptionBudget"] = {"enabled": True, "maxUnavailable": 1}
                # Keep the chart's default podAffinity (next to a Cilium agent) and spread the replicas.
                relay["affinity"] = {
                    "podAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": [
                            {
                                "labelSelector": {"matchLabels": {"k8s-app": "cilium"}},
                                "topologyKey": "kubernetes.io/hostname",
                            }
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
