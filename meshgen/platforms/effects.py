"""Intent that has no effect where it is written: a finding on every platform, never silence.

Platforms plan what they can express; these checks catch settings that no platform can apply
because of where they are written, so every platform reports them the same way:

* request-level settings (``timeout``, ``retries`` and their ``perTryTimeout``, ``rateLimit``)
  written on a service whose every port has a protocol where the platform's cell says the feature
  is not expressible (:func:`meshgen.capabilities.cell`, the data ``meshgen platforms`` prints;
  for every platform, ``tcp``, ``tls`` and ``udp`` ports): such ports carry
  connections, not requests, so there is nothing to time out, retry or count. The setting is lost
  (exit 3 unless accepted); nothing is rendered for it.
* ``retryBudget`` written on a service that does not retry (no ``retries``, or ``attempts: 0``,
  on the service and every route): the budget has nothing to limit. Reported with severity
  ``info`` (:meth:`meshgen.capabilities.Report.no_effect`), since nothing the intent asks for
  happens differently.
* ``mesh.ca.caNamespace`` written with ``ca.type`` ``mesh`` or ``spire``: it names where the
  cert-manager root (trust anchor) Certificate and trust-manager's trust namespace live
  (``cert-manager`` and ``vault`` only; trust-manager's ``app.trust.namespace``,
  https://cert-manager.io/docs/trust/trust-manager/installation/), and there is no cert-manager root
  with the mesh's own CA or SPIRE. Severity ``info``.

Settings inherited from ``spec.defaults`` apply only where they can: a TCP-only service simply
does not take the default request timeout, and that is not a finding.

A platform that already reported the same service and feature keeps its own finding.
"""

from __future__ import annotations

from meshgen.capabilities import Feature, Finding, Report, Support, cell
from meshgen.intent.model import MeshIntent, Service

#: CA types whose root is a cert-manager Certificate in ``caNamespace``.
_ROOT_IN_CA_NAMESPACE = ("cert-manager", "vault")


def _retrying(svc: Service) -> bool:
    return any(r is not None and r.attempts > 0 for r in (svc.retries, *(route.retries for route in svc.routes)))


def _request_settings(svc: Service) -> list[tuple[Feature, str]]:
    out = []
    if svc.timeout is not None and not svc.inherited("timeout"):
        out.append((Feature.TIMEOUT, f"timeout {svc.timeout}"))
    if svc.retries is not None and svc.retries.attempts > 0 and not svc.inherited("retries"):
        out.append((Feature.RETRIES, f"retries (attempts {svc.retries.attempts})"))
        if svc.retries.per_try_timeout is not None:
            out.append((Feature.PER_TRY_TIMEOUT, f"perTryTimeout {svc.retries.per_try_timeout}"))
    if svc.rate_limit is not None:
        out.append((Feature.RATE_LIMIT, f"rateLimit {svc.rate_limit.requests_per_second} requests/s"))
        if svc.rate_limit.burst is not None:
            out.append((Feature.RATE_LIMIT_BURST, f"rateLimit burst {svc.rate_limit.burst}"))
    return out


def _inexpressible_on_every_port(
    report: Report, feature: Feature, svc: Service, cells: dict | None = None
) -> bool:
    """Whether the platform's cell says ``feature`` cannot apply on the protocol of any port of
    ``svc`` because of that protocol (the per-protocol data ``meshgen platforms`` prints).

    ``cells``: feature -> (cell, its listed protocols), filled as features are asked for, so a
    caller asking for every service builds each cell once.
    """
    known = None if cells is None else cells.get(feature)
    if known is None:
        cap = cell(feature, report.column[feature])
        known = (cap, {p for p, _, _ in cap.protocols})
        if cells is not None:
            cells[feature] = known
    cap, listed = known
    return all(("tcp" if p.protocol == "udp" else p.protocol) in listed and cap.on(p.protocol) is Support.NOT_EXPRESSIBLE for p in svc.ports)


def report_no_effect(intent: MeshIntent, existing: tuple[Finding, ...], report: Report) -> None:
    """Add a finding for every setting of ``intent`` that has no effect (see the module docstring).

    Args:
        existing: the platform's own findings; a (subject, feature) already reported is left alone.
    """
    seen = {(f.subject, f.feature) for f in existing}
    cells: dict = {}
    for svc in intent.spec.services:
        subject = f"{svc.namespace}/{svc.name}"
        protocols = "/".join(sorted({p.protocol for p in svc.ports}))
        for feature, what in _request_settings(svc):
            if (subject, feature) not in seen and _inexpressible_on_every_port(report, feature, svc, cells):
                if not any(p.is_l7 for p in svc.ports):
                    report.lost(
                        feature, subject,
                        f"{what} has no effect: every port of {subject} is {protocols}, which carries connections, not "
                        "requests; nothing is rendered for it (set it on an http, http2 or grpc port's service)",
                    )
                else:
                    why = cell(feature, report.column[feature]).why_on(svc.ports[0].protocol)
                    report.lost(feature, subject, f"{what} cannot apply on the {protocols} ports of {subject}: {why}")
        budget = svc.retry_budget is not None and not svc.inherited("retry_budget")
        if budget and not _retrying(svc) and (subject, Feature.RETRY_BUDGET) not in seen:
            report.no_effect(
                Feature.RETRY_BUDGET, subject,
                f"retryBudget has no effect: {subject} does not retry (no retries with attempts > 0 on it or its routes); "
                "nothing is rendered for it",
            )
    ca = intent.spec.mesh.ca
    if "ca_namespace" in ca.model_fields_set and ca.type not in _ROOT_IN_CA_NAMESPACE:
        feature = Feature.CA_MESH if ca.type == "mesh" else Feature.CA_SPIRE
        report.no_effect(
            feature, "mesh",
            f"caNamespace {ca.ca_namespace} has no effect: it names the namespace of the cert-manager root (trust anchor) "
            f"and of trust-manager's trust bundle, and ca.type {ca.type} has neither; nothing is rendered for it "
            f"(it applies to ca.type {' and '.join(_ROOT_IN_CA_NAMESPACE)})",
        )
