"""Kubernetes (no mesh) manifests -> an intent: the inverse of :mod:`meshgen.platforms.kubernetes.platform`.

Read: Service and Deployment (through the shared readers of meshgen.importing.workloads),
``networking.k8s.io/v1`` NetworkPolicy (``allowFrom``, ``mesh.defaultDeny``,
``mesh.egressDefaultDeny``), Gateway API gateways and routes (class ``nginx`` by default), and
the cert-manager chain meshgen writes for application TLS (kubernetes.certificates: a
self-signed root, a workload CA behind a ClusterIssuer, one Certificate per workload identity,
a trust-manager Bundle) as ``mesh.ca`` (type cert-manager, lifetimes, renewBefore, caNamespace)
and ``mesh.trustDomain`` (the SPIFFE URI SAN). Other cert-manager objects are not understood.

How ambiguity is resolved, as the data plane would
(https://kubernetes.io/docs/concepts/services-networking/network-policies/):

- Policies are a union of allows, with no order and no deny: every ``from`` peer of every
  policy selecting a service's pods is an ``allowFrom`` caller on the entry's ports. A pod that
  some Ingress policy selects is isolated: a policy selecting a service with no ``ingress`` (or
  none the intent can carry) leaves it closed, which the intent says with ``mesh.defaultDeny``.
- A ``podSelector: {}`` Ingress policy without rules is a namespace's default deny; one in any
  namespace makes ``mesh.defaultDeny`` true (for every namespace: fail closed, reported).
- A peer is named as meshgen names callers (network_policy.caller_peers, inverted): the pod
  selector of a Service in that namespace is that service, ``gateway.networking.k8s.io/gateway-name``
  is a gateway (GEP-1762), other labels a ``selector`` caller, a namespace alone a ``namespace``
  caller. A gateway peer on the ports its routes reach is the allow the routes imply.
- What cannot be expressed fails closed: an ``ipBlock`` peer, a rule without ``from`` (every
  source), ``NotIn`` expressions and a peer over every namespace are dropped (fewer admitted).
  Egress policies other than meshgen's (DNS plus the cluster's pods) are reported: the intent's
  ``egressDefaultDeny`` is the only egress restriction between pods it has.
"""

from __future__ import annotations

from typing import Any

from meshgen.importing.cert_manager import DEFAULT_DURATION, find_chain, go_duration, issued_by, read_ca
from meshgen.importing.delivery import read_rollouts
from meshgen.importing.common import APP_PROTOCOLS, check_keys, plain
from meshgen.importing.gateway_api import ROUTE_KINDS
from meshgen.importing.identities import IdentityRun
from meshgen.importing.reader import SourceObject
from meshgen.importing.workloads import GATEWAY_API
from meshgen.intent.types import Duration
from meshgen.platforms.kubernetes.network_policy import GATEWAY_NAME_LABEL, KUBE_DNS, NAMESPACE_LABEL
from meshgen.platforms.kubernetes.traffic import DEFAULT_GATEWAY_CLASS

