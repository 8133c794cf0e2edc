"""Linkerd's operations read back: the inverse of :mod:`.certificates`, :mod:`.control_plane` and
:mod:`.telemetry` (the shared steps and the comparison: :mod:`meshgen.importing.operations`).

- ``values/linkerd-control-plane.yaml`` (linkerd/linkerd-control-plane chart):
  ``controllerReplicas`` -> ``controlPlane.replicas`` (the chart has no autoscaling, so
  ``maxReplicas`` is not in the manifests and stays unset: Linkerd renders the same either way);
  ``identity.issuer.issuanceLifetime`` -> ``ca.certLifetime``; ``identityTrustDomain`` ->
  ``mesh.trustDomain``; ``proxy.tracing.enabled`` with ``proxy.tracing.collector.endpoint`` ->
  ``tracing.endpoint`` (https://linkerd.io/2.19/tasks/distributed-tracing/). Linkerd has no
  sampling rate and no provider name, so those stay the intent's defaults, which it ignores.
- The ``config.linkerd.io/access-log`` annotation meshgen puts on the services' Namespaces
  (https://linkerd.io/2.19/features/access-logging/): ``json`` -> ``accessLogs`` format json,
  ``apache`` -> text. Another value, or namespaces that disagree, cannot be said: LOST there.
- The control-plane namespace: the identity issuer Certificate's (default ``linkerd``).
"""

from __future__ import annotations

from typing import Any

from meshgen.importing.operations import Context, OperationsReader, read_operations
from meshgen.importing.workloads import managed
from meshgen.intent.model import CertificateAuthority, ControlPlane
from meshgen.platforms.linkerd.platform import LinkerdPlatform

DEFAULT_NAMESPACE = LinkerdPlatform.control_plane_namespace
ACCESS_LOG = "config.linkerd.io/access-log"
#: Annotation value -> intent accessLogs.format (the inverse of telemetry.plan_telemetry).
FORMATS = {"json": "json", "apache": "text"}
#: The intent's defaults, from the model that defines them.
DEFAULT_REPLICAS = ControlPlane.model_fields["replicas"].default
DEFAULT_CERT_LIFETIME = CertificateAuthority.model_fields["cert_lifetime"].default


def read(ctx: Context) -> None:
    """Read the Linkerd values file and access-log annotations into ``ctx`` (module docstring)."""
    chart = "linkerd-control-plane"
    replicas = ctx.value(chart, "controllerReplicas")
    if replicas is not None and int(replicas) != DEFAULT_REPLICAS:
        ctx.control_plane["replicas"] = int(replicas)
    if ctx.chain is not None and ctx.chain.intermediate is not None:
        ns = ctx.chain.intermediate.namespace
        if ns and ns != DEFAULT_NAMESPACE:
            ctx.control_plane["namespace"] = ns
    cert = ctx.duration(chart, ("identity", "issuer", "issuanceLifetime"))
    if cert is not None and cert != DEFAULT_CERT_LIFETIME:
        ctx.ca["certLifetime"] = str(cert)
    domain = ctx.value(chart, "identityTrustDomain")
    if domain is not None and str(domain) != ctx.run.mesh.get("trustDomain", "cluster.local"):
        if "trustDomain" in ctx.run.mesh:
            ctx.lost(ctx.values[chart], ("identityTrustDomain",),
                     f"trust domain {domain} here, {ctx.run.mesh['trustDomain']} in the authentications; the intent has one")
        else:
            ctx.run.mesh["trustDomain"] = str(domain)
    if ctx.value(chart, "proxy", "tracing", "enabled") is True:
        tracing: dict[str, Any] = {}
        endpoint = ctx.value(chart, "proxy", "tracing", "collector", "endpoint")
        if endpoint:
            tracing["endpoint"] = str(endpoint)
        ctx.telemetry["tracing"] = tracing
    _access_logs(ctx)


def _access_logs(ctx: Context) -> None:
    namespaces = [o for o in ctx.run.by_kind.get("Namespace", []) if managed(o)]
    found: dict[str, list] = {}
    for obj in namespaces:
        value = (obj.metadata.get("annotations") or {}).get(ACCESS_LOG)
        if value is None:
            continue
        path = ("metadata", "annotations", ACCESS_LOG)
        if str(value) not in FORMATS:
            ctx.lost(obj, path, f"access-log format {value} is not one the intent knows (json, apache); dropped")
            continue
        found.setdefault(FORMATS[str(value)], []).append(obj)
    if not found:
        return
    chosen = max(sorted(found), key=lambda k: len(found[k]))
    ctx.telemetry["accessLogs"] = {"enabled": True, "format": chosen}
    for fmt, objs in found.items():
        if fmt != chosen:
            for obj in objs:
                ctx.lost(obj, ("metadata", "annotations", ACCESS_LOG), f"access logs are {chosen} in the other namespaces; the intent has one format")
    services = {k[0] for k in ctx.run.services}
    logged = {o.name for objs in found.values() for o in objs}
    for obj in namespaces:
        if obj.name in services and obj.name not in logged:
            ctx.lost(obj, ("metadata", "annotations"), f"no access logs here, {chosen} ones in the other namespaces; the intent logs every namespace or none")


READER = OperationsReader("linkerd", read)


def read_back(run: Any) -> None:
    """The Linkerd importer's one call: ``mesh.ca``, ``mesh.controlPlane`` and ``telemetry`` into
    ``run`` (:func:`meshgen.importing.operations.read_operations` with :data:`READER`)."""
    read_operations(run, READER)
