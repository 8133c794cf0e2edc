"""Istio's operations read back: the inverse of :mod:`.certificates`, :mod:`.control_plane` and
:mod:`.telemetry` (the shared steps and the comparison: :mod:`meshgen.importing.operations`).

- ``values/istiod.yaml`` (istio/istiod chart): ``autoscaleMin``/``autoscaleMax`` when
  ``autoscaleEnabled``, else ``replicaCount`` -> ``controlPlane.replicas``/``maxReplicas``;
  ``meshConfig.defaultConfig.proxyMetadata.SECRET_TTL`` (the lifetime the sidecar agent asks
  for) -> ``ca.certLifetime``; ``env.CITADEL_SELF_SIGNED_CA_CERT_TTL`` -> ``ca.rootLifetime``
  under istiod's own CA; ``meshConfig.trustDomain`` -> ``mesh.trustDomain``;
  ``meshConfig.extensionProviders[]`` ``opentelemetry`` ``service``/``port`` of the tracing
  provider -> ``tracing.endpoint``; ``meshConfig.accessLogEncoding`` -> ``accessLogs.format``
  (https://istio.io/latest/docs/reference/config/istio.mesh.v1alpha1/).
- ``values/istio-csr.yaml``: ``app.istio.namespace`` -> ``controlPlane.namespace``
  (https://cert-manager.io/docs/usage/istio-csr/).
- The mesh-wide ``Telemetry`` (``telemetry.istio.io``; no ``selector``/``targetRef(s)``, in the
  control-plane namespace, Istio's root namespace;
  https://istio.io/latest/docs/reference/config/telemetry/, ../shared/crds/istio
  ``telemetries.telemetry.istio.io``): ``tracing[0].providers[0].name`` -> ``tracing.provider``,
  ``tracing[0].randomSamplingPercentage`` -> ``samplingPercent``; ``accessLogging[0]`` with the
  built-in ``envoy`` provider -> ``accessLogs`` enabled, ``disabled: true`` -> disabled. An
  access-log provider other than ``envoy`` (an OpenTelemetry or gRPC access-log service) is
  one the intent does not know: LOST, and no access logs are imported.
"""

from __future__ import annotations

from typing import Any

from meshgen.importing.common import number
from meshgen.importing.operations import Context, OperationsReader, read_operations, reader_for
from meshgen.intent.model import CertificateAuthority, ControlPlane
from meshgen.platforms.istio.platform import IstioPlatform

GROUP = "telemetry.istio.io"
DEFAULT_NAMESPACE = IstioPlatform.control_plane_namespace
#: The intent's defaults, from the model that defines them.
DEFAULT_REPLICAS = ControlPlane.model_fields["replicas"].default
DEFAULT_CERT_LIFETIME = CertificateAuthority.model_fields["cert_lifetime"].default
DEFAULT_ROOT_LIFETIME = CertificateAuthority.model_fields["root_lifetime"].default


def read(ctx: Context) -> None:
    """Read the Istio values files and the mesh-wide Telemetry into ``ctx`` (module docstring)."""
    _control_plane(ctx)
    _identity(ctx)
    _telemetry(ctx)


def _control_plane(ctx: Context) -> None:
    cp: dict[str, Any] = {}
    if ctx.value("istiod", "autoscaleEnabled") is True and ctx.value("istiod", "autoscaleMin") is not None:
        cp["replicas"] = int(ctx.value("istiod", "autoscaleMin"))
        if ctx.value("istiod", "autoscaleMax") is not None:
            cp["maxReplicas"] = int(ctx.value("istiod", "autoscaleMax"))
    elif ctx.value("istiod", "replicaCount") is not None:
        cp["replicas"] = int(ctx.value("istiod", "replicaCount"))
    if cp.get("replicas") == DEFAULT_REPLICAS:
        del cp["replicas"]
    ns = ctx.value("istio-csr", "app", "istio", "namespace")
    if ns is None and ctx.chain is not None and ctx.chain.intermediate is not None:
        ns = ctx.chain.intermediate.namespace
    if ns and ns != DEFAULT_NAMESPACE:
        cp["namespace"] = str(ns)
    ctx.control_plane.update(cp)


