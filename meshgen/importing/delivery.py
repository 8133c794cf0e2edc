"""Progressive-delivery objects back into the intent's ``services[].rollout`` and ``spec.delivery``.

The inverse of :mod:`meshgen.delivery.flagger` for every platform importer built on
:class:`~meshgen.importing.workloads.WorkloadRun`: :func:`read_rollouts` is called once, right
after the run is set up and before the platform reads any Service, and

* reads each Flagger ``Canary`` (``flagger.app/v1beta1``) and the ``MetricTemplate`` objects its
  metrics name into a rollout: ``analysis.interval`` -> ``interval``, ``threshold`` ->
  ``analysis.failureLimit``, ``stepWeights`` (or ``stepWeight`` up to ``maxWeight``) -> canary
  ``steps``, ``iterations`` -> blue-green ``analysis.iterations``, the ``request-success-rate``
  metric's ``thresholdRange.min`` -> ``analysis.successRate`` (percent), the ``request-duration``
  metric's ``thresholdRange.max`` -> ``analysis.latencyP99`` (milliseconds; no such metric:
  ``null``), a ``rollout`` webhook with ``metadata.cmd`` -> ``webhooks.loadTest``, a
  ``confirm-promotion`` webhook -> ``webhooks.manualGate``; a MetricTemplate's
  ``spec.provider.address`` -> ``spec.delivery.prometheus``;
* puts back what meshgen left to Flagger (Flagger owns the Service named after the service, and
  the VirtualService/DestinationRule or HTTPRoute it routes with): the Service from the Canary's
  ``meshgen.dev/service`` annotation (:func:`meshgen.delivery.flagger.left_out_service`) and
  ``service.apex`` metadata, the Istio VirtualService's default route (``timeout``, ``retries``,
  ``corsPolicy``, ``headers``) and DestinationRule ``trafficPolicy``, or the GAMMA HTTPRoute on the
  Canary's port (``timeout``, ``backendTimeout``, route annotations), so the platform's own reader
  reads them as it reads what meshgen writes for a service without rollout;
* takes out the copies :func:`meshgen.delivery.coverage.cover_primary` made of the service's
  policies for Flagger's primary pods (``<name>-primary`` selecting ``<label>: <value>-primary``,
  otherwise identical to ``<name>``), and Flagger's ``-primary``/``-canary`` DestinationRules
  meshgen writes on Gateway API routing (``_backend_rules``).

Argo Rollouts' ``Rollout`` and ``AnalysisTemplate`` (``argoproj.io/v1alpha1``) are read the same
way by :func:`read_argo_rollouts` (the inverse of :mod:`meshgen.delivery.argo_rollouts`): canary
``setWeight``/``pause.duration`` pairs -> ``steps`` (a pause equal to the analysis interval is the
step's default), a last ``pause: {}`` or ``autoPromotionEnabled: false`` -> ``manualGate: {}``,
``blueGreen`` -> ``strategy: blue-green`` (``count`` -> ``iterations``), the template's
``successCondition`` (``result[0] >= N`` / ``result[0] <= N``), ``failureLimit`` (plus one: Argo
fails when failures exceed it) and its ``web`` load test, ``spec.replicas`` -> the service's
``replicas``; and the routing meshgen shaped for Argo is put back as it is without a rollout.

Every field meshgen does not write is reported with its ``file:line`` and field path: LOST when the
intent cannot say it (webhooks of other types, metrics with their own queries, ``alerts``,
``match``, ``mirror``, ``skipAnalysis``, ...), approximated when it is carried with a stated
difference. Never dropped silently.

Sources: the ``canaries.flagger.app`` and ``metrictemplates.flagger.app`` CRDs (field names),
https://docs.flagger.app/usage/how-it-works (service, analysis), https://docs.flagger.app/usage/metrics
(builtin ``request-success-rate``/``request-duration``, ``templateRef``, MetricTemplate
``provider.address`` and ``query``), https://docs.flagger.app/usage/webhooks (webhook types,
``metadata.cmd`` of flagger-loadtester, ``confirm-promotion`` gating),
https://docs.flagger.app/usage/deployment-strategies (``stepWeight``/``maxWeight``,
``stepWeights``, ``iterations``).
"""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from meshgen.delivery.coverage import _COPIED_KINDS, primary_labels
from meshgen.delivery.flagger import BUILTIN_DURATION, BUILTIN_SUCCESS_RATE, SERVICE_ANNOTATION, flagger_query
from meshgen.importing.common import APP_PROTOCOLS, number, plain
from meshgen.importing.reader import PosList, PosMap, SourceObject
from meshgen.platforms.base import object_name

if TYPE_CHECKING:
    from meshgen.importing.workloads import WorkloadRun

FLAGGER_GROUP = "flagger.app"
#: ``Canary.spec`` keys meshgen writes (the rest of the CRD's are reported).
CANARY_SPEC = frozenset({"provider", "targetRef", "service", "analysis"})
#: ``Canary.spec.service`` keys meshgen writes.
CANARY_SERVICE = frozenset({
    "name", "port", "targetPort", "portName", "appProtocol", "portDiscovery", "timeout", "backendTimeout",
    "retries", "corsPolicy", "headers", "trafficPolicy", "gatewayRefs", "apex", "primary", "canary",
})
#: ``Canary.spec.analysis`` keys read (``stepWeight``/``maxWeight`` are Flagger's linear steps).
CANARY_ANALYSIS = frozenset({"interval", "threshold", "stepWeights", "stepWeight", "maxWeight", "iterations", "metrics", "webhooks"})
#: Keys of the VirtualService default route the Canary's ``service`` carries (Istio provider).
_VS_CARRIED = ("timeout", "retries", "corsPolicy", "headers")
#: The webhook meshgen writes for a load test (flagger.py ``_webhooks``).
_LOAD_TEST_TIMEOUT = "5s"


@functools.lru_cache(maxsize=None)
def _deliveries() -> tuple:
    """Every platform's :class:`~meshgen.delivery.support.DeliverySupport`, from the registry."""
    from meshgen.platforms.registry import all_platforms

    return tuple(p.delivery for _, p in sorted(all_platforms().items()))


@functools.lru_cache(maxsize=None)
def _flagger_routing() -> dict[str, str | None]:
    """Flagger provider meshgen writes -> the routing object its router owns (support.flagger_routing)."""
    return {d.flagger_provider: d.flagger_routing for d in _deliveries() if d.flagger_provider is not None}


