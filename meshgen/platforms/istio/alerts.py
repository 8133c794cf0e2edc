"""Istio's alert inputs: request metrics per service and istiod (and istio-csr) Deployments.

Metrics: ``istio_requests_total`` / ``istio_request_duration_milliseconds_bucket`` reported by the
destination (``reporter="destination"``, ``destination_service`` = the Service's FQDN); gRPC failures
are ``grpc_response_status`` 2, 4, 12, 13, 14, 15.
Source: https://istio.io/latest/docs/reference/config/metrics/. The rule itself:
:func:`meshgen.platforms.prometheus.plan_alerts`.
"""

from __future__ import annotations

import re

from meshgen.capabilities import Report
from meshgen.intent.model import MeshIntent, Service
from meshgen.platforms.prometheus import GRPC_FAILURE_CODES, WINDOW, ControlPlaneDeployments, has_grpc
from meshgen.platforms.prometheus import plan_alerts as _plan
from meshgen.platforms.sections import ExpiryWatch, Section


def destination_service(svc: Service) -> str:
    """The ``destination_service`` matcher of ``svc``'s requests.

    With a rollout, Flagger routes the service's requests to its ``<name>-primary`` and
    ``<name>-canary`` Services (fluxcd/flagger ``pkg/router/istio.go``, ``gateway_api.go``), so the
    matcher also takes those hosts; otherwise the alerts would stop seeing the service's traffic
    the moment Flagger takes it over.
    """
    host = f"{svc.name}.{svc.namespace}.svc.cluster.local"
    if svc.rollout is None:
        return f'destination_service="{host}"'
    return f'destination_service=~"{re.escape(svc.name)}(-primary|-canary)?{re.escape(host[len(svc.name):])}"'.replace("\\", "\\\\")


def service_queries(svc: Service) -> tuple[str, str, str, str]:
    """(failed/s, all/s, p99 in ms, "ms") of ``svc`` as its sidecars or waypoint report them."""
    sel = f'reporter="destination",{destination_service(svc)}'
    failed = f'rate(istio_requests_total{{{sel},response_code=~"5.."}}[{WINDOW}])'
    if has_grpc(svc):
        # gRPC failures usually travel as HTTP 200 with a grpc-status trailer.
        failed += f' or rate(istio_requests_total{{{sel},response_code!~"5..",grpc_response_status=~"{GRPC_FAILURE_CODES}"}}[{WINDOW}])'
    errors = f"sum({failed})"
    total = f"sum(rate(istio_requests_total{{{sel}}}[{WINDOW}]))"
    p99 = f"histogram_quantile(0.99, sum by (le) (rate(istio_request_duration_milliseconds_bucket{{{sel}}}[{WINDOW}])))"
    return errors, total, p99, "ms"


def deployments(intent: MeshIntent, cp_ns: str) -> list[ControlPlaneDeployments]:
    """istiod, and istio-csr when it issues the certificates (ca.type cert-manager or vault)."""
    out = [ControlPlaneDeployments(cp_ns, ("istiod",), "istiod", "istiod")]
    if intent.spec.mesh.ca.type in ("cert-manager", "vault"):
        out.append(
            ControlPlaneDeployments(
                intent.spec.mesh.ca.ca_namespace, ("cert-manager-istio-csr",), "istio-csr", "cert-manager-istio-csr"
            )
        )
    return out


def plan_alerts(
    intent: MeshIntent, report: Report, cp_ns: str, watches: list[ExpiryWatch], platform: str = "istio"
) -> Section:
    """Istio's PrometheusRule (see :func:`meshgen.platforms.prometheus.plan_alerts`)."""
    return _plan(
        intent, report, watches, platform=platform, queries=service_queries, deployments=deployments(intent, cp_ns)
    )
