"""Flagger: a ``Canary`` per service with a rollout, its metric templates, and what Flagger owns.

For every service whose rollout runs on Flagger, :func:`plan_rollouts` writes a ``Canary``
(``flagger.app/v1beta1``) for the platform's provider (:class:`~meshgen.delivery.support.DeliverySupport`):

* ``targetRef``: the Deployment ``rollout.workload`` (default: the service name);
* ``service``: the first HTTP/gRPC port (``port``, ``targetPort``, ``portName``, ``appProtocol``;
  ``portDiscovery`` when the service has more ports), the routing settings meshgen would have
  written itself (Istio: the VirtualService's timeout, retries, CORS and header rules and the
  DestinationRule's traffic policy; Gateway API: the HTTPRoute's timeouts and annotations, with
  ``gatewayRefs`` naming the Service, as GAMMA attaches a mesh route to it), and the labels and
  annotations of the Service meshgen no longer writes (``apex``/``primary``/``canary`` metadata);
* ``metadata.annotations[meshgen.dev/service]``: the selector and ports of the Service meshgen
  leaves to Flagger (:func:`left_out_service`), which no other object holds, for ``meshgen import``;
* ``analysis``: ``interval``, ``threshold`` (failureLimit), ``stepWeights`` (canary) or
  ``iterations`` (blue-green), the success-rate and p99-latency checks (Flagger's built-in
  ``request-success-rate`` / ``request-duration`` where the provider has them, else
  ``MetricTemplate`` objects with the platform's queries over Flagger's ``{{ namespace }}``,
  ``{{ target }}`` and ``{{ interval }}`` variables), and the webhooks (a ``rollout`` load test
  with ``metadata.cmd``, a ``confirm-promotion`` manual gate).

Flagger then owns the objects it generates (fluxcd/flagger ``pkg/router``): the Service named
after the service and its ``-primary``/``-canary`` Services (``kubernetes_default.go``, every
provider), the VirtualService and the ``-primary``/``-canary`` DestinationRules (``istio.go``) or
the HTTPRoute named after the service (``gateway_api.go``). meshgen leaves its own versions of
those out, reports who owns what (info), and reports as a loss what the Canary cannot carry.
Policies that select the service's pods are rewritten to cover the primary pods too
(:mod:`meshgen.delivery.coverage`).

Sources: https://docs.flagger.app/usage/how-it-works, https://docs.flagger.app/usage/metrics
(built-in checks, MetricTemplate variables), https://docs.flagger.app/usage/webhooks (load test,
manual gating), the ``canaries.flagger.app`` / ``metrictemplates.flagger.app`` CRDs.
"""

from __future__ import annotations

import dataclasses
import json
import math
from string import Template
from typing import TYPE_CHECKING, Any, Sequence

from meshgen.capabilities import Feature, Finding, Report, Severity, Support
from meshgen.delivery.coverage import SELECTOR_LABELS, cover_primary, primary_labels
from meshgen.delivery.plan import ControllerPlan
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.base import PlannedObject

if TYPE_CHECKING:
    from meshgen.delivery.support import DeliverySupport
    from meshgen.intent.model import MeshIntent, Port, Service
    from meshgen.intent.rollout import Rollout
    from meshgen.platforms.base import Plan, Platform

API = "flagger.app/v1beta1"
#: Flagger's built-in checks (https://docs.flagger.app/usage/metrics#builtin-metrics).
BUILTIN_SUCCESS_RATE = "request-success-rate"
BUILTIN_DURATION = "request-duration"
#: Names of the MetricTemplates meshgen writes, one pair per namespace, shared by its Canaries.
TEMPLATE_SUCCESS_RATE = "meshgen-request-success-rate"
TEMPLATE_DURATION = "meshgen-request-duration"
#: Canary annotation holding the spec of the Service meshgen leaves to Flagger (:func:`left_out_service`).
SERVICE_ANNOTATION = "meshgen.dev/service"
#: Flagger's template variables (pkg/metrics/observers/render.go).
_FLAGGER_VARIABLES = {"namespace": "{{ namespace }}", "workload": "{{ target }}", "interval": "{{ interval }}"}
#: Keys of a VirtualService HTTP route the Canary's ``service`` block carries (same names in the CRD).
_VS_CARRIED = ("timeout", "retries", "corsPolicy", "headers")
#: Keys of a VirtualService HTTP route that only say where the route goes (Flagger rewrites them).
_VS_ROUTING = ("name", "route")