@functools.lru_cache(maxsize=None)
def _all_queries() -> dict[str, str]:
    """Every MetricTemplate query meshgen writes, on any platform -> ``success`` or ``latency``."""
    out: dict[str, str] = {}
    for delivery in _deliveries():
        if delivery.metrics is not None:
            out[flagger_query(delivery.metrics.success_rate)] = "success"
            out[flagger_query(delivery.metrics.latency_p99)] = "latency"
    return out


@dataclass
class RolloutReading:
    """What :func:`read_rollouts` found, applied by :meth:`finish` once the services are read.

    Attributes:
        rollouts: ``(namespace, service)`` -> (the Canary, the intent's ``rollout`` data).
        controllers: the controller of each rollout, in reading order.
        prometheus: Prometheus addresses the analysis queries, with the object naming each.
        derived: the objects put back (:class:`Derived`); the platform's reader reports any it
            did not read, as for the objects read from files.
        replicas: ``(namespace, service)`` -> an Argo Rollout's ``spec.replicas`` (the intent's ``replicas``).
    """

    rollouts: dict[tuple[str, str], tuple[SourceObject, dict[str, Any]]] = field(default_factory=dict)
    controllers: list[str] = field(default_factory=list)
    prometheus: list[tuple[str, SourceObject]] = field(default_factory=list)
    derived: list[SourceObject] = field(default_factory=list)
    replicas: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, run: WorkloadRun, key: tuple[str, str], obj: SourceObject, rollout: dict[str, Any]) -> None:
        """Record ``rollout`` (with its ``controller``) for service ``key``; a second one for the
        same service is reported LOST (the intent has one rollout per service)."""
        if key in self.rollouts:
            first = self.rollouts[key][0]
            run.f.lost(obj, (), f"{first.ref} ({first.file}:{first.line}) already rolls out {key[0]}/{key[1]}; the intent has one rollout per service; dropped")
            return
        self.rollouts[key] = (obj, rollout)
        self.controllers.append(rollout["controller"])

    def finish(self, run: WorkloadRun, spec: dict[str, Any]) -> None:
        """Attach every rollout to its service and write ``spec.delivery`` (in place).

        A rollout whose service was not read (its Service dropped for a reported reason) is
        reported LOST. ``spec.delivery.controller`` is the controller most rollouts use (ties:
        by name); a rollout on another one names its own.
        """
        if not self.rollouts:
            return
        controller = max(sorted(set(self.controllers)), key=self.controllers.count)
        for key, (canary, rollout) in self.rollouts.items():
            svc = run.services.get(key)
            if svc is None:
                run.f.lost(canary, ("spec", "service"), f"service {key[0]}/{key[1]} was not read (see its findings); rollout dropped")
                continue
            if rollout.get("controller") == controller:
                rollout = {k: v for k, v in rollout.items() if k != "controller"}
            svc["rollout"] = rollout
            if self.replicas.get(key, 1) > svc.get("replicas", 1):  # an Argo Rollout's replicas are the intent's
                svc["replicas"] = self.replicas[key]
            if svc.pop("versions", None):  # the controller splits traffic; a rollout has no static versions
                run.f.lost(canary, (), f"service {key[0]}/{key[1]} also has versions (subsets or version Services read here): "
                           "with a rollout the controller splits the traffic and the intent has no static versions; versions dropped")
        delivery: dict[str, Any] = {"controller": controller}
        addresses = sorted({a for a, _ in self.prometheus})
        if addresses:
            delivery["prometheus"] = addresses[0]
            for address, obj in self.prometheus:
                if address != addresses[0]:
                    run.f.approximated(obj, ("spec", "provider", "address"), f"the intent has one Prometheus for every rollout; imported as {addresses[0]}")
        spec["delivery"] = delivery


def read_rollouts(run: WorkloadRun, route_annotations: frozenset[str] = frozenset()) -> RolloutReading:
    """Read the Flagger objects of ``run`` and put back what meshgen left to Flagger (see the module
    docstring); ``run.rollouts`` is set to the result, which ``run._spec`` finishes.

    Args:
        run: a platform importer's run, right after ``WorkloadRun.__init__`` (before Services are read).
        route_annotations: annotation keys the platform writes on routes rather than on the Service
            (Linkerd's ``timeout.linkerd.io/*``, ``retry.linkerd.io/*``): the Canary's ``apex``
            annotations hold both (flagger.py ``_service``), and they are split back by these.
    """
    reading = RolloutReading()
    run.rollouts = reading
    canaries = run.take("Canary", group=FLAGGER_GROUP)
    templates = {(run.ns(t), t.name): t for t in run.take("MetricTemplate", group=FLAGGER_GROUP)}
    used: set[tuple[str, str]] = set()
    queries = _all_queries() if templates else {}
    for canary in canaries:
        _Canary(run, reading, canary, templates, used, queries, route_annotations).read()
    for key, template in templates.items():
        if key not in used:
            run.f.lost(template, (), "no Canary read here uses this MetricTemplate; dropped")
    read_argo_rollouts(run, reading)
    return reading


