"""What observability exists without a mesh, and the alerts that can still be written.

No proxy sits between pods, so there are no request metrics, no spans and no access logs for
meshgen to switch on: ``telemetry.tracing``, ``accessLogs`` and ``metrics`` are reported lost
(the applications must export their own), and no PodMonitor is written. Alerts: the request
error-rate and latency rules every mesh platform writes need request metrics and are lost; the
certificate-expiry rules need only cert-manager's own metric
(``certmanager_certificate_expiration_timestamp_seconds``,
https://cert-manager.io/docs/devops-tips/prometheus-metrics/), so with ``ca.type`` cert-manager or
vault a PrometheusRule with those rules is written.

There is no control plane: NetworkPolicy is enforced by the CNI's per-node agents, which the
cluster already runs; an explicit ``mesh.controlPlane`` is reported as applying to nothing.
"""

from __future__ import annotations

from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.base import PlannedObject, object_name
from meshgen.platforms.prometheus import MONITORING
from meshgen.platforms.proxy_resources import proxy_resources
from meshgen.platforms.sections import ExpiryWatch, Section, human_seconds


def plan_control_plane(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """No control plane: a finding when the intent sets ``mesh.controlPlane`` explicitly."""
    cp = intent.spec.mesh.control_plane
    if cp.model_fields_set:
        report.use(Feature.CONTROL_PLANE_HA, "mesh")
    return Section()


def plan_telemetry(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """Findings only: nothing observes calls between pods without a proxy."""
    tel = intent.spec.telemetry
    if tel.tracing is not None:
        report.lost(
            Feature.TRACING,
            "mesh",
            f"no proxy makes spans: sampling {tel.tracing.sampling_percent:g}% is not applied; instrument the applications "
            "with an OpenTelemetry SDK" + (f" exporting to {tel.tracing.endpoint}" if tel.tracing.endpoint else ""),
        )
    if tel.access_logs is not None and tel.access_logs.enabled:
        report.use(Feature.ACCESS_LOGS, "mesh")
    if tel.metrics:
        report.lost(
            Feature.METRICS,
            "mesh",
            "no request metrics: nothing observes calls between pods, so no PodMonitor is written; the applications must "
            "export their own request metrics (set telemetry.metrics: false to accept that)",
        )
    return Section()


def plan_alerts(intent: MeshIntent, report: Report, cp_ns: str, watches: list[ExpiryWatch]) -> Section:
    """A PrometheusRule of certificate-expiry rules when certificates exist; findings for the rest."""
    out = Section()
    alerts = intent.spec.telemetry.alerts
    if not alerts.enabled:
        return out
    if not watches:
        report.lost(
            Feature.ALERTS,
            "mesh",
            "no request metrics and no certificates to watch: no alert rule is written (error-rate and latency alerts "
            "need the applications' own metrics)",
        )
        return out
    report.use(Feature.ALERTS, "mesh")
    rules = [_expiry_rule(w) for w in watches]
    out.objects.append(
        PlannedObject(
            "prometheus/prometheus-rule.yaml.j2",
            MONITORING,
            "PrometheusRule",
            object_name(intent.metadata.name, "certificate-alerts"),
            alerts.namespace,
            {
                "labels": {**gapi.labels_for(intent), **alerts.labels},
                "groups": [{"name": "meshgen.kubernetes.certificates", "rules": rules}],
            },
        )
    )
    return out


def _expiry_rule(watch: ExpiryWatch) -> dict[str, Any]:
    left = human_seconds(watch.threshold_s)
    return {
        "alert": "CertificateExpiringSoon",
        "expr": f"({watch.remaining}) < {watch.threshold_s}",
        "for": "10m",
        "labels": {"severity": "critical" if watch.level == "workload" else "warning", "certificate": watch.level},
        "annotations": {
            "summary": f"{watch.what} expires in less than {left}",
            "description": f"{watch.what} expires in less than {left}; {watch.why}. When it expires, TLS between the "
            "applications that use it fails.",
        },
    }


def plan_proxy_resources(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """No proxy: ``mesh.proxy.resources`` has nothing to size (a finding, severity info)."""
    if proxy_resources(intent) is not None:
        report.no_effect(
            Feature.PROXY_RESOURCES, "mesh", "no mesh, no proxy: mesh.proxy.resources sizes nothing and is not rendered"
        )
    return Section()
