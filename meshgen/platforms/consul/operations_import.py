"""Consul's operations read back: the inverse of :mod:`.operations` (Helm values, metrics, alerts)
and of the telemetry part of :func:`meshgen.platforms.consul.mesh.proxy_defaults` (the shared
steps and the comparison: :mod:`meshgen.importing.operations`).

- ``values/consul.yaml`` (hashicorp/consul chart; keys in tests/fixtures/consul-keys.txt):
  ``server.replicas`` -> ``controlPlane.replicas`` (Consul runs an odd number of servers, the
  intent's next odd one: 3 servers are the intent's default of 2 as well as 3, so 3 stays unset and
  renders the same; the chart has no autoscaling, so ``maxReplicas`` is not in the manifests);
  ``server.extraConfig`` ``connect.ca_config`` (JSON; ``leaf_cert_ttl``, ``intermediate_cert_ttl``,
  ``root_cert_ttl``,
  https://developer.hashicorp.com/consul/docs/reference/agent/configuration-file/service-mesh#ca_config)
  -> ``ca.certLifetime``/``issuerLifetime``/``rootLifetime`` (Consul's built-in CA: ``ca.type``
  mesh; a cert-manager CA was reported by the render, which writes the built-in one);
  ``global.metrics.enabled: false`` -> ``telemetry.metrics: false``;
  ``connectInject.sidecarProxy.resources`` -> ``mesh.proxy.resources``.
  ``terminatingGateways`` is the egress the importer reads from the TerminatingGateway.
- The ``PodMonitor`` per namespace and the ``PrometheusRule``: shared
  (:mod:`meshgen.importing.prometheus`); the control-plane namespace is the ProxyDefaults
  ``global``'s (meshgen writes it there, :func:`meshgen.platforms.consul.common.control_plane_namespace`).
- ``ProxyDefaults`` ``global`` (../shared/crds/consul ``proxydefaults.consul.hashicorp.com``
  ``spec.config``, ``spec.accessLogs``;
  https://developer.hashicorp.com/consul/docs/reference/config-entry/proxy-defaults):
  ``accessLogs.enabled: false`` -> ``accessLogs`` disabled; enabled without ``textFormat`` (Consul's
  default JSON format) -> json; ``textFormat`` Envoy's default format string -> text. The
  ``config`` keys ``envoy_tracing_json`` (Envoy's OpenTelemetry tracer) with
  ``envoy_extra_static_clusters_json`` (its collector cluster, ``load_assignment`` socket address,
  https://developer.hashicorp.com/consul/docs/reference/proxy/envoy#advanced-configuration) ->
  ``tracing.endpoint`` ``host:port``. Consul has no sampling rate and no provider name: they stay
  the intent's defaults. The object is then compared with what the imported intent writes (any
  other format, cluster or key is LOST at its path).
"""

from __future__ import annotations

import json
from typing import Any

from meshgen.importing.operations import Context, OperationsReader, read_operations
from meshgen.importing.workloads import managed
from meshgen.intent.model import CertificateAuthority
from meshgen.intent.types import Duration
from meshgen.platforms.consul.common import CONTROL_PLANE_NAMESPACE
from meshgen.platforms.consul.mesh import ENVOY_TEXT_FORMAT, OTEL_CLUSTER, proxy_defaults

CHART = "consul"
#: Servers for the intent's default controlPlane.replicas (2 -> the next odd number, operations.server_count).
DEFAULT_SERVERS = 3
#: ca_config key -> the intent's field and its default (meshgen.intent.model.CertificateAuthority).
CA_CONFIG = {
    key: (alias, CertificateAuthority.model_fields[field].default)
    for key, alias, field in (
        ("leaf_cert_ttl", "certLifetime", "cert_lifetime"),
        ("intermediate_cert_ttl", "issuerLifetime", "issuer_lifetime"),
        ("root_cert_ttl", "rootLifetime", "root_lifetime"),
    )
}


def read(ctx: Context) -> None:
    """Read the consul values and the ProxyDefaults ``global`` into ``ctx`` (module docstring)."""
    global_defaults = _proxy_defaults(ctx)
    ns = global_defaults.namespace if global_defaults is not None else None
    if ns and ns != CONTROL_PLANE_NAMESPACE:
        ctx.control_plane["namespace"] = ns
    if CHART in ctx.values:
        _values(ctx)
    if global_defaults is not None:
        _telemetry(ctx, global_defaults)


