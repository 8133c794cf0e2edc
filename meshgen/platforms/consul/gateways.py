"""North-south: Gateway API on Consul's API gateway (GatewayClass ``consul``).

consul-k8s 2.0 runs its own Gateway API controller (chart ``connectInject.apiGateway``; class
``consul`` made by ``charts/consul/templates/gateway-resources-job.yaml``). What it implements,
read from its source at v2.0.3 and applied here:

* listeners: HTTP, HTTPS and TCP only, TLS passthrough refused
  (``control-plane/api-gateway/binding/validation.go``: ``supportedKindsForProtocol``,
  ``errListenerNoTLSPassthrough``): TLS listeners and their TLSRoutes are left out and reported;
* routes: HTTPRoute and TCPRoute (read as ``v1alpha2``; meshgen writes ``v1``, the only version
  Gateway API 1.6 serves, and says so);
* HTTPRoute filters (``control-plane/api-gateway/common/translation.go``,
  ``translateHTTPFilters``): request and response header modifiers and ``ReplacePrefixMatch``
  rewrites are applied; redirects, full-path and hostname rewrites are not, so a redirect rule is
  left out and other rewrites are reported; ``rules[].timeouts`` is not read: a request timeout
  becomes a ``RouteTimeoutFilter`` (``consul.hashicorp.com/v1alpha1``) referenced by an
  ``ExtensionRef`` filter.

The gateway registers in Consul under the Gateway's name, which the backends' intentions admit
(:mod:`meshgen.platforms.consul.intentions`). Sources:
https://developer.hashicorp.com/consul/docs/north-south/api-gateway/k8s, ../shared/crds/consul
``routetimeoutfilters``, platform-matrix.md section 18.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.base import PlannedObject, object_name
from meshgen.platforms.consul.common import API, GATEWAY_CLASS, PLATFORM

_UNSUPPORTED = (("TLSRoute", "Consul's API gateway refuses TLS passthrough listeners"),)


def plan_gateways(intent: MeshIntent, report: Report) -> list[PlannedObject]:
    """Gateways and routes for Consul's API gateway, with timeout filters."""
    planned = gapi.plan_gateways(intent, gapi.GatewayOptions(GATEWAY_CLASS, PLATFORM, _UNSUPPORTED), report)
    labels = gapi.labels_for(intent)
    out: list[PlannedObject] = []
    for obj in planned:
        subject = f"gateway {obj.namespace}/{obj.values.get('parents', [{}])[0].get('name', obj.name)}"
        if obj.kind == "Gateway":
            out.append(_gateway(obj, report))
        elif obj.kind == "HTTPRoute":
            route, filters = _http_route(obj, labels, report, subject)
            out.extend(filters)
            if route is not None:
                out.append(route)
        elif obj.kind == "TCPRoute":
            report.approximated(
                Feature.GATEWAY_L4,
                subject,
                f"TCPRoute {obj.name} is written as gateway.networking.k8s.io/v1 (the version Gateway API 1.6 serves); "
                "consul-k8s 2.0 reads v1alpha2, so with its own Gateway API CRDs change the apiVersion",
            )
            out.append(obj)
        else:
            out.append(obj)
    return out


def _gateway(obj: PlannedObject, report: Report) -> PlannedObject:
    kept = []
    for lst in obj.values["listeners"]:
        if lst["protocol"] == "TLS":
            mode = lst.get("tls", {}).get("mode")
            report.lost(
                Feature.GATEWAY_L4,
                f"gateway {obj.namespace}/{obj.name}",
                f"listener {lst['name']} (TLS {mode}) is left out: Consul's API gateway accepts HTTP, HTTPS and TCP listeners only",
            )
            continue
        kept.append(lst)
    return dataclasses.replace(obj, values={**obj.values, "listeners": kept})


def _http_route(obj: PlannedObject, labels: dict[str, str], report: Report, subject: str) -> tuple[PlannedObject | None, list[PlannedObject]]:
    rules: list[dict[str, Any]] = []
    filters: list[PlannedObject] = []
    for index, rule in enumerate(obj.values["rules"]):
        rule = dict(rule)
        kinds = [f["type"] for f in rule.get("filters", [])]
        if "RequestRedirect" in kinds:
            report.lost(
                Feature.GATEWAY_FILTERS,
                subject,
                f"HTTPRoute {obj.name} rule {index}: Consul's API gateway does not apply RequestRedirect, so the redirect rule is left out",
            )
            continue
        kept = []
        for f in rule.get("filters", []):
            if f["type"] == "URLRewrite":
                rewrite = dict(f["urlRewrite"])
                if "hostname" in rewrite:
                    report.lost(Feature.GATEWAY_FILTERS, subject, f"HTTPRoute {obj.name} rule {index}: Consul's API gateway does not rewrite the Host header")
                    rewrite.pop("hostname")
                if rewrite.get("path", {}).get("type") == "ReplaceFullPath":
                    report.lost(Feature.GATEWAY_FILTERS, subject, f"HTTPRoute {obj.name} rule {index}: Consul's API gateway rewrites path prefixes only, not whole paths")
                    rewrite.pop("path")
                if rewrite:
                    kept.append({"type": "URLRewrite", "urlRewrite": rewrite})
                continue
            kept.append(f)
        timeout = rule.pop("timeouts", {}).get("request")
        if timeout is not None:
            name = object_name(obj.name, "timeout", str(index))
            filters.append(
                PlannedObject(
                    "consul/route-timeout-filter.yaml.j2", API, "RouteTimeoutFilter", name, obj.namespace,
                    {"labels": labels, "request_timeout": timeout},
                )
            )
            kept.append({"type": "ExtensionRef", "extensionRef": {"group": "consul.hashicorp.com", "kind": "RouteTimeoutFilter", "name": name}})
        rule["filters"] = kept
        rules.append(gapi.compact(rule))
    if not rules:
        return None, filters
    return dataclasses.replace(obj, values={**obj.values, "rules": rules}), filters