def plan_rollouts(platform: Platform, intent: MeshIntent, services: Sequence[Service], planned: Plan) -> ControllerPlan:
    """The Canaries (and MetricTemplates) for ``services`` on ``platform``, the objects Flagger
    owns, and the findings.

    Args:
        platform: the platform being rendered; only ``platform.delivery``, ``.name`` and
            ``.capabilities`` are read.
        intent: the whole intent (labels, ``spec.delivery.prometheus``).
        services: the services whose rollout runs on Flagger, in intent order.
        planned: the platform's plan so far (what Flagger takes over is read from it).

    Returns:
        :class:`~meshgen.delivery.plan.ControllerPlan`. Where the platform has no Flagger
        provider, or the service's selector has none of Flagger's selector labels, the rollout is
        reported lost (``rollout-flagger``, refused unless accepted) and nothing is written for it.
    """
    support = platform.delivery
    report = Report(platform.name, platform.capabilities)
    objects: list[PlannedObject] = []
    owned: set[tuple[str, str | None, str]] = set()
    templates: dict[tuple[str, str], PlannedObject] = {}
    notes: list[Finding] = []
    current = list(planned.objects)
    for svc in services:
        subject = f"{svc.namespace}/{svc.name}"
        if support.flagger_provider is None:
            report.lost(
                Feature.ROLLOUT_FLAGGER,
                subject,
                f"Flagger has no router for {platform.name} (fluxcd/flagger pkg/router/factory.go), so no Canary is "
                "written and the service keeps its static routing: roll out by hand or with another controller",
            )
            continue
        labels = primary_labels(svc.pod_selector)
        if labels is None:
            report.lost(
                Feature.ROLLOUT_FLAGGER,
                subject,
                f"the selector {dict(sorted(svc.pod_selector.items()))} has none of Flagger's selector labels "
                f"({', '.join(SELECTOR_LABELS)}): Flagger refuses the Deployment, so no Canary is written",
            )
            continue
        mine = _owned(support, svc, current)
        if support.flagger_routing == "HTTPRoute":
            objects.extend(_backend_rules(svc, current, mine))
        current = [o for o in current if (o.kind, o.namespace, o.name) not in mine]
        owned |= mine
        coverage = cover_primary(current, svc.namespace or "", svc.name, labels)
        current = [o for o in current if (o.kind, o.namespace, o.name) not in coverage.replaced] + list(coverage.added)
        owned |= coverage.replaced
        objects = [o for o in objects if (o.kind, o.namespace, o.name) not in coverage.replaced]
        objects.extend(coverage.added)
        for place in coverage.uncovered:
            report.lost(Feature.ROLLOUT_FLAGGER, subject, place)
        _report_gateway_routes(intent, svc, report, subject)
        canary = _canary(intent, svc, support, planned, report, subject)
        objects.append(canary)
        for template in _metric_templates(intent, svc, support):
            templates.setdefault((template.namespace or "", template.name), template)
        report.use(Feature.ROLLOUT_FLAGGER, subject)
        notes.append(
            Finding(
                subject,
                Feature.ROLLOUT_FLAGGER,
                Support.APPROXIMATED,  # the support word of every note (Report.no_effect); printed as info
                _ownership(support, svc, mine, labels.label, labels.value),
                Severity.INFO,
            )
        )
    objects.extend(templates[k] for k in sorted(templates))
    return ControllerPlan(tuple(objects), frozenset(owned), (*report.sorted(), *notes))


# --- ownership ---------------------------------------------------------------------------------


def _owned(support: DeliverySupport, svc: Service, objects: Sequence[PlannedObject]) -> set[tuple[str, str | None, str]]:
    """The planned objects Flagger generates or rewrites for ``svc``."""
    ns = svc.namespace
    out: set[tuple[str, str | None, str]] = {("Service", ns, svc.name)}
    if support.flagger_routing == "VirtualService":
        out |= {("VirtualService", ns, svc.name), ("DestinationRule", ns, svc.name)}
    elif support.flagger_routing == "HTTPRoute":
        out.add(("DestinationRule", ns, svc.name))  # moved to the -primary and -canary hosts
        port = _port(svc)
        for obj in objects:
            if obj.kind == "HTTPRoute" and obj.namespace == ns and _attached(obj, svc.name, port.port):
                out.add((obj.kind, obj.namespace, obj.name))
    return {k for k in out if any((o.kind, o.namespace, o.name) == k for o in objects)}