class _Canary:
    """One Canary: its rollout, and the objects meshgen left to Flagger for it."""

    def __init__(self, run: WorkloadRun, reading: RolloutReading, obj: SourceObject, templates: dict, used: set,
                 queries: dict[str, str], route_annotations: frozenset[str]) -> None:
        self.run, self.reading, self.obj, self.f = run, reading, obj, run.f
        self.templates, self.used, self.queries, self.route_annotations = templates, used, queries, route_annotations
        self.ns = run.ns(obj)

    def read(self) -> None:
        obj, spec = self.obj, self.obj.spec
        for key in spec:
            if key not in CANARY_SPEC:
                self.f.lost(obj, ("spec", key), f"Canary field {key} has no equivalent in the intent; dropped")
        service = spec.get("service") if isinstance(spec.get("service"), dict) else {}
        name = str(service.get("name") or obj.name)
        rollout: dict[str, Any] = {"controller": "flagger"}
        target = spec.get("targetRef") or {}
        if target.get("kind", "Deployment") != "Deployment" or str(target.get("apiVersion", "apps/v1")) != "apps/v1":
            self.f.lost(obj, ("spec", "targetRef"), f"the intent's rollouts take over a Deployment (apps/v1), not {target.get('apiVersion')} {target.get('kind')}; rollout dropped")
            return
        workload = str(target.get("name") or name)
        if workload != name:
            rollout["workload"] = workload
        provider = str(spec.get("provider") or "")
        if provider not in _flagger_routing():
            self.f.approximated(obj, ("spec", "provider"), f"provider {provider or '(Flagger default)'}: the render writes the target platform's own provider")
        self._analysis(rollout)
        selector = self._left_out_service(name, service, workload)
        if selector is not None:
            self._routing(name, service, provider, self._l7_ports)
            self._coverage(selector)
        self.reading.add(self.run, (self.ns, name), obj, rollout)

    # --- the objects meshgen left to Flagger -----------------------------------------------

    def _left_out_service(self, name: str, service: dict, workload: str) -> dict[str, str] | None:
        """Add the Service meshgen left out; returns its selector (None when a Service of that
        name was read, e.g. exported from a cluster: it is read as is)."""
        obj, base = self.obj, ("spec", "service")
        for key in service:
            if key not in CANARY_SERVICE:
                self.f.lost(obj, (*base, key), f"Canary service field {key} has no equivalent in the intent; dropped")
        if any(o.name == name and self.run.ns(o) == self.ns for o in self.run.by_kind.get("Service", [])):
            return None
        apex = service.get("apex") or {}
        for which in ("primary", "canary"):
            if which in service and plain(service[which]) != plain(apex):
                self.f.approximated(obj, (*base, which), f"the intent's Service metadata is one for apex, primary and canary; {which} is imported as apex's")
        recorded = self._recorded()
        if recorded is not None:
            selector, ports = recorded
        elif not isinstance(service.get("port"), int):
            self.f.lost(obj, (*base, "port"), "no port: the Service Flagger generates cannot be read back; service dropped")
            return None
        else:
            selector = {"app": workload}
            self.f.approximated(obj, ("metadata",), f"no {SERVICE_ANNOTATION} annotation (not written by meshgen): the pod selector is not in "
                                "these manifests (Flagger reads the Deployment's); imported as app: " + workload)
            port = {"name": str(service.get("portName") or "http"), "port": service.get("port"),
                    "targetPort": service.get("targetPort", service.get("port")), "protocol": "TCP"}
            if service.get("appProtocol"):
                port["appProtocol"] = service["appProtocol"]
            ports = [port]
            if service.get("portDiscovery"):
                self.f.lost(obj, (*base, "portDiscovery"), "the other ports Flagger discovers from the Deployment's containers are not in these manifests; dropped")
        metadata: dict[str, Any] = {"name": name, "namespace": self.ns}
        annotations = {k: v for k, v in (apex.get("annotations") or {}).items() if k not in self.route_annotations}
        if apex.get("labels"):
            metadata["labels"] = apex["labels"]
        if annotations:
            metadata["annotations"] = annotations
        self._add({"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": {"selector": selector, "ports": ports}})
        self._l7_ports = sum(APP_PROTOCOLS.get(str(p.get("appProtocol"))) in ("http", "http2", "grpc") for p in ports)
        return {str(k): str(v) for k, v in selector.items()}

    def _recorded(self) -> tuple[dict, list] | None:
        """The selector and ports of :data:`SERVICE_ANNOTATION`, or None (reported when unreadable)."""
        text = (self.obj.metadata.get("annotations") or {}).get(SERVICE_ANNOTATION)
        if text is None:
            return None
        try:
            data = json.loads(str(text))
            selector, ports = data["selector"], data["ports"]
            if not isinstance(selector, dict) or not isinstance(ports, list) or not all(isinstance(p, dict) and "port" in p for p in ports):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            self.f.lost(self.obj, ("metadata", "annotations", SERVICE_ANNOTATION), "not the JSON meshgen writes ({selector, ports}); ignored")
            return None
        return selector, ports

    def _routing(self, name: str, service: dict, provider: str, l7_ports: int) -> None:
        """The routing object meshgen would have written, with what the Canary carried of it
        (a GAMMA route is named after the service when it has one HTTP/gRPC port, else
        ``<service>-<port>``, as gateway_api.py and linkerd/platform.py name it)."""
        host = f"{name}.{self.ns}.svc.cluster.local"
        if _flagger_routing().get(provider) == "VirtualService":
            route: dict[str, Any] = {"name": "default", "route": [{"destination": {"host": host}}]}
            route.update({k: service[k] for k in _VS_CARRIED if k in service})
            self._add({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": name, "namespace": self.ns},
                       "spec": {"hosts": [host], "http": [route]}})
            if service.get("trafficPolicy"):
                self._add({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": {"name": name, "namespace": self.ns},
                           "spec": {"host": host, "trafficPolicy": service["trafficPolicy"]}})
        else:
            for key in ("timeout", "backendTimeout", "retries", "corsPolicy", "headers", "trafficPolicy"):
                if key in service and not (key in ("timeout", "backendTimeout") and service.get("gatewayRefs")):
                    self.f.lost(self.obj, ("spec", "service", key), f"provider {provider} routes without {key}; dropped")
        refs = service.get("gatewayRefs") or []
        if refs:
            annotations = {k: v for k, v in ((service.get("apex") or {}).get("annotations") or {}).items() if k in self.route_annotations}
            timeouts = {}
            if service.get("timeout"):
                timeouts["request"] = service["timeout"]
            if service.get("backendTimeout"):
                timeouts["backendRequest"] = service["backendTimeout"]
            parents = []
            for i, ref in enumerate(refs):
                if ref.get("kind") == "Service" and str(ref.get("group", "")) == "" and ref.get("name") == name:
                    parents.append({"group": "", "kind": "Service", "name": name, "port": ref.get("port", service.get("port"))})
                else:
                    self.f.lost(self.obj, ("spec", "service", "gatewayRefs", i), "a route through a Gateway Flagger writes has no intent equivalent (gateway routes are the intent's gateways); dropped")
            if parents and (annotations or timeouts):
                rule: dict[str, Any] = {"backendRefs": [{"name": name, "port": service.get("port")}]}
                if timeouts:
                    rule["timeouts"] = timeouts
                route_name = name if l7_ports == 1 else object_name(name, str(service.get("portName") or ""))
                metadata: dict[str, Any] = {"name": route_name, "namespace": self.ns}
                if annotations:
                    metadata["annotations"] = annotations
                self._add({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": metadata,
                           "spec": {"parentRefs": parents, "rules": [rule]}})
            self._backend_rules(name)

    def _backend_rules(self, name: str) -> None:
        """meshgen's ``<name>-primary``/``<name>-canary`` DestinationRules (Gateway API routing on
        Istio ambient) back into the one DestinationRule of ``<name>``, when they agree."""
        rules = self.run.by_kind.get("DestinationRule", [])
        copies = {}
        for suffix in ("primary", "canary"):
            copies[suffix] = next((r for r in rules if self.run.ns(r) == self.ns and r.name == f"{name}-{suffix}"), None)
        if None in copies.values():
            return
        restored = []
        for suffix, rule in copies.items():
            body = plain(rule.body)
            host = str((body.get("spec") or {}).get("host", ""))
            if host.split(".")[0] != f"{name}-{suffix}":
                return
            body["metadata"] = {k: v for k, v in body["metadata"].items() if k != "name"}
            body["spec"]["host"] = name + host[len(f"{name}-{suffix}"):]
            restored.append(body)
        if restored[0] != restored[1]:
            return
        self._drop(*copies.values())
        body = restored[0]
        body["metadata"] = {"name": name, **body["metadata"]}
        self._add(body, copies["primary"])

    def _coverage(self, selector: dict[str, str]) -> None:
        """Take out the ``-primary`` copies of the service's policies (coverage.cover_primary)."""
        labels = primary_labels(selector)
        if labels is None:
            return
        for kind in sorted(_COPIED_KINDS):
            objs = [o for o in self.run.by_kind.get(kind, []) if self.run.ns(o) == self.ns]
            originals = {object_name(o.name, "primary"): o for o in objs}
            for dup in objs:
                original = originals.get(dup.name)
                if original is None or original is dup:
                    continue
                mine, theirs = plain(dup.body), plain(original.body)
                mine["metadata"]["name"] = theirs["metadata"]["name"]
                if _relabel(mine, labels.label, f"{labels.value}-primary", labels.value) == theirs:
                    self._drop(dup)

    # --- the analysis -----------------------------------------------------------------------

    def _analysis(self, rollout: dict[str, Any]) -> None:
        obj, base = self.obj, ("spec", "analysis")
        analysis = obj.spec.get("analysis") if isinstance(obj.spec.get("analysis"), dict) else {}
        for key in analysis:
            if key not in CANARY_ANALYSIS:
                self.f.lost(obj, (*base, key), f"analysis field {key} has no equivalent in the intent; dropped")
        out: dict[str, Any] = {}
        weights = analysis.get("stepWeights")
        if not weights and analysis.get("stepWeight"):
            step, top = int(analysis["stepWeight"]), int(analysis.get("maxWeight", 50))
            weights = list(range(step, top + 1, step)) if step > 0 else []
        if weights:
            rollout["strategy"] = "canary"
            rollout["steps"] = [{"weight": int(w)} for w in weights]
            if "iterations" in analysis:
                self.f.lost(obj, (*base, "iterations"), "iterations beside step weights: the intent's canary has steps only; dropped")
        else:
            rollout["strategy"] = "blue-green"
            if "iterations" in analysis:
                out["iterations"] = int(analysis["iterations"])
        interval = str(analysis.get("interval") or "1m")
        if "interval" not in analysis:
            self.f.approximated(obj, base, "no interval: imported as 1m (Flagger's default)")
        rollout["interval"] = interval
        self._metrics(analysis.get("metrics") or [], interval, out)
        if "threshold" in analysis:
            out["failureLimit"] = int(analysis["threshold"])
        else:
            self.f.approximated(obj, base, "no threshold: imported as the intent's default failureLimit 5")
        rollout["analysis"] = out
        webhooks = self._webhooks(analysis.get("webhooks") or [])
        if webhooks:
            rollout["webhooks"] = webhooks

    def _metrics(self, metrics: list, interval: str, out: dict[str, Any]) -> None:
        obj = self.obj
        seen: set[str] = set()
        for i, metric in enumerate(metrics):
            path = ("spec", "analysis", "metrics", i)
            kind = self._metric_kind(metric, path)
            if kind is None:
                continue
            if kind in seen:
                self.f.lost(obj, path, f"a second {kind} check: the intent has one; dropped")
                continue
            seen.add(kind)
            for key in metric:
                if key not in ("name", "templateRef", "thresholdRange", "interval"):
                    self.f.lost(obj, (*path, key), f"metric field {key} has no equivalent in the intent; dropped")
            if str(metric.get("interval", interval)) != interval:
                self.f.approximated(obj, (*path, "interval"), f"the intent checks every metric over the analysis interval {interval}")
            bounds = metric.get("thresholdRange") or {}
            bound = "min" if kind == "success" else "max"
            other = "max" if kind == "success" else "min"
            if other in bounds:
                self.f.lost(obj, (*path, "thresholdRange", other), f"a {other} bound of this check has no equivalent in the intent; dropped")
            if bound not in bounds:
                self.f.lost(obj, (*path, "thresholdRange"), f"no {bound} bound: the check passes always; dropped")
                seen.discard(kind)
                continue
            if kind == "success":
                out["successRate"] = number(bounds["min"])
            else:
                out["latencyP99"] = f"{number(bounds['max'])}ms"
        if "latency" not in seen:
            out["latencyP99"] = None
        if "success" not in seen:
            self.f.approximated(obj, ("spec", "analysis"), "no success-rate check: the intent always has one, imported as its default (99%)")

    def _metric_kind(self, metric: dict, path: tuple) -> str | None:
        """``success`` or ``latency`` for a check meshgen writes; others are reported (None)."""
        ref = metric.get("templateRef")
        if ref is None:
            if "query" in metric:
                self.f.lost(self.obj, (*path, "query"), "a check with its own query has no equivalent in the intent; dropped")
                return None
            kind = {BUILTIN_SUCCESS_RATE: "success", BUILTIN_DURATION: "latency"}.get(str(metric.get("name")))
            if kind is None:
                self.f.lost(self.obj, path, f"metric {metric.get('name')} is not one of Flagger's builtin {BUILTIN_SUCCESS_RATE}/{BUILTIN_DURATION}; dropped")
            return kind
        key = (str(ref.get("namespace") or self.ns), str(ref.get("name")))
        template = self.templates.get(key)
        if template is None:
            self.f.lost(self.obj, (*path, "templateRef"), f"MetricTemplate {key[0]}/{key[1]} is not read here; check dropped")
            return None
        self.used.add(key)
        spec = template.spec
        for k in spec:
            if k not in ("provider", "query"):
                self.f.lost(template, ("spec", k), f"MetricTemplate field {k} has no equivalent in the intent; dropped")
        provider = spec.get("provider") or {}
        if provider.get("type") != "prometheus":
            self.f.lost(template, ("spec", "provider", "type"), f"provider {provider.get('type')}: the intent's analysis queries Prometheus; check dropped")
            return None
        for k in provider:
            if k not in ("type", "address"):
                self.f.lost(template, ("spec", "provider", k), f"provider field {k} has no equivalent in the intent; dropped")
        kind = self.queries.get(str(spec.get("query")))
        if kind is None:
            self.f.lost(template, ("spec", "query"), "not a query meshgen writes (the intent's checks use the platform's request metrics); check dropped")
            return None
        if provider.get("address"):
            self.reading.prometheus.append((str(provider["address"]), template))
        return kind

    def _webhooks(self, hooks: list) -> dict[str, Any]:
        obj, out = self.obj, {}
        for i, hook in enumerate(hooks):
            path = ("spec", "analysis", "webhooks", i)
            kind = hook.get("type")
            meta = hook.get("metadata") or {}
            if kind == "rollout" and "loadTest" not in out and meta.get("type") == "cmd" and meta.get("cmd"):
                for key in hook:
                    if key not in ("name", "type", "url", "timeout", "metadata"):
                        self.f.lost(obj, (*path, key), f"webhook field {key} has no equivalent in the intent; dropped")
                for key in meta:
                    if key not in ("type", "cmd"):
                        self.f.lost(obj, (*path, "metadata", key), f"load test setting {key} has no equivalent in the intent; dropped")
                if str(hook.get("timeout", "")) != _LOAD_TEST_TIMEOUT:
                    self.f.approximated(obj, (*path, "timeout"), f"the intent's load test webhook times out after {_LOAD_TEST_TIMEOUT}")
                out["loadTest"] = {"url": str(hook.get("url")), "command": str(meta["cmd"])}
            elif kind == "confirm-promotion" and "manualGate" not in out:
                for key in hook:
                    if key not in ("name", "type", "url"):
                        self.f.lost(obj, (*path, key), f"webhook field {key} has no equivalent in the intent; dropped")
                out["manualGate"] = {"url": str(hook.get("url"))}
            else:
                self.f.lost(obj, path, f"a {kind or 'rollout'} webhook{' without metadata.cmd' if kind in (None, 'rollout') else ''} has no equivalent "
                            "in the intent (it has one load test, type rollout with metadata.cmd, and one manual gate, type confirm-promotion); dropped")
        return out

    # --- bookkeeping ------------------------------------------------------------------------

    def _add(self, body: dict[str, Any], at: SourceObject | None = None) -> None:
        """Add an object the platform's reader reads as if meshgen had written it; it stands at
        the Canary's (or ``at``'s) ``file:line`` and says where it came from."""
        origin = at or self.obj
        made = Derived(origin.file, origin.line, _positioned(body, origin.line), origin.ref)
        self.run.by_kind.setdefault(made.kind, []).append(made)
        self.reading.derived.append(made)

    def _drop(self, *objs: SourceObject) -> None:
        """Take ``objs`` out of what the platform reads: they are the copies of another."""
        for obj in objs:
            self.run.by_kind[obj.kind] = [o for o in self.run.by_kind[obj.kind] if o is not obj]
            self.run.handled.add(id(obj))


