"""Mesh-wide Consul settings: namespaces, ProxyDefaults, Mesh, enrolment, egress destinations.

* **Namespaces** carry the label ``meshgen.dev/consul-inject: enabled``; meshgen's Helm values
  set ``connectInject.default: true`` with a ``namespaceSelector`` on that label, so every pod of
  those namespaces gets a sidecar (Consul has no namespace annotation: the webhook reads the pod
  annotation ``consul.hashicorp.com/connect-inject`` or the injector's default,
  consul-k8s ``control-plane/connect-inject/webhook/mesh_webhook.go`` ``shouldInject``).
  A pod opts out with ``consul.hashicorp.com/connect-inject: "false"``.
* **ProxyDefaults** ``global`` (the only name consul-k8s accepts,
  ``control-plane/api/v1alpha1/proxydefaults_webhook.go``): ``mutualTLSMode`` (strict, or
  permissive, which Consul accepts only with Mesh ``allowEnablingPermissiveMutualTLS``; intentions
  do not apply to plaintext callers), ``accessLogs`` and Envoy tracing through the ``config``
  escape hatches ``envoy_tracing_json`` / ``envoy_extra_static_clusters_json``
  (https://developer.hashicorp.com/consul/docs/reference/proxy/envoy#advanced-configuration).
* **Mesh** ``mesh`` (the only name consul-k8s accepts): TLS 1.2 minimum on incoming and outgoing
  mesh connections, ``transparentProxy.meshDestinationsOnly`` for ``egressDefaultDeny``.
* **Egress**: each host and port becomes a transparent-proxy destination (a ServiceDefaults with
  ``destination``) linked to the ``terminating-gateway`` the Helm values enable, plus an
  intention admitting every mesh service (the intent's egress list is not per caller). Consul
  matches a destination named by hostname by TLS SNI or HTTP Host
  (https://developer.hashicorp.com/consul/docs/connect/terminating-gateway, "destinations").

Enrolment facts meshgen cannot write (it emits no Deployments) become findings: with ACLs the
pod's ServiceAccount must carry the Consul service name; Consul CE registers one port per
service; UDP is not proxied. Field names: ../shared/crds/consul (proxydefaults, meshes,
servicedefaults, terminatinggateways).
"""

from __future__ import annotations

import json
from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent
from meshgen.platforms.base import PlannedObject, egress_object_names
from meshgen.platforms.consul.common import API, INJECT_LABEL, control_plane_namespace, mesh_port, subject

TERMINATING_GATEWAY = "terminating-gateway"
#: Envoy's default access-log format (https://www.envoyproxy.io/docs/envoy/latest/configuration/observability/access_log/usage#default-format-string).
ENVOY_TEXT_FORMAT = (
    '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% '
    '%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" '
    '"%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n'
)
OTEL_CLUSTER = "meshgen_otel_collector"


def namespaces(intent: MeshIntent, labels: dict[str, str]) -> list[PlannedObject]:
    """The intent's namespaces, labelled for the injector's namespaceSelector."""
    return [
        PlannedObject("core/namespace.yaml.j2", "v1", "Namespace", ns, None, {"labels": {**labels, INJECT_LABEL: "enabled"}})
        for ns in intent.namespaces()
    ]


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _tracing(intent: MeshIntent, report: Report) -> dict[str, str]:
    """ProxyDefaults ``config`` keys that send Envoy spans to the OTLP collector, or {}."""
    tracing = intent.spec.telemetry.tracing
    if tracing is None:
        return {}
    host, _, port = (tracing.endpoint or "").rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        report.approximated(
            Feature.TRACING, "mesh",
            "no usable telemetry.tracing.endpoint (host:port): set ProxyDefaults config envoy_tracing_json and "
            "envoy_extra_static_clusters_json yourself, or no span leaves the sidecars",
        )
        return {}
    report.use(
        Feature.TRACING, "mesh",
        f"Envoy's OpenTelemetry tracer through ProxyDefaults config (envoy_tracing_json) exporting to {tracing.endpoint}; "
        f"samplingPercent {tracing.sampling_percent:g} is not applied: Consul exposes no sampling rate, so Envoy traces "
        "requests whose trace context asks for it and samples the rest at its default of 100%",
    )
    tracer = {
        "http": {
            "name": "envoy.tracers.opentelemetry",
            "typedConfig": {
                "@type": "type.googleapis.com/envoy.config.trace.v3.OpenTelemetryConfig",
                "grpc_service": {"envoy_grpc": {"cluster_name": OTEL_CLUSTER}},
                "service_name": intent.metadata.name,
            },
        }
    }
    cluster = {
        "name": OTEL_CLUSTER,
        "type": "STRICT_DNS",
        "connect_timeout": "5s",
        "typed_extension_protocol_options": {
            "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
                "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                "explicit_http_config": {"http2_protocol_options": {}},
            }
        },
        "load_assignment": {
            "cluster_name": OTEL_CLUSTER,
            "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": host, "port_value": int(port)}}}}]}],
        },
    }
    return {"envoy_tracing_json": _json(tracer), "envoy_extra_static_clusters_json": _json(cluster)}