def _backend_rules(svc: Service, objects: Sequence[PlannedObject], mine: set) -> list[PlannedObject]:
    """meshgen's DestinationRule of the service, once per Flagger backend (``<name>-primary``,
    ``<name>-canary``): Flagger's HTTPRoute sends the traffic to those Services, so a rule on the
    service's own host would no longer apply (Istio ambient: the waypoint applies the rule of the
    backend's host, https://istio.io/latest/docs/ambient/usage/l7-features/)."""
    out = []
    for obj in objects:
        if obj.kind == "DestinationRule" and (obj.kind, obj.namespace, obj.name) in mine:
            host = str(obj.values.get("host", ""))
            for suffix in ("primary", "canary"):
                name = f"{svc.name}-{suffix}"
                out.append(
                    dataclasses.replace(
                        obj, name=name, values={**obj.values, "host": name + host[len(svc.name):] if host.startswith(svc.name + ".") else name}
                    )
                )
    return out


def _attached(route: PlannedObject, service: str, port: int) -> bool:
    """Whether a GAMMA route's parentRefs include the Service on ``port`` (or on every port)."""
    for parent in route.values.get("parents", ()):
        if parent.get("kind") == "Service" and parent.get("name") == service and parent.get("port") in (None, port):
            return True
    return False


def _ownership(support: DeliverySupport, svc: Service, mine: set, label: str, value: str) -> str:
    ns, name = svc.namespace, svc.name
    generated = [f"Services {name}, {name}-primary and {name}-canary", f"Deployment {_workload(svc)}-primary"]
    if support.flagger_routing == "VirtualService":
        generated += [f"VirtualService {name}", f"DestinationRules {name}-primary and {name}-canary"]
    elif support.flagger_routing == "HTTPRoute":
        generated.append(f"HTTPRoute {name}")
    left_out = ", ".join(f"{kind} {n}" for kind, _, n in sorted(mine)) or "nothing"
    return (
        f"Flagger (Canary {ns}/{name}, provider {support.flagger_provider}) owns {'; '.join(generated)} and "
        f"shifts traffic between them; meshgen leaves out {left_out}. Primary pods are labelled "
        f"{label}={value}-primary: the service's policies select both"
    )


def _report_gateway_routes(intent: MeshIntent, svc: Service, report: Report, subject: str) -> None:
    """A gateway route to a rolled-out service reaches the Service Flagger points at the primary."""
    for gw in intent.spec.gateways:
        for route in gw.routes:
            if route.service == svc.name and route.namespace in (None, svc.namespace):
                report.approximated(
                    Feature.ROLLOUT_FLAGGER,
                    subject,
                    f"gateway {gw.namespace}/{gw.name} routes to the Service {svc.name}, which Flagger points at the "
                    "primary pods: requests through the gateway are neither shifted to the canary nor analysed "
                    "(Flagger splits north-south traffic only on a route it writes itself)",
                )


# --- the Canary --------------------------------------------------------------------------------


def _canary(
    intent: MeshIntent, svc: Service, support: DeliverySupport, planned: Plan, report: Report, subject: str
) -> PlannedObject:
    rollout = svc.rollout
    assert rollout is not None
    spec: dict[str, Any] = {
        "provider": support.flagger_provider,
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": _workload(svc)},
        "service": _service(svc, support, planned, report, subject),
        "analysis": _analysis(intent, svc, rollout, support, report, subject),
    }
    return PlannedObject(
        "flagger/canary.yaml.j2",
        API,
        "Canary",
        svc.name,
        svc.namespace,
        {"labels": gapi.labels_for(intent), "annotations": {SERVICE_ANNOTATION: left_out_service(intent, svc, planned)}, "spec": spec},
    )


def left_out_service(intent: MeshIntent, svc: Service, planned: Plan) -> str:
    """The ``spec`` (``selector``, ``ports``) of the Service meshgen leaves to Flagger, as compact
    JSON with sorted keys (deterministic): written on the Canary as :data:`SERVICE_ANNOTATION`.

    The Canary names one port (``service.port``; the others Flagger discovers from the
    Deployment's containers, ``portDiscovery``) and no selector (Flagger reads the Deployment's),
    and meshgen writes no Deployment; without this the selector, the other ports' names and
    protocols and the port order would be in no object, and ``meshgen import`` could not give the
    intent back (:mod:`meshgen.importing.delivery`). Flagger does not copy the Canary's own
    annotations to anything it generates (only ``service.apex/primary/canary`` metadata,
    https://docs.flagger.app/usage/how-it-works#canary-service), so this changes no behaviour.
    """
    service = next((o for o in planned.objects if (o.kind, o.namespace, o.name) == ("Service", svc.namespace, svc.name)), None)
    values = (service or gapi.service_object(intent, svc)).values
    return json.dumps({"selector": values["selector"], "ports": values["ports"]}, sort_keys=True, separators=(",", ":"))