@dataclass(frozen=True, eq=False)
class Derived(SourceObject):
    """An object put back from another (the Service meshgen left to Flagger, read from the Canary).

    Attributes:
        origin: ``Kind namespace/name`` of the object it was read from (in findings and sources).
    """

    origin: str = ""

    @property
    def ref(self) -> str:
        """``Kind namespace/name`` of the object put back, and the one it was read from."""
        return f"{super().ref} (from {self.origin})" if self.origin else super().ref


def _positioned(value: Any, line: int) -> Any:
    """Plain data -> :class:`PosMap`/:class:`PosList` at ``line`` (read ones keep their positions)."""
    if isinstance(value, (PosMap, PosList)):
        return value
    if isinstance(value, dict):
        out = PosMap((k, _positioned(v, line)) for k, v in value.items())
        out.line, out.lines = line, {k: line for k in value}
        return out
    if isinstance(value, list):
        seq = PosList(_positioned(v, line) for v in value)
        seq.line, seq.lines = line, [line] * len(value)
        return seq
    return value


def _relabel(value: Any, label: str, old: str, new: str) -> Any:
    """``value`` with every ``label: old`` entry of a mapping set to ``new``."""
    if isinstance(value, dict):
        return {k: (new if k == label and v == old else _relabel(v, label, old, new)) for k, v in value.items()}
    if isinstance(value, list):
        return [_relabel(v, label, old, new) for v in value]
    return value


