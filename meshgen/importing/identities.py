"""Caller identities and versions the Istio, Cilium, Consul and Kubernetes importers share.

:class:`IdentityRun` adds to :class:`~meshgen.importing.workloads.WorkloadRun` the inverse of
:mod:`meshgen.platforms.identity`: a workload identity (namespace + service account, the
SPIFFE ID ``spiffe://<trust domain>/ns/NS/sa/SA``,
https://istio.io/latest/docs/reference/config/security/authorization-policy/#Source) -> the
intent caller it names, a closed service, and versions no route weighs. These began in the
Istio importer; the others reused them unchanged, so they live here with unchanged behaviour.
"""

from __future__ import annotations

from typing import Any

from meshgen.importing.common import host_service
from meshgen.importing.reader import SourceObject
from meshgen.importing.workloads import WorkloadRun


class IdentityRun(WorkloadRun):
    """:class:`WorkloadRun` plus caller identities (see the module docstring).

    Subclasses set ``self.gateways`` (intent gateways) before calling :meth:`_identity_of`, and
    ``gateway_account_class``: the class an imported gateway without ``className`` runs as (its
    Gateway API deployment's service account is ``<gateway>-<class>``).
    """

    gateway_account_class: str

    def _namespaces(self) -> None:
        """Namespaces are handled; one with ``istio-injection`` other than ``enabled`` is APPROXIMATED.

        The Cilium, Consul and Kubernetes importers inherited this check from the Istio importer;
        it is kept for them so their findings do not change (a refactor, not a fix)."""
        for obj in self.take("Namespace"):
            labels = obj.metadata.get("labels") or {}
            if labels.get("istio-injection") not in ("enabled", None):
                self.f.approximated(obj, ("metadata", "labels"), "sidecar injection is not enabled here; the intent's services are always in the mesh")

    def _prepare_ports(self) -> None:
        # The Istio importer's protocol evidence; the Consul importer inherited it (kept unchanged).
        self._vs_hosts = set()
        for vs in self.by_kind.get("VirtualService", []):
            if vs.spec.get("http"):
                for host in vs.spec.get("hosts") or []:
                    self._vs_hosts.add(host_service(str(host), self.ns(vs)))

    def _port_hint(self, key: tuple[str, str], selector: dict[str, str], target: Any, name: str) -> bool:
        """True when a VirtualService has HTTP rules for the service: Istio sniffs HTTP there
        (https://istio.io/latest/docs/ops/configuration/traffic-management/protocol-selection/)."""
        return key in self._vs_hosts

    def _keys_in(self, table: dict, ns: str, ordered: bool = False) -> list:
        """The keys ``(namespace, name)`` of ``table`` (``self.services``, ``self.selectors``)
        in namespace ``ns``: in the table's order, or sorted when ``ordered``. Indexed once per
        table and size, not scanned per call (importers only ever add keys to these tables, so a
        table of the same size has the same keys); the caller reads the values from ``table``."""
        cache = self.__dict__.setdefault("_ns_keys", {})
        entry = cache.get((id(table), ordered))
        if entry is None or entry[0] is not table or entry[1] != len(table):
            index: dict[str, list] = {}
            for key in sorted(table) if ordered else table:
                index.setdefault(key[0], []).append(key)
            entry = cache[(id(table), ordered)] = (table, len(table), index)
        return entry[2].get(ns, [])

    def _identity_of(self, ns: str, sa: str) -> dict[str, Any]:
        """Account ``sa`` in ``ns`` -> an intent caller: a gateway (account ``<gateway>-<class>``,
        class ``gateway_account_class`` when unnamed), the service running as
        it (declared, or named ``sa``, or the one service whose name ``sa`` ends with, which then
        gets ``serviceAccount: sa``), else ``{serviceAccount, namespace}``."""
        for gw in self.gateways:
            if (gw.get("namespace") or self.home) == ns and sa == f"{gw['name']}-{gw.get('className') or self.gateway_account_class}":
                return {"gateway": gw["name"]}
        in_ns = [(k, self.services[k]) for k in self._keys_in(self.services, ns)]
        for k, s in in_ns:
            if s.get("serviceAccount", s["name"]) == sa and ("serviceAccount" in s or k[1] == sa):
                return {"service": s["name"], **({"namespace": ns} if ns != self.home else {})}
        suffixed = [(k, s) for k, s in in_ns if sa.endswith("-" + s["name"]) and "serviceAccount" not in s]
        if len(suffixed) == 1:
            s = suffixed[0][1]
            s["serviceAccount"] = sa  # the only service whose name the account carries
            return {"service": s["name"], **({"namespace": ns} if ns != self.home else {})}
        return {"serviceAccount": sa, "namespace": ns}

    def _versions_of(self, ids: list[tuple[str, str]]) -> dict[str, Any] | None:
        """Several principals in one source that are exactly one service's versions' accounts
        (identity._identities: the sorted set of its workloads' accounts) -> that service."""
        namespaces = {ns for ns, _ in ids}
        if len(namespaces) != 1:
            return None
        ns = namespaces.pop()
        wanted = {sa for _, sa in ids}
        if self._versioned is None:  # services with versions by namespace, built once
            self._versioned = {}
            for key, svc in sorted(self.services.items()):
                if svc.get("versions"):
                    self._versioned.setdefault(key[0], []).append(svc)
        for svc in self._versioned.get(ns, []):
            versions = svc["versions"]
            base = svc.get("serviceAccount", svc["name"])
            chosen = {}
            for v in versions:
                own = v.get("serviceAccount") or next((sa for sa in sorted(wanted) if sa.endswith("-" + v["name"]) and svc["name"] in sa), None)
                chosen[v["name"]] = own
            if {sa or base for sa in chosen.values()} == wanted:
                for v in versions:
                    if chosen[v["name"]]:
                        v["serviceAccount"] = chosen[v["name"]]
                return {"service": svc["name"], **({"namespace": ns} if ns != self.home else {})}
        return None

    def _close(self, svc: dict) -> None:
        """A deny the intent cannot name: the service admits nobody (fail closed)."""
        svc.pop("allowFrom", None)
        svc["_closed"] = True
        self.mesh["defaultDeny"] = True

    def _unweighted_versions(self) -> None:
        """Subsets that no route weighs: the proxy sends the service's traffic to every pod."""
        for key, svc in self.services.items():
            versions = svc.get("versions") or []
            if not versions or sum(v.get("weight", 0) for v in versions) == 100:
                continue
            obj: SourceObject = self.subset_sources[key]
            used = {r.get("version") for r in svc.get("routes") or []} | {(r.get("mirror") or {}).get("version") for r in svc.get("routes") or []}
            if used - {None}:
                versions[0]["weight"] = 100
                self.f.approximated(obj, ("spec", "subsets"), f"requests no rule sends to a subset reached every pod; the intent sends them to {versions[0]['name']}")
            else:
                del svc["versions"]
                self.f.approximated(obj, ("spec", "subsets"), "no route uses these subsets, so traffic reaches every pod; versions left out (same routing)")

    def _drop_markers(self) -> None:
        """Remove the ``_closed`` markers :meth:`_close` left (not intent fields)."""
        for svc in self.services.values():
            svc.pop("_closed", None)