def proxy_defaults(intent: MeshIntent, labels: dict[str, str], report: Report) -> PlannedObject:
    """``ProxyDefaults`` ``global``: mTLS mode, access logs, tracing."""
    mesh = intent.spec.mesh
    spec: dict[str, Any] = {"mutualTLSMode": mesh.mtls}
    config = _tracing(intent, report)
    if config:
        spec["config"] = config
    logs = intent.spec.telemetry.access_logs
    if logs is not None:
        report.use(Feature.ACCESS_LOGS, "mesh")
        if not logs.enabled:
            spec["accessLogs"] = {"enabled": False}
        elif logs.format == "json":
            # No format given: Consul writes its default JSON format.
            spec["accessLogs"] = {"enabled": True, "type": "stdout"}
        else:
            spec["accessLogs"] = {"enabled": True, "type": "stdout", "textFormat": ENVOY_TEXT_FORMAT}
    return PlannedObject("consul/proxy-defaults.yaml.j2", API, "ProxyDefaults", "global", control_plane_namespace(intent), {"labels": labels, "spec": spec})


def mesh_config(intent: MeshIntent, labels: dict[str, str]) -> PlannedObject:
    """``Mesh`` ``mesh``: TLS versions, permissive opt-in, egress lock-down."""
    mesh = intent.spec.mesh
    spec: dict[str, Any] = {}
    if mesh.mtls == "permissive":
        spec["allowEnablingPermissiveMutualTLS"] = True
    if mesh.egress_default_deny:
        spec["transparentProxy"] = {"meshDestinationsOnly": True}
    spec["tls"] = {"incoming": {"tlsMinVersion": "TLSv1_2"}, "outgoing": {"tlsMinVersion": "TLSv1_2"}}
    return PlannedObject("consul/mesh.yaml.j2", API, "Mesh", "mesh", control_plane_namespace(intent), {"labels": labels, "spec": spec})


def enrolment_findings(intent: MeshIntent, report: Report) -> None:
    """What the pods (which meshgen does not write) must look like, and ports Consul CE cannot mesh."""
    feature = Feature.MTLS_STRICT if intent.spec.mesh.mtls == "strict" else Feature.MTLS_PERMISSIVE
    for svc in intent.spec.services:
        sub = subject(svc)
        accounts = sorted({svc.identity} | {v.service_account for v in svc.versions if v.service_account})
        wrong = [sa for sa in accounts if sa != svc.name]
        if wrong:
            report.approximated(
                Feature.AUTHZ_IDENTITY,
                sub,
                f"with ACLs, Consul lets a pod register as {svc.name!r} only when its ServiceAccount is named {svc.name!r}; "
                f"pods running as {', '.join(wrong)} fail to join the mesh: rename the service account to {svc.name}",
            )
        first = mesh_port(svc)
        if first.protocol == "udp":
            report.lost(feature, sub, f"port {first.name} is UDP: Consul's sidecar proxies TCP only, so {svc.name} is outside the mesh")
        for port in svc.ports[1:]:
            report.lost(
                feature,
                sub,
                f"port {port.name} ({port.port}) is outside the mesh: Consul CE registers one port per service (the first, "
                f"{first.name}); exclude it from transparent proxy (consul.hashicorp.com/transparent-proxy-exclude-inbound-ports: "
                f'"{port.pod_port}") to reach it at all, without mTLS or intentions, or use Consul Enterprise multi-port services',
            )


def plan_egress(intent: MeshIntent, labels: dict[str, str], report: Report) -> list[PlannedObject]:
    """Transparent-proxy destinations for ``spec.egress``, the terminating gateway and their intentions."""
    spec = intent.spec
    if not spec.egress:
        return []
    cp_ns = control_plane_namespace(intent)
    out: list[PlannedObject] = []
    linked: list[dict[str, str]] = []
    egress_names = egress_object_names(spec.egress, per_port=True)
    for host in spec.egress:
        who = f"egress {host.host}"
        if host.host.startswith("*"):
            report.lost(Feature.EGRESS_ALLOW_LIST, who, "a transparent-proxy destination names exact hostnames or IPs: the wildcard host is not allowed")
            continue
        if host.protocol == "tcp":
            report.lost(
                Feature.EGRESS_ALLOW_LIST, who,
                "Consul tells destinations named by hostname apart by TLS SNI or HTTP Host only: plain TCP to a hostname is not allowed",
            )
            continue
        report.use(Feature.EGRESS_ALLOW_LIST, who)
        proto = {"http": "http", "grpc": "grpc", "tls": "tcp"}[host.protocol]
        for port in host.ports:
            name = egress_names[(host.host, port)]
            out.append(
                PlannedObject(
                    "consul/service-defaults.yaml.j2", API, "ServiceDefaults", name, cp_ns,
                    {"labels": labels, "spec": {"protocol": proto, "destination": {"addresses": [host.host], "port": port}}},
                )
            )
            out.append(
                PlannedObject(
                    "consul/service-intentions.yaml.j2", API, "ServiceIntentions", name, cp_ns,
                    {
                        "labels": labels,
                        "destination": name,
                        "sources": [{"name": "*", "action": "allow", "description": f"spec.egress: {host.host}:{port}"}],
                        "jwt": None,
                    },
                )
            )
            linked.append({"name": name})
    if linked:
        out.append(
            PlannedObject(
                "consul/terminating-gateway.yaml.j2", API, "TerminatingGateway", TERMINATING_GATEWAY, cp_ns,
                {"labels": labels, "services": sorted(linked, key=lambda s: s["name"])},
            )
        )
    return out