# --- Argo Rollouts ----------------------------------------------------------------------------

ARGO_GROUP = "argoproj.io"
#: ``Rollout.spec`` keys meshgen writes.
ROLLOUT_SPEC = frozenset({"replicas", "workloadRef", "strategy"})
#: ``Rollout.spec.strategy.canary`` keys meshgen writes.
ROLLOUT_CANARY = frozenset({"canaryService", "stableService", "trafficRouting", "analysis", "steps"})
#: ``Rollout.spec.strategy.blueGreen`` keys meshgen writes.
ROLLOUT_BLUE_GREEN = frozenset({"activeService", "previewService", "prePromotionAnalysis", "autoPromotionEnabled"})
#: AnalysisTemplate metric keys meshgen writes.
ANALYSIS_METRIC = frozenset({"name", "interval", "count", "successCondition", "failureLimit", "provider"})
_SUCCESS = re.compile(r"result\[0\] >= (?P<n>[0-9]+(\.[0-9]+)?)")
_LATENCY = re.compile(r"result\[0\] <= (?P<n>[0-9]+)")
_GATEWAY_PLUGIN = "argoproj-labs/gatewayAPI"
#: ``Rollout.spec.strategy.canary.trafficRouting`` fields meshgen writes (Argo's CRD field names;
#: ``istio`` here is Argo's field for Istio subset routing, not a platform decision).
_ISTIO_ROUTING, _PLUGINS_ROUTING = "istio plugins".split()
_ROLLOUT_OF = "meshgen.dev/rollout-of"