def _workload(svc: Service) -> str:
    assert svc.rollout is not None
    return svc.rollout.workload or svc.name


def _port(svc: Service) -> Port:
    """The port Flagger routes and analyses: the service's first HTTP, HTTP/2 or gRPC port."""
    return next(p for p in svc.ports if p.is_l7)


def _service(svc: Service, support: DeliverySupport, planned: Plan, report: Report, subject: str) -> dict[str, Any]:
    port = _port(svc)
    out: dict[str, Any] = {"name": svc.name, "port": port.port, "targetPort": port.pod_port, "portName": port.name}
    by_id = {(o.kind, o.namespace, o.name): o for o in planned.objects}
    service = by_id.get(("Service", svc.namespace, svc.name))
    if service is not None:
        app_protocol = next((p.get("appProtocol") for p in service.values.get("ports", ()) if p.get("port") == port.port), None)
        if app_protocol:
            out["appProtocol"] = app_protocol
    if len(svc.ports) > 1:
        out["portDiscovery"] = True
        others = ", ".join(f"{p.name} ({p.port})" for p in svc.ports if p is not port)
        report.approximated(
            Feature.ROLLOUT_FLAGGER,
            subject,
            f"Flagger routes and analyses one port, {port.name} ({port.port}); ports {others} are added to the "
            "primary and canary Services from the Deployment's container ports (portDiscovery), named as the "
            "containers name them, without appProtocol",
            Severity.INFO,
        )
    metadata = _metadata(service)
    if support.flagger_routing == "VirtualService":
        _carry_virtual_service(out, by_id.get(("VirtualService", svc.namespace, svc.name)), report, subject)
        rule = by_id.get(("DestinationRule", svc.namespace, svc.name))
        if rule is not None and rule.values.get("traffic_policy"):
            out["trafficPolicy"] = _canary_traffic_policy(rule.values["traffic_policy"], report, subject)
    elif support.flagger_routing == "HTTPRoute":
        out["gatewayRefs"] = [{"name": svc.name, "namespace": svc.namespace, "group": "", "kind": "Service", "port": port.port}]
        routes = [o for o in planned.objects if o.kind == "HTTPRoute" and o.namespace == svc.namespace and _attached(o, svc.name, port.port)]
        for route in routes:
            _carry_http_route(out, route, report, subject)
            annotations = dict(route.values.get("annotations") or {})
            if annotations:
                metadata["annotations"] = {**metadata.get("annotations", {}), **annotations}
    if metadata:
        for which in ("apex", "primary", "canary"):
            out[which] = metadata
    return out


#: ``Canary.spec.service.trafficPolicy`` keys the ``canaries.flagger.app`` schema declares (the API
#: server prunes the rest): top level, and under ``connectionPool`` (``http`` only, no ``tcp``).
_TRAFFIC_POLICY_KEYS = frozenset({"connectionPool", "loadBalancer", "outlierDetection", "tls"})
_CONNECTION_POOL_KEYS = frozenset({"http"})
#: The feature a pruned DestinationRule setting belongs to.
_PRUNED_FEATURE = {"retryBudget": Feature.RETRY_BUDGET, "connectionPool": Feature.CONNECTION_POOL}


def _canary_traffic_policy(policy: dict[str, Any], report: Report, subject: str) -> dict[str, Any]:
    """The DestinationRule's traffic policy as the Canary CRD takes it; what its schema does not
    declare (``connectionPool.tcp``, ``retryBudget``) is reported lost, as Flagger writes the
    DestinationRules from the Canary alone."""
    out: dict[str, Any] = {}
    for key, value in policy.items():
        if key not in _TRAFFIC_POLICY_KEYS:
            _pruned(report, subject, key, value)
        elif key == "connectionPool":
            kept = {k: v for k, v in value.items() if k in _CONNECTION_POOL_KEYS}
            for k, v in value.items():
                if k not in _CONNECTION_POOL_KEYS:
                    _pruned(report, subject, f"connectionPool.{k}", v, Feature.CONNECTION_POOL)
            if kept:
                out[key] = kept
        else:
            out[key] = value
    return out


