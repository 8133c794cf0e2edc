"""Linkerd 2.18 / 2.19 (stable), as a Linkerd expert writes it.

Per namespace: the Namespace annotated ``linkerd.io/inject: enabled`` and
``config.linkerd.io/default-inbound-policy``. Per service: its Service, one Service per version
and GAMMA ``HTTPRoute``/``GRPCRoute`` objects (``gateway.networking.k8s.io/v1``, Gateway API
v1.2.1 fields only) for canary weights and header routes; a ``Server`` per port with
``AuthorizationPolicy``, ``MeshTLSAuthentication`` and routes on the Server for allow-lists
(:mod:`meshgen.platforms.linkerd.authorization`). Gateways need ``gateways[].className`` (Linkerd has no
ingress controller); egress hosts become an ``EgressNetwork`` with one route per host and port.

Decisions (each checked against the Linkerd 2.19 docs and the policy controller's source):

* **Inbound policy.** Linkerd encrypts meshed traffic always; the namespace default decides who
  reaches ports no ``Server`` covers. ``mesh.defaultDeny`` (strict or permissive) maps to
  ``deny``: only the ``Server``s meshgen writes, with their authorizations, open anything.
  Strict without defaultDeny maps to ``all-authenticated`` (meshed callers only), permissive to
  ``all-unauthenticated``. Permissive *with* defaultDeny cannot be kept: every port's ``Server``
  refuses what its authorizations do not admit, and those name mesh identities
  (``MeshTLSAuthentication``), so callers without one are refused exactly as under strict, which
  defeats a permissive migration. Admitting them would take a ``NetworkAuthentication`` of every
  network on each ``Server`` (https://linkerd.io/2.19/reference/authorization-policy/), which
  admits every unmeshed caller, not only the allowed ones; meshgen does not widen access that way,
  so the mode is reported lost (exit 3 unless accepted) and rendered as strict would be. Every service port gets a ``Server`` that pins its protocol
  (``proxyProtocol``); its ``accessPolicy`` is ``deny`` when the service has an allow-list or
  defaultDeny is on (Istio's ALLOW semantics: once a workload has allow rules, everything else is
  refused), otherwise the namespace default.
* **Timeouts and retries live on the GAMMA route objects, never on the Service.** The policy
  controller reads ``timeout.linkerd.io/*`` and ``retry.linkerd.io/*`` from route annotations
  first, falling back to the Service's only for rules whose route has none, and a route's retry
  annotations replace the Service's wholesale; a rule cannot say "no retries" over a Service
  default (``retry.linkerd.io/limit: "0"`` is read as unset). So each L7 port's route object
  carries the service's effective policy, and an intent route with its own timeout or retries
  becomes its own route object with its full policy. ``rules[].timeouts`` is not written: the
  controller applies it only to ``policy.linkerd.io`` HTTPRoutes, and ``backendRequest`` never.
  Durations are written as one integer and unit (``90s``, not ``1m30s``), the only form Linkerd
  parses. No ServiceProfile is ever written: it would switch all of this off.
* **Retry conditions.** HTTP ports: ``retry.linkerd.io/http`` (``5xx``, ``gateway-error``, codes;
  ``retriable-4xx`` is Envoy's 409). gRPC ports: ``retry.linkerd.io/grpc`` (status names). The
  proxy also retries fail-fast errors, response-header timeouts and HTTP/2 ``REFUSED_STREAM`` on a
  route with a retry policy, but never a request whose connection failed or was reset
  (linkerd2-proxy ``route/retry.rs``); those conditions are reported.
* **Circuit breaking** is failure accrual on the Service (the parent all clients resolve):
  ``consecutiveErrors`` -> ``max-failures``, ``baseEjectionTime`` -> ``min-penalty``.
* **Probes.** Linkerd authorizes kubelet probes itself only on ports whose ``Server`` has no
  routes. Where meshgen attaches routes (L7 allow-lists, gRPC probes), the probes declared in
  ``services[].probes`` get a route of their own admitted from any network by a
  ``NetworkAuthentication``, as ``linkerd viz allow-scrapes`` does for the proxy's own probes.

Identities are written as ``<sa>.<ns>.serviceaccount.identity.linkerd.<trust domain>``: the
control plane is assumed to run in the ``linkerd`` namespace. The cluster needs the Gateway API
CRDs of v1.2.1 (the experimental channel for TLSRoute/TCPRoute egress routes): the
``linkerd-crds`` chart does not install them unless ``installGatewayAPI`` is set.

Sources: https://linkerd.io/2.19/reference/ (retries, timeouts, circuit-breaking,
authorization-policy, rate-limiting, egress-network), linkerd/linkerd2
``policy-controller/k8s/index/src/outbound``, CRDs in ../shared/crds/linkerd,
../shared/design/platform-matrix.md sections 2-11, 14, 15.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent, Port, Retries, Route, Service
from meshgen.intent.types import Duration
from meshgen.platforms import gateway_api as gapi
from meshgen.platforms.base import Plan, PlannedObject, egress_object_names, object_name, sort_objects
from meshgen.platforms.enforcement import audited
from meshgen.platforms.helm_values import TRUST_MANAGER, Chart
from meshgen.platforms.linkerd.alerts import plan_alerts
from meshgen.platforms.linkerd.authorization import plan_authorization, plan_namespace_findings
from meshgen.platforms.linkerd.capabilities import COLUMN
from meshgen.platforms.linkerd.certificates import plan_certificates
from meshgen.platforms.linkerd.control_plane import plan_control_plane, plan_proxy_resources
from meshgen.platforms.linkerd.delivery import DELIVERY
from meshgen.platforms.linkerd.telemetry import plan_telemetry
from meshgen.platforms.sections import Section, compose, control_plane_namespace

POLICY_ALPHA = "policy.linkerd.io/v1alpha1"
EGRESS_NETWORK = "egress"

#: intent retryOn -> retry.linkerd.io/http element (HTTPRoute).
_HTTP_RETRY = {"5xx": "5xx", "gateway-error": "gateway-error", "retriable-4xx": "409"}
#: intent retryOn -> retry.linkerd.io/grpc element (GRPCRoute).
_GRPC_RETRY = ("cancelled", "deadline-exceeded", "internal", "resource-exhausted", "unavailable")


def linkerd_duration(value: Duration) -> str:
    """A duration as Linkerd's annotation parser accepts it: one integer and one unit.

    Linkerd reads ``<integer><ms|s|m|h|d>`` only (policy controller ``parse_duration``), so
    ``1m30s`` would be rejected and the whole annotation set ignored. The largest unit that
    divides the value exactly is used: 90000 ms -> ``90s``, 1500 -> ``1500ms``, 7200000 -> ``2h``.
    """
    ms = int(value)
    for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"


def inbound_policy(intent: MeshIntent) -> str:
    """The namespaces' ``config.linkerd.io/default-inbound-policy`` for the intent's mesh settings."""
    mesh = intent.spec.mesh
    if mesh.default_deny and mesh.enforcement == "audit":
        return "audit"  # default-deny staged: admitted, flagged in logs and metrics (enforcement.py)
    if mesh.default_deny:
        return "deny"
    return "all-authenticated" if mesh.mtls == "strict" else "all-unauthenticated"


@dataclasses.dataclass(frozen=True)
class RetryPlan:
    """Retry annotations for one route kind, and what the intent loses on the way.

    Attributes:
        annotations: ``retry.linkerd.io/*`` annotations (empty: no retries).
        lost: intent conditions Linkerd cannot retry on, with why.
        approximated: conditions Linkerd handles differently, with how.
    """

    annotations: dict[str, str]
    lost: tuple[str, ...] = ()
    approximated: tuple[str, ...] = ()


def retry_plan(retries: Retries | None, grpc: bool) -> RetryPlan:
    """Map intent retries to ``retry.linkerd.io/*`` for an HTTPRoute (``grpc`` False) or GRPCRoute.

    Conditions of the other protocol (gRPC statuses on an HTTP port, HTTP statuses on a gRPC
    port) are noted as not applying there. When no condition remains, ``annotations`` is empty:
    the caller decides whether that loses the intent (no port of the service retries at all).
    """
    if retries is None or retries.attempts == 0:
        return RetryPlan({})
    conditions: list[str] = []
    lost: list[str] = []
    approximated: list[str] = []
    inapplicable: list[str] = []
    for cond in retries.retry_on:
        if isinstance(cond, int) or cond in _HTTP_RETRY:
            if grpc:
                inapplicable.append(str(cond))
            elif (mapped := str(cond) if isinstance(cond, int) else _HTTP_RETRY[cond]) not in conditions:
                conditions.append(mapped)
        elif cond in _GRPC_RETRY:
            if not grpc:
                inapplicable.append(cond)
            elif cond not in conditions:
                conditions.append(cond)
        elif cond == "reset":
            lost.append("reset: Linkerd never re-sends a request whose connection was reset")
        elif cond == "connect-failure":
            approximated.append(
                "connect-failure: Linkerd dispatches requests only to endpoints it holds a connection to and "
                "retries fail-fast errors, but never re-sends a request after a connection error"
            )
        elif cond == "refused-stream":
            approximated.append("refused-stream: Linkerd retries HTTP/2 REFUSED_STREAM on every route with a retry policy")
    if inapplicable and grpc:
        approximated.append(
            f"{', '.join(inapplicable)}: HTTP statuses, which gRPC servers do not send (they answer 200 with a grpc-status); "
            "Linkerd reads only retry.linkerd.io/grpc on a GRPCRoute"
        )
    elif inapplicable:
        approximated.append(f"{', '.join(inapplicable)}: gRPC statuses, which do not occur on an HTTP port")
    if not conditions:
        return RetryPlan({}, tuple(lost), tuple(approximated))
    annotations = {
        "retry.linkerd.io/grpc" if grpc else "retry.linkerd.io/http": ",".join(conditions),
        "retry.linkerd.io/limit": str(retries.attempts),
    }
    if retries.per_try_timeout is not None:
        annotations["retry.linkerd.io/timeout"] = linkerd_duration(retries.per_try_timeout)
    return RetryPlan(annotations, tuple(lost), tuple(approximated))


def route_annotations(svc: Service, port: Port, route: Route | None) -> tuple[dict[str, str], RetryPlan]:
    """Timeout and retry annotations of the rule for ``route`` (None = the default rule) on ``port``.

    The route's own timeout and retries win over the service's, field by field as the intent
    inherits them.
    """
    timeout = route.timeout if route is not None and route.timeout is not None else svc.timeout
    retries = route.retries if route is not None and route.retries is not None else svc.retries
    out: dict[str, str] = {}
    if timeout is not None:
        out["timeout.linkerd.io/request"] = linkerd_duration(timeout)
    plan = retry_plan(retries, port.protocol == "grpc")
    out.update(plan.annotations)
    return dict(sorted(out.items())), plan


class LinkerdPlatform:
    """Linkerd 2.18/2.19 stable: GAMMA routes, Server-based authorization, EgressNetwork."""

    name = "linkerd"
    description = (
        "Linkerd 2.18/2.19: GAMMA HTTPRoute/GRPCRoute with retry/timeout annotations, Server + "
        "AuthorizationPolicy allow-lists, HTTPLocalRateLimitPolicy, EgressNetwork"
    )
    capabilities = COLUMN
    template_folders = ("linkerd",)
    control_plane_namespace = "linkerd"
    #: https://linkerd.io/2.19/tasks/automatically-rotating-control-plane-tls-credentials/
    unrotated_mesh_ca = "the trust anchor and identity issuer made by the Linkerd CLI are never rotated"
    delivery = DELIVERY
    charts = (
        Chart("linkerd-control-plane", "linkerd/linkerd-control-plane", "linkerd-control-plane", "linkerd"),
        TRUST_MANAGER,
    )

    def operations(self, intent: MeshIntent, report: Report) -> Section:
        """Certificates, control-plane HA values, telemetry and alerts (see this package's modules). Pure."""
        cp_ns = control_plane_namespace(intent, self.control_plane_namespace)
        return compose(intent, report, cp_ns, (plan_certificates, plan_control_plane, plan_proxy_resources, plan_telemetry), plan_alerts)

    def plan(self, intent: MeshIntent) -> Plan:
        """Decide every Linkerd object for ``intent``. Pure."""
        report = Report(self.name, self.capabilities)
        labels = gapi.labels_for(intent)
        mesh = intent.spec.mesh
        policy = inbound_policy(intent)
        namespaces = intent.namespaces()
        objects: list[PlannedObject] = []
        for ns in namespaces:
            annotations = {"config.linkerd.io/default-inbound-policy": policy, "linkerd.io/inject": "enabled"}
            objects.append(
                PlannedObject("core/namespace.yaml.j2", "v1", "Namespace", ns, None, {"labels": labels, "annotations": annotations})
            )
        report.use(Feature.MTLS_STRICT if mesh.mtls == "strict" else Feature.MTLS_PERMISSIVE, "mesh", _mtls_detail(intent, policy))
        # An audited Server admits (and logs) traffic no authorization matches, unmeshed callers
        # included (Server.spec.accessPolicy, policy.linkerd.io/v1beta3): there permissive works.
        if mesh.mtls == "permissive" and mesh.default_deny:
            enforced = [svc for svc in intent.spec.services if not audited(intent, svc)]
            if enforced or not intent.spec.services:
                report.lost(Feature.MTLS_PERMISSIVE, "mesh", _PERMISSIVE_UNDER_DEFAULT_DENY)
        plan_namespace_findings(intent, namespaces, policy, report)
        # CA, control plane and telemetry findings come from meshgen.platforms.operations.

        for svc in intent.spec.services:
            objects.extend(self._service(intent, svc, report, labels))
            objects.extend(plan_authorization(intent, svc, report, labels, policy))

        objects.extend(gapi.plan_gateways(intent, gapi.GatewayOptions(None, self.name), report))
        objects.extend(self._egress(intent, namespaces, labels, report))
        _overlapping_servers(objects, report)
        return Plan(self.name, sort_objects(objects), (), report.sorted())

    # --- mesh-wide ----------------------------------------------------------------------

    # --- per service --------------------------------------------------------------------

    def _service(self, intent: MeshIntent, svc: Service, report: Report, labels) -> list[PlannedObject]:
        subject = f"{svc.namespace}/{svc.name}"
        annotations = self._failure_accrual(svc, report, subject)
        opaque = [str(p.port) for p in svc.ports if p.protocol == "tcp"]
        if opaque:
            # Clients skip protocol detection on these ports; the Server's proxyProtocol covers the server side.
            annotations["config.linkerd.io/opaque-ports"] = ",".join(opaque)
        out = [
            gapi.service_object(intent, svc, annotations)
        ]
        out.extend(gapi.version_services(intent, svc))
        out.extend(self._routes(intent, svc, report, subject))
        self._traffic_findings(intent, svc, report, subject)
        return out

    def _traffic_findings(self, intent: MeshIntent, svc: Service, report: Report, subject: str) -> None:
        l7 = [p for p in svc.ports if p.is_l7]
        if not l7:
            for attr, feature, verb in (("timeout", Feature.TIMEOUT, "times out"), ("retries", Feature.RETRIES, "retries")):
                value = getattr(svc, attr)
                if value is None or (attr == "retries" and value.attempts == 0):
                    continue
                text = f"{svc.name} has no http, http2 or grpc port: Linkerd {verb} HTTP and gRPC requests only"
                if value is getattr(intent.spec.defaults, attr):
                    # Inherited from defaults, not asked of this service: it never applied to TCP.
                    report.approximated(feature, subject, f"defaults.{attr} does not apply: {text}")
                else:
                    report.lost(feature, subject, text)
            if svc.versions:
                report.lost(
                    Feature.CANARY_WEIGHTS,
                    subject,
                    f"{svc.name} has only TCP/TLS ports: meshgen splits traffic with HTTPRoute/GRPCRoute, and Linkerd 2.18/2.19 "
                    "read TCPRoute only from the Gateway API experimental channel",
                )
        for route in svc.routes:
            name = route.name or f"routes[{svc.routes.index(route)}]"
            if route.fault is not None and route.fault.delay is not None:
                report.use(Feature.FAULT_DELAY, subject, f"route {name}: Linkerd cannot delay requests; the delay of {route.fault.delay.fixed_delay} is dropped")
            if route.fault is not None and route.fault.abort is not None:
                report.use(
                    Feature.FAULT_ABORT,
                    subject,
                    f"route {name}: Linkerd injects failures only by splitting traffic to a hand-deployed error backend; "
                    f"the abort with {route.fault.abort.http_status} is dropped",
                )
            if route.mirror is not None:
                report.use(Feature.MIRRORING, subject, f"route {name}: Linkerd routes have no RequestMirror filter; copies to {route.mirror.version} are dropped")
        budget = svc.retry_budget
        retried = any(r is not None and r.attempts > 0 for r in [svc.retries, *(route.retries for route in svc.routes)])
        if budget is not None and retried:
            report.use(
                Feature.RETRY_BUDGET,
                subject,
                f"retryBudget {budget.percent:g}% / {budget.min_retries_per_second} per second is dropped: only the deprecated "
                "ServiceProfile has a budget, and it would disable these annotations; each request is still retried at most "
                "retry.linkerd.io/limit times",
            )

    def _failure_accrual(self, svc: Service, report: Report, subject: str) -> dict[str, str]:
        cb = svc.circuit_breaker
        out: dict[str, str] = {}
        if cb is None:
            return out
        if cb.has_connection_pool:
            limits = ", ".join(
                f"{k} {v}"
                for k, v in (("maxConnections", cb.max_connections), ("maxPendingRequests", cb.max_pending_requests), ("maxRequests", cb.max_requests))
                if v is not None
            )
            report.use(Feature.CONNECTION_POOL, subject, f"{limits} dropped: Linkerd has no connection-pool limits")
        if cb.interval is not None or cb.max_ejection_percent is not None:
            limits = ", ".join(
                f"{k} {v}" for k, v in (("interval", cb.interval), ("maxEjectionPercent", cb.max_ejection_percent)) if v is not None
            )
            report.use(Feature.EJECTION_LIMITS, subject, f"{limits} dropped: failure accrual judges each endpoint on its own consecutive failures")
        if not cb.has_outlier_detection:
            return out
        if not any(p.is_l7 for p in svc.ports):
            report.lost(Feature.OUTLIER_DETECTION, subject, f"{svc.name} has no http, http2 or grpc port: failure accrual counts HTTP responses only")
            return out
        out["balancer.linkerd.io/failure-accrual"] = "consecutive"
        parts = []
        if cb.consecutive_errors is not None:
            out["balancer.linkerd.io/failure-accrual-consecutive-max-failures"] = str(cb.consecutive_errors)
            parts.append(f"{cb.consecutive_errors} consecutive failures (5xx responses only) mark an endpoint unavailable")
        else:
            parts.append("consecutiveErrors not set: Linkerd's default of 7 consecutive failures applies")
        if cb.base_ejection_time is not None:
            penalty = linkerd_duration(cb.base_ejection_time)
            out["balancer.linkerd.io/failure-accrual-consecutive-min-penalty"] = penalty
            if cb.base_ejection_time > 60_000:
                # Linkerd rejects min-penalty above max-penalty (default 1m) and would drop the breaker.
                out["balancer.linkerd.io/failure-accrual-consecutive-max-penalty"] = penalty
                parts.append(f"baseEjectionTime {cb.base_ejection_time} becomes a fixed penalty of {penalty}")
            else:
                parts.append(
                    f"baseEjectionTime {cb.base_ejection_time} becomes the first penalty, which then backs off exponentially "
                    "to 1m with jitter (Istio multiplies it by the ejection count instead)"
                )
        report.use(Feature.OUTLIER_DETECTION, subject, "; ".join(parts))
        return out

    # --- GAMMA routes -------------------------------------------------------------------

    def _routes(self, intent: MeshIntent, svc: Service, report: Report, subject: str) -> list[PlannedObject]:
        l7 = [p for p in svc.ports if p.is_l7]
        out: list[PlannedObject] = []
        retried_somewhere = any(route_annotations(svc, p, None)[1].annotations for p in l7)
        for port in l7:
            base_name = svc.name if len(l7) == 1 else object_name(svc.name, port.name)
            default_ann, default_retry = route_annotations(svc, port, None)
            self._retry_findings(svc, port, default_retry, report, subject, retried_somewhere)
            usable: list[Route] = []
            for index, route in enumerate(svc.routes):
                if port.protocol == "grpc" and not grpc_expressible(route):
                    if could_match_grpc(route):
                        report.lost(
                            Feature.REQUEST_ROUTING,
                            subject,
                            f"route {route.name or index} matches a path, HTTP method or query parameter, which a GRPCRoute "
                            f"cannot match on grpc port {port.name}; the route is left out there",
                        )
                    continue  # otherwise no gRPC call can match it: nothing is lost
                usable.append(route)
            main = [r for r in usable if route_annotations(svc, port, r)[0] == default_ann]
            own = [r for r in usable if route_annotations(svc, port, r)[0] != default_ann]
            primary = self._one_route(intent, svc, port, main, base_name, default_ann, keep_default=True)
            has_policy = bool(default_ann) or bool(own) or bool(svc.versions) or bool(svc.routes)
            if primary is not None and has_policy:
                out.append(primary)
            for route in own:
                index = svc.routes.index(route)
                ann, plan = route_annotations(svc, port, route)
                self._retry_findings(svc, port, plan, report, subject, any(route_annotations(svc, p, route)[1].annotations for p in l7))
                name = object_name(base_name, route.name or f"route-{index}")
                obj = self._one_route(intent, svc, port, [route], name, ann, keep_default=False)
                if obj is not None:
                    out.append(obj)
            if own and self._ties(port, main, own):
                report.approximated(
                    Feature.REQUEST_ROUTING,
                    subject,
                    f"routes with their own timeout or retries are separate route objects on port {port.name} (Linkerd reads "
                    "timeouts and retries per route object); where their matches tie with another route's, Gateway API orders "
                    "the objects by age and name, not by intent order",
                )
        return out

    def _one_route(
        self, intent: MeshIntent, svc: Service, port: Port, routes: list[Route], name: str, annotations: dict[str, str], *, keep_default: bool
    ) -> PlannedObject | None:
        narrowed = svc.model_copy(update={"ports": [port], "routes": routes})
        objs = gapi.mesh_routes(intent, narrowed, lambda _svc, _route: {}, mirror=False)
        if not objs:
            return None
        obj = objs[0]
        rules = list(obj.values["rules"])
        if not keep_default:
            rules = rules[:-1]  # mesh_routes ends every object with the weighted default rule
            if not rules:
                return None
        values = {**obj.values, "annotations": annotations, "rules": rules}
        return dataclasses.replace(obj, name=name, values=values)

    @staticmethod
    def _ties(port: Port, main: list[Route], own: list[Route]) -> bool:
        """Whether a route split into its own object has the same Gateway API precedence as another rule."""

        def key(route: Route | None) -> tuple:
            match = route.match if route is not None else None
            if port.protocol == "grpc":
                m = gapi.grpc_match(match)
                method = m.get("method", {})
                return (len(method.get("service", "")), len(method.get("method", "")), len(m.get("headers", [])))
            m = gapi.http_match(match)
            path = m.get("path", {})
            return (path.get("type"), len(path.get("value", "")), "method" in m, len(m.get("headers", [])), len(m.get("queryParams", [])))

        rules = [*main, *own, None]  # None: the weighted default rule, a catch-all
        return any(key(r) == key(other) for r in own for other in rules if other is not r)

    def _retry_findings(self, svc: Service, port: Port, plan: RetryPlan, report: Report, subject: str, retried_somewhere: bool) -> None:
        """Report one port's retry mapping; ``retried_somewhere``: whether any L7 port of the service keeps retries."""
        if plan.lost or plan.approximated:
            if not plan.annotations and not retried_somewhere:
                report.lost(Feature.RETRIES, subject, "no retryOn condition Linkerd can configure remains on any port: requests are not retried")
            elif not plan.annotations:
                report.approximated(Feature.RETRIES, subject, f"port {port.name}: no retryOn condition applies here, so its requests are not retried")
        for text in plan.lost:
            report.lost(Feature.RETRIES, subject, f"port {port.name}: {text}")
        for text in plan.approximated:
            report.approximated(Feature.RETRIES, subject, f"port {port.name}: {text}")
        if plan.annotations:
            key = "retry.linkerd.io/grpc" if port.protocol == "grpc" else "retry.linkerd.io/http"
            report.use(
                Feature.RETRIES,
                subject,
                f"port {port.name}: up to {plan.annotations['retry.linkerd.io/limit']} retries on {plan.annotations[key]} "
                "with Linkerd's fixed 25-250ms backoff; request bodies over 64 KiB are never retried",
            )

    # --- egress -------------------------------------------------------------------------

    def _egress(self, intent: MeshIntent, namespaces: list[str], labels, report: Report) -> list[PlannedObject]:
        spec = intent.spec
        if not spec.egress and not spec.mesh.egress_default_deny:
            return []
        out: list[PlannedObject] = []
        traffic_policy = "Deny" if spec.mesh.egress_default_deny else "Allow"
        names = egress_object_names(spec.egress, per_port=True)
        for ns in namespaces:
            out.append(
                PlannedObject(
                    "linkerd/egress-network.yaml.j2", POLICY_ALPHA, "EgressNetwork", EGRESS_NETWORK, ns, {"labels": labels, "traffic_policy": traffic_policy}
                )
            )
            for host in spec.egress:
                for port in host.ports:
                    out.append(self._egress_route(host, port, names[(host.host, port)], ns, labels))
        for host in spec.egress:
            if host.protocol in ("tls", "tcp"):
                report.approximated(
                    Feature.EGRESS_ALLOW_LIST,
                    f"egress {host.host}",
                    f"{'TLSRoute' if host.protocol == 'tls' else 'TCPRoute'} is written as gateway.networking.k8s.io/v1 "
                    "(the only version Gateway API 1.6 serves); Linkerd 2.18/2.19 read v1alpha2 from Gateway API 1.2.1, "
                    "so with those CRDs change the apiVersion",
                )
            if host.protocol == "tcp":
                report.approximated(
                    Feature.EGRESS_ALLOW_LIST,
                    f"egress {host.host}",
                    f"a TCPRoute cannot match a hostname: port {', '.join(str(p) for p in host.ports)} is opened to every "
                    "address outside the cluster, not only to this host",
                )
        return out

    @staticmethod
    def _egress_route(host, port: int, name: str, ns: str, labels) -> PlannedObject:
        kind = {"http": "HTTPRoute", "grpc": "GRPCRoute", "tls": "TLSRoute", "tcp": "TCPRoute"}[host.protocol]
        # v1 is the only version Gateway API 1.6's CRDs serve for TLSRoute/TCPRoute; Linkerd 2.18/2.19
        # read v1alpha2 (the finding in _egress says so).
        api = gapi.GATEWAY_API
        parent = {"group": "policy.linkerd.io", "kind": "EgressNetwork", "name": EGRESS_NETWORK, "port": port}
        if kind in ("HTTPRoute", "GRPCRoute"):
            # No backendRefs: Linkerd forwards matched requests to their original destination.
            rules: list[dict[str, Any]] = [{}]
        else:
            rules = [{"backendRefs": [{"group": "policy.linkerd.io", "kind": "EgressNetwork", "name": EGRESS_NETWORK}]}]
        template = {"HTTPRoute": "http-route", "GRPCRoute": "grpc-route", "TLSRoute": "tls-route", "TCPRoute": "tcp-route"}[kind]
        return PlannedObject(
            f"gateway-api/{template}.yaml.j2",
            api,
            kind,
            name,
            ns,
            {
                "labels": labels,
                "annotations": {},
                "parents": [parent],
                "hostnames": [host.host] if kind != "TCPRoute" else [],
                "rules": rules,
            },
        )


def _overlapping_servers(objects: list[PlannedObject], report: Report) -> None:
    """Servers that may select the same pod and port: Linkerd's admission webhook refuses the second.

    Only Servers of one namespace and port can overlap, so they are compared within those groups
    (teams of tens of Servers) instead of across the mesh: linear in the number of namespaces and
    ports, not quadratic in the number of Servers. Pairs are reported in the order of the sorted
    Servers, as comparing every pair did.
    """
    servers = sorted((o for o in objects if o.kind == "Server"), key=lambda o: (o.namespace or "", o.name))
    groups: dict[tuple[str | None, object], list[int]] = {}
    for index, server in enumerate(servers):
        groups.setdefault((server.namespace, server.values["port"]), []).append(index)
    pairs = sorted((i, j) for members in groups.values() for n, i in enumerate(members) for j in members[n + 1 :])
    for i, j in pairs:
        a, b = servers[i], servers[j]
        sa, sb = set(a.values["pod_selector"].items()), set(b.values["pod_selector"].items())
        if sa <= sb or sb <= sa:
            report.lost(
                Feature.AUTHZ_IDENTITY,
                f"{a.namespace}/{a.name}",
                f"Servers {a.name} and {b.name} select the same pods on port {a.values['port']}; Linkerd refuses "
                "overlapping Servers, so one of them and its authorizations would not apply: give the services distinct pod labels",
            )


def grpc_expressible(route: Route) -> bool:
    """Whether a GRPCRoute can carry ``route``'s match: only a gRPC method and headers, never a
    path, HTTP method or query parameter (dropping those would widen the rule to every call)."""
    m = route.match
    return m is None or (m.path is None and m.method is None and not m.query_params)


_GRPC_PATH = re.compile(r"^/[A-Za-z_][A-Za-z0-9_.]*/[A-Za-z_][A-Za-z0-9_]*$")