@functools.lru_cache(maxsize=64)
def _argo_queries(interval: str) -> dict[str, str]:
    """Every AnalysisTemplate query meshgen writes over ``interval``, on any platform -> kind."""
    out: dict[str, str] = {}
    for delivery in _deliveries():
        metrics = delivery.argo_metrics
        if metrics is None:
            continue
        for workload in ("{{args.workload}}", "{{args.workload}}-{{args.canary-hash}}"):
            out[metrics.success_rate_for("{{args.namespace}}", workload, interval)] = "success"
            out[metrics.latency_p99_for("{{args.namespace}}", workload, interval)] = "latency"
    return out


def read_argo_rollouts(run: WorkloadRun, reading: RolloutReading) -> None:
    """Argo Rollouts' ``Rollout`` and ``AnalysisTemplate`` objects of ``run`` into ``reading`` (the
    inverse of :mod:`meshgen.delivery.argo_rollouts`), and the routing meshgen shaped for Argo put
    back as it is without a rollout (:mod:`meshgen.delivery.argo_routing`): the VirtualService's
    ``stable``/``canary`` subset pair and the DestinationRule's two subsets (Istio), the
    ``<svc>-stable``/``<svc>-canary`` backendRefs and Services (Gateway API plugin), the preview
    Service of a blue-green rollout.

    Sources: the ``rollouts.argoproj.io`` and ``analysistemplates.argoproj.io`` CRDs (v1.9.1),
    https://argo-rollouts.readthedocs.io/en/stable/features/canary/ (``setWeight``, ``pause``),
    https://argo-rollouts.readthedocs.io/en/stable/features/bluegreen/ (``activeService``,
    ``previewService``, ``autoPromotionEnabled``, ``prePromotionAnalysis``),
    https://argo-rollouts.readthedocs.io/en/stable/features/analysis/ (``failureLimit``: the run
    fails when failures exceed it, so the intent's failureLimit is one more; ``count``),
    https://argo-rollouts.readthedocs.io/en/stable/migrating/ (``workloadRef``, ``scaleDown``).
    """
    rollouts = run.take("Rollout", group=ARGO_GROUP)
    templates = {(run.ns(t), t.name): t for t in run.take("AnalysisTemplate", group=ARGO_GROUP)}
    used: set[tuple[str, str]] = set()
    for obj in rollouts:
        _Rollout(run, reading, obj, templates, used).read()
    for key, template in templates.items():
        if key not in used:
            run.f.lost(template, (), "no Rollout read here uses this AnalysisTemplate; dropped")