NETWORKING_GROUPS = frozenset({"networking.k8s.io"})
#: The egress rules meshgen writes under egressDefaultDeny (network_policy._egress).
MESHGEN_EGRESS = [
    {
        "to": [{"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: KUBE_DNS[0]}}, "podSelector": {"matchLabels": dict(KUBE_DNS[1])}}],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    },
    {"to": [{"namespaceSelector": {}}]},
]


class KubernetesImporter:
    """Reads Services, NetworkPolicies (``networking.k8s.io/v1``) and Gateway API v1."""

    groups = NETWORKING_GROUPS
    gateway_class = DEFAULT_GATEWAY_CLASS

    def run(self, objects: list[SourceObject]):
        """Objects -> intent data and findings (see the module docstring for the rules). Pure."""
        return _Run(self, objects).result


class _Run(IdentityRun):
    platform = "kubernetes"

    def __init__(self, importer: KubernetesImporter, objects: list[SourceObject]) -> None:
        super().__init__(objects)
        read_rollouts(self)  # Flagger's Canary and what meshgen left to Flagger (importing/delivery.py)
        self.importer = importer
        self.mesh["defaultDeny"] = False
        self._app_name(objects)
        self._namespaces()
        self._services()
        self._version_services()
        self._deployments()
        self._service_accounts()
        self.gateways = gateways = self._gateways(
            [o for k in ROUTE_KINDS for o in self.by_kind.get(k, []) if o.group == GATEWAY_API], importer.gateway_class
        )
        self._policies()
        self._certificates()
        self._leftovers(objects)
        self._spec(gateways)

    def _version_services(self) -> None:
        """``<service>-<version>`` Services selecting a subset of ``<service>``'s pods: those meshgen
        writes for weighted gateway routes (traffic.gateways). Versions are not imported; the
        gateway's weighted split over them is reported where it is read."""
        for key in sorted(self.services):
            base = next((k for k in self.selectors if k[0] == key[0] and key[1].startswith(k[1] + "-") and k != key), None)
            if base is None:
                continue
            mine, theirs = self.selectors[key], self.selectors[base]
            if set(theirs.items()) < set(mine.items()):
                obj = next(o for o in self.by_kind["Service"] if (self.ns(o), o.name) == key)
                self.f.approximated(obj, ("spec", "selector"), f"a Service for some pods of {base[1]} (a version): versions are not imported")
                del self.services[key], self.selectors[key]
                self.out.sources.pop(key, None)

    def _protocol(self, obj: SourceObject, path: tuple, port: dict, hint: Any) -> str:
        """Without a proxy nothing sniffs: a port without appProtocol or name prefix is plain TCP."""
        if str(port.get("protocol", "TCP")) == "UDP" or port.get("appProtocol") in APP_PROTOCOLS or str(port.get("name") or "").split("-")[0] in APP_PROTOCOLS:
            return super()._protocol(obj, path, port, False)
        self.f.approximated(obj, path, "no appProtocol or protocol name prefix; imported as tcp")
        return "tcp"

    # --- NetworkPolicy ------------------------------------------------------------------------

    def _policies(self) -> None:
        closed: list[tuple[SourceObject, tuple[str, str]]] = []
        deny_namespaces: dict[str, SourceObject] = {}
        for obj in self.take("NetworkPolicy", group="networking.k8s.io"):
            spec = obj.spec
            check_keys(obj, spec, ("spec",), {"podSelector", "policyTypes", "ingress", "egress"}, self.f)
            types = [str(t) for t in spec.get("policyTypes") or (["Ingress", "Egress"] if spec.get("egress") else ["Ingress"])]
            selector = spec.get("podSelector") or {}
            check_keys(obj, selector, ("spec", "podSelector"), {"matchLabels"}, self.f, "selector")
            labels = {str(k): str(v) for k, v in (selector.get("matchLabels") or {}).items()}
            if "Egress" in types:
                self._egress_policy(obj, labels)
            if "Ingress" not in types:
                continue
            ingress = spec.get("ingress") or []
            if not labels:
                if ingress:
                    self.f.lost(obj, ("spec", "ingress"), "a policy for every pod of the namespace is not expressible; dropped (fail closed)")
                deny_namespaces[self.ns(obj)] = obj
                continue
            if GATEWAY_NAME_LABEL in labels and len(labels) == 1:
                self._gateway_policy(obj, labels[GATEWAY_NAME_LABEL], ingress)
                continue
            targets = self._targets(obj, {"matchLabels": labels}["matchLabels"])
            for key in targets:
                self.source(key, obj)
                before = len(self.services[key].get("allowFrom") or [])
                for e, entry in enumerate(ingress):
                    self._entry(obj, ("spec", "ingress", e), entry, key)
                if len(self.services[key].get("allowFrom") or []) == before and not self._routed(key):
                    closed.append((obj, key))
        if deny_namespaces:
            self.mesh["defaultDeny"] = True
            for ns in sorted({k[0] for k in self.services} - set(deny_namespaces)):
                first = next(iter(deny_namespaces.values()))
                self.f.approximated(first, (), f"namespace {ns} has no default-deny policy; the intent's mesh-wide defaultDeny covers it too")
        for obj, key in closed:
            if not self.services[key].get("allowFrom") and not self.mesh["defaultDeny"]:
                self.mesh["defaultDeny"] = True
                self.f.approximated(obj, (), f"{key[1]} admits nobody here; mesh.defaultDeny set so it stays closed "
                                    "(every service without allowFrom is closed too)")

    def _routed(self, key: tuple[str, str], port: int | None = None) -> bool:
        for gw in self.gateways:
            for route in gw.get("routes") or []:
                if (route.get("namespace") or gw.get("namespace") or self.home, route.get("service")) == key:
                    return True
        return False

    def _gateway_policy(self, obj: SourceObject, name: str, ingress: list) -> None:
        gw = next((g for g in self.gateways if g["name"] == name and (g.get("namespace") or self.home) == self.ns(obj)), None)
        if gw is None:
            self.f.lost(obj, ("spec", "podSelector"), f"selects the pods of gateway {name}, which is not read here; dropped")
            return
        listeners = sorted({int(lst["port"]) for lst in gw["listeners"]})
        ports = sorted(int(p.get("port")) for e in ingress for p in e.get("ports") or [])
        if [set(e) for e in ingress] != [{"ports"}] or ports != listeners:
            self.f.approximated(obj, ("spec", "ingress"), "meshgen admits every client on the gateway's listener ports (under defaultDeny)")

    def _egress_policy(self, obj: SourceObject, labels: dict[str, str]) -> None:
        egress = plain(obj.spec.get("egress") or [])
        if not labels and egress == MESHGEN_EGRESS:
            self.mesh["egressDefaultDeny"] = True
            return
        self.mesh["egressDefaultDeny"] = True
        self.f.lost(obj, ("spec", "egress"), "the intent's only egress restriction between pods is egressDefaultDeny (DNS and every pod "
                    "of the cluster); these egress rules are dropped, the policy read as egressDefaultDeny")

    def _entry(self, obj: SourceObject, path: tuple, entry: dict, key: tuple[str, str]) -> None:
        svc = self.services[key]
        check_keys(obj, entry, path, {"from", "ports"}, self.f)
        if not entry.get("from"):
            self.f.lost(obj, path, "a rule without from (every source, even outside the cluster) is not expressible; dropped (fail closed)")
            return
        names = self._port_names(obj, path, entry.get("ports"), svc)
        if names == []:
            return
        for p, peer in enumerate(entry["from"]):
            caller = self._peer(obj, (*path, "from", p), peer, key)
            if caller is None:
                continue
            if "gateway" in caller and self._routed(key):
                continue  # the allow the gateway's routes imply (identity.rules_for)
            item = dict(caller)
            if names:
                item["ports"] = names
            if item not in (svc.get("allowFrom") or []):
                svc.setdefault("allowFrom", []).append(item)

    def _port_names(self, obj: SourceObject, path: tuple, ports: list | None, svc: dict) -> list[str] | None:
        """Entry ports -> the service's port names (None: every port; []: none of them)."""
        if not ports:
            return None
        names = []
        for q, port in enumerate(ports):
            check_keys(obj, port, (*path, "ports", q), {"protocol", "port"}, self.f)
            number = port.get("port")
            found = next((x["name"] for x in svc["ports"] if number in (x.get("targetPort", x["port"]), x["name"])), None)
            if found is None:
                self.f.lost(obj, (*path, "ports", q), f"port {number} is not a port of {svc['name']}; dropped")
            elif found not in names:
                names.append(found)
        if sorted(names) == sorted(x["name"] for x in svc["ports"]):
            return None
        return names

    def _peer(self, obj: SourceObject, path: tuple, peer: dict, key: tuple[str, str]) -> dict[str, Any] | None:
        if set(peer) - {"namespaceSelector", "podSelector"}:
            self.f.lost(obj, path, f"a peer by {', '.join(sorted(set(peer) - {'namespaceSelector', 'podSelector'}))} is not expressible; dropped (fail closed)")
            return None
        ns_sel = peer.get("namespaceSelector")
        pod_sel = peer.get("podSelector")
        if ns_sel is None:
            ns = self.ns(obj)  # a podSelector alone selects pods of the policy's namespace
        else:
            match = ns_sel.get("matchLabels") or {}
            if set(ns_sel) - {"matchLabels"} or set(match) != {NAMESPACE_LABEL}:
                self.f.lost(obj, (*path, "namespaceSelector"), "only one namespace by its kubernetes.io/metadata.name label is expressible; dropped (fail closed)")
                return None
            ns = str(match[NAMESPACE_LABEL])
        if pod_sel is None:
            return {"namespace": ns}
        if set(pod_sel) - {"matchLabels"}:
            self.f.lost(obj, (*path, "podSelector"), "label expressions are not expressible; dropped (fail closed)")
            return None
        labels = {str(k): str(v) for k, v in (pod_sel.get("matchLabels") or {}).items()}
        where = {"namespace": ns} if ns != self.home else {}
        if not labels:
            return {"namespace": ns}
        if set(labels) == {GATEWAY_NAME_LABEL}:
            gw = next((g for g in self.gateways if g["name"] == labels[GATEWAY_NAME_LABEL] and (g.get("namespace") or self.home) == ns), None)
            if gw is not None:
                return {"gateway": gw["name"]}
        for k, sel in sorted(self.selectors.items()):
            if k[0] == ns and sel == labels:
                return {"service": k[1], **where}
        return {"selector": labels, "namespace": ns}

    # --- cert-manager ---------------------------------------------------------------------------

    def _certificates(self) -> None:
        """The chain of kubernetes.certificates.plan_certificates, read back with the shared
        reader (:mod:`meshgen.importing.cert_manager`): a ClusterIssuer on the intermediate signs
        one Certificate per workload identity, whose ``duration`` is ``certLifetime`` and whose
        SPIFFE URI SAN names the trust domain. Any other shape is left to the leftovers (not
        understood). Fields: https://cert-manager.io/docs/usage/certificate/."""
        chain = find_chain(self.by_kind)
        if chain is None or chain.intermediate is None:
            return
        inter = chain.intermediate
        inter_issuer = next((o for o in chain.signers if o.kind == "ClusterIssuer"), None)
        if inter_issuer is None:
            return
        certs = [o for o in self.by_kind.get("Certificate", []) if o.group == "cert-manager.io"]
        leaves = [c for c in certs if not c.spec.get("isCA") and issued_by(c) == ("ClusterIssuer", inter_issuer.name)]
        ca = read_ca(chain, self.f.lost)
        lifetimes = sorted({go_duration(c, ("spec", "duration"), DEFAULT_DURATION, self.f.lost) for c in leaves})
        cert = lifetimes[0] if lifetimes else Duration(24 * 3_600_000)
        if cert != Duration(24 * 3_600_000):
            ca = {"type": ca.pop("type"), "certLifetime": str(cert), **ca}
        if len(lifetimes) > 1:
            self.f.approximated(leaves[0], ("spec", "duration"), f"workload certificates live {', '.join(map(str, lifetimes))}; the intent has one lifetime: {cert}")
        renew = {str(c.spec.get("renewBefore")) for c in (chain.root, inter) if c.spec.get("renewBefore")}
        if len(renew) > 1:
            self.f.approximated(chain.root, ("spec", "renewBefore"), f"root and workload CA renew at different times; the intent has one renewBefore: {ca.get('renewBefore', 'a third of each lifetime')}")
        self.mesh["ca"] = ca
        for c in leaves:
            for uri in c.spec.get("uris") or []:
                parts = str(uri).split("/")
                if str(uri).startswith("spiffe://") and len(parts) > 2 and parts[2] != "cluster.local":
                    self.mesh["trustDomain"] = parts[2]
        used = [*chain.objects, *leaves]
        self.handled.update(id(o) for o in used)

    # --- what is left ----------------------------------------------------------------------

    def _leftovers(self, objects: list[SourceObject]) -> None:
        self._report_leftovers(objects)

IMPORTER = KubernetesImporter()
