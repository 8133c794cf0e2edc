"""Staged enforcement: which services' access rules are audited (logged, not enforced).

``mesh.enforcement: audit`` audits every service; ``services[].enforcement`` overrides it per
service. Each platform renders its own dry-run or audit mode, or reports that it has none and
keeps enforcing (stricter than asked, never wider):

* Istio (sidecar and waypoint): the ``istio.io/dry-run: "true"`` annotation on AuthorizationPolicy
  (https://istio.io/latest/docs/tasks/security/authorization/authz-dry-run/); ztunnel treats
  dry-run policies as absent (istio/istio#55414), so ambient L4 policies are not logged.
* Linkerd: the ``audit`` default inbound policy and Server ``accessPolicy: audit``, "same as
  all-unauthenticated but requests get flagged in logs and metrics"
  (https://linkerd.io/2/reference/authorization-policy/#default-policies).
* Cilium: ``policyAuditMode`` in the agent's Helm values (charts/cilium values.yaml), agent-wide:
  mesh-wide audit only; audit for some services is reported lost.
* Consul intentions and Kubernetes NetworkPolicy have no audit mode: reported lost.
"""

from __future__ import annotations

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent, Service

#: Istio's dry-run annotation on AuthorizationPolicy.
ISTIO_DRY_RUN = {"istio.io/dry-run": "true"}


def audited(intent: MeshIntent, svc: Service) -> bool:
    """Whether ``svc``'s access rules are audited: its own ``enforcement``, else ``mesh.enforcement``."""
    return (svc.enforcement or intent.spec.mesh.enforcement) == "audit"


def audited_services(intent: MeshIntent) -> list[Service]:
    """The intent's audited services, in intent order."""
    return [svc for svc in intent.spec.services if audited(intent, svc)]


def report_no_audit(intent: MeshIntent, report: Report, why: str) -> None:
    """A lost ``authz-audit`` finding for every audited service, on a platform without an audit
    mode: its rules are rendered enforced (admitting less than audit would, never more)."""
    for svc in audited_services(intent):
        report.lost(Feature.AUTHZ_AUDIT, f"{svc.namespace}/{svc.name}", f"{why}; the access rules are enforced instead")