def _values(ctx: Context) -> None:
    doc = ctx.values[CHART]
    servers = ctx.value(CHART, "server", "replicas")
    if isinstance(servers, int) and not isinstance(servers, bool) and servers != DEFAULT_SERVERS:
        ctx.control_plane["replicas"] = servers
    extra = ctx.value(CHART, "server", "extraConfig")
    if extra is not None:
        try:
            ca_config = json.loads(str(extra))["connect"]["ca_config"]
        except (ValueError, KeyError, TypeError):
            ca_config = None
        if not isinstance(ca_config, dict):
            ctx.lost(doc, ("server", "extraConfig"),
                     "not the connect.ca_config JSON meshgen writes; the intent cannot say it, dropped")
        else:
            for key, (field, default) in CA_CONFIG.items():
                if key not in ca_config:
                    continue
                try:
                    value = Duration.parse(str(ca_config[key]))
                except ValueError:
                    ctx.lost(doc, ("server", "extraConfig"),
                             f"connect.ca_config.{key} {ca_config[key]} is not a duration the intent can hold")
                    continue
                if value != default:
                    ctx.ca[field] = str(value)
    if ctx.value(CHART, "global", "metrics", "enabled") is False:
        ctx.telemetry["metrics"] = False
    resources = ctx.value(CHART, "connectInject", "sidecarProxy", "resources")
    if isinstance(resources, dict):
        shape = {level: {k: str(v) for k, v in amounts.items() if k in ("cpu", "memory")}
                 for level, amounts in resources.items()
                 if level in ("requests", "limits") and isinstance(amounts, dict)}
        shape = {level: amounts for level, amounts in shape.items() if amounts}
        if shape:
            ctx.run.mesh["proxy"] = {"resources": shape}
    if ctx.run.by_kind.get("TerminatingGateway"):
        ctx.reported.add((id(doc), ("terminatingGateways",)))  # the importer's egress


def _proxy_defaults(ctx: Context) -> Any:
    """The first ProxyDefaults ``global`` meshgen wrote; the telemetry of any other is LOST (consul-k8s
    accepts one ``global``, ``control-plane/api/v1alpha1/proxydefaults_webhook.go``, and the intent has one)."""
    found = sorted((o for o in ctx.run.by_kind.get("ProxyDefaults", []) if managed(o)),
                   key=lambda o: (o.name != "global", o.file, o.line))
    for other in found[1:]:
        for key in ("accessLogs", "config"):
            if key in other.spec:
                ctx.lost(other, ("spec", key),
                         f"a second ProxyDefaults meshgen wrote ({found[0].ref} is read); the intent has one; dropped")
    return found[0] if found and found[0].name == "global" else None


def _telemetry(ctx: Context, obj: Any) -> None:
    spec = obj.spec
    logs = spec.get("accessLogs")
    if isinstance(logs, dict):
        if logs.get("enabled") is False:
            ctx.telemetry["accessLogs"] = {"enabled": False}
        elif logs.get("enabled") is True:
            text = logs.get("textFormat")
            if text is None:
                ctx.telemetry["accessLogs"] = {"enabled": True, "format": "json"}
            elif text == ENVOY_TEXT_FORMAT:
                ctx.telemetry["accessLogs"] = {"enabled": True, "format": "text"}
            else:
                ctx.lost(obj, ("spec", "accessLogs", "textFormat"),
                         "a text format other than Envoy's default: the intent's text access logs are Envoy's "
                         "default format; dropped, no access logs imported")
                ctx.reported.add((id(obj), ("spec", "accessLogs")))
    config = spec.get("config")
    if isinstance(config, dict) and "envoy_tracing_json" in config:
        endpoint = _collector(config.get("envoy_extra_static_clusters_json"))
        ctx.telemetry["tracing"] = {"endpoint": endpoint} if endpoint else {}


def _collector(text: Any) -> str | None:
    """``host:port`` of meshgen's OTLP collector cluster in ``envoy_extra_static_clusters_json``, or None."""
    try:
        cluster = json.loads(str(text))
        address = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    if not isinstance(cluster, dict) or cluster.get("name") != OTEL_CLUSTER:
        return None
    return f"{address.get('address')}:{address.get('port_value')}"


def _extra(intent: Any, report: Any) -> list:
    """The ProxyDefaults ``global`` the imported intent writes (with its meshgen labels)."""
    from meshgen.platforms import gateway_api as gapi

    return [proxy_defaults(intent, gapi.labels_for(intent), report)]


READER = OperationsReader("consul", read, extra=_extra, extra_kinds=("ProxyDefaults",))


def read_back(run: Any) -> None:
    """The Consul importer's one call: ``mesh.ca``, ``mesh.controlPlane`` and ``telemetry`` into
    ``run`` (:func:`meshgen.importing.operations.read_operations` with :data:`READER`)."""
    read_operations(run, READER)
