"""Identity in ambient mode: the same CA choices as Istio's sidecar mode, plus ztunnel.

ztunnel requests the certificates of every pod on its node, so it needs the same CA as istiod's
clients: with ``cert-manager`` / ``vault`` its chart's ``caAddress`` points at istio-csr and
istio-csr trusts ztunnel's service account for node authentication
(``app.server.caTrustedNodeAccounts: <namespace>/ztunnel``, ../shared/charts/istio-csr/values.yaml;
https://cert-manager.io/docs/usage/istio-csr/). ztunnel reads the workload certificate lifetime
from its ``SECRET_TTL`` environment variable (istio/ztunnel ``src/config.rs``), as Istio's agent
does. Everything else (istiod's CA, the cert-manager chain, the trust-manager Bundle, the expiry
watches) is Istio's: :func:`meshgen.platforms.istio.certificates.plan_certificates`.

``spire`` is not expressible: "Ambient mode does not support SPIRE integration"
(https://istio.io/latest/docs/ambient/migrate/).
"""

from __future__ import annotations

from meshgen.capabilities import Feature, Report
from meshgen.intent.model import MeshIntent
from meshgen.platforms.cert_manager import Lifetimes
from meshgen.platforms.istio.certificates import plan_certificates as istio_certificates
from meshgen.platforms.sections import Section, duration_text


def plan_certificates(intent: MeshIntent, report: Report, cp_ns: str) -> Section:
    """Istio's certificate plan, with ztunnel's CA address, lifetime and node authentication."""
    ca = intent.spec.mesh.ca
    if ca.type == "spire":
        report.use(Feature.CA_SPIRE, "mesh")
        return Section()
    out = istio_certificates(intent, report, cp_ns)
    out.add_values("ztunnel", {"env": {"SECRET_TTL": duration_text(Lifetimes.of(intent).cert.ms)}})
    if ca.type in ("cert-manager", "vault"):
        csr_ns = ca.ca_namespace
        out.add_values("ztunnel", {"caAddress": f"cert-manager-istio-csr.{csr_ns}.svc:443"})
        out.add_values("istio-csr", {"app": {"server": {"caTrustedNodeAccounts": f"{cp_ns}/ztunnel"}}})
    report.approximated(
        Feature.ALERTS,
        "mesh",
        "ztunnel exports no certificate-expiry metric: the workload-certificate alert watches the waypoints' and "
        "gateways' own certificates (istio_agent_cert_expiry_seconds), not the pod certificates ztunnel holds",
    )
    return out
