"""The Kubernetes half every importer shares: Services and Deployments -> intent services.

:class:`WorkloadRun` holds one import's state and reads what every platform's manifests have in
common, the inverse of :mod:`meshgen.platforms.base`'s workloads and Services:

- ``Service`` -> a service: ``selector`` (omitted when ``{app: <name>}``), ``ports`` (name,
  port, ``targetPort`` when it differs, protocol from ``appProtocol``
  https://kubernetes.io/docs/concepts/services-networking/service/#application-protocol);
  a Service without selector (external endpoints) is LOST.
- ``Deployment``/``StatefulSet`` whose pod labels a Service's selector matches ->
  ``serviceAccount`` (``spec.template.spec.serviceAccountName``, default ``default``) and
  ``replicas`` (the largest of the workloads', omitted when 1).
- ``ServiceAccount`` of a service read -> handled (the service's identity).
- Everything not handled -> NOT_UNDERSTOOD, except a Kustomization and the operations objects
  meshgen writes (``app.kubernetes.io/managed-by: meshgen``), which are APPROXIMATED.

Platforms subclass it and hook in where they differ: :meth:`WorkloadRun._prepare_ports` and
:meth:`WorkloadRun._protocol` (how a port's protocol is known without ``appProtocol``),
:meth:`WorkloadRun._skip_service` and :meth:`WorkloadRun._service_read`. The caller identities
and versions the Istio, Cilium and Consul importers share are in
:mod:`meshgen.importing.identities`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable

from meshgen.importing.common import APP_PROTOCOLS
from meshgen.importing.findings import APPROXIMATED, NOT_UNDERSTOOD, Findings
from meshgen.importing.gateway_api import GATEWAY_API, import_gateways
from meshgen.importing.model import Imported
from meshgen.importing.reader import VALUES_KIND, SourceObject

if TYPE_CHECKING:
    from meshgen.importing.delivery import RolloutReading

#: Objects meshgen writes from ``spec.telemetry``/``spec.mesh`` (operations), regenerated from
#: the imported intent's defaults; other tools' objects of these kinds are not understood.
OPERATIONS_KINDS = frozenset({"PodMonitor", "ServiceMonitor", "PrometheusRule", "Telemetry", "Kustomization", "ReferenceGrant"})


def managed(obj: SourceObject) -> bool:
    """True for an object meshgen wrote (label ``app.kubernetes.io/managed-by: meshgen``) or a Kustomization."""
    labels = obj.metadata.get("labels") or {}
    return labels.get("app.kubernetes.io/managed-by") == "meshgen" or obj.kind == "Kustomization"


class WorkloadRun:
    """One import's state plus the Kubernetes readers (see the module docstring).

    Attributes:
        out: the :class:`~meshgen.importing.model.Imported` being built; ``f`` its findings.
        by_kind: kind -> objects of that kind, in input order.
        home: the namespace most Services are in (ties: the first by name; none: ``default``),
            the intent's ``defaults.namespace``.
        services: ``(namespace, name)`` -> intent service data; ``selectors`` the same keys ->
            the Service's pod selector.
        handled: ``id()`` of every object read (the rest are reported by :meth:`_report_leftovers`).
        mesh: the intent's ``spec.mesh``.
        telemetry: the intent's ``spec.telemetry`` (empty: the defaults), filled by the
            operations readers (:mod:`meshgen.importing.operations`).
        subset_sources: service key -> the object its versions came from (for findings).
    """

    #: Platform name in "not read by the <platform> importer" findings.
    platform = ""
    #: Kinds reported APPROXIMATED (regenerated) rather than not understood when meshgen wrote them.
    operations_kinds: frozenset[str] = OPERATIONS_KINDS

    def __init__(self, objects: list[SourceObject]) -> None:
        self.out = Imported()
        self.f: Findings = self.out.findings
        by_kind: dict[str, list[SourceObject]] = {}
        for obj in objects:
            by_kind.setdefault(obj.kind, []).append(obj)
        self.by_kind = by_kind
        namespaces = [o.namespace for o in by_kind.get("Service", []) if o.namespace]
        self.home = max(sorted(set(namespaces)), key=namespaces.count) if namespaces else "default"
        self.services: dict[tuple[str, str], dict[str, Any]] = {}
        self.selectors: dict[tuple[str, str], dict[str, str]] = {}
        self.handled: set[int] = set()
        self.mesh: dict[str, Any] = {}
        self.telemetry: dict[str, Any] = {}
        self.subset_sources: dict[tuple[str, str], SourceObject] = {}
        self._versioned: dict[str, list[dict[str, Any]]] | None = None
        #: set by meshgen.importing.delivery.read_rollouts (the importers that read rollouts call it)
        self.rollouts: RolloutReading | None = None

    # --- bookkeeping ---------------------------------------------------------------------

    def take(self, kind: str, group: str | None = None) -> list[SourceObject]:
        """The objects of ``kind`` (and API ``group`` when given), marked handled."""
        objs = [o for o in self.by_kind.get(kind, []) if group is None or o.group == group]
        self.handled.update(id(o) for o in objs)
        return objs

    def source(self, key: tuple[str, str], obj: SourceObject) -> None:
        """Record ``obj`` as one of the objects service ``key`` came from."""
        self.out.sources.setdefault(key, []).append(f"{obj.ref} ({obj.file}:{obj.line})")

    def ns(self, obj: SourceObject) -> str:
        """``obj``'s namespace, ``home`` when it has none."""
        return obj.namespace or self.home

    def _app_name(self, objects: list[SourceObject]) -> None:
        """``metadata.name`` from the ``app.kubernetes.io/part-of`` label meshgen writes (first by name)."""
        names = sorted({str((o.metadata.get("labels") or {}).get("app.kubernetes.io/part-of") or "") for o in objects} - {""})
        if names:
            self.out.name = names[0]

    def _gateways(self, routes: list[SourceObject], gateway_class: str,
                  original: Callable[[SourceObject], SourceObject] = lambda o: o) -> list[dict[str, Any]]:
        """Gateway API Gateways and ``routes`` -> intent gateways (gateway_api.import_gateways);
        the objects read are marked handled (``original`` maps a rewritten route to the one read)."""
        gateways, used = import_gateways(self.take("Gateway", group=GATEWAY_API), routes, gateway_class, self.f, self.home, set(self.services))
        self.handled.update(id(original(o)) for o in used)
        return gateways

    def _spec(self, gateways: list[dict[str, Any]], egress: list[dict[str, Any]] | None = None) -> None:
        """Lay out ``out.spec``: mesh, telemetry (when read), defaults, services by key, then gateways and egress when any."""
        spec: dict[str, Any] = {"mesh": self.mesh}
        if self.telemetry:
            spec["telemetry"] = self.telemetry
        spec["defaults"] = {"namespace": self.home}
        spec["services"] = [self.services[k] for k in sorted(self.services)]
        if gateways:
            spec["gateways"] = gateways
        if egress:
            spec["egress"] = egress
        if self.rollouts is not None:
            self.rollouts.finish(self, spec)
        self.out.spec = spec
        self.result = self.out

    # --- Service, Deployment ---------------------------------------------------------------

    def _prepare_ports(self) -> None:
        """Hook: gather what :meth:`_port_hint` needs, once before the Services are read."""

    def _port_hint(self, key: tuple[str, str], selector: dict[str, str], target: Any, name: str) -> Any:
        """Hook: the platform's extra protocol evidence for a port, passed to :meth:`_protocol`."""
        return None

    def _skip_service(self, obj: SourceObject) -> bool:
        """Hook: True for a Service read elsewhere (a version's, for instance)."""
        return False

    def _service_read(self, obj: SourceObject, svc: dict[str, Any]) -> None:
        """Hook: read the platform's settings on the Service (annotations) into ``svc``."""

    def _services(self) -> None:
        self._prepare_ports()
        for obj in self.take("Service", group=""):
            if self._skip_service(obj):
                continue
            spec = obj.spec
            key = (self.ns(obj), obj.name)
            svc: dict[str, Any] = {"name": obj.name}
            if key[0] != self.home:
                svc["namespace"] = key[0]
            selector = {str(k): str(v) for k, v in (spec.get("selector") or {}).items()}
            if not selector:
                self.f.lost(obj, ("spec", "selector"), "a Service without selector (external endpoints) is not an intent service; dropped")
                continue
            if selector != {"app": obj.name}:
                svc["selector"] = selector
            self.selectors[key] = selector
            ports = []
            for i, port in enumerate(spec.get("ports") or []):
                path = ("spec", "ports", i)
                item: dict[str, Any] = {"name": str(port.get("name") or f"port-{port.get('port')}"), "port": int(port["port"])}
                if not port.get("name"):
                    self.f.approximated(obj, path, f"unnamed port named {item['name']}")
                target = port.get("targetPort", port["port"])
                if isinstance(target, int):
                    if target != item["port"]:
                        item["targetPort"] = int(target)
                else:
                    self.f.lost(obj, (*path, "targetPort"), f"a named targetPort ({target}) is taken as the port number {item['port']}")
                item["protocol"] = self._protocol(obj, path, port, self._port_hint(key, selector, target, item["name"]))
                ports.append(item)
            svc["ports"] = ports
            self._service_read(obj, svc)
            self.services[key] = svc
            self.source(key, obj)

    def _protocol(self, obj: SourceObject, path: tuple, port: dict, hint: Any) -> str:
        """A Service port's protocol: UDP, ``appProtocol``, the ``<protocol>[-<suffix>]`` port
        name (Istio's naming, https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/),
        else what the proxy would sniff: http when ``hint`` (routes with HTTP rules), else tcp (APPROXIMATED)."""
        if str(port.get("protocol", "TCP")) == "UDP":
            return "udp"
        app = port.get("appProtocol")
        if app in APP_PROTOCOLS:
            return APP_PROTOCOLS[str(app)]
        prefix = str(port.get("name") or "").split("-")[0]
        if prefix in APP_PROTOCOLS:
            return APP_PROTOCOLS[prefix]
        guess = "http" if hint else "tcp"
        self.f.approximated(obj, path, f"no appProtocol or protocol name prefix, so Istio sniffs the protocol; imported as {guess}")
        return guess

    def _deployments(self) -> None:
        for obj in self.take("Deployment") + self.take("StatefulSet"):
            template = obj.spec.get("template") or {}
            labels = (template.get("metadata") or {}).get("labels") or {}
            matched = False
            for key, selector in self.selectors.items():
                if key[0] == self.ns(obj) and all(labels.get(k) == v for k, v in selector.items()):
                    matched = True
                    svc = self.services[key]
                    sa = str((template.get("spec") or {}).get("serviceAccountName") or "default")
                    if sa != svc["name"]:
                        svc["serviceAccount"] = sa
                    replicas = int(obj.spec.get("replicas", 1))
                    if replicas > svc.get("replicas", 1):  # several workloads behind one Service: the largest
                        svc["replicas"] = replicas
                    self.source(key, obj)
            if not matched:
                self.f.add(obj, (), NOT_UNDERSTOOD, "no Service selects these pods; the intent describes services")

    def _service_accounts(self) -> None:
        used = {(k[0], s.get("serviceAccount", s["name"])) for k, s in self.services.items()}
        for obj in self.by_kind.get("ServiceAccount", []):
            if (self.ns(obj), obj.name) in used:
                self.handled.add(id(obj))  # the identity of a service read above

    def _targets(self, obj: SourceObject, selector: Any) -> list[tuple[str, str]]:
        """A policy's pod selector (``matchLabels`` data; None: the whole namespace) -> the
        services it applies to: the exact selector match, else every overlapping one (APPROXIMATED),
        else none (LOST)."""
        ns = self.ns(obj)
        if selector is None:
            return [k for k in sorted(self.services) if k[0] == ns]
        labels = {str(k): str(v) for k, v in selector.items()}
        exact = [k for k, sel in self.selectors.items() if k[0] == ns and sel == labels]
        if exact:
            return exact
        wider = [k for k, sel in self.selectors.items() if k[0] == ns and all(labels.get(a) == b for a, b in sel.items())]
        narrower = [k for k, sel in self.selectors.items() if k[0] == ns and all(sel.get(a) == b for a, b in labels.items())]
        found = sorted(set(wider + narrower))
        if found:
            self.f.approximated(obj, ("spec", "selector"), f"the selector does not match one service exactly; applied to {', '.join(k[1] for k in found)}")
        else:
            self.f.lost(obj, ("spec", "selector"), "selects no Service read here; dropped")
        return found

    # --- what is left ----------------------------------------------------------------------

    def _report_leftovers(self, objects: Iterable[SourceObject]) -> None:
        """Report every object not handled: a Kustomization or meshgen's operations objects
        APPROXIMATED (regenerated), anything else NOT_UNDERSTOOD; the objects put back from a
        Canary (:mod:`meshgen.importing.delivery`) too."""
        for obj in [*objects, *(self.rollouts.derived if self.rollouts is not None else ())]:
            if id(obj) in self.handled:
                continue
            if obj.kind == VALUES_KIND:
                self.f.add(obj, (), APPROXIMATED, "not a Kubernetes object (no apiVersion and kind); meshgen wrote it "
                           "(Helm values from spec.mesh), regenerated from the imported intent's defaults")
            elif obj.kind == "Kustomization":
                self.f.add(obj, (), APPROXIMATED, "a kustomization only lists files; meshgen render writes its own")
            elif obj.kind in self.operations_kinds and managed(obj):
                self.f.add(obj, (), APPROXIMATED, "written by meshgen from spec.telemetry/spec.mesh; regenerated from the imported intent's defaults")
            else:
                self.f.add(obj, (), NOT_UNDERSTOOD, f"{obj.api_version} {obj.kind} is not read by the {self.platform} importer")