def _pruned(report: Report, subject: str, what: str, value: Any, feature: Feature | None = None) -> None:
    settings = ", ".join(f"{k} {v}" for k, v in sorted(value.items())) if isinstance(value, dict) else str(value)
    report.lost(
        feature or _PRUNED_FEATURE.get(what, Feature.ROLLOUT_FLAGGER),
        subject,
        f"DestinationRule trafficPolicy.{what} ({settings}) cannot be carried into the Canary: its "
        "service.trafficPolicy does not declare it (canaries.flagger.app schema), and Flagger writes the "
        "DestinationRules from the Canary alone",
    )


def _metadata(service: PlannedObject | None) -> dict[str, Any]:
    """The labels and annotations meshgen's Service had, for Flagger's generated Services."""
    if service is None:
        return {}
    out = {}
    for key in ("labels", "annotations"):
        if service.values.get(key):
            out[key] = dict(sorted(service.values[key].items()))
    return out


def _carry_virtual_service(out: dict[str, Any], vs: PlannedObject | None, report: Report, subject: str) -> None:
    """Timeout, retries, CORS and header rules of meshgen's default route into ``service``."""
    if vs is None:
        return
    routes = list(vs.values.get("http") or [])
    default = next((r for r in routes if not r.get("match")), None)
    for route in routes:
        if route is default:
            for key in _VS_CARRIED:
                if route.get(key):
                    out[key] = route[key]
            dropped = sorted(k for k in route if k not in _VS_CARRIED and k not in _VS_ROUTING)
        else:
            dropped = [f"route {route.get('name', '?')}"]
        for what in dropped:
            report.lost(
                Feature.ROLLOUT_FLAGGER,
                subject,
                f"{what} of the VirtualService cannot be carried: Flagger writes the VirtualService with one route "
                "whose only settings are the Canary's service timeout, retries, corsPolicy, headers and match",
            )
    if vs.values.get("tcp"):
        report.lost(
            Feature.ROLLOUT_FLAGGER,
            subject,
            "the VirtualService's TCP routes cannot be carried: Flagger's VirtualService routes the Canary's one HTTP port",
        )


def _carry_http_route(out: dict[str, Any], route: PlannedObject, report: Report, subject: str) -> None:
    """Timeouts of meshgen's GAMMA HTTPRoute into ``service`` (Flagger's route has ``timeouts`` only)."""
    rules = list(route.values.get("rules") or [])
    default = next((r for r in rules if not r.get("matches")), None)
    for i, rule in enumerate(rules):
        timeouts = rule.get("timeouts") or {}
        if rule is default:
            if timeouts.get("request"):
                out["timeout"] = timeouts["request"]
            if timeouts.get("backendRequest"):
                out["backendTimeout"] = timeouts["backendRequest"]
            dropped = sorted(k for k in rule if k not in ("backendRefs", "timeouts"))
        else:
            dropped = [f"rule {i + 1}"]
        for what in dropped:
            report.lost(
                Feature.ROLLOUT_FLAGGER,
                subject,
                f"{what} of HTTPRoute {route.name} cannot be carried: Flagger writes the HTTPRoute with one rule whose "
                "only settings are the Canary's service timeout, backendTimeout, headers and match",
            )


# --- the analysis ------------------------------------------------------------------------------


def flagger_duration(ms: int) -> tuple[str, bool]:
    """``ms`` as Flagger's analysis durations are written (CRD pattern ``^[0-9]+(m|s)``): whole
    minutes as ``Nm``, else whole seconds as ``Ns`` (rounded up); the flag says whether it is exact."""
    if ms % 60_000 == 0:
        return f"{ms // 60_000}m", True
    seconds = math.ceil(ms / 1000)
    return f"{seconds}s", seconds * 1000 == ms


