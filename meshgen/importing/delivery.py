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

import json
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
#: The providers whose router writes a VirtualService (fluxcd/flagger pkg/router/factory.go).
_VIRTUAL_SERVICE_PROVIDERS = frozenset({"istio"})
#: Flagger providers meshgen writes (meshgen/platforms/*/delivery.py).
_PROVIDERS = frozenset({"istio", "gatewayapi:v1", "kubernetes"})
#: The webhook meshgen writes for a load test (flagger.py ``_webhooks``).
_LOAD_TEST_TIMEOUT = "5s"


def _all_queries() -> dict[str, str]:
    """Every MetricTemplate query meshgen writes, on any platform -> ``success`` or ``latency``."""
    import importlib
    import pkgutil

    import meshgen.platforms as platforms

    out: dict[str, str] = {}
    for info in pkgutil.iter_modules(platforms.__path__):
        try:
            module = importlib.import_module(f"meshgen.platforms.{info.name}.delivery")
        except ModuleNotFoundError:
            continue
        metrics = module.DELIVERY.metrics
        if metrics is not None:
            out[flagger_query(metrics.success_rate)] = "success"
            out[flagger_query(metrics.latency_p99)] = "latency"
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
    """

    rollouts: dict[tuple[str, str], tuple[SourceObject, dict[str, Any]]] = field(default_factory=dict)
    controllers: list[str] = field(default_factory=list)
    prometheus: list[tuple[str, SourceObject]] = field(default_factory=list)
    derived: list[SourceObject] = field(default_factory=list)

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
            svc.pop("versions", None)  # the controller splits traffic; a rollout has no static versions
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
        if provider not in _PROVIDERS:
            self.f.approximated(obj, ("spec", "provider"), f"provider {provider or '(Flagger default)'}: the render writes the target platform's own provider")
        self._analysis(rollout)
        selector = self._left_out_service(name, service, workload)
        if selector is not None:
            self._routing(name, service, provider, self._l7_ports)
            self._coverage(selector)
        self.reading.rollouts[(self.ns, name)] = (obj, rollout)
        self.reading.controllers.append("flagger")

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
        if provider in _VIRTUAL_SERVICE_PROVIDERS:
            route: dict[str, Any] = {"name": "default", "route": [{"destination": {"host": host}}]}
            route.update({k: service[k] for k in _VS_CARRIED if k in service})
            self._add({"apiVersion": "networking.istio.io/v1", "kind": "VirtualService", "metadata": {"name": name, "namespace": self.ns},
                       "spec": {"hosts": [host], "http": [route]}})
            if service.get("trafficPolicy"):
                self._add({"apiVersion": "networking.istio.io/v1", "kind": "DestinationRule", "metadata": {"name": name, "namespace": self.ns},
                           "spec": {"host": host, "trafficPolicy": service["trafficPolicy"]}})
        else:
            for key in ("timeout", "retries", "corsPolicy", "headers", "trafficPolicy"):
                if key in service and not (key == "timeout" and service.get("gatewayRefs")):
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
            by_name = {o.name: o for o in objs}
            for copy in objs:
                original = next((o for n, o in by_name.items() if object_name(n, "primary") == copy.name and o is not copy), None)
                if original is None:
                    continue
                mine, theirs = plain(copy.body), plain(original.body)
                mine["metadata"]["name"] = theirs["metadata"]["name"]
                if _relabel(mine, labels.label, f"{labels.value}-primary", labels.value) == theirs:
                    self._drop(copy)

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
        return f"{super().ref} (from {self.origin})"


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