def _identity(ctx: Context) -> None:
    cert = ctx.duration("istiod", ("meshConfig", "defaultConfig", "proxyMetadata", "SECRET_TTL"))
    if cert is not None and cert != DEFAULT_CERT_LIFETIME:
        ctx.ca["certLifetime"] = str(cert)
    if ctx.chain is None:
        root = ctx.duration("istiod", ("env", "CITADEL_SELF_SIGNED_CA_CERT_TTL"))
        if root is not None and root != DEFAULT_ROOT_LIFETIME:
            ctx.ca["rootLifetime"] = str(root)
    domain = ctx.value("istiod", "meshConfig", "trustDomain")
    if domain is not None and str(domain) != ctx.run.mesh.get("trustDomain", "cluster.local"):
        if "trustDomain" in ctx.run.mesh:
            ctx.lost(ctx.values["istiod"], ("meshConfig", "trustDomain"),
                     f"trust domain {domain} here, {ctx.run.mesh['trustDomain']} in the authorization policies; the intent has one")
        else:
            ctx.run.mesh["trustDomain"] = str(domain)


def _mesh_wide(ctx: Context) -> Any:
    ns = ctx.control_plane.get("namespace", DEFAULT_NAMESPACE)
    found = [o for o in ctx.run.by_kind.get("Telemetry", []) if o.group == GROUP and o.namespace == ns
             and not {"selector", "targetRef", "targetRefs"} & set(o.spec)]
    found.sort(key=lambda o: (o.name != "mesh-default", o.file, o.line))
    return found[0] if found else None


def _telemetry(ctx: Context) -> None:
    obj = _mesh_wide(ctx)
    if obj is None:
        return
    spec = obj.spec
    tracing = spec.get("tracing") or []
    if tracing and isinstance(tracing[0], dict):
        entry = tracing[0]
        providers = entry.get("providers") or []
        item: dict[str, Any] = {}
        if providers and isinstance(providers[0], dict) and providers[0].get("name"):
            provider = str(providers[0]["name"])
            if provider != "otel":
                item["provider"] = provider
            endpoint = _otel_endpoint(ctx, provider)
            if endpoint is not None:
                item["endpoint"] = endpoint
        if entry.get("randomSamplingPercentage") is not None:
            sampling = number(entry["randomSamplingPercentage"])
            if sampling != 1:
                item["samplingPercent"] = sampling
        ctx.telemetry["tracing"] = item
    logging = spec.get("accessLogging") or []
    if logging and isinstance(logging[0], dict):
        entry = logging[0]
        if entry.get("disabled") is True:
            ctx.telemetry["accessLogs"] = {"enabled": False}
            return
        names = [str((p or {}).get("name")) for p in entry.get("providers") or []]
        unknown = [i for i, name in enumerate(names) if name != "envoy"]
        for i in unknown:
            ctx.lost(obj, ("spec", "accessLogging", 0, "providers", i, "name"),
                     f"access-log provider {names[i]}: the intent's access logs are Envoy's own (the built-in envoy "
                     "provider, meshConfig.accessLogFile); this provider is unknown to it and dropped")
        if unknown:
            ctx.reported.add((id(obj), ("spec", "accessLogging")))
            return
        encoding = str(ctx.value("istiod", "meshConfig", "accessLogEncoding") or "TEXT")  # Istio's default: TEXT
        ctx.telemetry["accessLogs"] = {"enabled": True, "format": "json" if encoding == "JSON" else "text"}


def _otel_endpoint(ctx: Context, provider: str) -> str | None:
    """``service:port`` of the ``opentelemetry`` extension provider named ``provider`` in istiod's meshConfig."""
    for item in ctx.value("istiod", "meshConfig", "extensionProviders") or []:
        if isinstance(item, dict) and item.get("name") == provider:
            otel = item.get("opentelemetry")
            if isinstance(otel, dict) and otel.get("service") and otel.get("port") is not None:
                return f"{otel['service']}:{otel['port']}"
    return None


#: Ambient's charts (istio_ambient.control_plane): manifests with them are ambient's, read by its importer.
READER = OperationsReader("istio", read, frozenset({"ztunnel", "istio-cni"}))


def read_back(run: Any) -> None:
    """The Istio importers' one call: ``mesh.ca``, ``mesh.controlPlane`` and ``telemetry`` into
    ``run`` (:func:`meshgen.importing.operations.read_operations` with the reader of
    ``run.platform``: :data:`READER`, or ambient's, :mod:`meshgen.platforms.istio_ambient.operations_import`)."""
    read_operations(run, reader_for(run.platform))