def _analysis(
    intent: MeshIntent, svc: Service, rollout: Rollout, support: DeliverySupport, report: Report, subject: str
) -> dict[str, Any]:
    interval, exact = flagger_duration(rollout.interval.ms)
    if not exact:
        report.approximated(Feature.ROLLOUT_FLAGGER, subject, f"interval {rollout.interval} is written as {interval}: Flagger takes whole seconds")
    out: dict[str, Any] = {"interval": interval, "threshold": rollout.analysis.failure_limit}
    if rollout.strategy == "canary" and support.flagger_shifts_traffic:
        out["stepWeights"] = [s.weight for s in rollout.steps]
        held = [f"{s.weight}% for {s.pause}" for s in rollout.steps if s.pause is not None and s.pause.ms != rollout.interval.ms]
        if held:
            report.approximated(
                Feature.ROLLOUT_FLAGGER,
                subject,
                f"Flagger holds every step for one analysis interval ({rollout.interval}): the pauses "
                f"{', '.join(held)} are not kept",
            )
    else:
        out["iterations"] = rollout.analysis.iterations
        if rollout.strategy == "canary":
            weights = ", ".join(f"{s.weight}%" for s in rollout.steps)
            report.lost(
                Feature.ROLLOUT_FLAGGER,
                subject,
                f"provider {support.flagger_provider} shifts no traffic by weight, so Flagger runs a blue-green "
                f"rollout ({rollout.analysis.iterations} iterations, then all traffic at once): canary steps {weights} are lost",
            )
    metrics = _metrics(svc, rollout, support, interval, report, subject)
    if metrics:
        out["metrics"] = metrics
    webhooks = _webhooks(rollout)
    if webhooks:
        out["webhooks"] = webhooks
    return out


def _metrics(
    svc: Service, rollout: Rollout, support: DeliverySupport, interval: str, report: Report, subject: str
) -> list[dict[str, Any]]:
    if support.metrics is None:
        report.lost(
            Feature.ROLLOUT_FLAGGER,
            subject,
            f"nothing observes requests on this platform, so the analysis checks (success rate >= "
            f"{rollout.analysis.success_rate:g}%, p99 latency) are lost: Flagger promotes on pod readiness alone",
        )
        return []
    analysis = rollout.analysis
    rate = analysis.success_rate
    success = {"thresholdRange": {"min": int(rate) if float(rate).is_integer() else rate}, "interval": interval}
    duration = (
        {"thresholdRange": {"max": analysis.latency_p99.ms}, "interval": interval} if analysis.latency_p99 is not None else None
    )
    if support.flagger_builtin_metrics:
        out = [{"name": BUILTIN_SUCCESS_RATE, **success}]
        if duration:
            out.append({"name": BUILTIN_DURATION, **duration})
        return out
    ref = {"namespace": svc.namespace}
    out = [{"name": BUILTIN_SUCCESS_RATE, "templateRef": {"name": TEMPLATE_SUCCESS_RATE, **ref}, **success}]
    if duration:
        out.append({"name": BUILTIN_DURATION, "templateRef": {"name": TEMPLATE_DURATION, **ref}, **duration})
    return out


def flagger_query(template: str) -> str:
    """A :class:`~meshgen.delivery.support.RequestMetrics` query with Flagger's template variables."""
    return Template(template).substitute(_FLAGGER_VARIABLES)


def _metric_templates(intent: MeshIntent, svc: Service, support: DeliverySupport) -> list[PlannedObject]:
    rollout = svc.rollout
    if support.metrics is None or support.flagger_builtin_metrics or rollout is None:
        return []
    queries = [(TEMPLATE_SUCCESS_RATE, support.metrics.success_rate)]
    if rollout.analysis.latency_p99 is not None:
        queries.append((TEMPLATE_DURATION, support.metrics.latency_p99))
    return [
        PlannedObject(
            "flagger/metric-template.yaml.j2",
            API,
            "MetricTemplate",
            name,
            svc.namespace,
            {
                "labels": gapi.labels_for(intent),
                "annotations": {"meshgen.dev/metrics-source": support.metrics.source},
                "address": intent.spec.delivery.prometheus,
                "query": flagger_query(query),
            },
        )
        for name, query in queries
    ]


def _webhooks(rollout: Rollout) -> list[dict[str, Any]]:
    hooks = rollout.webhooks
    out: list[dict[str, Any]] = []
    if hooks.load_test is not None:
        out.append(
            {
                "name": "load-test",
                "type": "rollout",
                "url": hooks.load_test.url,
                "timeout": "5s",
                "metadata": {"type": "cmd", "cmd": hooks.load_test.command},
            }
        )
    if hooks.manual_gate is not None and hooks.manual_gate.url is not None:
        out.append({"name": "manual-gate", "type": "confirm-promotion", "url": hooks.manual_gate.url})
    return out