class _Rollout(_Canary):
    """One Argo Rollout: its rollout, and the routing meshgen shaped for it put back."""

    def __init__(self, run: WorkloadRun, reading: RolloutReading, obj: SourceObject, templates: dict, used: set) -> None:
        super().__init__(run, reading, obj, templates, used, {}, frozenset())

    def read(self) -> None:
        obj, spec = self.obj, self.obj.spec
        for key in spec:
            if key not in ROLLOUT_SPEC:
                what = "the pod template is not intent (meshgen's Rollout takes over a Deployment by workloadRef)" if key == "template" else "no equivalent in the intent"
                self.f.lost(obj, ("spec", key), f"Rollout field {key}: {what}; dropped")
        ref = spec.get("workloadRef") or {}
        workload = str(ref.get("name") or obj.name)
        if ref and (ref.get("kind") != "Deployment" or ref.get("apiVersion") != "apps/v1"):
            self.f.lost(obj, ("spec", "workloadRef"), f"the intent's rollouts take over a Deployment (apps/v1), not {ref.get('apiVersion')} {ref.get('kind')}; rollout dropped")
            return
        if ref and ref.get("scaleDown", "onsuccess") != "onsuccess":
            self.f.approximated(obj, ("spec", "workloadRef", "scaleDown"), "meshgen's Rollout scales the Deployment down onsuccess")
        strategy = spec.get("strategy") or {}
        rollout: dict[str, Any] = {"controller": "argo-rollouts"}
        if "blueGreen" in strategy:
            name = self._blue_green(strategy["blueGreen"], rollout)
        elif "canary" in strategy:
            name = self._canary(strategy["canary"], rollout)
        else:
            self.f.lost(obj, ("spec", "strategy"), "neither canary nor blueGreen; rollout dropped")
            return
        for key in strategy:
            if key not in ("canary", "blueGreen"):
                self.f.lost(obj, ("spec", "strategy", key), f"strategy {key} has no equivalent in the intent; dropped")
        if name is None:
            return
        if workload != name:
            rollout = {"controller": rollout.pop("controller"), "workload": workload, **rollout}
        self.reading.add(self.run, (self.ns, name), obj, rollout)
        if "replicas" in spec:
            self.reading.replicas[(self.ns, name)] = int(spec["replicas"])

    # --- strategies -------------------------------------------------------------------------

    def _blue_green(self, blue: dict, rollout: dict[str, Any]) -> str | None:
        base = ("spec", "strategy", "blueGreen")
        for key in blue:
            if key not in ROLLOUT_BLUE_GREEN:
                self.f.lost(self.obj, (*base, key), f"blueGreen field {key} has no equivalent in the intent; dropped")
        name = str(blue.get("activeService") or self.obj.name)
        rollout["strategy"] = "blue-green"
        analysis = self._template(blue.get("prePromotionAnalysis"), (*base, "prePromotionAnalysis"), name)
        rollout["interval"] = analysis.pop("_interval", "1m")
        self._finish_analysis(rollout, analysis)
        if blue.get("autoPromotionEnabled", True) is False:
            rollout.setdefault("webhooks", {})["manualGate"] = {}
        preview = blue.get("previewService")
        if preview:
            self._drop_split_service(str(preview), name)
        return name

    def _canary(self, canary: dict, rollout: dict[str, Any]) -> str | None:
        base = ("spec", "strategy", "canary")
        for key in canary:
            if key not in ROLLOUT_CANARY:
                self.f.lost(self.obj, (*base, key), f"canary field {key} has no equivalent in the intent; dropped")
        routing = canary.get("trafficRouting") or {}
        name = self._canary_routing(canary, routing, (*base, "trafficRouting"))
        if name is None:
            name = self.obj.name
            if not any(o.name == name and self.run.ns(o) == self.ns for o in self.run.by_kind.get("Service", [])):
                self.f.lost(self.obj, base, f"no traffic routing names the service, and no Service {self.ns}/{name} is read here; rollout dropped")
                return None
        analysis = self._template(canary.get("analysis"), (*base, "analysis"), name)
        interval = analysis.pop("_interval", None)
        rollout["strategy"] = "canary"
        steps, gate = self._steps(canary.get("steps") or [], (*base, "steps"))
        if interval is None:
            pauses = [p for _, p in steps if p is not None]
            interval = max(sorted(set(pauses)), key=pauses.count) if pauses else "1m"
        rollout["steps"] = [{"weight": w, **({"pause": p} if p is not None and _ms(p) != _ms(interval) else {})} for w, p in steps]
        rollout["interval"] = interval
        self._finish_analysis(rollout, analysis)
        if gate:
            rollout.setdefault("webhooks", {})["manualGate"] = {}
        return name

    def _steps(self, steps: list, base: tuple) -> tuple[list[tuple[int, str | None]], bool]:
        """``setWeight`` + ``pause.duration`` pairs -> (weight, pause); a last ``pause: {}`` is the manual gate."""
        out: list[tuple[int, str | None]] = []
        gate = False
        for i, step in enumerate(steps):
            if "setWeight" in step and len(step) == 1:
                out.append((int(step["setWeight"]), None))
            elif "pause" in step and len(step) == 1:
                duration = (step.get("pause") or {}).get("duration")
                if duration is None:
                    if i == len(steps) - 1:
                        gate = True
                    else:
                        self.f.lost(self.obj, (*base, i), "a pause without duration before the last step: the intent's manual gate is before promotion only; dropped")
                elif out and out[-1][1] is None:
                    out[-1] = (out[-1][0], _duration(duration))
                else:
                    self.f.lost(self.obj, (*base, i), "a pause that follows no setWeight: the intent pauses after each weight; dropped")
            else:
                self.f.lost(self.obj, (*base, i), f"step {', '.join(step)} has no equivalent in the intent (it has setWeight then pause); dropped")
        return out, gate

    def _canary_routing(self, canary: dict, routing: dict, base: tuple) -> str | None:
        """Put back what meshgen shaped for Argo's traffic routing; the service's name (None: none names it)."""
        for key in routing:
            if key not in (_ISTIO_ROUTING, _PLUGINS_ROUTING):
                self.f.lost(self.obj, (*base, key), f"traffic routing {key} is not one meshgen writes; dropped")
        istio = routing.get(_ISTIO_ROUTING)
        if istio:
            vs = (istio.get("virtualService") or {}).get("name")
            dr = (istio.get("destinationRule") or {}).get("name")
            if vs:
                self._unsplit_virtual_service(str(vs), [str(r) for r in (istio.get("virtualService") or {}).get("routes") or []])
            if dr:
                self._unsplit_destination_rule(str(dr))
            return str(vs or dr) if (vs or dr) else None
        plugins = routing.get(_PLUGINS_ROUTING) or {}
        for key in plugins:
            if key != _GATEWAY_PLUGIN:
                self.f.lost(self.obj, (*base, _PLUGINS_ROUTING, key), f"traffic router plugin {key} is not read by this importer; dropped")
        config = plugins.get(_GATEWAY_PLUGIN)
        if not config:
            return None
        stable, canary_name = str(canary.get("stableService") or ""), str(canary.get("canaryService") or "")
        names = [str(r.get("name")) for k in ("httpRoutes", "grpcRoutes") for r in (config.get(k) or [])]
        names += [str(config[k]) for k in ("httpRoute", "grpcRoute") if config.get(k)]
        service = None
        for kind in ("HTTPRoute", "GRPCRoute"):
            for route in list(self.run.by_kind.get(kind, [])):
                if route.name in names and self.run.ns(route) == self.ns:
                    service = self._unsplit_route(route, stable, canary_name) or service
        for split in (stable, canary_name):
            if split and service:
                self._drop_split_service(split, service)
        return service

    # --- routing put back -------------------------------------------------------------------

    def _replace(self, obj: SourceObject, body: dict) -> None:
        """Read ``body`` in place of ``obj`` (same file:line; ``obj`` counts as read)."""
        self._drop(obj)
        made = Derived(obj.file, obj.line, body if isinstance(body, PosMap) else _positioned(body, obj.line), "")
        self.run.by_kind.setdefault(made.kind, []).append(made)
        self.reading.derived.append(made)

    def _find(self, kind: str, name: str) -> SourceObject | None:
        return next((o for o in self.run.by_kind.get(kind, []) if o.name == name and self.run.ns(o) == self.ns), None)

    def _unsplit_virtual_service(self, name: str, routes: list[str]) -> None:
        vs = self._find("VirtualService", name)
        if vs is None:
            return
        body = copy.deepcopy(vs.body)
        changed = False
        for rule in body.get("spec", {}).get("http") or []:
            if rule.get("name") not in routes:
                continue
            pair = [d for d in rule.get("route") or [] if (d.get("destination") or {}).get("subset") in ("stable", "canary")]
            subsets = {(d["destination"].get("subset"), d.get("weight")) for d in pair}
            if len(pair) == 2 and subsets == {("stable", 100), ("canary", 0)} and pair[0]["destination"].get("host") == pair[1]["destination"].get("host"):
                rest = [d for d in rule["route"] if d not in pair]
                rule["route"] = rest + [_positioned({"destination": {"host": pair[0]["destination"]["host"]}}, rule.line)]
                changed = True
        if changed:
            self._replace(vs, body)

    def _unsplit_destination_rule(self, name: str) -> None:
        dr = self._find("DestinationRule", name)
        if dr is None:
            return
        subsets = (dr.spec.get("subsets") or [])
        ours = [s for s in subsets if s.get("name") in ("stable", "canary")]
        if len(ours) != 2 or plain(ours[0].get("labels")) != plain(ours[1].get("labels")):
            return
        body = copy.deepcopy(dr.body)
        kept = [s for s in subsets if s.get("name") not in ("stable", "canary")]
        if kept:
            body["spec"]["subsets"] = kept
        else:
            del body["spec"]["subsets"]
        self._replace(dr, body)

    def _unsplit_route(self, route: SourceObject, stable: str, canary: str) -> str | None:
        """A GAMMA route whose rules send to ``stable`` (100) and ``canary`` (0) -> to its parent Service."""
        parents = route.spec.get("parentRefs") or []
        service = next((str(p.get("name")) for p in parents if p.get("kind") == "Service"), None)
        if service is None:
            return None
        body = copy.deepcopy(route.body)
        changed = False
        for rule in body.get("spec", {}).get("rules") or []:
            refs = rule.get("backendRefs") or []
            pair = {(r.get("name"), r.get("weight")): r for r in refs}
            if len(refs) == 2 and set(pair) == {(stable, 100), (canary, 0)} and refs[0].get("port") == refs[1].get("port"):
                ref = {"name": service, **({"port": refs[0]["port"]} if "port" in refs[0] else {})}
                rule["backendRefs"] = _positioned([ref], refs.line if isinstance(refs, PosList) else route.line)
                changed = True
        if changed:
            self._replace(route, body)
        return service

    def _drop_split_service(self, name: str, service: str) -> None:
        """The ``<svc>-stable``/``-canary``/``-preview`` Service meshgen wrote for Argo, labelled ``meshgen.dev/rollout-of``."""
        obj = self._find("Service", name)
        if obj is not None and (obj.metadata.get("labels") or {}).get(_ROLLOUT_OF) == service:
            self._drop(obj)

    # --- the analysis -----------------------------------------------------------------------

    def _template(self, ref: Any, path: tuple, service: str) -> dict[str, Any]:
        """The AnalysisTemplate ``ref`` names -> intent analysis data (``_interval``, ``_loadTest``)."""
        if not ref:
            return {}
        for key in ref:
            if key not in ("templates", "args"):
                self.f.lost(self.obj, (*path, key), f"analysis field {key} has no equivalent in the intent; dropped")
        names = [str(t.get("templateName")) for t in ref.get("templates") or []]
        if len(names) != 1:
            self.f.lost(self.obj, (*path, "templates"), "the intent's analysis is one AnalysisTemplate; dropped")
            return {}
        key = (self.ns, names[0])
        template = self.templates.get(key)
        if template is None:
            self.f.lost(self.obj, (*path, "templates", 0), f"AnalysisTemplate {key[0]}/{key[1]} is not read here; analysis dropped")
            return {}
        self.used.add(key)
        out: dict[str, Any] = {}
        for k in template.spec:
            if k not in ("args", "metrics"):
                self.f.lost(template, ("spec", k), f"AnalysisTemplate field {k} has no equivalent in the intent; dropped")
        intervals: list[str] = []
        limits: list[int] = []
        for i, metric in enumerate(template.spec.get("metrics") or []):
            mpath = ("spec", "metrics", i)
            for k in metric:
                if k not in ANALYSIS_METRIC:
                    self.f.lost(template, (*mpath, k), f"metric field {k} has no equivalent in the intent; dropped")
            provider = metric.get("provider") or {}
            interval = str(metric.get("interval") or "")
            kind = self._argo_metric(template, metric, provider, interval, mpath, out)
            if kind is None:
                continue
            if interval:
                intervals.append(interval)
            if "failureLimit" in metric:
                limits.append(int(metric["failureLimit"]))
            if "count" in metric:
                out["iterations"] = int(metric["count"])
        if intervals:
            out["_interval"] = intervals[0]
            if len(set(intervals)) > 1:
                self.f.approximated(template, ("spec", "metrics"), f"the intent checks every metric every interval; imported as {intervals[0]}")
        if limits:
            # Argo fails the run when failures exceed failureLimit; the intent counts the failure that rolls back
            out["failureLimit"] = limits[0] + 1
            if len(set(limits)) > 1:
                self.f.approximated(template, ("spec", "metrics"), f"one failureLimit for every check; imported as {limits[0]}")
        return out

    def _argo_metric(self, template: SourceObject, metric: dict, provider: dict, interval: str, path: tuple, out: dict) -> str | None:
        if "web" in provider:
            web = provider["web"]
            body = plain(web.get("jsonBody") or {})
            meta = body.get("metadata") or {}
            if web.get("method") == "POST" and set(body) == {"name", "namespace", "metadata"} and meta.get("type") == "cmd" and meta.get("cmd") and set(meta) == {"type", "cmd"}:
                out["_loadTest"] = {"url": str(web.get("url")), "command": str(meta["cmd"])}
                return "load"
            self.f.lost(template, (*path, "provider", "web"), "a web check other than the load test meshgen writes (POST of flagger-loadtester's payload); dropped")
            return None
        prometheus = provider.get("prometheus")
        if not prometheus:
            self.f.lost(template, (*path, "provider"), "a provider other than prometheus; check dropped")
            return None
        kind = _argo_queries(interval).get(str(prometheus.get("query")))
        if kind is None:
            self.f.lost(template, (*path, "provider", "prometheus", "query"), "not a query meshgen writes (the intent's checks use the platform's request metrics); check dropped")
            return None
        condition = str(metric.get("successCondition") or "")
        match = (_SUCCESS if kind == "success" else _LATENCY).fullmatch(condition)
        if match is None:
            self.f.lost(template, (*path, "successCondition"), f"not the {kind} condition meshgen writes; check dropped")
            return None
        if kind == "success":
            out["successRate"] = number(match["n"])
        else:
            out["latencyP99"] = f"{match['n']}ms"
        if prometheus.get("address"):
            self.reading.prometheus.append((str(prometheus["address"]), template))
        return kind

    def _finish_analysis(self, rollout: dict[str, Any], analysis: dict[str, Any]) -> None:
        load = analysis.pop("_loadTest", None)
        if "successRate" not in analysis and not load and not analysis:
            analysis = {}
        out = {k: analysis[k] for k in ("iterations", "successRate", "latencyP99", "failureLimit") if k in analysis}
        if "successRate" in out and "latencyP99" not in out:
            out["latencyP99"] = None
        if out:
            rollout["analysis"] = out
        if load:
            rollout.setdefault("webhooks", {})["loadTest"] = load


def _duration(value: Any) -> str:
    """An Argo duration (``1m``, ``30s``, or whole seconds as a number) as the intent writes it."""
    return f"{int(value)}s" if isinstance(value, (int, float)) or str(value).isdigit() else str(value)


def _ms(text: str) -> int:
    from meshgen.intent.types import Duration

    try:
        return Duration.parse(text).ms
    except ValueError:
        return -1