def could_match_grpc(route: Route) -> bool:
    """Whether a route's HTTP-only match can match a gRPC call (``POST /package.Service/Method``,
    no query string); a route that cannot is simply absent from a gRPC port, not lost there."""
    m = route.match
    if m is None:
        return True
    if m.query_params or m.method not in (None, "POST"):
        return False
    if m.path is None or m.path.operator == "regex":
        return True
    if m.path.operator == "exact":
        return bool(_GRPC_PATH.match(m.path.value))
    probe = m.path.value
    return probe == "/" or bool(re.match(r"^/[A-Za-z_][A-Za-z0-9_.]*(/[A-Za-z0-9_]*)?$", probe))


_PERMISSIVE_UNDER_DEFAULT_DENY = (
    "mtls: permissive has no effect under defaultDeny: every port gets a Server whose authorizations admit only mesh "
    "identities (MeshTLSAuthentication), so callers that are not meshed yet are refused exactly as under strict. "
    "Admitting them would need a NetworkAuthentication of every network, which admits any unmeshed caller, so meshgen "
    "renders what strict renders. For a permissive migration mesh the callers first, or set defaultDeny: false until "
    "they are (default-inbound-policy all-unauthenticated)"
)


def _mtls_detail(intent: MeshIntent, policy: str) -> str:
    if intent.spec.mesh.mtls == "strict":
        return (
            f"meshed traffic is always mTLS; namespaces get config.linkerd.io/default-inbound-policy {policy}, so callers "
            "without a mesh identity are refused (the annotation is read when a pod starts: restart existing pods)"
        )
    return f"namespaces get config.linkerd.io/default-inbound-policy {policy}; meshed callers still always use mTLS"
