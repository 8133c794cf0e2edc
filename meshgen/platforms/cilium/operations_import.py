"""Cilium's operations read back: the inverse of :mod:`.certificates`, :mod:`.control_plane` and
:mod:`.telemetry` (the shared steps and the comparison: :mod:`meshgen.importing.operations`).

Everything but the cert-manager chain is in ``values/cilium.yaml`` (cilium/cilium chart 1.19;
keys: ../shared/charts/cilium ``values.yaml``, https://docs.cilium.io/en/stable/helm-reference/):

- ``operator.replicas`` -> ``controlPlane.replicas`` (the chart has no operator autoscaling, so
  ``maxReplicas`` is not in the manifests and stays unset: Cilium renders the same either way).
  ``controlPlane.namespace`` is in no values key (the chart installs into ``kube-system``); it is
  read from the control-plane alerts meshgen writes (``kube_deployment_*{namespace="<ns>",
  deployment=~"cilium-operator"}``, :mod:`meshgen.platforms.prometheus`).
- ``encryption.type`` -> ``mesh.encryption`` (https://docs.cilium.io/en/stable/security/network/encryption/).
- ``policyAuditMode: true`` -> ``mesh.enforcement: audit`` (agent-wide policy audit mode,
  https://docs.cilium.io/en/stable/security/policy-creation/#enable-policy-audit-mode).
- ``authentication.mutual.spire.trustDomain`` -> ``mesh.trustDomain``
  (https://docs.cilium.io/en/stable/network/servicemesh/mutual-authentication/mutual-authentication/);
  ``mesh.mtls`` itself is the policies' ``authentication.mode``, read by the Cilium importer.
- ``envoy.resources`` (with ``envoy.enabled: true``, the cilium-envoy DaemonSet) ->
  ``mesh.proxy.resources`` (requests/limits cpu and memory, as written).
- ``prometheus.enabled`` with ``prometheus.serviceMonitor`` -> ``telemetry.metrics``; its
  ``labels`` -> ``monitorLabels`` (the chart's own ServiceMonitors, so there are no
  PodMonitor/ServiceMonitor objects to read; https://docs.cilium.io/en/stable/observability/metrics/).
  A values file without them is ``metrics: false``.
- ``hubble.export.static.enabled: true`` (Hubble's flow export to a file,
  https://docs.cilium.io/en/stable/observability/hubble/configuration/export/) -> ``accessLogs``
  enabled, format json (Hubble exports JSON only; a text format was reported by the first render).
- ``hubble.tls.auto.method: certmanager`` is the chain's (``ca.type: cert-manager``, read from the
  cert-manager objects); ``cronJob`` is every other CA. Cilium makes no spans: ``tracing`` is
  never in the manifests (the first render reported it) and stays unset.

Every other key, and every value that differs from what the imported intent renders (the relay's
replicas, the other ServiceMonitors' labels, ...), is LOST by the comparison at its path.
"""

from __future__ import annotations

import re
from typing import Any

from meshgen.importing.operations import Context, OperationsReader, read_operations
from meshgen.intent.model import ControlPlane, Mesh
from meshgen.platforms.cilium.platform import CiliumPlatform

CHART = "cilium"
DEFAULT_NAMESPACE = CiliumPlatform.control_plane_namespace
#: The intent's defaults, from the model that defines them.
DEFAULT_REPLICAS = ControlPlane.model_fields["replicas"].default
DEFAULT_ENCRYPTION = Mesh.model_fields["encryption"].default
#: The control-plane alerts' selector of the operator (prometheus.plan_alerts via cilium's control-plane watch).
_OPERATOR = re.compile(r'namespace="([^"]+)",deployment=~"cilium-operator"')


def read(ctx: Context) -> None:
    """Read the cilium values file (and the operator's namespace from the alerts) into ``ctx`` (module docstring)."""
    if CHART not in ctx.values:
        return
    _control_plane(ctx)
    _mesh(ctx)
    _telemetry(ctx)


def _control_plane(ctx: Context) -> None:
    replicas = ctx.value(CHART, "operator", "replicas")
    if isinstance(replicas, int) and not isinstance(replicas, bool) and replicas != DEFAULT_REPLICAS:
        ctx.control_plane["replicas"] = replicas
    ns = _operator_namespace(ctx)
    if ns and ns != DEFAULT_NAMESPACE:
        ctx.control_plane["namespace"] = ns


def _operator_namespace(ctx: Context) -> str | None:
    for rule in ctx.run.by_kind.get("PrometheusRule", []):
        for group in rule.spec.get("groups") or []:
            for item in (group or {}).get("rules") or []:
                found = _OPERATOR.search(str((item or {}).get("expr") or ""))
                if found:
                    return found.group(1)
    return None


def _mesh(ctx: Context) -> None:
    mesh = ctx.run.mesh
    encryption = ctx.value(CHART, "encryption", "type")
    if encryption in ("wireguard", "ipsec") and encryption != DEFAULT_ENCRYPTION:
        mesh["encryption"] = encryption
    if ctx.value(CHART, "policyAuditMode") is True:
        mesh["enforcement"] = "audit"
    domain = ctx.value(CHART, "authentication", "mutual", "spire", "trustDomain")
    if domain is not None and str(domain) != mesh.get("trustDomain", "cluster.local"):
        if "trustDomain" in mesh:
            ctx.lost(ctx.values[CHART], ("authentication", "mutual", "spire", "trustDomain"),
                     f"trust domain {domain} here, {mesh['trustDomain']} elsewhere in these manifests; "
                     "the intent has one")
        else:
            mesh["trustDomain"] = str(domain)
    resources = ctx.value(CHART, "envoy", "resources")
    if ctx.value(CHART, "envoy", "enabled") is True and isinstance(resources, dict) and resources:
        shape = {level: {k: str(v) for k, v in amounts.items() if k in ("cpu", "memory")}
                 for level, amounts in resources.items()
                 if level in ("requests", "limits") and isinstance(amounts, dict)}
        shape = {level: amounts for level, amounts in shape.items() if amounts}
        if shape:
            mesh["proxy"] = {"resources": shape}


def _telemetry(ctx: Context) -> None:
    monitor = ctx.value(CHART, "prometheus", "serviceMonitor")
    if ctx.value(CHART, "prometheus", "enabled") is True and isinstance(monitor, dict):
        labels = ctx.value(CHART, "prometheus", "serviceMonitor", "labels")
        if isinstance(labels, dict) and labels:
            ctx.telemetry["monitorLabels"] = {str(k): str(v) for k, v in labels.items()}
    else:
        ctx.telemetry["metrics"] = False
    if ctx.value(CHART, "hubble", "export", "static", "enabled") is True:
        ctx.telemetry["accessLogs"] = {"enabled": True, "format": "json"}


READER = OperationsReader("cilium", read)


def read_back(run: Any) -> None:
    """The Cilium importer's one call: ``mesh.ca``, ``mesh.controlPlane``, ``telemetry`` and the
    cilium chart's mesh settings into ``run`` (:func:`meshgen.importing.operations.read_operations`
    with :data:`READER`)."""
    read_operations(run, READER)
